//! Plugins that crash, hang, speak another version or write garbage: each
//! must end in its own clear error that names the plugin, never in a hang.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_driver::{Deadlines, PluginDriver, PluginOptions};
use berth_plugin::{Driver, DriverError, MachineState};
use serde_json::json;

use crate::machine;

const ACTIVATED: &str = r#"echo '{"jsonrpc":"2.0","id":1,"result":{"protocol_version":1,"name":"bad","implements":["Driver"]}}'"#;

/// Write `body` as an executable sh script named like a plugin.
///
/// The executable is written by `install`, not by this process: a file this
/// process holds open for writing can leak into a child that another test
/// thread is forking at that moment, and exec then fails with ETXTBSY.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    executable(dir, name, &format!("#!/bin/sh\n{body}\n"))
}

fn executable(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(format!("berth-driver-{name}"));
    let source = dir.join(format!("{name}.src"));
    std::fs::write(&source, content).unwrap();
    let status = std::process::Command::new("install")
        .args(["-m", "755"])
        .arg(&source)
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

fn quick() -> PluginOptions {
    PluginOptions {
        deadlines: Deadlines {
            activate: Duration::from_secs(10),
            ..Deadlines::all(Duration::from_millis(500))
        },
        // Long enough for a loaded machine to reap a crashed script; the
        // tests of the grace period itself shorten it.
        grace: Duration::from_secs(2),
        ..PluginOptions::default()
    }
}

fn short_grace() -> PluginOptions {
    PluginOptions {
        grace: Duration::from_millis(300),
        ..quick()
    }
}

fn launch_err(path: &Path, options: PluginOptions) -> DriverError {
    let e = PluginDriver::launch(path, options).unwrap_err();
    assert!(
        e.to_string().contains(&path.display().to_string()),
        "the error names the plugin: {e}"
    );
    e
}

fn state_err(d: &PluginDriver) -> DriverError {
    let dir = tempfile::tempdir().unwrap();
    let e = d.state(&machine("m", dir.path(), json!({}))).unwrap_err();
    assert!(
        e.to_string().contains(&d.path().display().to_string()),
        "the error names the plugin: {e}"
    );
    e
}

#[test]
fn crash_before_answering_reports_status_and_last_stderr_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "crash",
        "echo 'fatal: no hypervisor found' >&2\nexit 3",
    );
    match launch_err(&p, quick()) {
        DriverError::PluginCrashed {
            method,
            status,
            stderr_tail,
            ..
        } => {
            assert_eq!(method, "Plugin.Activate");
            assert_eq!(status, "exit status 3");
            assert_eq!(stderr_tail, vec!["fatal: no hypervisor found"]);
        }
        e => panic!("wrong error: {e}"),
    }
}

#[test]
fn crash_in_the_middle_of_a_call_reports_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "segv",
        &format!("read l\n{ACTIVATED}\nread l\necho 'about to fall over' >&2\nkill -SEGV $$"),
    );
    let d = PluginDriver::launch(&p, quick()).unwrap();
    match state_err(&d) {
        DriverError::PluginCrashed {
            method,
            status,
            stderr_tail,
            ..
        } => {
            assert_eq!(method, "Driver.State");
            assert_eq!(status, "killed by signal 11");
            assert_eq!(stderr_tail, vec!["about to fall over"]);
        }
        e => panic!("wrong error: {e}"),
    }
}

#[test]
fn a_crashed_process_is_replaced_by_a_fresh_one() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("crashed-once");
    let p = script(
        dir.path(),
        "flaky",
        &format!(
            "read l\n{ACTIVATED}\nread l\nif [ ! -e {m} ]; then touch {m}; exit 1; fi\n\
             echo '{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{{\"state\":\"Running\"}}}}'\nread l",
            m = marker.display()
        ),
    );
    let d = PluginDriver::launch(&p, quick()).unwrap();
    assert!(matches!(state_err(&d), DriverError::PluginCrashed { .. }));
    let m = machine("m", dir.path(), json!({}));
    assert_eq!(d.state(&m).unwrap(), MachineState::Running);
}

