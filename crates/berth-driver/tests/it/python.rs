//! The Python plugin in tests/plugins, written from docs/plugins.md alone,
//! driven through the host side: proof the protocol is language-neutral.

use std::net::TcpListener;

use berth_driver::PluginDriver;
use berth_plugin::{CreateRequest, Driver, DriverError, MachineState, Operation, no_progress};
use serde_json::json;

use crate::{Progress, machine, options_with_log, repo_root, wait_for_log};

#[test]
fn python_plugin_creates_reports_state_and_removes() {
    let path = repo_root().join("tests/plugins/berth-driver-pyexample");
    let (options, log) = options_with_log();
    let d = PluginDriver::launch(&path, options).unwrap();
    assert_eq!(d.name(), "pyexample");
    assert!(d.supports(Operation::State) && !d.supports(Operation::Stop));

    let flags = d.create_flags().unwrap();
    let names: Vec<&str> = flags.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "pyexample-ip-address",
            "pyexample-ssh-user",
            "pyexample-ssh-port",
            "pyexample-ssh-key"
        ]
    );

    // The "existing SSH host": a loopback listener this test owns.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let req = CreateRequest {
        machine: "py1".into(),
        machine_dir: dir.path().to_path_buf(),
        flags: serde_json::from_value(json!({
            "pyexample-ip-address": "127.0.0.1",
            "pyexample-ssh-user": "admin",
            "pyexample-ssh-port": port,
            "pyexample-ssh-key": "/root/.ssh/id_ed25519",
        }))
        .unwrap(),
        ssh_public_key: None,
        preboot: false,
        machine_flags: Default::default(),
    };
    let progress = Progress::default();
    let created = d.create(&req, &progress.sink()).unwrap();
    assert_eq!(
        progress.messages(),
        vec![format!("Using the existing host admin@127.0.0.1:{port}")]
    );
    let ssh = created.ssh.unwrap();
    assert_eq!(
        (ssh.host.as_str(), ssh.port, ssh.user.as_str()),
        ("127.0.0.1", port, "admin")
    );
    assert_eq!(
        ssh.key_path.unwrap().to_str(),
        Some("/root/.ssh/id_ed25519")
    );
    assert!(wait_for_log(&log, "points at 127.0.0.1"));

    let m = machine("py1", dir.path(), created.data);
    assert_eq!(d.state(&m).unwrap(), MachineState::Running);
    assert_eq!(d.ssh_endpoint(&m).unwrap().port, port);
    drop(listener);
    assert_eq!(d.state(&m).unwrap(), MachineState::Stopped);

    let e = d.stop(&m, &no_progress).unwrap_err();
    assert!(
        matches!(
            e,
            DriverError::Unsupported {
                operation: Operation::Stop,
                ..
            }
        ),
        "{e}"
    );

    d.remove(&m, &no_progress).unwrap();

    let mut bad = req.clone();
    bad.flags.remove("pyexample-ip-address");
    let e = d.create(&bad, &no_progress).unwrap_err();
    assert!(
        matches!(&e, DriverError::InvalidFlag { flag, .. } if flag == "pyexample-ip-address"),
        "{e}"
    );
}
