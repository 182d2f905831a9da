//! Everything that can go wrong between berth and a driver.
//!
//! Misbehaving plugins get a variant each (crashed, timed out, wrong
//! version, garbage, bad result) because each calls for a different fix, and
//! each names the plugin's path so that the user knows which file to blame.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::types::Operation;

/// An error from a driver, built-in or plugin.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// No built-in driver and no plugin executable carries this name.
    #[error(
        "There is no driver named {name:?}: it is not built in ({builtins}) and no executable \
         berth-driver-{name} or docker-machine-driver-{name} was found in {looked}{core}. \
         Install the plugin into one of those places or pick a built-in driver.",
        builtins = builtins.join(", "),
        looked = display_paths(looked_in),
        core = core_hint(name, *core_driver)
    )]
    UnknownDriver {
        /// The name the user asked for.
        name: String,
        /// Every folder searched, in order.
        looked_in: Vec<PathBuf>,
        /// The names of the built-in drivers.
        builtins: Vec<String>,
        /// The name is one of docker-machine's core drivers, which a `docker-machine` binary
        /// on PATH would have served (the host knows that list; this crate does not).
        core_driver: bool,
    },

    /// A plugin file is there but lacks its executable bit.
    #[error(
        "The driver plugin {} is there but not executable. Make it so with `chmod +x {}` \
         (after checking that it is the plugin you meant to install).",
        plugin.display(),
        plugin.display()
    )]
    PluginNotExecutable {
        /// The plugin's path.
        plugin: PathBuf,
    },

    /// The driver name cannot name a plugin executable.
    #[error(
        "{name:?} is not a valid driver name: use lower-case letters, digits and dashes, \
         starting with a letter."
    )]
    InvalidDriverName {
        /// The name as given.
        name: String,
    },

    /// The driver cannot do this at all; the reason says what to do instead.
    #[error("The {driver} driver cannot {operation} a machine: {reason}")]
    Unsupported {
        /// The driver's name.
        driver: String,
        /// What was asked.
        operation: Operation,
        /// Why not, and what to do instead.
        reason: String,
    },

    /// A create flag is missing, of the wrong type or has a bad value.
    #[error("The {driver} driver refused --{flag}: {reason}")]
    InvalidFlag {
        /// The driver's name.
        driver: String,
        /// The flag name without dashes.
        flag: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The machine's stored driver data is not what the driver wrote.
    #[error(
        "The {driver} driver cannot read the data berth stored for machine {machine:?}: {reason}. \
         The machine's config.toml was probably edited by hand; restore it or remove the machine."
    )]
    InvalidData {
        /// The driver's name.
        driver: String,
        /// The machine's name.
        machine: String,
        /// What is missing or malformed.
        reason: String,
    },

    /// The driver has no such machine.
    #[error(
        "The {driver} driver has no machine {machine:?}: {detail}. `berth rm {machine}` \
         removes berth's record of it."
    )]
    MachineNotFound {
        /// The driver's name.
        driver: String,
        /// The machine's name.
        machine: String,
        /// The driver's own words.
        detail: String,
    },

    /// The driver tried and failed; the message is the driver's own words.
    #[error("The {driver} driver failed to {operation} the machine: {message}")]
    Failed {
        /// The driver's name.
        driver: String,
        /// What was asked.
        operation: String,
        /// The driver's own account of what happened.
        message: String,
    },

    /// The plugin executable could not be started.
    #[error(
        "Could not run the driver plugin {}: {source}. Check that it is an executable file \
         for this machine (for a script: its #! line names an installed interpreter).",
        plugin.display()
    )]
    PluginSpawn {
        /// The plugin's path.
        plugin: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// The plugin exited, or closed its output, before answering.
    #[error(
        "The driver plugin {} stopped during {method} ({status}) without answering.{tail} \
         This is a bug in the plugin; run with --debug to see its whole log.",
        plugin.display(),
        tail = format_tail(stderr_tail)
    )]
    PluginCrashed {
        /// The plugin's path.
        plugin: PathBuf,
        /// The JSON-RPC method that was running.
        method: String,
        /// Its exit status, as the system tells it.
        status: String,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },

    /// The plugin did not answer before the call's deadline and was killed.
    #[error(
        "The driver plugin {} did not answer {method} within {deadline:?}, so berth stopped it. \
         {hint}{tail}",
        plugin.display(),
        hint = timeout_hint(method),
        tail = format_tail(stderr_tail)
    )]
    PluginTimedOut {
        /// The plugin's path.
        plugin: PathBuf,
        /// The JSON-RPC method that was running.
        method: String,
        /// The deadline it missed.
        deadline: Duration,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },

    /// The plugin speaks a protocol version berth does not know.
    #[error(
        "The driver plugin {} speaks plugin protocol version {found}, but this berth speaks \
         version {supported}. Install a release of the plugin made for protocol {supported}, \
         or a berth that speaks {found}.",
        plugin.display()
    )]
    PluginVersion {
        /// The plugin's path.
        plugin: PathBuf,
        /// The version it announced.
        found: u64,
        /// The version berth speaks.
        supported: u64,
    },

    /// The plugin's handshake says it is not a driver.
    #[error(
        "The plugin {} does not implement \"Driver\" (it implements: {}), so it cannot make \
         machines. Check that the right file is named berth-driver-*.",
        plugin.display(),
        if implements.is_empty() { "nothing".to_owned() } else { implements.join(", ") }
    )]
    PluginNotADriver {
        /// The plugin's path.
        plugin: PathBuf,
        /// What it says it implements.
        implements: Vec<String>,
    },

    /// The plugin wrote something that is not a protocol message for this call.
    #[error(
        "The driver plugin {} broke the protocol during {method}: {detail}. Plugins must write \
         only JSON-RPC messages, one per line, to stdout (logs go to stderr).",
        plugin.display()
    )]
    PluginGarbage {
        /// The plugin's path.
        plugin: PathBuf,
        /// The JSON-RPC method that was running.
        method: String,
        /// What it wrote and why that is wrong.
        detail: String,
    },

    /// The plugin's result lacks fields or has the wrong types.
    #[error(
        "The driver plugin {} answered {method} with a result berth cannot use: {detail}. \
         See docs/plugins.md for the result's fields.",
        plugin.display()
    )]
    PluginBadResult {
        /// The plugin's path.
        plugin: PathBuf,
        /// The JSON-RPC method.
        method: String,
        /// What serde said about it.
        detail: String,
    },

    /// berth was interrupted (Ctrl-C) while the plugin worked, and stopped it.
    #[error(
        "berth was interrupted during {method} and stopped the driver plugin {} ({how}).",
        plugin.display()
    )]
    PluginInterrupted {
        /// The plugin's path.
        plugin: PathBuf,
        /// The JSON-RPC method that was running.
        method: String,
        /// How it ended: "it exited on SIGTERM", "killed after 2s".
        how: String,
    },

    /// A docker-machine Go driver plugin failed or refused (its own words are in it). Boxed,
    /// so that a plugin author does not link the host's Go plugin support; the host puts a
    /// `berth_gorpc::GoRpcError` here and downcasts it back.
    #[error(transparent)]
    Go(Box<dyn std::error::Error + Send + Sync>),

    /// Talking to the plugin's pipes failed.
    #[error(
        "Could not talk to the driver plugin {} during {method}: {source}.",
        plugin.display()
    )]
    PluginIo {
        /// The plugin's path.
        plugin: PathBuf,
        /// The JSON-RPC method.
        method: String,
        /// What the operating system said.
        source: io::Error,
    },
}