#[test]
fn a_hung_call_is_killed_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let p = script(
        dir.path(),
        "hang",
        &format!(
            "echo $$ > {}\nread l\n{ACTIVATED}\nread l\nexec sleep 60",
            pidfile.display()
        ),
    );
    let d = PluginDriver::launch(&p, quick()).unwrap();
    let started = Instant::now();
    match state_err(&d) {
        DriverError::PluginTimedOut {
            method, deadline, ..
        } => {
            assert_eq!(method, "Driver.State");
            assert_eq!(deadline, Duration::from_millis(500));
        }
        e => panic!("wrong error: {e}"),
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the hung plugin (pid {pid}) was killed and reaped"
    );
}

#[test]
fn a_plugin_that_never_answers_the_handshake_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(dir.path(), "mute", "exec sleep 60");
    let options = PluginOptions {
        deadlines: Deadlines::all(Duration::from_millis(300)),
        ..quick()
    };
    let e = launch_err(&p, options);
    assert!(
        matches!(&e, DriverError::PluginTimedOut { method, .. } if method == "Plugin.Activate"),
        "{e}"
    );
}

#[test]
fn an_unknown_protocol_version_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "future",
        r#"read l
echo '{"jsonrpc":"2.0","id":1,"result":{"protocol_version":2,"hello":"a shape berth does not know"}}'"#,
    );
    let e = launch_err(&p, quick());
    assert!(
        matches!(
            e,
            DriverError::PluginVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{e}"
    );
    let s = e.to_string();
    assert!(s.contains("version 2") && s.contains("version 1"), "{s}");
}

#[test]
fn a_plugin_that_is_not_a_driver_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "volume",
        r#"read l
echo '{"jsonrpc":"2.0","id":1,"result":{"protocol_version":1,"name":"v","implements":["VolumeDriver"]}}'"#,
    );
    let e = launch_err(&p, quick());
    assert!(e.to_string().contains("VolumeDriver"), "{e}");
    assert!(matches!(e, DriverError::PluginNotADriver { .. }));
}

#[test]
fn text_on_stdout_is_garbage_and_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "chatty",
        "read l\necho 'Starting kvm plugin v0.3...'\nread l",
    );
    let e = launch_err(&p, quick());
    assert!(matches!(e, DriverError::PluginGarbage { .. }), "{e}");
    assert!(e.to_string().contains("Starting kvm plugin v0.3..."), "{e}");
}

#[test]
fn an_answer_to_another_id_is_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "wrongid",
        r#"read l
echo '{"jsonrpc":"2.0","id":41,"result":{}}'
read l"#,
    );
    let e = launch_err(&p, quick());
    assert!(matches!(e, DriverError::PluginGarbage { .. }), "{e}");
    assert!(e.to_string().contains("id 41"), "{e}");
}

#[test]
fn a_result_without_required_fields_is_a_bad_result() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "sloppy",
        &format!(
            "read l\n{ACTIVATED}\nread l\necho '{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{{\"status\":\"up\"}}}}'\nread l"
        ),
    );
    let d = PluginDriver::launch(&p, quick()).unwrap();
    let e = state_err(&d);
    assert!(matches!(e, DriverError::PluginBadResult { .. }), "{e}");
    assert!(e.to_string().contains("missing field `state`"), "{e}");

    let p = script(
        dir.path(),
        "noversion",
        r#"read l
echo '{"jsonrpc":"2.0","id":1,"result":{"name":"x"}}'"#,
    );
    let e = launch_err(&p, quick());
    assert!(e.to_string().contains("protocol_version is missing"), "{e}");
}

