//! The Low findings of the security review (issue 10, items 6, 8, 9, 10 and 11), each as a user
//! or an attacker would meet it through the `berth` binary. Each test failed before its fix.

use std::path::{Path, PathBuf};
use std::process::Output;

use berth_testkit::{Sandbox, fake_openssh, require, stderr, stdout};

/// Control characters that let text move the cursor, clear the screen, set the terminal's title
/// or rewrite a line: none of them may reach berth's terminal from outside.
const PAINT: [char; 6] = ['\x1b', '\r', '\x07', '\x08', '\u{9b}', '\u{7f}'];

fn assert_no_paint(what: &str, text: &str) {
    if let Some((at, c)) = text.char_indices().find(|(_, c)| PAINT.contains(c)) {
        let excerpt: String = text[at.saturating_sub(60).min(at)..]
            .chars()
            .take(120)
            .collect();
        panic!("{what} carries the raw control character {c:?}: …{excerpt:?}…");
    }
}

/// Writes `text` as the record of machine `name`.
fn record(sb: &Sandbox, name: &str, text: &str) -> PathBuf {
    let dir = sb.root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), text).unwrap();
    dir
}

/// A plugin that notes every request's method in $LOG_FILE, answers Create with an engine
/// that is already set up, and, when $PLUGIN_MODE says so, misbehaves on Create.
const PLUGIN: &str = r#"#!/usr/bin/env python3
import json, os, sys
mode = os.environ.get("PLUGIN_MODE", "")
def note(entry):
    with open(os.environ["LOG_FILE"], "a") as f:
        f.write(entry + "\n")
for line in sys.stdin:
    req = json.loads(line)
    method = req["method"]
    note(method)
    reply = {"jsonrpc": "2.0", "id": req["id"]}
    if method == "Plugin.Activate":
        reply["result"] = {"protocol_version": 1, "name": "probe", "implements": ["Driver"]}
    elif method == "Driver.CreateFlags":
        reply["result"] = {"flags": []}
    elif method == "Driver.Create" and mode == "paint":
        reply["error"] = {"code": -32000, "message": "no \x1b[2J\x1b]0;owned\x07\rbuilt-in error: all is fine\u009b"}
    elif method == "Driver.Create" and mode == "flood":
        # One line of 4 MiB without a newline, then a flood of short lines painting the screen.
        sys.stderr.write("x" * (4 << 20) + "\n")
        for i in range(200000):
            sys.stderr.write("\x1b[2J\rflood %d\n" % i)
        sys.stderr.flush()
        reply["result"] = {"engine_url": "tcp://127.0.0.1:2376", "data": {}}
    elif method == "Driver.Create":
        reply["result"] = {"engine_url": "tcp://127.0.0.1:2376", "data": {}}
    else:
        reply["result"] = {}
    print(json.dumps(reply), flush=True)
"#;

struct WithPlugin {
    sb: Sandbox,
    log: PathBuf,
}

impl WithPlugin {
    fn new() -> Self {
        let sb = Sandbox::new(crate::BERTH);
        let plugins = sb.root.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        let source = sb.root.join("probe.py");
        std::fs::write(&source, PLUGIN).unwrap();
        // Installed by a child process: an executable written by this multi-threaded test
        // process could still be open in a forked sibling, and exec would fail with ETXTBSY.
        let installed = std::process::Command::new("install")
            .arg("-m0755")
            .arg(&source)
            .arg(plugins.join("berth-driver-probe"))
            .status()
            .unwrap();
        assert!(installed.success());
        let log = sb.root.join("probe.log");
        WithPlugin { sb, log }
    }

    fn run(&self, mode: &str, args: &[&str]) -> Output {
        self.sb
            .berth()
            .env("LOG_FILE", &self.log)
            .env("PLUGIN_MODE", mode)
            .args(args)
            .output()
            .unwrap()
    }