/// For one of docker-machine's core drivers, the binary that would serve it.
fn core_hint(name: &str, core_driver: bool) -> String {
    if core_driver {
        format!(
            ", and no docker-machine or rancher-machine (which serves the core driver {name}) \
             was found on PATH"
        )
    } else {
        String::new()
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no folder (none was configured)".to_owned();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The handshake and the flag listing make nothing, so only a later call can leave a machine
/// half made.
fn timeout_hint(method: &str) -> &'static str {
    if method.starts_with("Plugin.Activate") || method == "Driver.CreateFlags" {
        "Nothing was made; the plugin must answer these at once (no network calls), so report it \
         to its author."
    } else {
        "The machine may be half made: check `berth ls`, and `berth rm` it if needed."
    }
}

fn format_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        " It wrote nothing to stderr.".to_owned()
    } else {
        format!(" Its last words on stderr:\n  {}\n", lines.join("\n  "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_driver_names_folders_and_builtins() {
        let e = DriverError::UnknownDriver {
            name: "kvm".into(),
            looked_in: vec!["/s/plugins".into(), "/usr/bin".into()],
            builtins: vec!["generic".into(), "none".into()],
            core_driver: false,
        };
        let s = e.to_string();
        assert!(s.contains("/s/plugins, /usr/bin"), "{s}");
        assert!(s.contains("generic, none"), "{s}");
        assert!(s.contains("berth-driver-kvm"), "{s}");
    }

    #[test]
    fn crash_message_carries_stderr_tail() {
        let e = DriverError::PluginCrashed {
            plugin: "/p/berth-driver-x".into(),
            method: "Driver.Create".into(),
            status: "exit status: 3".into(),
            stderr_tail: vec!["panic: boom".into()],
        };
        let s = e.to_string();
        assert!(
            s.contains("/p/berth-driver-x") && s.contains("panic: boom"),
            "{s}"
        );
    }
}
