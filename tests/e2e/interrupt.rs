//! Issue 10 item 12: Ctrl-C during a create. berth stops at the step it is in, records it,
//! says what to run next and exits 130; `berth provision` then finishes the machine.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_e2e::Fleet;

use crate::cli::Berth;

/// Waits for a line of berth's stderr containing `needle`, keeping every line in `seen`.
fn wait_for(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return;
                }
            }
            Err(_) => panic!(
                "berth never printed {needle:?}; it printed:\n{}",
                seen.join("\n")
            ),
        }
    }
}

#[test]
fn ctrl_c_during_the_engine_install_stops_records_the_step_and_provision_finishes_it() {
    // A fresh host: no engine, so the create installs docker.io (about 15 s).
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let name = "ctrlc";
    let address = host.address().to_string();
    let key = host.key_path().to_string_lossy().into_owned();
    // A Rust child starts with SIGINT at its default, as a command typed at a shell does.
    let mut child = berth
        .cmd()
        .args([
            "--debug",
            "create",
            "-d",
            "generic",
            "--generic-ip-address",
            &address,
            "--generic-ssh-key",
            &key,
            "--generic-ssh-user",
            "root",
            name,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    wait_for(&lines, &mut seen, "installing the engine…");
    // dpkg is at work on the host (apt's output streams through --debug): the hardest moment
    // to be cut off, since a dpkg killed half-way must be finished before apt works again.
    wait_for(&lines, &mut seen, "Unpacking ");

    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let interrupted = Instant::now();
    let status = child.wait().unwrap();
    let took = interrupted.elapsed();
    reader.join().unwrap();
    seen.extend(lines.try_iter());
    let text = seen.join("\n");
    eprintln!("{text}");

    assert_eq!(
        status.code(),
        Some(130),
        "exit status after Ctrl-C: {status}"
    );
    assert!(
        took < Duration::from_secs(4),
        "berth took {took:?} to stop after Ctrl-C"
    );
    assert!(
        text.contains("interrupted at step \"installing the engine\""),
        "{text}"
    );
    assert!(text.contains(&format!("berth provision {name}")), "{text}");
    assert!(text.contains(&format!("berth rm {name}")), "{text}");

    let record = std::fs::read_to_string(berth.machine_dir(name).join("config.toml")).unwrap();
    assert!(record.contains("state = \"Error\""), "{record}");
    let error = record
        .lines()
        .find(|l| l.starts_with("error = "))
        .unwrap_or_default();
    assert!(
        error.contains("interrupted (Ctrl-C) at step \"installing the engine\""),
        "{record}"
    );
    assert_eq!(berth.ok(&["status", name]).trim(), "Error");

    // The interrupted install (apt may have died half-way) does not stand in the way.
    berth.ok(&["provision", name]);
    assert_eq!(berth.ok(&["status", name]).trim(), "Running");
    assert!(
        berth
            .docker(name, "version --format '{{.Server.Version}}'")
            .status
            .success(),
        "docker over TLS failed after the provision"
    );
    let record = std::fs::read_to_string(berth.machine_dir(name).join("config.toml")).unwrap();
    assert!(!record.contains("interrupted"), "{record}");
}