#[test]
fn a_missing_interpreter_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = executable(dir.path(), "py9", "#!/nonexistent/python9\n");
    let e = launch_err(&p, quick());
    assert!(matches!(e, DriverError::PluginSpawn { .. }), "{e}");
}

#[test]
fn closing_stdout_while_running_on_is_a_crash_and_the_process_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "halfdead",
        &format!("read l\n{ACTIVATED}\nread l\nexec sleep 60 >&-"),
    );
    let d = PluginDriver::launch(&p, short_grace()).unwrap();
    let started = Instant::now();
    match state_err(&d) {
        DriverError::PluginCrashed { status, .. } => {
            assert!(status.contains("kept running"), "{status}")
        }
        e => panic!("wrong error: {e}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_plugin_that_ignores_end_of_input_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "stubborn",
        &format!("read l\n{ACTIVATED}\nexec sleep 60"),
    );
    let d = PluginDriver::launch(&p, short_grace()).unwrap();
    let started = Instant::now();
    drop(d);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "drop took {took:?}");
}

/// docs/plugins.md: a create answers `ssh` or `engine_url`. `{}` used to pass, and the machine
/// showed Running with no URL.
#[test]
fn a_create_result_with_neither_ssh_nor_engine_url_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "empty",
        &format!(
            "read l\n{ACTIVATED}\nread l\necho '{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{{}}}}'\nread l"
        ),
    );
    let d = PluginDriver::launch(&p, quick()).unwrap();
    let req = berth_plugin::CreateRequest {
        machine: "m".into(),
        machine_dir: dir.path().to_path_buf(),
        flags: Default::default(),
        ssh_public_key: None,
        preboot: false,
        machine_flags: Default::default(),
    };
    let e = d.create(&req, &|_| {}).unwrap_err();
    assert!(matches!(e, DriverError::PluginBadResult { .. }), "{e}");
    assert!(e.to_string().contains("neither `ssh`"), "{e}");
}

/// A plugin answering `Driver.State` with `reply` (a JSON result).
fn state_plugin(dir: &Path, name: &str, reply: &str) -> PluginDriver {
    let p = script(
        dir,
        name,
        &format!(
            "read l\n{ACTIVATED}\nread l\necho '{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{reply}}}'\nread l"
        ),
    );
    PluginDriver::launch(&p, quick()).unwrap()
}

/// docs/plugins.md lists the states; `"Sleeping"` and `5` are none of them. They used to end in
/// a bare serde sentence (or a silent Unknown in `ls`): the error names the plugin and `state`.
#[test]
fn an_unknown_state_is_refused_naming_plugin_and_field() {
    let dir = tempfile::tempdir().unwrap();
    for (name, reply, quoted) in [
        (
            "sleepy",
            r#"{"state":"Sleeping"}"#,
            "`state` is \"Sleeping\"",
        ),
        ("numeric", r#"{"state":5}"#, "`state` is 5"),
    ] {
        let d = state_plugin(dir.path(), name, reply);
        let e = state_err(&d);
        assert!(matches!(e, DriverError::PluginBadResult { .. }), "{e}");
        let s = e.to_string();
        assert!(s.contains(quoted) && s.contains("Running"), "{s}");
    }
}

/// A flag kind berth does not parse by (`float`) is refused naming the plugin and the flag.
#[test]
fn an_unknown_flag_kind_is_refused_naming_plugin_and_flag() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "floaty",
        &format!(
            "read l\n{ACTIVATED}\nread l\necho '{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{{\"flags\":[{{\"name\":\"floaty-cpus\",\"help\":\"h\",\"kind\":\"float\"}}]}}}}'\nread l"
        ),
    );
    let d = PluginDriver::launch(&p, quick()).unwrap();
    let e = d.create_flags().unwrap_err();
    assert!(matches!(e, DriverError::PluginBadResult { .. }), "{e}");
    let s = e.to_string();
    assert!(s.contains(&p.display().to_string()), "{s}");
    assert!(
        s.contains("flag \"floaty-cpus\"") && s.contains("\"float\""),
        "{s}"
    );
}

