//! Issue 5: local machines through the `berth-driver-nspawn` plugin (found beside the berth
//! binary), from create to rm, with the real docker CLI.

use berth_e2e::assert_no_leftovers;
use berth_nspawn::Config;

use crate::cli::Berth;

/// Removes the machines even when an assertion fails half-way.
struct Cleanup<'a> {
    berth: &'a Berth,
    names: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in &self.names {
            if self.berth.machine_dir(name).exists() {
                let _ = self.berth.cmd().args(["rm", "-y", "-f", name]).output();
            }
        }
    }
}

#[test]
fn an_nspawn_machine_lives_and_dies_through_berth() {
    let berth = Berth::new();
    let name = format!("ns{}", std::process::id());
    let _cleanup = Cleanup {
        berth: &berth,
        names: vec![name.clone()],
    };

    berth.ok(&["create", "-d", "nspawn", &name]);
    assert!(
        berth.docker(&name, "info").status.success(),
        "docker info over TLS failed"
    );
    // Issue 20: the engine's files were in the root before the first boot, so the engine
    // started once, already with TLS, and provisioning restarted nothing: one start of
    // docker.service in this boot's journal, and the same dockerd after a second provision.
    let engine = |berth: &Berth| {
        berth.ok(&[
            "ssh",
            &name,
            "--",
            "systemctl show docker -p ExecMainPID,NRestarts; echo starts=$(journalctl -b -u docker --no-pager -o cat | grep -c '^Starting docker.service')",
        ])
    };
    let first = engine(&berth);
    assert!(
        first.contains("starts=1") && first.contains("NRestarts=0"),
        "docker.service of a fresh machine started more than once: {first}"
    );
    berth.ok(&["provision", "-y", &name]);
    assert_eq!(engine(&berth), first, "provision restarted a fresh engine");
    // Issue 20: the first boot makes Ed25519 and ECDSA host keys only (an RSA key took most of
    // the boot), and berth pinned the Ed25519 one.
    let keys = berth.ok(&["ssh", &name, "--", "ls /etc/ssh | grep '^ssh_host_.*_key$'"]);
    assert_eq!(
        keys.split_whitespace().collect::<Vec<_>>(),
        ["ssh_host_ecdsa_key", "ssh_host_ed25519_key"],
        "host keys of a fresh machine"
    );
    let pinned = std::fs::read_to_string(berth.machine_dir(&name).join("known_hosts")).unwrap();
    assert!(
        pinned.contains(" ssh-ed25519 "),
        "known_hosts does not pin the Ed25519 host key: {pinned}"
    );
    let ca = std::fs::read(berth.machine_dir(&name).join("ca.pem")).unwrap();

    berth.ok(&["stop", &name]);
    assert_eq!(berth.ok(&["status", &name]).trim(), "Stopped");
    let out = berth.docker(&name, "version");
    assert!(
        !out.status.success(),
        "the engine of a stopped machine answered"
    );

    berth.ok(&["start", &name]);
    assert_eq!(berth.ok(&["status", &name]).trim(), "Running");
    assert!(
        berth.docker(&name, "version").status.success(),
        "the engine did not come back over TLS"
    );
    assert_eq!(
        std::fs::read(berth.machine_dir(&name).join("ca.pem")).unwrap(),
        ca,
        "start changed the certificates"
    );

    berth.ok(&["restart", &name]);
    assert!(
        berth.docker(&name, "version").status.success(),
        "the engine did not come back after restart"
    );

    // kill pulls the plug; the machine boots again from the same layer.
    berth.ok(&["kill", &name]);
    assert_eq!(berth.ok(&["status", &name]).trim(), "Stopped");
    berth.ok(&["start", &name]);
    assert!(
        berth.docker(&name, "version").status.success(),
        "the engine did not come back after kill"
    );

    berth.ok(&["rm", "-y", &name]);
    assert!(!berth.machine_dir(&name).exists());
    assert_no_leftovers(&Config::default(), &name);
}

#[test]
fn the_nspawn_driver_without_root_says_how_to_run_it_and_rm_cleans_up() {
    let berth = Berth::new();
    let dir = berth.store.path();
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let as_nobody = |args: &[&str]| {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "env"])
            .arg(format!("BERTH_STORAGE_PATH={}", dir.display()))
            .arg(format!("HOME={}", dir.display()))
            .arg(crate::cli::berth_bin())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = as_nobody(&["create", "-d", "nspawn", "nonroot"]);
    assert!(!ok);
    assert!(err.contains("need root") && err.contains("sudo"), "{err}");
    assert!(err.contains("berth rm nonroot"), "{err}");
    let (ok, err) = as_nobody(&["rm", "-y", "nonroot"]);
    assert!(ok, "{err}");
}

#[test]
fn an_interrupted_create_leaves_a_machine_that_rm_removes_completely() {
    use std::os::unix::process::CommandExt;

    let berth = Berth::new();
    let name = format!("int{}", std::process::id());
    let _cleanup = Cleanup {
        berth: &berth,
        names: vec![name.clone()],
    };
    // Ctrl-C reaches the whole foreground process group: berth and its plugin.
    let mut child = berth
        .cmd()
        .args(["create", "-d", "nspawn", &name])
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt while the driver is making the machine: as soon as its folder exists.
    let made = Config::default().machine_dir(&name);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !made.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the driver never started making {}",
            made.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let group = format!("-{}", child.id());
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", "--", &group])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "create finished before the interrupt; the test proves nothing"
    );

    berth.ok(&["rm", "-y", &name]);
    assert!(!berth.machine_dir(&name).exists());
    assert_no_leftovers(&Config::default(), &name);
}

#[test]
fn a_machine_on_its_own_subnet_gets_its_own_bridge_and_leaves_nothing() {
    let berth = Berth::new();
    let name = format!("sub{}", std::process::id());
    let _cleanup = Cleanup {
        berth: &berth,
        names: vec![name.clone()],
    };
    berth.ok(&[
        "create",
        "-d",
        "nspawn",
        "--nspawn-subnet",
        "10.214.9",
        &name,
    ]);
    assert!(berth.ok(&["url", &name]).starts_with("tcp://10.214.9."));
    assert!(std::path::Path::new("/sys/class/net/berth214-9").exists());
    assert!(berth.docker(&name, "info").status.success());
    berth.ok(&["rm", "-y", &name]);
    assert!(
        !std::path::Path::new("/sys/class/net/berth214-9").exists(),
        "the subnet's bridge was left behind"
    );
    let rules = std::process::Command::new("iptables-save")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&rules.stdout).contains("berth214-9"),
        "the subnet's NAT rules were left behind"
    );
    assert_no_leftovers(&Config::default(), &name);

    let out = berth.run(&[
        "create",
        "-d",
        "nspawn",
        "--nspawn-subnet",
        "10.88.0",
        "reserved",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("10.88.0.0/24"));
    assert!(
        !berth.machine_dir("reserved").exists(),
        "a refused flag leaves no machine"
    );
}
