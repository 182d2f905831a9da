//! Issue 4: a create that fails at any step says which step, what the host said and what to
//! do; the machine stays in state Error, `berth provision` finishes it and `berth rm` removes it.

use std::time::{Duration, Instant};

use berth_e2e::{Fleet, TestHost};

use crate::cli::Berth;

fn create(berth: &Berth, host: &TestHost, name: &str, extra: &[&str]) -> (bool, String) {
    let out = berth.create_generic(host, "root", name, extra);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The machine is kept in state Error with its error recorded, and `rm` removes it.
fn assert_kept_in_error_then_removed(berth: &Berth, name: &str) {
    let inspect: serde_json::Value = serde_json::from_str(&berth.ok(&["inspect", name])).unwrap();
    assert_eq!(inspect["state"], "Error", "{inspect}");
    assert!(
        inspect["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{inspect}"
    );
    berth.ok(&["rm", "-y", name]);
    assert!(!berth.machine_dir(name).exists());
}

#[test]
fn each_failed_step_is_named_and_recoverable() {
    let fleet = Fleet::boot(2).expect("booting 2 test hosts");
    let (a, b) = (&fleet.hosts()[0], &fleet.hosts()[1]);
    let berth = Berth::new();

    // Wrong port: connection refused, named.
    let (ok, err) = create(&berth, a, "wrongport", &["--generic-ssh-port", "2222"]);
    assert!(!ok);
    assert!(err.contains("connecting") && err.contains(":2222"), "{err}");
    assert!(
        err.contains("berth provision wrongport") && err.contains("berth rm wrongport"),
        "{err}"
    );
    assert_kept_in_error_then_removed(&berth, "wrongport");

    // Refused key.
    let other = tempfile::tempdir().unwrap();
    let other_key = other.path().join("id_ed25519");
    assert!(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&other_key)
            .status()
            .unwrap()
            .success()
    );
    let address = a.address().to_string();
    let out = berth.run(&[
        "create",
        "-d",
        "generic",
        "--generic-ip-address",
        &address,
        "--generic-ssh-key",
        other_key.to_str().unwrap(),
        "badkey",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("root") && err.to_lowercase().contains("auth"),
        "{err}"
    );
    assert_kept_in_error_then_removed(&berth, "badkey");

    // Unsupported OS, refused by name.
    a.check("cp /etc/os-release /root/os-release.saved && printf 'ID=fedora\\nVERSION_ID=40\\nPRETTY_NAME=\"Fedora Linux 40\"\\n' > /etc/os-release").unwrap();
    let (ok, err) = create(&berth, a, "fedora", &[]);
    assert!(!ok);
    assert!(
        err.contains("Fedora Linux 40") && err.contains("detecting"),
        "{err}"
    );
    assert_kept_in_error_then_removed(&berth, "fedora");
    a.check("cp /root/os-release.saved /usr/lib/os-release && ln -sf ../usr/lib/os-release /etc/os-release").unwrap();

    // apt failure: the step and apt's words; after the fix, `provision` finishes the machine.
    a.check("mkdir -p /root/apt-saved && mv /etc/apt/sources.list* /root/apt-saved/ && echo 'deb http://127.0.0.1:9/debian bookworm main' > /etc/apt/sources.list").unwrap();
    let (ok, err) = create(&berth, a, "aptfail", &[]);
    assert!(!ok);
    assert!(err.contains("installing the engine"), "{err}");
    assert!(
        err.contains("127.0.0.1") || err.to_lowercase().contains("apt"),
        "the host's words are missing: {err}"
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&berth.ok(&["inspect", "aptfail"])).unwrap();
    assert_eq!(inspect["state"], "Error");
    a.check("rm -f /etc/apt/sources.list && mv /root/apt-saved/* /etc/apt/")
        .unwrap();
    berth.ok(&["provision", "aptfail"]);
    let inspect: serde_json::Value =
        serde_json::from_str(&berth.ok(&["inspect", "aptfail"])).unwrap();
    assert_eq!(inspect["state"], "Running", "{inspect}");
    assert!(berth.docker("aptfail", "version").status.success());

    // Engine start failure: the journal's words, and the previous drop-in kept.
    let (ok, err) = create(
        &berth,
        a,
        "badengine",
        &["--engine-opt", "no-such-dockerd-flag=1"],
    );
    assert!(!ok);
    assert!(err.contains("configuring the engine"), "{err}");
    assert!(
        err.contains("no-such-dockerd-flag"),
        "the journal tail is missing: {err}"
    );
    a.check("test -f /etc/systemd/system/docker.service.d/10-machine.conf.previous")
        .unwrap();
    assert_kept_in_error_then_removed(&berth, "badengine");

    // Unreachable address: fails within its deadline, naming the address.
    b.cut_network().unwrap();
    let started = Instant::now();
    let (ok, err) = create(&berth, b, "unreachable", &[]);
    assert!(!ok);
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.contains(&b.address().to_string()), "{err}");
    assert_kept_in_error_then_removed(&berth, "unreachable");
}