fn create_with(dir: &Path, name: &str, result: &str) -> Result<berth_plugin::Created, DriverError> {
    let p = script(
        dir,
        name,
        &format!(
            "read l\n{ACTIVATED}\nread l\necho '{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{result}}}'\nread l"
        ),
    );
    let d = PluginDriver::launch(&p, quick()).unwrap();
    let req = berth_plugin::CreateRequest {
        machine: "m".into(),
        machine_dir: dir.to_path_buf(),
        flags: Default::default(),
        ssh_public_key: None,
        preboot: false,
        machine_flags: Default::default(),
    };
    d.create(&req, &|_| {})
}

/// config.toml has no null: a null inside an array (which cannot be dropped without moving the
/// rest) and data that is not an object are refused at create, naming the plugin and the place;
/// null members of objects pass (berth drops them, as docs/plugins.md says).
#[test]
fn nulls_in_arrays_and_data_that_is_not_an_object_are_refused_at_create() {
    let dir = tempfile::tempdir().unwrap();
    let ssh = r#""ssh":{"host":"192.0.2.1"}"#;
    let e = create_with(
        dir.path(),
        "nullish",
        &format!(r#"{{{ssh},"data":{{"disks":["a",null]}}}}"#),
    )
    .unwrap_err();
    assert!(matches!(e, DriverError::PluginBadResult { .. }), "{e}");
    assert!(e.to_string().contains("`data.disks[1]` is null"), "{e}");
    let e = create_with(dir.path(), "listy", &format!(r#"{{{ssh},"data":[1]}}"#)).unwrap_err();
    assert!(e.to_string().contains("`data` is an array"), "{e}");
    let ok = create_with(
        dir.path(),
        "members",
        &format!(r#"{{{ssh},"data":{{"a":null,"b":1}}}}"#),
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
}

/// Starting a plugin for its flags is one step: the handshake and the listing share one
/// deadline. A plugin slow at both used to get a full deadline for each (20 s on create).
#[test]
fn the_handshake_and_the_flag_listing_share_one_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "slow",
        &format!(
            "read l\nsleep 0.7\n{ACTIVATED}\nread l\nsleep 0.7\necho '{{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{{\"flags\":[]}}}}'\nread l"
        ),
    );
    let options = PluginOptions {
        deadlines: Deadlines {
            activate: Duration::from_secs(1),
            create_flags: Duration::from_secs(1),
            ..Deadlines::all(Duration::from_secs(1))
        },
        ..quick()
    };
    let started = Instant::now();
    let d = PluginDriver::launch(&p, options).unwrap();
    let e = d.create_flags().unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1300),
        "took {:?}",
        started.elapsed()
    );
    match &e {
        DriverError::PluginTimedOut {
            method, deadline, ..
        } => {
            assert_eq!(method, "Plugin.Activate and Driver.CreateFlags");
            assert_eq!(*deadline, Duration::from_secs(1));
        }
        e => panic!("wrong error: {e}"),
    }
    assert!(e.to_string().contains("Nothing was made"), "{e}");
}

/// Regression: a stdout line of up to 16 MiB was read whole, and lines queued without bound
/// while no call read them. A valid answer padded past the 1 MiB line cap is now refused.
#[test]
fn an_answer_longer_than_the_line_cap_is_refused_before_it_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "padded",
        r#"read l
printf '{"jsonrpc":"2.0","id":1,"pad":"'
head -c 2097152 /dev/zero | tr '\0' x
echo '","result":{"protocol_version":1,"name":"padded","implements":["Driver"]}}'
read l"#,
    );
    let e = launch_err(&p, quick());
    assert!(matches!(e, DriverError::PluginGarbage { .. }), "{e}");
    assert!(e.to_string().contains("longer than 1048576 bytes"), "{e}");
}
