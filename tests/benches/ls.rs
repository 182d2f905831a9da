//! `berth ls` measured two ways, each paired against a baseline binary in the same run:
//!
//! 1. one machine in the store, `ls` repeated, baseline and current alternating;
//! 2. a store of 200 machines of which 20 point at addresses that never answer (in a network
//!    namespace this bench makes and removes), `ls --timeout 1`: the wall time, and every
//!    reachable machine must be `Running` and every dead one `Timeout`.
//!
//! The reachable machines are copies of one real machine (a test host with Debian's engine,
//! created with `berth create -d generic`), so all 180 probes go over mutual TLS to one engine.
//! Run with `bench/ls.sh` (which builds both binaries); `BERTH_BIN` and `BERTH_BASELINE_BIN`
//! name the binaries, the baseline being optional.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use berth_e2e::Fleet;
use berth_names::EnvVars;

const REACHABLE: usize = 180;
const DEAD: usize = 20;
/// A subnet no host of this machine uses; its addresses get no ARP answer, so a connection to
/// them never completes.
const DEAD_SUBNET: &str = "10.214.199";

fn bin(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).map(PathBuf::from)
}

fn berth(bin: &Path, store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin)
        .env(EnvVars::BERTH_STORAGE_PATH, store)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

/// A network namespace whose veth peer holds no address: the dead machines' addresses route
/// to it and nothing ever answers. Removed on drop.
struct DeadNetwork {
    ns: String,
    host_if: String,
}

impl DeadNetwork {
    fn new() -> Self {
        let id = std::process::id() % 100_000;
        let net = DeadNetwork {
            ns: format!("bdead{id}"),
            host_if: format!("bdh{id}"),
        };
        let peer = format!("bdn{id}");
        let sh = |cmd: &str| {
            let ok = Command::new("sh").args(["-c", cmd]).status().unwrap();
            assert!(ok.success(), "`{cmd}` failed");
        };
        sh(&format!("ip netns add {}", net.ns));
        sh(&format!(
            "ip link add {} type veth peer name {peer} netns {}",
            net.host_if, net.ns
        ));
        sh(&format!(
            "ip addr add {DEAD_SUBNET}.1/24 dev {} && ip link set {} up && ip -n {} link set {peer} up",
            net.host_if, net.host_if, net.ns
        ));
        net
    }
}

impl Drop for DeadNetwork {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// Copies machine `from` of `src` into `dst` as `name`, its address replaced by `address`.
fn copy_machine(src: &Path, from: &str, dst: &Path, name: &str, old_ip: &str, address: &str) {
    let (from_dir, to_dir) = (src.join(from), dst.join(name));
    std::fs::create_dir_all(&to_dir).unwrap();
    for entry in std::fs::read_dir(&from_dir).unwrap() {
        let entry = entry.unwrap();
        let file = entry.file_name();
        if file.to_string_lossy().starts_with('.') {
            continue;
        }
        std::fs::copy(entry.path(), to_dir.join(&file)).unwrap();
    }
    let config = to_dir.join("config.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&format!("name = \"{from}\""), &format!("name = \"{name}\""))
        .replace(old_ip, address);
    std::fs::write(&config, text).unwrap();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn timed(bin: &Path, store: &Path, args: &[&str]) -> (f64, std::process::Output) {
    let started = Instant::now();
    let out = berth(bin, store, args);
    (started.elapsed().as_secs_f64() * 1000.0, out)
}

fn main() {
    let current = bin("BERTH_BIN").unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/berth")
    });
    let baseline = bin("BERTH_BASELINE_BIN");
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    host.check("DEBIAN_FRONTEND=noninteractive apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y docker.io >/dev/null").unwrap();
    let ip = host.address().to_string();

    let one = tempfile::tempdir().unwrap();
    let machines = one.path().to_path_buf();
    let out = berth(
        &current,
        one.path(),
        &[
            "create",
            "-d",
            "generic",
            "--generic-ip-address",
            &ip,
            "--generic-ssh-key",
            &host.key_path().to_string_lossy(),
            "m000",
        ],
    );
    assert!(
        out.status.success(),
        "create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 1. One machine, paired runs.
    let runs = 20;
    let (mut cur, mut base) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (ms, out) = timed(&current, one.path(), &["ls"]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("Running"));
        cur.push(ms);
        if let Some(baseline) = &baseline {
            let (ms, out) = timed(baseline, one.path(), &["ls"]);
            assert!(out.status.success());
            base.push(ms);
        }
    }
    println!(
        "ls, one machine: current median {:.1} ms over {runs} runs",
        median(cur.clone())
    );
    if !base.is_empty() {
        println!(
            "ls, one machine: baseline median {:.1} ms over {runs} runs (paired, alternating)",
            median(base)
        );
    }

    // 2. 200 machines, 20 of them dead.
    let _dead_net = DeadNetwork::new();
    let many = tempfile::tempdir().unwrap();
    let many_machines = many.path().to_path_buf();
    for i in 0..REACHABLE {
        copy_machine(
            &machines,
            "m000",
            &many_machines,
            &format!("m{i:03}"),
            &ip,
            &ip,
        );
    }
    for i in 0..DEAD {
        let address = format!("{DEAD_SUBNET}.{}", 10 + i);
        copy_machine(
            &machines,
            "m000",
            &many_machines,
            &format!("d{i:03}"),
            &ip,
            &address,
        );
    }
    let mut walls = Vec::new();
    for run in 0..5 {
        let (ms, out) = timed(
            &current,
            many.path(),
            &["ls", "--timeout", "1", "--format", "json"],
        );
        assert!(out.status.success());
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), REACHABLE + DEAD);
        let mut wrong = Vec::new();
        for row in rows {
            let name = row["name"].as_str().unwrap();
            let state = row["state"].as_str().unwrap();
            let want = if name.starts_with('m') {
                "Running"
            } else {
                "Timeout"
            };
            if state != want {
                wrong.push(format!("{name}: {state} ({})", row["error"]));
            }
        }
        assert!(
            wrong.is_empty(),
            "run {run}: {} machines in the wrong state, e.g. {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(5)]
        );
        println!(
            "ls, {REACHABLE} reachable + {DEAD} dead machines, --timeout 1: {ms:.0} ms (run {run})"
        );
        walls.push(ms);
    }
    println!(
        "ls, 200 machines, --timeout 1: current median {:.0} ms, max {:.0} ms over 5 runs",
        median(walls.clone()),
        walls.iter().cloned().fold(0.0, f64::max)
    );
    if let Some(baseline) = &baseline {
        let (ms, _) = timed(baseline, many.path(), &["ls", "--timeout", "1"]);
        println!("ls, 200 machines, --timeout 1: baseline {ms:.0} ms (one run)");
    }
}
