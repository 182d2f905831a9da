//! Everything that can go wrong between berth and a docker-machine driver plugin.
//!
//! Each variant names the driver, because the user has to know which binary to blame, and each
//! calls for a different fix. Text that came from the plugin (its error messages, its stderr) has
//! already passed the caller's escaper ([`crate::LaunchOptions::escape`]) when it lands here.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// An error of the Go plugin protocol, or the driver's own error.
#[derive(Debug, thiserror::Error)]
pub enum GoRpcError {
    /// The binary could not be started.
    #[error(
        "Could not run the docker-machine driver {driver} ({}): {source}. Check that it is an \
         executable for this computer.",
        path.display()
    )]
    Spawn {
        /// The driver's name.
        driver: String,
        /// The binary.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// The binary did not print the address of its RPC server in time.
    #[error(
        "The docker-machine driver {driver} ({}) did not print the address of its RPC server \
         within {waited:?}: {how}.{tail} Check that it is a docker-machine driver plugin (run \
         with --debug to see its log).",
        path.display(),
        tail = format_tail(stderr_tail)
    )]
    NoAddress {
        /// The driver's name.
        driver: String,
        /// The binary.
        path: PathBuf,
        /// How long berth waited.
        waited: Duration,
        /// What happened instead ("it exited with status 1", "it printed …").
        how: String,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },

    /// The binary announced an address that is not on this computer.
    #[error(
        "The docker-machine driver {driver} ({}) announced the RPC address {address:?}, which \
         is not a loopback address. berth talks to driver plugins only over 127.0.0.1 or ::1, \
         so it stopped the driver; this driver is not one to run.",
        path.display()
    )]
    NotLoopback {
        /// The driver's name.
        driver: String,
        /// The binary.
        path: PathBuf,
        /// What it printed (escaped).
        address: String,
    },

    /// The HTTP CONNECT that starts a Go RPC session was not answered as Go's net/rpc does.
    #[error(
        "The docker-machine driver {driver} did not accept berth's RPC connection: {detail}. \
         It may not be a docker-machine driver plugin."
    )]
    Handshake {
        /// The driver's name.
        driver: String,
        /// What went wrong.
        detail: String,
    },

    /// The plugin speaks another version of docker-machine's plugin API.
    #[error(
        "The docker-machine driver {driver} speaks plugin API version {found}, and berth speaks \
         version {supported} (docker-machine 0.16's). Install a release of the driver made for \
         docker-machine 0.16."
    )]
    Version {
        /// The driver's name.
        driver: String,
        /// What it answered to GetVersion.
        found: i64,
        /// What berth speaks.
        supported: i64,
    },

    /// A call did not get its answer before its deadline; the plugin was stopped.
    #[error(
        "The docker-machine driver {driver} did not answer {method} within {deadline:?}, so \
         berth stopped it.{tail}",
        tail = format_tail(stderr_tail)
    )]
    TimedOut {
        /// The driver's name.
        driver: String,
        /// The RPC method.
        method: String,
        /// The deadline it missed.
        deadline: Duration,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },

    /// The plugin closed the connection or exited before answering.
    #[error(
        "The docker-machine driver {driver} stopped during {method} ({status}) without \
         answering.{tail} Run with --debug to see its whole log.",
        tail = format_tail(stderr_tail)
    )]
    Exited {
        /// The driver's name.
        driver: String,
        /// The RPC method.
        method: String,
        /// Its exit status, or that it closed the connection but kept running.
        status: String,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },

    /// The plugin sent something that is not a net/rpc message over gob, or too much of it.
    #[error(
        "The docker-machine driver {driver} broke the Go RPC protocol during {method}: {detail}. \
         berth stopped it."
    )]
    Malformed {
        /// The driver's name.
        driver: String,
        /// The RPC method.
        method: String,
        /// What was wrong.
        detail: String,
    },

    /// Reading or writing the connection failed.
    #[error("Could not talk to the docker-machine driver {driver} during {method}: {source}.")]
    Io {
        /// The driver's name.
        driver: String,
        /// The RPC method.
        method: String,
        /// What the operating system said.
        source: io::Error,
    },

    /// The driver answered the call with an error of its own (its words, escaped).
    #[error("the {driver} driver answered {method} with: {message}")]
    Remote {
        /// The driver's name.
        driver: String,
        /// The RPC method.
        method: String,
        /// The driver's own error text.
        message: String,
    },

    /// berth was interrupted and stopped the plugin.
    #[error(
        "berth was interrupted during {method} and stopped the docker-machine driver {driver}."
    )]
    Interrupted {
        /// The driver's name.
        driver: String,
        /// The RPC method.
        method: String,
    },
}

impl GoRpcError {
    /// The driver's own error text, when this is one.
    pub fn remote_message(&self) -> Option<&str> {
        match self {
            Self::Remote { message, .. } => Some(message),
            _ => None,
        }
    }
}

fn format_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!(" Its last words on stderr:\n  {}\n", lines.join("\n  "))
    }
}