    fn methods(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

// ---- 6: plugin, remote and error text cannot paint over berth's output ----

#[test]
fn record_text_is_printed_with_control_characters_escaped() {
    let sb = Sandbox::new(crate::BERTH);
    record(
        &sb,
        "web",
        "version = 1\nname = \"web\"\ndriver = \"generic\"\nstate = \"Error\"\n\
         url = \"tcp://127.0.0.1:1\"\n\
         error = \"boom\\u001b]0;owned\\u0007\\r\\u001b[2Jall good\\u009b\\u007f\"\n\
         created_at = \"2026-11-23T12:00:00Z\"\n",
    );
    let ls = sb.run(&["ls", "--timeout", "1"]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    assert_no_paint("ls", &stdout(&ls));
    assert!(
        stdout(&ls).contains(r"boom\x1b]0;owned\x07\r\x1b[2Jall good"),
        "the text is still shown, escaped: {}",
        stdout(&ls)
    );

    let inspect = sb.run(&["inspect", "web"]);
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    assert_no_paint("inspect", &stdout(&inspect));
    let value: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        value["error"], "boom\u{1b}]0;owned\u{7}\r\u{1b}[2Jall good\u{9b}\u{7f}",
        "the JSON still carries the value exactly"
    );

    let env = sb.run(&["env", "--shell", "bash", "web"]);
    assert!(env.status.success(), "{}", stderr(&env));
    assert!(stderr(&env).contains("state Error"), "{}", stderr(&env));
    assert_no_paint("env's warning", &stderr(&env));
}

#[test]
fn a_plugins_error_message_is_printed_escaped() {
    let p = WithPlugin::new();
    let out = p.run("paint", &["create", "-d", "probe", "m1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("built-in error"), "{}", stderr(&out));
    assert_no_paint("create's error", &stderr(&out));
}

#[test]
fn a_plugin_flooding_its_stderr_is_cut_short_and_escaped() {
    let p = WithPlugin::new();
    let out = p.run("flood", &["--debug", "create", "-d", "probe", "m1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_no_paint("the plugin's log under --debug", &err);
    assert!(err.contains("flood 0"), "the first lines are shown");
    assert!(
        err.len() < 1 << 20,
        "a plugin's log is bounded, not {} bytes of berth's stderr",
        err.len()
    );
    assert!(
        err.contains("not shown"),
        "berth says it left lines out: {}",
        &err[err.len().saturating_sub(2000)..]
    );
}

// ---- 8: OpenSSH arguments ----

fn ssh_record(name: &str, host: &str, user: &str) -> String {
    format!(
        "version = 1\nname = \"{name}\"\ndriver = \"generic\"\nstate = \"Running\"\n\
         url = \"tcp://127.0.0.1:2376\"\ncreated_at = \"2026-11-23T12:00:00Z\"\n\n\
         [ssh]\nhost = \"{host}\"\nport = 22\nuser = \"{user}\"\n"
    )
}

fn run_openssh(sb: &Sandbox, bin: &Path, args_file: &Path, args: &[&str]) -> (Output, Vec<String>) {
    let _ = std::fs::remove_file(args_file);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sb
        .berth()
        .env("PATH", path)
        .env("ARGS_FILE", args_file)
        .args(args)
        .output()
        .unwrap();
    let seen = std::fs::read_to_string(args_file)
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    (out, seen)
}

#[test]
fn openssh_gets_a_double_dash_before_its_destination() {
    let sb = Sandbox::new(crate::BERTH);
    record(&sb, "web", &ssh_record("web", "127.0.0.1", "root"));
    let bin = fake_openssh(sb.root.parent().unwrap());
    let args_file = sb.root.parent().unwrap().join("args");

    let (out, seen) = run_openssh(&sb, &bin, &args_file, &["ssh", "web", "--", "uname", "-a"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let at = seen.iter().position(|a| a == "root@127.0.0.1").unwrap();
    assert_eq!(seen[at - 1], "--", "{seen:?}");
    assert_eq!(seen[at + 1..], ["uname -a"], "{seen:?}");

    let (out, seen) = run_openssh(&sb, &bin, &args_file, &["scp", "-r", "./-x", "web:/tmp"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let at = seen.iter().position(|a| a == "./-x").unwrap();
    assert_eq!(seen[at - 1], "--", "{seen:?}");
}

#[test]
fn an_ssh_user_or_host_that_looks_like_an_option_is_refused() {
    let sb = Sandbox::new(crate::BERTH);
    let canary = sb.root.parent().unwrap().join("canary");
    let command = format!("-oProxyCommand=touch {}", canary.display());
    record(
        &sb,
        "evil-user",
        &ssh_record("evil-user", "127.0.0.1", &command),
    );
    record(&sb, "evil-host", &ssh_record("evil-host", &command, "root"));
    let bin = fake_openssh(sb.root.parent().unwrap());
    let args_file = sb.root.parent().unwrap().join("args");
    for args in [
        &["ssh", "evil-user"][..],
        &["ssh", "evil-host", "--", "true"],
        &["scp", "./x", "evil-user:/tmp"],
        &["scp", "evil-host:/etc/hosts", "./x"],
    ] {
        let (out, seen) = run_openssh(&sb, &bin, &args_file, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("starts with '-'"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(seen.is_empty(), "{args:?}: the client ran with {seen:?}");
    }
    assert!(!canary.exists());
}

// ---- 9: names the store uses itself, hostnames, --tls-san ----

#[test]
fn names_of_the_stores_own_folders_are_refused() {
    let sb = Sandbox::new(crate::BERTH);
    for name in ["plugins", "Plugins"] {
        let out = sb.run(&[
            "create",
            "-d",
            "none",
            "--url",
            "tcp://127.0.0.1:2376",
            name,
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains("berth uses"), "{}", stderr(&out));
        assert!(
            !sb.root.join(name).join("config.toml").exists(),
            "{name}: a record was written into the store's own folder"
        );
    }
    // The plugins folder is never read as a machine.
    std::fs::create_dir_all(sb.root.join("plugins")).unwrap();
    let out = sb.run(&["inspect", "plugins"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn names_that_are_not_hostnames_are_refused_before_the_driver_runs() {
    let p = WithPlugin::new();
    let long = format!("{}.b", "a".repeat(62));
    for name in ["web-", "a..b", "web.", "a.-b", long.as_str()] {
        let out = p.run("", &["create", "-d", "probe", name]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("hostname") || (name.len() > 63 && err.contains("at most 63")),
            "{name}: {err}"
        );
        assert!(
            !p.methods().iter().any(|m| m == "Driver.Create"),
            "{name}: the driver was asked to create it"
        );
    }
    // Names that are hostnames still work, as they did for docker-machine.
    let out = p.run("", &["create", "-d", "probe", "web-1.example"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_malformed_tls_san_is_refused_before_anything_runs() {
    let p = WithPlugin::new();
    for san in ["not a host", "-x.example", "a..b", "bad_\u{1b}"] {
        let flag = format!("--tls-san={san}");
        let out = p.run("", &["create", "-d", "probe", &flag, "m1"]);
        assert_eq!(out.status.code(), Some(1), "{san}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("subject alternative name"),
            "{san}: {}",
            stderr(&out)
        );
        assert!(
            !p.methods().iter().any(|m| m == "Driver.Create"),
            "{san}: the driver was asked to create"
        );
        assert!(!p.sb.root.join("m1").exists(), "{san}: a record was kept");
    }

    // regenerate-certs refuses it before it connects to the host or changes the record.
    let dir = record(&p.sb, "web", &ssh_record("web", "127.0.0.1", "root"));
    let before = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let out = p.run(
        "",
        &["regenerate-certs", "-y", "--tls-san", "not a host", "web"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("subject alternative name"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("config.toml")).unwrap(),
        before
    );
}

// ---- 10: failed removals and symlinked machine folders ----

#[test]
fn a_removal_left_half_done_is_finished_by_the_next_command() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", "tcp://127.0.0.1:2376");
    let trash = sb.root.join(".removing-old-4242-0");
    std::fs::create_dir_all(&trash).unwrap();
    std::fs::write(trash.join("key.pem"), "SECRET").unwrap();
    std::fs::write(trash.join("config.toml"), "").unwrap();
    let out = sb.run(&["ls", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "web1\n");
    assert!(!trash.exists(), "the next command finishes the removal");
}

#[test]
fn a_machine_folder_that_is_a_symlink_is_not_followed() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", "tcp://127.0.0.1:2376");
    // Somewhere outside the store, a folder that looks like a machine.
    let outside = sb.root.parent().unwrap().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        outside.join("config.toml"),
        ssh_record("linked", "127.0.0.1", "root"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, sb.root.join("linked")).unwrap();

    let out = sb.run(&["inspect", "linked"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    let out = sb.run(&["ls", "--timeout", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line = stdout(&out)
        .lines()
        .find(|l| l.starts_with("linked"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(line.contains("symbolic link"), "{}", stdout(&out));
    let out = sb.run(&["rm", "-y", "linked"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(outside.join("config.toml").exists(), "rm followed the link");
}

// ---- 11: shells that cannot carry every value, install URLs ----

fn odd_record(sb: &Sandbox, name: &str, url: &str) {
    record(
        sb,
        name,
        &format!(
            "version = 1\nname = \"{name}\"\ndriver = \"generic\"\nstate = \"Running\"\n\
             url = {}\ncreated_at = \"2026-11-23T12:00:00Z\"\n",
            toml_string(url)
        ),
    );
}

fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[test]
fn tcsh_output_cannot_be_made_to_run_a_second_command() {
    let tcsh = require("tcsh", "tcsh");
    let sb = Sandbox::new(crate::BERTH);
    odd_record(&sb, "web", "tcp://127.0.0.1:2376\nsetenv EVIL 1");
    let out = sb.run(&["env", "--shell", "tcsh", "web"]);
    if out.status.success() {
        // Whatever it printed, evaluating it must not set EVIL.
        let script = format!(
            "eval \"`{} env --shell tcsh web`\"; printenv EVIL",
            env!("CARGO_BIN_EXE_berth")
        );
        let run = std::process::Command::new(tcsh)
            .args(["-f", "-c", &script])
            .env("BERTH_STORAGE_PATH", &sb.root)
            .output()
            .unwrap();
        assert_eq!(stdout(&run), "", "tcsh ran the injected command");
    } else {
        // Refused for tcsh, or (since the record is typed) already when the record is read,
        // naming the field, for every shell.
        let err = stderr(&out);
        assert!(err.contains("tcsh") || err.contains("url \""), "{err}");
    }
    assert!(
        !stdout(&out).lines().any(|l| l.starts_with("setenv EVIL")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn cmd_output_cannot_be_made_to_run_a_second_command() {
    let sb = Sandbox::new(crate::BERTH);
    for (name, url) in [
        ("quote", "tcp://127.0.0.1:2376\"&calc.exe&\""),
        ("newline", "tcp://127.0.0.1:2376\r\ncalc.exe"),
    ] {
        odd_record(&sb, name, url);
        let out = sb.run(&["env", "--shell", "cmd", name]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        // Refused for cmd, or (since the record is typed) already when the record is read,
        // naming the field, for every shell.
        let err = stderr(&out);
        assert!(
            err.contains("cmd") || err.contains("url \""),
            "{name}: {err}"
        );
        assert!(stdout(&out).is_empty(), "{name}: {}", stdout(&out));
    }
}

#[test]
fn an_engine_install_url_must_be_https() {
    let sb = Sandbox::new(crate::BERTH);
    for url in ["http://get.docker.com", "ftp://x/y.sh", "get.docker.com"] {
        let out = sb.run(&[
            "create",
            "-d",
            "generic",
            "--generic-ip-address",
            "127.0.0.1",
            "--generic-ssh-port",
            "1",
            "--engine-install-url",
            url,
            "web",
        ]);
        assert_eq!(out.status.code(), Some(1), "{url}: {}", stderr(&out));
        assert!(stderr(&out).contains("https://"), "{url}: {}", stderr(&out));
        assert!(!sb.root.join("web").exists(), "{url}: a record was kept");
    }
}
