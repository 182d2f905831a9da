//! Times `berth create -d generic` on a fresh host (engine install included) and on a host whose
//! engine is already installed, and counts the SSH connections each create opened (from the
//! host's sshd log). Run with `bench/create.sh`.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use berth_e2e::{Fleet, TestHost};

fn berth_bin() -> PathBuf {
    std::env::var_os("BERTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/berth")
        })
}

fn accepted_logins(host: &TestHost) -> usize {
    let log = host
        .check("journalctl --no-pager -o cat _COMM=sshd | grep -c 'Accepted publickey' || true")
        .unwrap();
    log.trim().parse().unwrap_or(0)
}

/// One timed create; returns (seconds, SSH connections berth opened).
fn timed_create(store: &std::path::Path, host: &TestHost, name: &str) -> (f64, usize) {
    let before = accepted_logins(host);
    let started = Instant::now();
    let out = Command::new(berth_bin())
        .env("BERTH_STORAGE_PATH", store)
        .args([
            "create",
            "-d",
            "generic",
            "--generic-ip-address",
            &host.address().to_string(),
            "--generic-ssh-key",
        ])
        .arg(host.key_path())
        .arg(name)
        .output()
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opened = accepted_logins(host).saturating_sub(before);
    (took, opened)
}

fn main() {
    let fleet = Fleet::boot(2).expect("booting 2 test hosts");
    let (fresh, ready) = (&fleet.hosts()[0], &fleet.hosts()[1]);
    let store = tempfile::tempdir().unwrap();
    ready.check("DEBIAN_FRONTEND=noninteractive apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y docker.io >/dev/null").unwrap();

    let (secs, conns) = timed_create(store.path(), fresh, "bench-fresh");
    println!("create on a fresh host (installs docker.io): {secs:.2} s, {conns} SSH connection(s)");
    let mut runs = Vec::new();
    for i in 0..5 {
        let name = format!("bench-ready-{i}");
        let (secs, conns) = timed_create(store.path(), ready, &name);
        println!(
            "create on a host with the engine installed, run {i}: {secs:.2} s, {conns} SSH connection(s)"
        );
        runs.push(secs);
        let rm = Command::new(berth_bin())
            .env("BERTH_STORAGE_PATH", store.path())
            .args(["rm", "-y", &name])
            .output()
            .unwrap();
        assert!(rm.status.success());
    }
    runs.sort_by(f64::total_cmp);
    println!(
        "engine already installed: median {:.2} s, min {:.2} s, max {:.2} s over {} runs",
        runs[runs.len() / 2],
        runs[0],
        runs[runs.len() - 1],
        runs.len()
    );
}
