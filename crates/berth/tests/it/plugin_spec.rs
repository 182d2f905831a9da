//! The plugin host holding to docs/plugins.md, as a plugin author meets it from the command
//! line: a broken plugin's reason shown in `ls` and `status`, `create --help` failing with the
//! plugin's error, a plugin file without its executable bit named, and a -32003 refusal that
//! leaves no record.

use std::path::{Path, PathBuf};

use berth_names::MachineFiles;
use berth_testkit::{Sandbox, stderr, stdout};

/// Installs a sh script as `berth-driver-NAME` in the sandbox's plugins folder with `mode`
/// (by `install`, a child: see driver_flags.rs on ETXTBSY).
fn plugin(sb: &Sandbox, name: &str, body: &str, mode: &str) -> PathBuf {
    let plugins = sb.root.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let source = sb.root.join(format!("{name}.sh"));
    std::fs::write(&source, format!("#!/bin/sh\n{body}\n")).unwrap();
    let path = plugins.join(format!("berth-driver-{name}"));
    let ok = std::process::Command::new("install")
        .arg(format!("-m{mode}"))
        .arg(&source)
        .arg(&path)
        .status()
        .unwrap();
    assert!(ok.success());
    path
}

const CRASH: &str = "echo 'fatal: no hypervisor found' >&2\nexit 3";

/// A machine made by driver `driver`, with an engine URL on which nothing listens.
fn machine_of(sb: &Sandbox, name: &str, driver: &str) {
    let dir = sb.add_machine(name, "tcp://127.0.0.1:9");
    let config = dir.join(MachineFiles::RECORD);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("driver = \"generic\"", &format!("driver = \"{driver}\"")),
    )
    .unwrap();
}

/// `ls` and `status` of a machine whose plugin crashes used to show a bare `Unknown` with an
/// empty ERRORS column, even under --debug: they say why, in the plugin's own words.
#[test]
fn a_crashing_plugin_shows_its_reason_in_ls_and_status() {
    let sb = Sandbox::new(crate::BERTH);
    plugin(&sb, "crash", CRASH, "0755");
    machine_of(&sb, "m1", "crash");
    let out = sb.run(&["ls"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let row = table.lines().find(|l| l.starts_with("m1")).unwrap();
    assert!(row.contains("Unknown"), "{table}");
    assert!(
        row.contains("the crash driver could not say the state")
            && row.contains("fatal: no hypervisor found"),
        "{table}"
    );

    let out = sb.run(&["status", "m1"]);
    assert_eq!(stdout(&out).trim(), "Unknown");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("berth-driver-crash") && err.contains("fatal: no hypervisor found"),
        "{err}"
    );
}

/// `berth create -d BROKEN --help` must fail with the plugin's error, not print help.
#[test]
fn create_help_of_a_broken_plugin_fails_with_its_error() {
    let sb = Sandbox::new(crate::BERTH);
    plugin(&sb, "crash", CRASH, "0755");
    let out = sb.run(&["create", "-d", "crash", "--help"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("fatal: no hypervisor found"),
        "{}",
        stderr(&out)
    );
}

/// A plugin copied in without its executable bit used to be "no driver named …".
#[test]
fn a_plugin_without_its_executable_bit_is_named_with_the_fix() {
    let sb = Sandbox::new(crate::BERTH);
    let path = plugin(&sb, "plain", CRASH, "0644");
    let out = sb.run(&["create", "-d", "plain", "m1"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains("not executable") && err.contains("chmod +x"),
        "{err}"
    );
    assert!(!err.contains("no driver named"), "{err}");
}

/// -32003 (a bad flag) means the driver made nothing: berth keeps no record, so the user fixes
/// the flag and runs the same create again, and docs/plugins.md says so (it used to promise a
/// record in state Error).
#[test]
fn a_refused_flag_keeps_no_record_as_the_guide_says() {
    let sb = Sandbox::new(crate::BERTH);
    plugin(
        &sb,
        "refuse",
        r#"read l
echo '{"jsonrpc":"2.0","id":1,"result":{"protocol_version":1,"name":"refuse","implements":["Driver"]}}'
read l
echo '{"jsonrpc":"2.0","id":2,"result":{"flags":[{"name":"refuse-mem","help":"h","kind":"int"}]}}'
read l
echo '{"jsonrpc":"2.0","id":3,"error":{"code":-32003,"message":"4096 is more memory than the host has","data":{"flag":"refuse-mem"}}}'
read l"#,
        "0755",
    );
    let out = sb.run(&["create", "-d", "refuse", "--refuse-mem", "4096", "r1"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("refused --refuse-mem"),
        "{}",
        stderr(&out)
    );
    assert!(
        !sb.root.join("r1").exists(),
        "a refused create keeps no record"
    );
    let out = sb.run(&["ls", "-q"]);
    assert!(!stdout(&out).contains("r1"), "{}", stdout(&out));

    let guide = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins.md"),
    )
    .unwrap();
    let guide = guide.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        guide.contains("After -32003 berth keeps no record"),
        "docs/plugins.md must say what a -32003 refusal leaves"
    );
    assert!(
        !guide.contains("berth keeps the machine in state Error either way"),
        "docs/plugins.md still promises a record after every failed create"
    );
}

/// `provision` used to restart an engine (new certificates, changed options) without a
/// question. Where a restart would stop running containers (here: an engine running one
/// container without live-restore), it asks, and with no terminal it refuses before touching
/// the host, saying to add -y.
#[test]
fn provision_refuses_without_yes_when_a_restart_could_stop_containers() {
    let sb = Sandbox::new(crate::BERTH);
    let dir = sb.add_machine("web1", "tcp://127.0.0.1:1");
    let (url, _) = berth_testkit::FakeDocker::new().serve_in(&dir);
    sb.add_machine("web1", &url);
    let out = sb
        .berth()
        .args(["provision", "web1"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("Provisioning may restart the Docker engine"),
        "{err}"
    );
    assert!(err.contains("stops 1 running containers"), "{err}");
    assert!(err.contains("sleeper"), "{err}");
    assert!(err.contains("add -y"), "{err}");
    assert!(!err.contains("web1: "), "no provisioning step ran: {err}");
}

/// An engine that does not answer is what `provision` is run to repair (an interrupted
/// install, a broken drop-in); nothing can be seen running there, so berth does not ask and
/// goes on to the provisioning itself (which here fails at SSH: there is no host).
#[test]
fn provision_of_a_machine_whose_engine_does_not_answer_asks_nothing() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", "tcp://127.0.0.1:1");
    let out = sb
        .berth()
        .args(["provision", "web1"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        !err.contains("Provisioning may restart the Docker engine"),
        "{err}"
    );
    assert!(
        err.contains("web1: connecting"),
        "the provisioning ran: {err}"
    );
}
