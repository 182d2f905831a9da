//! The test-host harness itself (issue 3): hosts boot concurrently, answer
//! through berth-ssh, are distinct machines, reach Debian's mirror, survive a
//! power cycle, fail fast when cut off, and leave nothing behind.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use berth_e2e::{Fleet, assert_no_leftovers};
use berth_nspawn::State;
use berth_ssh::{HostKeyPolicy, Session, SshError};

#[test]
fn three_hosts_boot_at_once_answer_and_leave_nothing() {
    let started = Instant::now();
    let fleet = Fleet::boot(3).expect("booting 3 test hosts");
    eprintln!(
        "booted 3 hosts (SSH answering) in {:.2?}",
        started.elapsed()
    );
    let (config, prefix) = (fleet.config().clone(), fleet.prefix().to_string());

    let mut hostnames = HashSet::new();
    let mut host_keys = HashSet::new();
    for host in fleet.hosts() {
        let state = host
            .run("timeout 90 systemctl is-system-running --wait")
            .expect("asking systemd for its state");
        let failed = host
            .run("systemctl --failed --no-legend; for u in $(systemctl --failed --no-legend --plain | cut -d' ' -f1); do journalctl -b -u $u --no-pager | tail -n 8; done")
            .map(|o| o.stdout_str())
            .unwrap_or_default();
        assert_eq!(
            state.stdout_str(),
            "running",
            "{}: failed units: {failed}",
            host.name()
        );

        let hostname = host.check("hostname").expect("hostname");
        assert_eq!(hostname, host.name());
        hostnames.insert(hostname);

        let berth = host.ssh("berth").expect("SSH as the berth user");
        host_keys.insert(berth.host_key_fingerprint());
        let sudo = berth.exec("sudo -n id -u").expect("sudo as berth");
        assert_eq!(
            sudo.stdout_str(),
            "0",
            "passwordless sudo: {}",
            sudo.stderr_str()
        );
        let engine_dir = host
            .check("stat -f -c %T /var/lib/docker")
            .expect("fs of /var/lib/docker");
        assert_ne!(
            engine_dir, "overlayfs",
            "/var/lib/docker must not be on overlayfs"
        );
    }
    assert_eq!(hostnames.len(), 3, "hostnames differ: {hostnames:?}");
    assert_eq!(host_keys.len(), 3, "host keys differ: {host_keys:?}");

    let apt_started = Instant::now();
    let first = &fleet.hosts()[0];
    first
        .check("DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io")
        .expect("apt-get install docker.io inside a host");
    eprintln!(
        "apt-get install docker.io took {:.1?}",
        apt_started.elapsed()
    );
    let active = first
        .check("systemctl is-active docker")
        .expect("docker is active");
    assert_eq!(active, "active");
    let cgroup = first
        .check("findmnt -no OPTIONS /sys/fs/cgroup/cpuset")
        .expect("cpuset mount");
    assert!(
        cgroup.starts_with("rw"),
        "cgroup controllers writable: {cgroup}"
    );

    let stopping = Instant::now();
    drop(fleet);
    eprintln!("removed 3 hosts in {:.2?}", stopping.elapsed());
    assert_no_leftovers(&config, &prefix);
}

#[test]
fn one_host_boots_and_survives_a_power_cycle() {
    let started = Instant::now();
    let fleet = Fleet::boot(1).expect("booting a test host");
    eprintln!("booted 1 host (SSH answering) in {:.2?}", started.elapsed());
    let host = &fleet.hosts()[0];
    assert_eq!(host.state(), State::Running);
    host.check("echo kept > /root/marker")
        .expect("writing a marker");
    let before = host.ssh("root").expect("ssh").host_key_fingerprint();

    let stopping = Instant::now();
    host.poweroff().expect("power off");
    eprintln!("powered off 1 host in {:.2?}", stopping.elapsed());
    assert_eq!(host.state(), State::Stopped);

    host.start().expect("start again");
    assert_eq!(host.check("cat /root/marker").expect("marker"), "kept");
    // The same host key, now checked strictly against the pinned one.
    let mut strict = host.target("root");
    strict.policy = HostKeyPolicy::Strict;
    let again = Session::connect(&strict).expect("strict connect after restart");
    assert_eq!(again.host_key_fingerprint(), before);
    let (config, prefix) = (fleet.config().clone(), fleet.prefix().to_string());
    drop(again);
    drop(fleet);
    assert_no_leftovers(&config, &prefix);
}

#[test]
fn a_cut_network_makes_ssh_fail_within_its_deadline() {
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let mut target = host.target("root");
    target.io_timeout = Duration::from_secs(3);
    target.connect_timeout = Duration::from_secs(2);
    let session = Session::connect(&target).expect("connect");
    assert!(session.exec("true").expect("exec before the cut").success());

    // Regression guard: a command that is quiet for longer than the deadline is not a dead host
    // (keepalives answered by sshd keep it alive).
    let quiet = session
        .exec("sleep 7; echo woke")
        .expect("a quiet command outlives io_timeout");
    assert_eq!(quiet.stdout_str(), "woke");

    host.cut_network().expect("cut the network");
    let addr = format!("{}:22", host.address());

    let t = Instant::now();
    let err = session
        .exec("echo unreachable")
        .expect_err("exec must fail once the network is cut");
    let took = t.elapsed();
    assert!(
        matches!(err, SshError::Timeout { .. }),
        "a timeout, got: {err}"
    );
    assert!(
        err.to_string().contains(&addr),
        "the error names {addr}: {err}"
    );
    assert!(
        took < Duration::from_secs(6),
        "failed within its deadline (3 s), took {took:?}"
    );

    let t = Instant::now();
    let err = Session::connect(&target).expect_err("a new connection must fail too");
    assert!(
        err.to_string().contains(&addr),
        "the error names {addr}: {err}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "connect failed within its deadline, took {:?}",
        t.elapsed()
    );

    let (config, prefix) = (fleet.config().clone(), fleet.prefix().to_string());
    drop(session);
    drop(fleet);
    assert_no_leftovers(&config, &prefix);
}

#[test]
fn a_guest_orphaned_by_a_killed_nspawn_is_still_removed() {
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let pid = std::fs::read_to_string(host.machine().dir().join("nspawn.pid")).expect("nspawn.pid");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", pid.trim()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    // nspawn is gone (a signal is delivered asynchronously: wait for it with a deadline),
    // the guest's systemd and sshd run on without it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while host.state() != State::Stopped && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(host.state(), State::Stopped);
    let (config, prefix) = (fleet.config().clone(), fleet.prefix().to_string());
    assert!(
        !berth_nspawn::leftovers(&config, &prefix)
            .processes
            .is_empty()
    );
    drop(fleet);
    assert_no_leftovers(&config, &prefix);
}
