//! Commands that need only the store (ls, inspect, env, rm of records), run as a user would.

use berth_names::MachineFiles;
use berth_testkit::{Sandbox, stderr, stdout};

#[test]
fn ls_on_an_empty_store_prints_the_header() {
    let sb = Sandbox::new(crate::BERTH);
    let out = sb.run(&["ls"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "NAME   ACTIVE   DRIVER   STATE   URL   SWARM   DOCKER   ERRORS\n"
    );
}

#[test]
fn commands_on_a_missing_machine_name_it() {
    let sb = Sandbox::new(crate::BERTH);
    for args in [
        &["env", "nosuch"][..],
        &["inspect", "nosuch"],
        &["url", "nosuch"],
        &["ip", "nosuch"],
        &["config", "nosuch"],
    ] {
        let out = sb.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("'nosuch'"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{args:?} printed data on failure");
    }
}

#[test]
fn create_refuses_a_bad_name_at_once() {
    let sb = Sandbox::new(crate::BERTH);
    let started = std::time::Instant::now();
    let out = sb.run(&[
        "create",
        "-d",
        "generic",
        "--generic-ip-address",
        "192.0.2.1",
        "bad name!",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("starts with a letter or digit"),
        "{}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "it must not touch the network"
    );
    assert!(!sb.root.exists(), "nothing is written for a refused name");
}

#[test]
fn a_corrupt_record_shows_in_ls_and_the_others_still_list() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("alpha", "tcp://127.0.0.10:2376");
    let broken = sb.add_machine("beta", "tcp://127.0.0.11:2376");
    std::fs::write(broken.join(MachineFiles::RECORD), "name = [unclosed").unwrap();
    let out = sb.run(&["ls"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l.starts_with("alpha")
            && l.contains("generic")
            && l.contains("tcp://127.0.0.10:2376")
            && !l.contains("corrupt")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("beta") && l.contains("Error") && l.contains("corrupt")),
        "{text}"
    );
}

#[test]
fn ls_filters_quiet_and_json() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", "tcp://127.0.0.1:2376");
    sb.add_machine("web2", "tcp://127.0.0.2:2376");
    sb.add_machine("db1", "tcp://127.0.0.3:2376");
    let out = sb.run(&["ls", "-q", "--filter", "name=web*"]);
    assert_eq!(stdout(&out), "web1\nweb2\n");
    let out = sb
        .berth()
        .args(["ls", "--format", "json"])
        .env("DOCKER_HOST", "tcp://127.0.0.2:2376")
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 3);
    assert_eq!(rows[2]["name"], "web2");
    assert_eq!(rows[2]["active"], true);
    assert_eq!(rows[0]["active"], false);
    let out = sb.run(&["ls", "--filter", "colour=red"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown filter key 'colour'"));
}

#[test]
fn ip_url_config_inspect_and_active() {
    let sb = Sandbox::new(crate::BERTH);
    let dir = sb.add_machine("web1", "tcp://127.0.0.1:2376");
    assert_eq!(stdout(&sb.run(&["ip", "web1"])), "127.0.0.1\n");
    assert_eq!(stdout(&sb.run(&["url", "web1"])), "tcp://127.0.0.1:2376\n");
    let config = stdout(&sb.run(&["config", "web1"]));
    assert_eq!(
        config,
        format!(
            "--tlsverify\n--tlscacert=\"{d}/ca.pem\"\n--tlscert=\"{d}/cert.pem\"\n--tlskey=\"{d}/key.pem\"\n-H=tcp://127.0.0.1:2376\n",
            d = dir.display()
        )
    );
    let inspect: serde_json::Value =
        serde_json::from_slice(&sb.run(&["inspect", "web1"]).stdout).unwrap();
    assert_eq!(inspect["name"], "web1");
    assert_eq!(inspect["driver"], "generic");
    assert_eq!(
        inspect["auth"]["client_key"],
        dir.join("key.pem").to_string_lossy().as_ref()
    );

    let out = sb
        .berth()
        .arg("active")
        .env("DOCKER_HOST", "tcp://127.0.0.1:2376")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "web1\n");
    let out = sb.run(&["active"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("DOCKER_HOST is not set"));
}

#[test]
fn rm_needs_yes_without_a_terminal_and_says_the_host_is_left() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", "tcp://127.0.0.1:2376");
    let out = sb
        .berth()
        .args(["rm", "web1"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("add -y"), "{}", stderr(&out));
    assert!(sb.root.join("web1").exists());

    let out = sb.run(&["rm", "-y", "web1", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        sb.root.join("web1").exists(),
        "a bad name in the list removes nothing"
    );

    let out = sb.run(&["rm", "-y", "web1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("left as it is"), "{}", stderr(&out));
    assert!(!sb.root.join("web1").exists());
}

#[test]
fn help_lists_every_command() {
    let sb = Sandbox::new(crate::BERTH);
    let help = stdout(&sb.run(&["--help"]));
    for command in [
        "create",
        "env",
        "ssh",
        "scp",
        "ls",
        "inspect",
        "status",
        "ip",
        "url",
        "config",
        "start",
        "stop",
        "restart",
        "kill",
        "rm",
        "provision",
        "regenerate-certs",
        "active",
        "version",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "--help lacks {command}"
        );
    }
}

#[test]
fn env_and_ls_warn_before_certificates_expire() {
    let sb = Sandbox::new(crate::BERTH);
    let dir = sb.add_machine("web1", "tcp://127.0.0.1:2376");
    let soon = time_in_days(5);
    let mut text = std::fs::read_to_string(dir.join(MachineFiles::RECORD)).unwrap();
    text = text.replace(
        "[ssh]",
        &format!("[tls]\nclient_not_after = \"{soon}\"\n\n[ssh]"),
    );
    std::fs::write(dir.join(MachineFiles::RECORD), text).unwrap();
    let out = sb.run(&["env", "web1"]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("client certificate of 'web1' expires in"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&sb.run(&["ls"])).contains("regenerate-certs web1"));
}

/// An RFC 3339 time `days` from now, computed with `date` to keep the test free of a time crate.
fn time_in_days(days: u32) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("+{days} days"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_none_driver_records_an_existing_engine() {
    let sb = Sandbox::new(crate::BERTH);
    let out = sb.run(&[
        "create",
        "-d",
        "none",
        "--url",
        "tcp://127.0.0.1:2376",
        "existing",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&sb.run(&["url", "existing"])),
        "tcp://127.0.0.1:2376\n"
    );
    assert!(
        stdout(&sb.run(&["ls"]))
            .lines()
            .any(|l| l.starts_with("existing") && l.contains("none"))
    );
    let bad = sb.run(&["create", "-d", "none", "--url", "http://x", "bad"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("tcp://"), "{}", stderr(&bad));
    assert!(
        !sb.root.join("bad").exists(),
        "a refused flag leaves no machine behind"
    );
    let no_ip = sb.run(&["create", "-d", "generic", "forgot-ip"]);
    assert_eq!(no_ip.status.code(), Some(1));
    assert!(
        stderr(&no_ip).contains("--generic-ip-address"),
        "{}",
        stderr(&no_ip)
    );
    assert!(!sb.root.join("forgot-ip").exists());
    let missing = sb.run(&["create", "-d", "nosuchdriver", "x"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("nosuchdriver") && stderr(&missing).contains("plugins"),
        "{}",
        stderr(&missing)
    );
    assert!(sb.run(&["rm", "-y", "existing"]).status.success());
}

/// A plugin that activates, lists no flags, and dies when asked to create.
const CRASHING_PLUGIN: &str = r#"#!/usr/bin/env python3
import json, sys
for line in sys.stdin:
    req = json.loads(line)
    if req["method"] == "Plugin.Activate":
        result = {"protocol_version": 1, "name": "crashy", "implements": ["Driver"]}
    elif req["method"] == "Driver.CreateFlags":
        result = {"flags": []}
    else:
        sys.stderr.write("crashy: giving up on " + req["method"] + "\n")
        sys.exit(3)
    print(json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}), flush=True)
"#;

#[test]
fn a_plugin_that_crashes_in_create_leaves_a_machine_rm_can_remove() {
    let sb = Sandbox::new(crate::BERTH);
    let plugins = sb.root.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let source = plugins.join("crashy.py");
    std::fs::write(&source, CRASHING_PLUGIN).unwrap();
    // Installed by a child process: an executable written by this multi-threaded test process
    // could still be open in a forked sibling, and exec would fail with ETXTBSY.
    let installed = std::process::Command::new("install")
        .arg("-m0755")
        .arg(&source)
        .arg(plugins.join("berth-driver-crashy"))
        .status()
        .unwrap();
    assert!(installed.success());

    let out = sb.run(&["create", "-d", "crashy", "c1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("crashy") && err.contains("berth rm c1"),
        "{err}"
    );
    let inspect: serde_json::Value =
        serde_json::from_slice(&sb.run(&["inspect", "c1"]).stdout).unwrap();
    assert_eq!(inspect["state"], "Error");
    let out = sb.run(&["rm", "-y", "c1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!sb.root.join("c1").exists());
}

/// Commands that only read the store start no async runtime and no worker threads (issue 20:
/// the runtime was most of `env`'s time); commands that ask engines still start it. main logs
/// a debug line when it starts one, so `--debug` shows which commands do.
#[test]
fn only_commands_that_talk_to_engines_start_the_async_runtime() {
    const STARTED: &str = "started the async runtime";
    let sb = Sandbox::new(crate::BERTH);
    // Port 1 of loopback: nothing answers there, `ls` finds out at once.
    sb.add_machine("web1", "tcp://127.0.0.1:1");
    for args in [
        &["--debug", "env", "web1"][..],
        &["--debug", "url", "web1"],
        &["--debug", "config", "web1"],
        &["--debug", "inspect", "web1"],
        &["--debug", "ip", "web1"],
        &["--debug", "version"],
    ] {
        let out = sb.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains(STARTED),
            "{args:?} started a runtime: {}",
            stderr(&out)
        );
    }
    let out = sb.run(&["--debug", "ls", "--timeout", "2"]);
    assert!(
        stderr(&out).contains(STARTED),
        "ls must start the runtime (and say so): {}",
        stderr(&out)
    );
}

/// `ls` asks each engine once for what it shows: `/_ping` and `/version`, and `/info` only where
/// the ping says the engine is a Swarm node, or says nothing (engines before API 1.42, like
/// Debian's 20.10, send no `Swarm` header). Issue 20: `/ping`, `/version` and `/info` of every
/// machine, every time, overloaded one engine behind 180 machines.
#[test]
fn ls_asks_each_engine_for_info_only_where_the_ping_does_not_rule_swarm_out() {
    for (header, expected) in [
        (Some("inactive"), &["/_ping", "/version"][..]),
        (Some("active/manager"), &["/_ping", "/version", "/info"]),
        (None, &["/_ping", "/version", "/info"]),
    ] {
        let sb = Sandbox::new(crate::BERTH);
        let dir = sb.add_machine("web1", "tcp://127.0.0.1:1");
        let (url, requests) = berth_testkit::FakeDocker::new()
            .swarm(header)
            .serve_in(&dir);
        sb.add_machine("web1", &url);
        let out = sb.run(&["ls"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("Running"),
            "{header:?}: {}",
            stdout(&out)
        );
        assert!(
            stdout(&out).contains("v20.10.24"),
            "{header:?}: {}",
            stdout(&out)
        );
        assert_eq!(
            *requests.lock().unwrap(),
            expected,
            "requests of one `ls` with Swarm header {header:?}"
        );
    }
}
