//! The steps of a provisioning run and the events it reports, so that the
//! binary can draw progress bars, print plain log lines or a `--debug` trace
//! without the library printing anything itself.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One step of creating or provisioning a machine, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Opening the SSH connection (done by the caller; listed so the whole create reads as one list).
    Connecting,
    /// Reading the OS, init system, addresses and engine state of the host.
    Detecting,
    /// Making the host's name the machine's name.
    SettingHostname,
    /// Installing the Docker engine when the host has none.
    InstallingEngine,
    /// Making the certificates and uploading the server's to /etc/docker.
    Certificates,
    /// Writing the systemd drop-in and restarting the engine.
    Configuring,
    /// Waiting until the engine answers over TLS with the client certificate.
    WaitingForEngine,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Connecting => "connecting",
            Step::Detecting => "detecting the OS",
            Step::SettingHostname => "setting the hostname",
            Step::InstallingEngine => "installing the engine",
            Step::Certificates => "certificates",
            Step::Configuring => "configuring the engine",
            Step::WaitingForEngine => "waiting for the engine",
        })
    }
}

/// Something the provisioner did, reported as it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A step began.
    StepStarted(Step),
    /// A step finished successfully.
    StepDone(Step),
    /// A step was not needed; the reason says why (e.g. "Docker engine already installed").
    StepSkipped {
        /// The step left out.
        step: Step,
        /// Why it was not needed, as a short phrase.
        reason: &'a str,
    },
    /// A line of progress from the host, e.g. apt's output during the install.
    Detail(&'a str),
    /// Something the user should know although the run goes on (a host clock minutes off).
    Warning(&'a str),
    /// A remote command finished: what `--debug` shows.
    RemoteCommand {
        /// What the command is for, in a few words ("detect the host").
        purpose: &'a str,
        /// The exact command line sent to the host (file contents go through stdin and are not in it).
        cmd: &'a str,
        /// Its exit status.
        status: i32,
        /// How long it took, round trip included.
        duration: Duration,
        /// Its standard output (empty for streamed commands, whose lines came as `Detail`).
        stdout: &'a [u8],
        /// Its standard error (empty for streamed commands).
        stderr: &'a [u8],
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_progress_labels() {
        assert_eq!(Step::Detecting.to_string(), "detecting the OS");
        assert_eq!(Step::InstallingEngine.to_string(), "installing the engine");
        assert_eq!(Step::WaitingForEngine.to_string(), "waiting for the engine");
    }
}
