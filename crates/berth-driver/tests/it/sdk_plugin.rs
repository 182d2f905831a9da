//! The host side against a plugin built with the SDK (src/bin/berth-driver-example.rs).

use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;

use berth_driver::{PluginDriver, PluginOptions, PluginSearch, open_driver};
use berth_plugin::{CreateRequest, Driver, DriverError, MachineState, Operation, no_progress};
use serde_json::json;

use crate::{Progress, machine, options_with_log, wait_for_log};

const EXAMPLE: &str = env!("CARGO_BIN_EXE_berth-driver-example");

fn create_request(dir: &Path, flags: serde_json::Value) -> CreateRequest {
    CreateRequest {
        machine: "m1".into(),
        machine_dir: dir.to_path_buf(),
        flags: serde_json::from_value(flags).unwrap(),
        ssh_public_key: Some("ssh-ed25519 AAAA test".into()),
        preboot: false,
        machine_flags: Default::default(),
    }
}

#[test]
fn whole_lifecycle_through_the_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let (options, log) = options_with_log();
    let d = PluginDriver::launch(Path::new(EXAMPLE), options).unwrap();
    assert_eq!(d.name(), "example");
    assert_eq!(d.activation().protocol_version, 1);
    assert!(Operation::ALL.iter().all(|op| d.supports(*op)));

    let flags = d.create_flags().unwrap();
    assert!(
        flags
            .iter()
            .any(|f| f.name == "example-host" && f.default.as_deref() == Some("127.0.0.1"))
    );

    let progress = Progress::default();
    let created = d
        .create(
            &create_request(
                dir.path(),
                json!({"example-host": "192.0.2.9", "example-steps": 2}),
            ),
            &progress.sink(),
        )
        .unwrap();
    assert_eq!(progress.messages(), vec!["step 1 of 2", "step 2 of 2"]);
    assert_eq!(created.ssh.as_ref().unwrap().host, "192.0.2.9");
    assert!(
        wait_for_log(&log, "creating m1"),
        "the plugin's stderr reaches the log sink"
    );

    let m = machine("m1", dir.path(), created.data);
    assert_eq!(d.state(&m).unwrap(), MachineState::Running);
    d.stop(&m, &no_progress).unwrap();
    assert_eq!(d.state(&m).unwrap(), MachineState::Stopped);
    let progress = Progress::default();
    d.start(&m, &progress.sink()).unwrap();
    assert_eq!(progress.messages(), vec!["powering on"]);
    // The example does not implement restart: the trait's default (stop,
    // then start) runs inside the plugin, and its progress still arrives.
    let progress = Progress::default();
    d.restart(&m, &progress.sink()).unwrap();
    assert_eq!(progress.messages(), vec!["powering on"]);
    d.kill(&m, &no_progress).unwrap();
    assert_eq!(d.state(&m).unwrap(), MachineState::Stopped);
    assert_eq!(d.ssh_endpoint(&m).unwrap().host, "192.0.2.9");
    d.remove(&m, &no_progress).unwrap();
    assert_eq!(d.state(&m).unwrap(), MachineState::NotFound);
    // Removing twice succeeds; powering a removed machine is "not found".
    d.remove(&m, &no_progress).unwrap();
    let e = d.start(&m, &no_progress).unwrap_err();
    assert!(matches!(e, DriverError::MachineNotFound { .. }), "{e}");
    assert!(e.to_string().contains("berth rm m1"), "{e}");
}

#[test]
fn driver_errors_keep_their_kind_across_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let d = PluginDriver::launch(Path::new(EXAMPLE), PluginOptions::default()).unwrap();

    let e = d
        .create(
            &create_request(dir.path(), json!({"example-fail": true})),
            &no_progress,
        )
        .unwrap_err();
    assert!(
        matches!(&e, DriverError::Failed { message, .. } if message == "asked to fail by --example-fail"),
        "{e}"
    );

    let e = d
        .create(
            &create_request(dir.path(), json!({"example-steps": "many"})),
            &no_progress,
        )
        .unwrap_err();
    assert!(
        matches!(&e, DriverError::InvalidFlag { flag, .. } if flag == "example-steps"),
        "{e}"
    );

    // A panic inside the driver is an error answer, and the process lives on.
    let e = d
        .create(
            &create_request(dir.path(), json!({"example-panic": true})),
            &no_progress,
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("panicked") && e.to_string().contains("--example-panic"),
        "{e}"
    );
    let m = machine("m1", dir.path(), json!({}));
    let e = d.ssh_endpoint(&m).unwrap_err();
    assert!(matches!(e, DriverError::InvalidData { .. }), "{e}");
}

#[test]
fn concurrent_calls_use_separate_processes() {
    let dir = tempfile::tempdir().unwrap();
    let d = Arc::new(PluginDriver::launch(Path::new(EXAMPLE), PluginOptions::default()).unwrap());
    let handles: Vec<_> = (0..5)
        .map(|i| {
            let d = Arc::clone(&d);
            let mdir = dir.path().join(format!("m{i}"));
            std::thread::spawn(move || {
                let mut req = create_request(&mdir, json!({"example-steps": 50}));
                req.machine = format!("m{i}");
                let progress = Progress::default();
                let created = d.create(&req, &progress.sink()).unwrap();
                assert_eq!(
                    progress.messages().len(),
                    50,
                    "each call sees only its own progress"
                );
                let m = crate::machine(&req.machine, &mdir, created.data);
                assert_eq!(d.state(&m).unwrap(), MachineState::Running);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn open_driver_finds_builtins_first_then_plugins_by_search_order() {
    let storage = tempfile::tempdir().unwrap();
    let plugins = storage.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    symlink(EXAMPLE, plugins.join("berth-driver-demo")).unwrap();
    let search = PluginSearch::new(storage.path(), None, None);

    assert_eq!(
        open_driver("generic", &search, PluginOptions::default())
            .unwrap()
            .name(),
        "generic"
    );
    assert_eq!(
        open_driver("none", &search, PluginOptions::default())
            .unwrap()
            .name(),
        "none"
    );
    let d = open_driver("demo", &search, PluginOptions::default()).unwrap();
    // The name comes from the file berth found, which is what the user typed.
    assert_eq!(d.name(), "demo");
    assert!(!d.create_flags().unwrap().is_empty());

    let Err(e) = open_driver("kvm", &search, PluginOptions::default()) else {
        panic!("kvm is neither built in nor installed")
    };
    let e = e.to_string();
    assert!(
        e.contains(&plugins.display().to_string()) && e.contains("generic, none"),
        "{e}"
    );
}
