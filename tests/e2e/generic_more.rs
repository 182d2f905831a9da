//! Issue 12, the rest of docker-machine's generic driver: `--generic-engine-port` (here through
//! its variable GENERIC_ENGINE_PORT) puts the engine on another port; `scp` copies between two
//! machines through this computer, each with its own key and pinned host key; `restart`
//! reboots the host over SSH (a real reboot of the test host: systemd in the guest) and comes
//! back when SSH and the engine answer again; `stop` and `kill` still refuse. The copy back and
//! the restart go through a symlink named `docker-machine`, as docker-machine users call them.

use std::path::Path;
use std::process::{Command, Output};

use berth_e2e::Fleet;
use berth_names::EnvVars;

use crate::cli::{Berth, berth_bin};

/// Runs berth through `link` (a symlink named docker-machine) on `berth`'s store; fails the
/// test with its output unless it succeeds.
fn docker_machine(berth: &Berth, link: &Path, args: &[&str]) -> Output {
    let out = Command::new(link)
        .env(EnvVars::BERTH_STORAGE_PATH, berth.store.path())
        .env(EnvVars::DOCKER_CONFIG, berth.docker_config.path())
        .env_remove(EnvVars::MACHINE_STORAGE_PATH)
        .env_remove(EnvVars::DOCKER_CONTEXT)
        .env_remove(EnvVars::DOCKER_HOST)
        .env_remove("SSH_AUTH_SOCK")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("running docker-machine (berth)");
    eprintln!(
        "$ docker-machine {}\n{}{}-> {:?}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status.code()
    );
    assert!(
        out.status.success(),
        "docker-machine {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn engine_port_scp_between_machines_and_restart_by_reboot() {
    let fleet = Fleet::boot(2).expect("booting 2 test hosts");
    let (h1, h2) = (&fleet.hosts()[0], &fleet.hosts()[1]);
    let berth = Berth::new();
    let links = tempfile::tempdir().unwrap();
    let dm = links.path().join("docker-machine");
    std::os::unix::fs::symlink(berth_bin(), &dm).unwrap();

    // Both creates at once (each installs the engine); web1's engine port from the variable.
    std::thread::scope(|s| {
        let one = s.spawn(|| {
            let address = h1.address().to_string();
            let key = h1.key_path().to_string_lossy().into_owned();
            berth
                .cmd()
                .args(["create", "-d", "generic", "--generic-ip-address", &address])
                .args(["--generic-ssh-key", &key, "web1"])
                .env("GENERIC_ENGINE_PORT", "2377")
                .output()
                .expect("running berth")
        });
        let two = s.spawn(|| berth.create_generic(h2, "berth", "web2", &[]));
        for (name, out) in [("web1", one.join().unwrap()), ("web2", two.join().unwrap())] {
            assert!(
                out.status.success(),
                "create {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    assert_eq!(
        berth.ok(&["url", "web1"]).trim(),
        format!("tcp://{}:2377", h1.address())
    );
    assert_eq!(
        berth
            .ok(&["inspect", "-f", "{{.Driver.EnginePort}}", "web1"])
            .trim(),
        "2377"
    );
    let listening = h1
        .check("ss -Htln 'sport = :2376 or sport = :2377'")
        .unwrap();
    assert!(
        listening.contains(":2377") && !listening.contains(":2376"),
        "the engine listens on 2377 only: {listening}"
    );
    assert!(berth.docker("web1", "ps").status.success());

    // scp between the two machines, a file and (-r) a folder; web2 logs in as a sudo user.
    berth.ok(&[
        "ssh",
        "web1",
        "--",
        "mkdir -p /root/tree/sub && echo from-web1 > /root/f && echo deep > /root/tree/sub/g",
    ]);
    berth.ok(&["scp", "web1:/root/f", "web2:/tmp/f"]);
    assert_eq!(
        berth.ok(&["ssh", "web2", "cat", "/tmp/f"]).trim(),
        "from-web1"
    );
    berth.ok(&["scp", "-r", "web1:/root/tree", "web2:/tmp/"]);
    assert_eq!(
        berth.ok(&["ssh", "web2", "cat", "/tmp/tree/sub/g"]).trim(),
        "deep"
    );
    // And back, the other way round, as a docker-machine script would.
    docker_machine(&berth, &dm, &["scp", "web2:/tmp/f", "web1:/root/back"]);
    assert_eq!(
        berth.ok(&["ssh", "web1", "cat", "/root/back"]).trim(),
        "from-web1"
    );
    // A host key that does not match the pinned one stops the copy.
    let known = berth.machine_dir("web2").join("known_hosts");
    let pinned = std::fs::read_to_string(&known).unwrap();
    let other = std::fs::read_to_string(berth.machine_dir("web1").join("known_hosts")).unwrap();
    let forged = other.replace(&h1.address().to_string(), &h2.address().to_string());
    assert_ne!(forged, other, "known_hosts names the host in the clear");
    std::fs::write(&known, forged).unwrap();
    let out = berth.run(&["scp", "web1:/root/f", "web2:/tmp/forged"]);
    assert!(!out.status.success(), "a wrong host key must stop scp");
    std::fs::write(&known, pinned).unwrap();

    // stop and kill still refuse on generic; restart reboots (web2 through sudo).
    for op in ["stop", "kill"] {
        let out = berth.run(&[op, "web1"]);
        assert!(!out.status.success(), "{op} refuses on generic");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot"),
            "{op}"
        );
    }
    let boot = |host: &berth_e2e::TestHost| {
        // A fresh session each time: the kept one does not survive a reboot.
        let out = host
            .ssh("root")
            .and_then(|s| Ok(s.exec("cut -d' ' -f22 /proc/1/stat")?))
            .expect("pid 1's start");
        out.stdout_str()
    };
    let (before1, before2) = (boot(h1), boot(h2));
    let started = std::time::Instant::now();
    docker_machine(&berth, &dm, &["restart", "web1", "web2"]);
    eprintln!(
        "restart (two reboots at once) took {:.1?}",
        started.elapsed()
    );
    assert_ne!(boot(h1), before1, "web1's host booted again");
    assert_ne!(boot(h2), before2, "web2's host booted again");
    assert!(berth.docker("web1", "ps").status.success());
    assert!(berth.docker("web2", "ps").status.success());
    assert_eq!(
        berth.ok(&["ssh", "web1", "cat", "/root/f"]).trim(),
        "from-web1",
        "the same host, its disk kept"
    );
}
