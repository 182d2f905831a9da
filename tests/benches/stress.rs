//! The first-create stall (issue 11): boots `BERTH_STRESS_HOSTS` hosts (default 20) from the
//! cached engine root at once and runs `berth create -d generic` on each the moment its sshd
//! answers, so every create is the host's first login, made under the load of the other boots and
//! creates. Prints hosts, creates, hangs (a create that failed on a silence deadline, or took
//! longer than `BERTH_STRESS_SLOW` seconds, default 20), and the median and worst create time.
//! Exits non-zero on any hang or failure. Run with `bench/stress.sh`.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_e2e::{Fleet, Shape};
use berth_names::EnvVars;

fn berth_bin() -> PathBuf {
    std::env::var_os("BERTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/berth")
        })
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Run {
    host: String,
    secs: f64,
    ok: bool,
    stderr: String,
}

fn main() {
    let n = usize::try_from(env_num("BERTH_STRESS_HOSTS", 20)).unwrap();
    let slow = Duration::from_secs(env_num("BERTH_STRESS_SLOW", 20));
    let store = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let runs: Vec<Run> = Fleet::boot_each(n, &Shape::EngineReady, |host| {
        let name = host.name().to_string();
        let began = Instant::now();
        let out = Command::new(berth_bin())
            .env(EnvVars::BERTH_STORAGE_PATH, store.path())
            .env("NO_COLOR", "1")
            .args([
                "create",
                "-d",
                "generic",
                "--generic-ip-address",
                &host.address().to_string(),
                "--generic-ssh-key",
            ])
            .arg(host.key_path())
            .arg(&name)
            .output()
            .unwrap();
        Run {
            host: name,
            secs: began.elapsed().as_secs_f64(),
            ok: out.status.success(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .expect("booting the hosts");
    let total = started.elapsed();
    let mut hangs = 0;
    let mut failures = 0;
    for r in &runs {
        let hung = r.stderr.contains("did not answer") || r.secs > slow.as_secs_f64();
        if hung {
            hangs += 1;
        } else if !r.ok {
            failures += 1;
        }
        if hung || !r.ok {
            eprintln!("{} ({:.1} s):\n{}", r.host, r.secs, r.stderr);
        }
    }
    let mut secs: Vec<f64> = runs.iter().map(|r| r.secs).collect();
    secs.sort_by(f64::total_cmp);
    println!(
        "stress: {n} hosts booted at once, {} creates (each the host's first login), {hangs} hangs, {failures} other failures; create time median {:.2} s, worst {:.2} s; all done in {:.1} s",
        runs.len(),
        secs[secs.len() / 2],
        secs[secs.len() - 1],
        total.as_secs_f64()
    );
    if hangs > 0 || failures > 0 {
        std::process::exit(1);
    }
}
