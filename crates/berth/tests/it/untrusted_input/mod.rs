//! Text and values berth did not write itself: records someone could have edited, plugins'
//! answers and logs, flags, the store's own folders. Each case as a user or an attacker would
//! meet it through the `berth` binary; each test failed before berth guarded against it.

mod create_refusals;
mod env_injection;
mod ssh_arguments;
mod store_folders;
mod terminal_escapes;

use std::path::PathBuf;
use std::process::Output;

use berth_testkit::Sandbox;

/// The record of a running generic machine reached over SSH as `user`@`host`, port 22.
fn ssh_record(name: &str, host: &str, user: &str) -> String {
    format!(
        "version = 1\nname = \"{name}\"\ndriver = \"generic\"\nstate = \"Running\"\n\
         url = \"tcp://127.0.0.1:2376\"\ncreated_at = \"2026-11-23T12:00:00Z\"\n\n\
         [ssh]\nhost = \"{host}\"\nport = 22\nuser = \"{user}\"\n"
    )
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
