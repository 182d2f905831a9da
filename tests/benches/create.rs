//! Times `berth create -d generic` on a fresh host (engine install included) and on a host whose
//! engine is already installed, and counts the SSH connections each create opened (from the
//! host's sshd log). Run with `bench/create.sh`.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use berth_e2e::{Fleet, TestHost};
use berth_names::EnvVars;

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

/// `berth create -d generic` of `host` as `name`, by `bin`, in `store`.
fn create_command(
    bin: &Path,
    store: &Path,
    docker_config: &Path,
    host: &TestHost,
    name: &str,
) -> Command {
    let mut command = Command::new(bin);
    command
        .env(EnvVars::BERTH_STORAGE_PATH, store)
        .env(EnvVars::DOCKER_CONFIG, docker_config)
        .args([
            "create",
            "-d",
            "generic",
            "--generic-ip-address",
            &host.address().to_string(),
            "--generic-ssh-key",
        ])
        .arg(host.key_path())
        .arg(name);
    command
}

/// One timed create by `bin`; returns (seconds, SSH connections berth opened).
fn timed_create(
    bin: &Path,
    store: &Path,
    docker_config: &Path,
    host: &TestHost,
    name: &str,
) -> (f64, usize) {
    let before = accepted_logins(host);
    let started = Instant::now();
    let out = create_command(bin, store, docker_config, host, name)
        .output()
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "create by {} failed: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let opened = accepted_logins(host).saturating_sub(before);
    (took, opened)
}

/// One SSH connection and `command` on `host`, timed: the floors a create is measured against.
fn timed_floor(host: &TestHost, command: &str) -> f64 {
    let started = Instant::now();
    let session = host.ssh("root").unwrap();
    let out = session.exec(command).unwrap();
    assert!(out.success(), "`{command}` failed: {}", out.stderr_str());
    started.elapsed().as_secs_f64()
}

/// The floor of a create on a host with the engine: one SSH connection and one engine restart.
const FLOOR: &str = "systemctl restart docker.service";
/// The floor of changing the engine's flags under systemd: also the `daemon-reload` systemd
/// needs before a changed drop-in takes effect.
const SYSTEMD_FLOOR: &str = "systemctl daemon-reload && systemctl restart docker.service";

/// One create by `bin` with `--debug`, each stderr line printed with the milliseconds since the
/// start: where the time of a create goes.
fn profiled_create(bin: &Path, store: &Path, docker_config: &Path, host: &TestHost, name: &str) {
    use std::io::{BufRead as _, BufReader};
    let started = Instant::now();
    let mut child = create_command(bin, store, docker_config, host, name)
        .env(EnvVars::BERTH_DEBUG, "true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        println!("{:>6} ms  {line}", started.elapsed().as_millis());
    }
    let status = child.wait().unwrap();
    println!("{:>6} ms  exit {status}", started.elapsed().as_millis());
    assert!(status.success(), "the profiled create failed");
}

fn remove(bin: &Path, store: &Path, docker_config: &Path, name: &str) {
    let rm = Command::new(bin)
        .env(EnvVars::BERTH_STORAGE_PATH, store)
        .env(EnvVars::DOCKER_CONFIG, docker_config)
        .args(["rm", "-y", name])
        .output()
        .unwrap();
    assert!(
        rm.status.success(),
        "{}",
        String::from_utf8_lossy(&rm.stderr)
    );
}

fn median(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// `PROFILE=1` first runs one create with `--debug` and prints its timeline.
/// `FRESH=1` also times one create on a fresh host (apt installs docker.io: about 80 s here).
/// `BERTH_BASELINE_BIN` names a baseline binary, timed in the same rounds; `RUNS` (default 5).
fn main() {
    let fresh = std::env::var_os("FRESH").is_some();
    let fleet = Fleet::boot(if fresh { 2 } else { 1 }).expect("booting test hosts");
    let ready = &fleet.hosts()[0];
    let store = tempfile::tempdir().unwrap();
    let docker_config = tempfile::tempdir().unwrap();
    let (store, dc) = (store.path(), docker_config.path());
    ready.check("DEBIAN_FRONTEND=noninteractive apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y docker.io >/dev/null").unwrap();
    let current = berth_bin();
    let baseline = std::env::var_os("BERTH_BASELINE_BIN").map(PathBuf::from);

    if fresh {
        let (secs, conns) = timed_create(&current, store, dc, &fleet.hosts()[1], "bench-fresh");
        println!(
            "create on a fresh host (installs docker.io): {secs:.2} s, {conns} SSH connection(s)"
        );
    }
    if std::env::var_os("PROFILE").is_some() {
        profiled_create(&current, store, dc, ready, "bench-profile");
        remove(&current, store, dc, "bench-profile");
    }
    let rounds: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let (mut now, mut before, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    let mut systemd_floor = Vec::new();
    for i in 0..rounds {
        floor.push(timed_floor(ready, FLOOR));
        systemd_floor.push(timed_floor(ready, SYSTEMD_FLOOR));
        if let Some(baseline) = &baseline {
            let name = format!("bench-base-{i}");
            let (secs, conns) = timed_create(baseline, store, dc, ready, &name);
            println!("round {i}: baseline {secs:.2} s, {conns} SSH connection(s)");
            before.push(secs);
            remove(baseline, store, dc, &name);
        }
        let name = format!("bench-ready-{i}");
        let (secs, conns) = timed_create(&current, store, dc, ready, &name);
        println!(
            "round {i}: this berth {secs:.2} s, {conns} SSH connection(s); floor {:.2} s, \
             with daemon-reload {:.2} s",
            floor[i], systemd_floor[i]
        );
        now.push(secs);
        remove(&current, store, dc, &name);
    }
    let floor = median(floor);
    let systemd_floor = median(systemd_floor);
    let now = median(now);
    println!("engine already installed, medians of {rounds} rounds:");
    println!("  floor (one SSH connection + one engine restart): {floor:.2} s");
    println!("  floor with the daemon-reload a changed drop-in needs: {systemd_floor:.2} s");
    println!(
        "  this berth: {now:.2} s ({:.2}x the floor, {:.2}x with daemon-reload)",
        now / floor,
        now / systemd_floor
    );
    if !before.is_empty() {
        let before = median(before);
        println!(
            "  baseline: {before:.2} s ({:.2}x the floor, {:.2}x with daemon-reload)",
            before / floor,
            before / systemd_floor
        );
    }
}
