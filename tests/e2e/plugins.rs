//! Issue 5: a plugin written in Python from docs/plugins.md alone drives a real test host
//! through berth: create (with its own flags, then the same provisioner as every host), state,
//! and remove. Proof that the protocol is language-neutral.

use berth_e2e::Fleet;

use crate::cli::Berth;

#[test]
fn a_python_plugin_creates_states_and_removes_a_real_machine() {
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let plugins = berth.store.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/berth-driver-pyexample");
    // Copied by a child process: a file written by this multi-threaded test process could
    // still be open for writing in a forked sibling, and exec would fail with ETXTBSY.
    let status = std::process::Command::new("install")
        .arg("-m0755")
        .arg(&source)
        .arg(plugins.join("berth-driver-pyexample"))
        .status()
        .unwrap();
    assert!(status.success());

    // The plugin's own flags show in `create --help`.
    let help = berth.ok(&["create", "-d", "pyexample", "--help"]);
    assert!(help.contains("--pyexample-ip-address"), "{help}");

    let address = host.address().to_string();
    let key = host.key_path().to_string_lossy().into_owned();
    berth.ok(&[
        "create",
        "-d",
        "pyexample",
        "--pyexample-ip-address",
        &address,
        "--pyexample-ssh-key",
        &key,
        "py1",
    ]);
    let inspect: serde_json::Value = serde_json::from_str(&berth.ok(&["inspect", "py1"])).unwrap();
    assert_eq!(inspect["driver"], "pyexample");
    assert_eq!(inspect["state"], "Running");
    assert_eq!(
        berth.ok(&["status", "py1"]).trim(),
        "Running",
        "state comes from the plugin"
    );
    assert!(berth.docker("py1", "version").status.success());

    // Stop is not something this plugin does: berth says so.
    let out = berth.run(&["stop", "py1"]);
    assert!(!out.status.success());

    berth.ok(&["rm", "-y", "py1"]);
    assert!(!berth.machine_dir("py1").exists());
}
