//! `berth create`'s driver flags: declared by each driver, set on the command line or by their
//! environment twins (the command line wins), listed in `--help` with those twins, accepted only
//! with their own driver, and taken from a plugin that is started once per create.

use std::path::{Path, PathBuf};
use std::process::Output;

use berth_testkit::{Sandbox, stderr, stdout};

/// A plugin that notes each start (`activate`) and each create's flags in the file named by
/// $RECORDING_LOG, and "creates" an engine that is already set up (no SSH, so no host is
/// needed). Its flags are the JSON in $RECORDING_FLAGS when set, for declarations to refuse.
const RECORDING_PLUGIN: &str = r#"#!/usr/bin/env python3
import json, os, sys
FLAGS = [
    {"name": "recording-color", "help": "A colour", "default": "blue", "kind": "string"},
    {"name": "recording-count", "help": "A number", "kind": "int"},
    {"name": "recording-verbose", "help": "A switch", "kind": "bool"},
    {"name": "recording-tag", "help": "Repeatable", "kind": "string_list"},
    {"name": "path", "help": "Not prefixed: its twin is RECORDING_PATH, never PATH", "kind": "string"},
]
def note(entry):
    with open(os.environ["RECORDING_LOG"], "a") as f:
        f.write(json.dumps(entry) + "\n")
for line in sys.stdin:
    req = json.loads(line)
    method = req["method"]
    if method == "Plugin.Activate":
        note("activate")
        result = {"protocol_version": 1, "name": "recording", "implements": ["Driver"]}
    elif method == "Driver.CreateFlags":
        flags = os.environ.get("RECORDING_FLAGS")
        result = {"flags": json.loads(flags) if flags else FLAGS}
    elif method == "Driver.Create":
        note(req["params"]["flags"])
        result = {"engine_url": "tcp://127.0.0.1:2376", "data": {}}
    else:
        result = {}
    print(json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}), flush=True)
"#;

/// Installs `source` as the plugin `berth-driver-NAME` in the sandbox's plugins folder.
fn install_plugin(sb: &Sandbox, name: &str, source: &Path) {
    let plugins = sb.root.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    // Installed by a child process: an executable written by this multi-threaded test process
    // could still be open in a forked sibling, and exec would fail with ETXTBSY.
    let installed = std::process::Command::new("install")
        .arg("-m0755")
        .arg(source)
        .arg(plugins.join(format!("berth-driver-{name}")))
        .status()
        .unwrap();
    assert!(installed.success());
}

struct Recording {
    sb: Sandbox,
    log: PathBuf,
}

impl Recording {
    fn new() -> Self {
        let sb = Sandbox::new(crate::BERTH);
        std::fs::create_dir_all(&sb.root).unwrap();
        let source = sb.root.join("recording.py");
        std::fs::write(&source, RECORDING_PLUGIN).unwrap();
        install_plugin(&sb, "recording", &source);
        let log = sb.root.join("recording.log");
        Recording { sb, log }
    }

    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = self.sb.berth();
        cmd.env("RECORDING_LOG", &self.log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(args).output().unwrap()
    }

