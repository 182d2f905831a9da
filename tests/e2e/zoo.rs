//! Issue 11: a zoo of hosts that do not look like ours. On each shape `berth create` works (the
//! docker CLI over TLS answers, and a second `provision` changes nothing) or refuses before
//! changing anything, with the sentence docs/hosts.md quotes.

use std::time::Instant;

use berth_e2e::{Fleet, Shape};

use crate::cli::Berth;

/// A create that must work: docker over TLS answers, and a second provision restarts nothing.
fn assert_works(berth: &Berth, name: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "create {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = berth.docker(name, "version --format '{{.Server.Version}}'");
    assert!(version.status.success(), "docker over TLS to {name} failed");
    let again = berth.run(&["--debug", "provision", name]);
    assert!(again.status.success(), "second provision of {name} failed");
    let text = String::from_utf8_lossy(&again.stderr);
    assert!(
        text.contains("changed=0"),
        "second provision changed the drop-in:\n{text}"
    );
    assert!(
        text.contains("restarted=0"),
        "second provision restarted the engine:\n{text}"
    );
}

#[test]
fn a_host_slow_to_open_its_first_session_is_waited_for() {
    let fleet = Fleet::boot_shaped(1, &Shape::SlowLogin).expect("booting a slow-login host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let started = Instant::now();
    let out = berth.create_generic(host, "berth", "slow", &[]);
    eprintln!(
        "create on a host whose logins wait for logind took {:.1?}",
        started.elapsed()
    );
    assert_works(&berth, "slow", &out);
}

/// The create's stderr, for asserting on refusals.
fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_minimal_host_without_etc_hosts_hostname_sudo_or_curl_is_provisioned() {
    let fleet = Fleet::boot_shaped(1, &Shape::Minimal).expect("booting a minimal host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let out = berth.create_generic(host, "root", "mini", &[]);
    assert_works(&berth, "mini", &out);
    assert_eq!(host.check("uname -n").unwrap(), "mini");
    assert!(
        host.check("cat /etc/hosts")
            .unwrap()
            .contains("127.0.1.1\tmini")
    );
    assert_eq!(host.check("cat /etc/hostname").unwrap(), "mini");
}

#[test]
fn an_engine_configured_by_someone_else_keeps_its_settings() {
    let fleet =
        Fleet::boot_shaped(1, &Shape::ForeignEngine).expect("booting a foreign-engine host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let out = berth.create_generic(host, "root", "foreign", &[]);
    assert_works(&berth, "foreign", &out);
    let info = berth.docker(
        "foreign",
        "info --format '{{.LoggingDriver}} {{.DockerRootDir}} {{.LiveRestoreEnabled}}'",
    );
    assert_eq!(
        String::from_utf8_lossy(&info.stdout).trim(),
        "local /var/lib/docker/data true"
    );
    let json = host.check("cat /etc/docker/daemon.json").unwrap();
    assert!(!json.contains("hosts"), "{json}");
    let dropin = host
        .check("cat /etc/systemd/system/docker.service.d/10-machine.conf")
        .unwrap();
    assert!(dropin.contains("ExecStart=/usr/bin/dockerd"), "{dropin}");
    assert!(
        !dropin.contains("fd://"),
        "docker.socket is masked: {dropin}"
    );
    let backup = host
        .check("cat /etc/docker/daemon.json.berth-previous")
        .unwrap();
    assert!(
        backup.contains("\"hosts\""),
        "the user's file is kept: {backup}"
    );
    // The user's own drop-in still applies, and the local socket still answers.
    let env = host.check("systemctl show docker -p Environment").unwrap();
    assert!(env.contains("ZOO_NOTE=kept"), "{env}");
    host.check("docker -H unix:///var/run/docker.sock info >/dev/null")
        .unwrap();
    // regenerate-certs and rm work here too.
    berth.ok(&["regenerate-certs", "-y", "foreign"]);
    let again = berth.docker("foreign", "version --format '{{.Server.Version}}'");
    assert!(again.status.success());
    berth.ok(&["rm", "-y", "foreign"]);
}

#[test]
fn an_override_with_its_own_exec_start_is_refused_and_the_engine_left_running() {
    let fleet = Fleet::boot_shaped(1, &Shape::OverrideExecStart).expect("booting an override host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let out = berth.create_generic(host, "root", "over", &[]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains(
            "/etc/systemd/system/docker.service.d/override.conf on the host sets its own ExecStart"
        ),
        "{text}"
    );
    assert!(text.contains("Nothing was changed on the host"), "{text}");
    host.check("test ! -e /etc/systemd/system/docker.service.d/10-machine.conf")
        .unwrap();
    assert_eq!(host.check("systemctl is-active docker").unwrap(), "active");
    // Once the override is gone, provision finishes the machine.
    host.check("rm /etc/systemd/system/docker.service.d/override.conf && systemctl daemon-reload")
        .unwrap();
    berth.ok(&["provision", "over"]);
    let version = berth.docker("over", "version --format '{{.Server.Version}}'");
    assert!(version.status.success());
}

#[test]
fn a_failed_engine_start_puts_the_host_back_as_it_was() {
    let fleet = Fleet::boot_shaped(1, &Shape::EngineReady).expect("booting an engine host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let exec_start = "systemctl show docker -p ExecStart --value | sed 's/ ; start_time.*//'";
    let before = host.check(exec_start).unwrap();
    let out = berth.create_generic(host, "root", "broken", &["--engine-opt", "bogus-flag=1"]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("berth put the previous drop-in and daemon.json back and the engine runs again as it did before"),
        "{text}"
    );
    assert_eq!(host.check("systemctl is-active docker").unwrap(), "active");
    host.check("test ! -e /etc/systemd/system/docker.service.d/10-machine.conf")
        .unwrap();
    assert_eq!(host.check(exec_start).unwrap(), before);
}

#[test]
fn sudo_with_a_password_is_refused_and_nopasswd_works() {
    let fleet = Fleet::boot_shaped(1, &Shape::SudoPassword).expect("booting a sudo-password host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let out = berth.create_generic(host, "berth", "pw", &[]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("user berth on") && text.contains("has no passwordless sudo: give it NOPASSWD in sudoers or use --generic-ssh-user root"),
        "{text}"
    );
    host.check("test ! -e /etc/systemd/system/docker.service.d/10-machine.conf")
        .unwrap();
    // NOPASSWD (the default recipe's sudoers line) works.
    host.check("echo 'berth ALL=(ALL:ALL) NOPASSWD:ALL' > /etc/sudoers.d/berth")
        .unwrap();
    berth.ok(&["provision", "pw"]);
    let again = berth.run(&["--debug", "provision", "pw"]);
    assert!(again.status.success());
    assert!(stderr(&again).contains("restarted=0"));
}

#[test]
fn sshd_on_another_port_with_only_an_rsa_host_key() {
    let fleet = Fleet::boot_shaped(1, &Shape::RsaOnlyPort).expect("booting an RSA-only host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let port = host.port().to_string();
    let out = berth.create_generic(host, "root", "rsa", &["--generic-ssh-port", &port]);
    assert_works(&berth, "rsa", &out);
    let known = std::fs::read_to_string(berth.machine_dir("rsa").join("known_hosts")).unwrap();
    assert!(known.contains(&format!("]:{port} ssh-rsa ")), "{known}");
}

#[test]
fn a_firewall_dropping_2376_is_named_and_provision_finishes_once_it_is_gone() {
    let fleet =
        Fleet::boot_shaped(1, &Shape::FirewallDrops2376).expect("booting a firewalled host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let started = Instant::now();
    let out = berth.create_generic(host, "root", "walled", &["--debug"]);
    let took = started.elapsed();
    assert!(!out.status.success());
    let text = stderr(&out);
    let address = format!("{}:2376", host.address());
    assert!(
        text.contains("waiting for the engine to answer over TLS on") && text.contains(&address),
        "{text}"
    );
    assert!(
        text.contains("the engine listens on the host (LISTEN ")
            && text.contains(&format!(
                ":2376) but this computer cannot reach {address}"
            ))
            && text.contains("Open TCP port 2376 from this computer to the host, then run `berth provision walled`"),
        "{text}"
    );
    // Long before the 60 s readiness deadline.
    assert!(took.as_secs() < 30, "create took {took:?}");
    eprintln!("create refused the firewalled host after {took:.1?}");
    let inspect: serde_json::Value =
        serde_json::from_str(&berth.ok(&["inspect", "walled"])).unwrap();
    assert_eq!(inspect["state"], "Error", "{inspect}");
    host.check(berth_e2e::FIREWALL_OFF).unwrap();
    berth.ok(&["provision", "walled"]);
    let version = berth.docker("walled", "version --format '{{.Server.Version}}'");
    assert!(version.status.success());
    let again = berth.run(&["--debug", "provision", "walled"]);
    assert!(again.status.success());
    let text = stderr(&again);
    assert!(
        text.contains("changed=0") && text.contains("restarted=0"),
        "{text}"
    );
}

#[test]
fn a_held_dpkg_lock_is_waited_for_and_its_holder_named() {
    let fleet = Fleet::boot_shaped(1, &Shape::DpkgLocked).expect("booting a locked host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let out = berth.create_generic(host, "root", "locked", &["--debug"]);
    let text = stderr(&out);
    assert!(
        text.contains("waiting for the package lock held by PID")
            && text.contains("(apt-get install zoo-lock-holder)"),
        "{text}"
    );
    assert!(text.contains("the package lock is free"), "{text}");
    assert_works(&berth, "locked", &out);
}

/// Debian 11 and 13 besides 12: create installs the release's own docker.io and a second
/// provision changes nothing. Both hosts boot at once.
#[test]
fn debian_11_and_13_are_provisioned() {
    std::thread::scope(|s| {
        let runs: Vec<_> = [
            (Shape::Bullseye, "deb11", "11"),
            (Shape::Trixie, "deb13", "13"),
        ]
        .into_iter()
        .map(|(shape, name, version)| {
            s.spawn(move || {
                let fleet = Fleet::boot_shaped(1, &shape)
                    .unwrap_or_else(|e| panic!("booting a {shape:?} host: {e:#}"));
                let host = &fleet.hosts()[0];
                assert_eq!(
                    host.check(". /etc/os-release; echo $VERSION_ID").unwrap(),
                    version
                );
                let berth = Berth::new();
                let out = berth.create_generic(host, "root", name, &[]);
                assert_works(&berth, name, &out);
            })
        })
        .collect();
        for run in runs {
            if let Err(e) = run.join() {
                std::panic::resume_unwind(e);
            }
        }
    });
}
