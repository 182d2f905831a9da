//! Issue 9: driver flags set by their environment twins on real hosts — the generic driver's
//! docker-machine names (`GENERIC_IP_ADDRESS=… GENERIC_SSH_KEY=… berth create -d generic NAME`)
//! and a plugin's (`NSPAWN_SUBNET` for the nspawn plugin's `--nspawn-subnet`).

use berth_e2e::{Fleet, assert_no_leftovers};
use berth_nspawn::Config;

use crate::cli::Berth;

#[test]
fn a_generic_machine_is_created_from_environment_variables_alone() {
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let out = berth
        .cmd()
        .env("GENERIC_IP_ADDRESS", host.address().to_string())
        .env("GENERIC_SSH_KEY", host.key_path())
        .env("GENERIC_SSH_USER", "root")
        .env("GENERIC_SSH_PORT", host.port().to_string())
        .args(["create", "-d", "generic", "envgen"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "create from the environment failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        berth.ok(&["ip", "envgen"]).trim(),
        host.address().to_string()
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&berth.ok(&["inspect", "envgen"])).unwrap();
    assert_eq!(
        inspect["ssh"]["key_path"],
        host.key_path().to_string_lossy().as_ref(),
        "{inspect}"
    );
    let out = berth.docker("envgen", "version --format '{{.Server.Version}}'");
    assert!(out.status.success(), "docker over TLS failed");
    berth.ok(&["rm", "-y", "envgen"]);
}

#[test]
fn the_nspawn_plugins_subnet_comes_from_nspawn_subnet() {
    let berth = Berth::new();
    let name = format!("envsub{}", std::process::id());
    let created = std::cell::Cell::new(false);
    let cleanup = scopeguard(|| {
        if created.get() && berth.machine_dir(&name).exists() {
            let _ = berth.cmd().args(["rm", "-y", "-f", &name]).output();
        }
    });

    // A reserved subnet from the environment is refused by the plugin: the value arrived.
    let out = berth
        .cmd()
        .env("NSPAWN_SUBNET", "10.88.0")
        .args(["create", "-d", "nspawn", "reserved"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("10.88.0.0/24"), "{err}");
    assert!(!berth.machine_dir("reserved").exists());

    created.set(true);
    let out = berth
        .cmd()
        .env("NSPAWN_SUBNET", "10.214.11")
        .args(["create", "-d", "nspawn", &name])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "create with NSPAWN_SUBNET failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(berth.ok(&["url", &name]).starts_with("tcp://10.214.11."));
    assert!(std::path::Path::new("/sys/class/net/berth214-11").exists());
    assert!(berth.docker(&name, "info").status.success());
    berth.ok(&["rm", "-y", &name]);
    assert!(!std::path::Path::new("/sys/class/net/berth214-11").exists());
    assert_no_leftovers(&Config::default(), &name);
    drop(cleanup);
}

/// Runs `f` when dropped, so that a machine is removed even when an assertion fails.
fn scopeguard<F: FnOnce()>(f: F) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}