    /// What the plugin noted, one JSON value per line; the log is emptied.
    fn take_log(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[test]
fn builtin_flags_come_from_their_environment_twins_and_the_command_line_wins() {
    let sb = Sandbox::new(crate::BERTH);
    let out = sb
        .berth()
        .env("NONE_URL", "tcp://127.0.0.1:2376")
        .args(["create", "-d", "none", "from-env"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&sb.run(&["url", "from-env"])),
        "tcp://127.0.0.1:2376\n"
    );

    let out = sb
        .berth()
        .env("NONE_URL", "tcp://127.0.0.1:2376")
        .args([
            "create",
            "-d",
            "none",
            "--url",
            "tcp://127.0.0.2:2376",
            "flag-wins",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&sb.run(&["url", "flag-wins"])),
        "tcp://127.0.0.2:2376\n"
    );

    // The generic driver checks the key file before it connects anywhere: the path it names
    // shows which value reached the driver, without a host.
    let generic = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = sb.berth();
        cmd.env("GENERIC_IP_ADDRESS", "192.0.2.1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.arg("create").args(args).arg("g1").output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        stderr(&out)
    };
    let err = generic(&[("GENERIC_SSH_KEY", "/nonexistent/env-key")], &[]);
    assert!(
        err.contains("--generic-ssh-key") && err.contains("/nonexistent/env-key"),
        "{err}"
    );
    let err = generic(
        &[("GENERIC_SSH_KEY", "/nonexistent/env-key")],
        &["--generic-ssh-key", "/nonexistent/flag-key"],
    );
    assert!(err.contains("/nonexistent/flag-key"), "{err}");
    let err = generic(&[("GENERIC_SSH_PORT", "70000")], &["-d", "generic"]);
    assert!(err.contains("70000"), "{err}");
    assert!(
        !sb.root.join("g1").exists(),
        "a refused flag leaves no machine"
    );

    let out = sb
        .berth()
        .env("GENERIC_SSH_PORT", "twenty-two")
        .args(["create", "--generic-ip-address", "192.0.2.1", "g2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the environment variable GENERIC_SSH_PORT holds \"twenty-two\""),
        "a bad value names the variable it came from: {err}"
    );

    // An empty variable is an unset one (the default port applies; the key check speaks).
    let err = generic(
        &[
            ("GENERIC_SSH_PORT", ""),
            ("GENERIC_SSH_KEY", "/nonexistent/env-key"),
        ],
        &[],
    );
    assert!(err.contains("/nonexistent/env-key"), "{err}");
}

#[test]
fn help_lists_each_drivers_flags_with_their_environment_variables() {
    let sb = Sandbox::new(crate::BERTH);
    let out = sb.run(&["create", "--help"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let help = stdout(&out);
    for (flag, env) in [
        ("--generic-ip-address", "GENERIC_IP_ADDRESS"),
        ("--generic-ssh-user", "GENERIC_SSH_USER"),
        ("--generic-ssh-port", "GENERIC_SSH_PORT"),
        ("--generic-ssh-key", "GENERIC_SSH_KEY"),
    ] {
        assert!(
            help.contains(flag) && help.contains(&format!("[env: {env}]")),
            "{flag} {env}:\n{help}"
        );
    }
    assert!(!help.contains("--url"), "{help}");

    let help = stdout(&sb.run(&["create", "-d", "none", "--help"]));
    assert!(
        help.contains("--url") && help.contains("[env: NONE_URL]"),
        "{help}"
    );
    assert!(!help.contains("--generic-ip-address <"), "{help}");

    // A value set in the environment (a token, say) is not printed by --help.
    let out = sb
        .berth()
        .env("GENERIC_SSH_KEY", "/secret/key")
        .args(["create", "--help"])
        .output()
        .unwrap();
    assert!(!stdout(&out).contains("/secret/key"), "{}", stdout(&out));

    let rec = Recording::new();
    let help = stdout(&rec.run(&[], &["create", "-d", "recording", "--help"]));
    for env in [
        "RECORDING_COLOR",
        "RECORDING_COUNT",
        "RECORDING_VERBOSE",
        "RECORDING_TAG",
        "RECORDING_PATH",
    ] {
        assert!(help.contains(&format!("[env: {env}]")), "{env}:\n{help}");
    }
}

#[test]
fn a_flag_of_another_driver_is_refused_and_its_variable_ignored() {
    let sb = Sandbox::new(crate::BERTH);
    let out = sb.run(&[
        "create",
        "-d",
        "none",
        "--url",
        "tcp://127.0.0.1:2376",
        "--generic-ip-address",
        "192.0.2.1",
        "n1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--generic-ip-address is a flag of the generic driver")
            && err.contains("none driver"),
        "{err}"
    );
    assert!(!sb.root.join("n1").exists());

    let out = sb.run(&["create", "--url", "tcp://127.0.0.1:2376", "g1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--url is a flag of the none driver"),
        "{}",
        stderr(&out)
    );

    // A plugin's flag is unknown to berth without -d: the error says where flags come from.
    let out = sb.run(&["create", "--nspawn-subnet", "10.214.1", "g1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("'--nspawn-subnet': neither `berth create` nor the generic driver")
            && stderr(&out).contains("-d DRIVER"),
        "{}",
        stderr(&out)
    );

    let rec = Recording::new();
    let out = rec.run(
        &[],
        &["create", "-d", "recording", "--generic-ssh-user", "u", "r1"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("this create uses the recording driver"),
        "{}",
        stderr(&out)
    );

    // Variables meant for another driver are not this driver's business.
    let out = sb
        .berth()
        .env("GENERIC_IP_ADDRESS", "192.0.2.1")
        .env("GENERIC_SSH_PORT", "not-a-number")
        .args([
            "create",
            "-d",
            "none",
            "--url",
            "tcp://127.0.0.1:2376",
            "n2",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn plugin_flags_come_from_their_environment_twins_and_the_plugin_starts_once() {
    let rec = Recording::new();
    let out = rec.run(
        &[
            ("RECORDING_COLOR", "red"),
            ("RECORDING_COUNT", "7"),
            ("RECORDING_VERBOSE", "yes"),
            ("RECORDING_TAG", "from-env"),
        ],
        &["create", "-d", "recording", "--recording-count", "9", "p1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let log = rec.take_log();
    assert_eq!(
        log,
        vec![
            serde_json::json!("activate"),
            serde_json::json!({
                "recording-color": "red",
                "recording-count": 9,
                "recording-verbose": true,
                "recording-tag": ["from-env"],
            }),
        ],
        "one start for flags and create together; PATH is not read for the flag `path`"
    );

    let out = rec.run(
        &[("RECORDING_PATH", "/from/env")],
        &[
            "create",
            "-d",
            "recording",
            "--recording-tag",
            "a",
            "--recording-tag",
            "b",
            "p2",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let log = rec.take_log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[1]["path"], "/from/env");
    assert_eq!(log[1]["recording-color"], "blue", "the default applies");
    assert_eq!(log[1]["recording-tag"], serde_json::json!(["a", "b"]));
    assert_eq!(log[1]["recording-verbose"], false);

    // Two machines at once may need a second process (when the first is still busy), never more.
    let out = rec.run(&[], &["create", "-d", "recording", "p3", "p4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let activations = rec
        .take_log()
        .iter()
        .filter(|e| *e == &serde_json::json!("activate"))
        .count();
    assert!((1..=2).contains(&activations), "{activations} starts");
}

#[test]
fn a_plugin_flag_that_clashes_with_berths_own_is_refused_naming_plugin_and_flag() {
    let rec = Recording::new();
    for (flags, says) in [
        (
            r#"[{"name":"engine-opt","help":"x","kind":"string"}]"#,
            "--engine-opt, which `berth create` has itself",
        ),
        (
            r#"[{"name":"driver","help":"x","kind":"string"}]"#,
            "--driver, which",
        ),
        (
            r#"[{"name":"help","help":"x","kind":"bool"}]"#,
            "--help, which",
        ),
        (
            r#"[{"name":"recording-n","help":"x","kind":"int","default":"many"}]"#,
            "not a whole number",
        ),
        (
            r#"[{"name":"recording-n","help":"x","kind":"int"},{"name":"recording-n","help":"y","kind":"int"}]"#,
            "twice",
        ),
    ] {
        for args in [
            &["create", "-d", "recording", "c1"][..],
            &["create", "-d", "recording", "--help"],
        ] {
            let out = rec.run(&[("RECORDING_FLAGS", flags)], args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{flags} {args:?}: {err}");
            assert!(
                err.contains("berth-driver-recording") && err.contains(says),
                "{flags}: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    assert!(!rec.sb.root.join("c1").exists());
}

#[test]
fn the_python_example_plugin_reads_its_flags_from_the_environment() {
    let sb = Sandbox::new(crate::BERTH);
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/plugins/berth-driver-pyexample");
    install_plugin(&sb, "pyexample", &source);
    // The plugin refuses the port before it goes anywhere: its message shows the value arrived.
    let out = sb
        .berth()
        .env("PYEXAMPLE_IP_ADDRESS", "192.0.2.1")
        .env("PYEXAMPLE_SSH_PORT", "70000")
        .args(["create", "-d", "pyexample", "py1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("70000 is not a TCP port"),
        "{}",
        stderr(&out)
    );
}
