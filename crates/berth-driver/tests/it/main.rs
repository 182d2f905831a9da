//! The plugin host side against real processes: the SDK-built example
//! plugin, the Python plugin written from docs/plugins.md, and small shell
//! scripts that misbehave on purpose.
#![allow(clippy::unwrap_used)]

mod interrupted;
mod misbehaving;
mod python;
mod sdk_plugin;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_driver::PluginOptions;
use berth_plugin::MachineRef;

/// Options whose log sink sends each stderr line to a channel, so a test can
/// wait for a line instead of guessing when the reader thread got to it.
fn options_with_log() -> (PluginOptions, Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let options = PluginOptions {
        log: Arc::new(move |_, line| {
            let _ = tx.lock().unwrap().send(line.to_owned());
        }),
        ..PluginOptions::default()
    };
    (options, rx)
}

/// Wait until a log line containing `needle` arrives.
fn wait_for_log(rx: &Receiver<String>, needle: &str) -> bool {
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
        if line.contains(needle) {
            return true;
        }
    }
    false
}

/// A machine handed to a plugin: its name, its folder and the driver data it keeps.
fn machine(name: &str, dir: &Path, data: serde_json::Value) -> MachineRef {
    MachineRef {
        name: name.into(),
        machine_dir: dir.to_path_buf(),
        data,
    }
}

/// Collects progress messages.
#[derive(Default)]
struct Progress(Mutex<Vec<String>>);

impl Progress {
    /// A progress callback that records each message.
    fn sink(&self) -> impl Fn(&str) + '_ {
        |m| self.0.lock().unwrap().push(m.to_owned())
    }
    /// The messages recorded so far, in order.
    fn messages(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// The workspace root, which holds the Python example plugin under tests/plugins.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
