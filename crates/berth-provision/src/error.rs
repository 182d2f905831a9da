//! Why a provisioning run stopped. Each message is a sentence that says what
//! happened, carries the host's own words, and says what to do next.

use std::time::Duration;

use crate::config::ConfigError;
use crate::daemon_json::DAEMON_JSON_PATH;
use crate::remote::RemoteError;
use crate::step::Step;

/// Where the drop-in lives on the host; its `.previous` sibling is the version it replaced.
pub const DROPIN_PATH: &str = "/etc/systemd/system/docker.service.d/10-machine.conf";

/// A provisioning run that stopped at `step`.
#[derive(Debug, thiserror::Error)]
#[error("{step} on {host} failed: {kind}")]
pub struct ProvisionError {
    /// The step that failed.
    pub step: Step,
    /// The address of the host, as the user knows it.
    pub host: String,
    /// What went wrong (boxed: the error travels through every step's `Result`).
    pub kind: Box<ErrorKind>,
    /// The steps that finished before it (recorded so a later `berth provision` knows where it stands).
    pub done: Vec<Step>,
}

/// What went wrong in a provisioning step.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// The caller asked the run to stop ([`crate::Plan::stop`]) before this step began.
    #[error("berth was interrupted before this step began")]
    Interrupted,
    /// The engine options cannot be applied.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The machine name cannot be a hostname.
    #[error("the machine name {name:?} cannot be the host's name: {reason}; choose another name")]
    InvalidName {
        /// The machine name.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The SSH transport failed while running a command.
    #[error(
        "the SSH connection failed while trying to {purpose}: {source}; check that the host is up and reachable, then run the provisioning again"
    )]
    Remote {
        /// What the command was for.
        purpose: String,
        /// The transport's error.
        source: RemoteError,
    },
    /// A value could not be shell-quoted (it holds a NUL byte).
    #[error(
        "the value {value:?} cannot be passed to a remote shell because it contains a NUL byte; remove it"
    )]
    Unquotable {
        /// The offending value.
        value: String,
    },
    /// The detection script's output made no sense (a login banner or a broken shell in the way).
    #[error(
        "the host's shell did not answer the detection script as expected; check that the SSH user's login shell is a POSIX shell and prints nothing for non-interactive commands. It printed:\n{output}"
    )]
    UnexpectedOutput {
        /// What came back.
        output: String,
    },
    /// The host has no os-release file.
    #[error(
        "the host has no /etc/os-release, so its OS cannot be recognised; berth provisions Debian and Ubuntu hosts"
    )]
    NoOsRelease,
    /// The OS is not one berth provisions.
    #[error(
        "{pretty_name} is not supported: berth provisions Debian and Ubuntu hosts (and their derivatives); use one of those, or install and configure the engine yourself and use the none driver"
    )]
    UnsupportedOs {
        /// The OS's PRETTY_NAME.
        pretty_name: String,
    },
    /// The host does not run systemd.
    #[error(
        "the host runs {pretty_name} without systemd (/run/systemd/system is missing); berth runs the engine as a systemd service, so boot the host with systemd"
    )]
    NoSystemd {
        /// The OS's PRETTY_NAME.
        pretty_name: String,
    },
    /// A non-root user without passwordless sudo.
    #[error(
        "user {user} on {host} has no passwordless sudo: give it NOPASSWD in sudoers or use --generic-ssh-user root"
    )]
    NoSudo {
        /// The SSH user.
        user: String,
        /// The host.
        host: String,
    },
    /// A remote command exited with a failure status.
    #[error("the command to {purpose} exited with status {status}: {stderr}")]
    Command {
        /// What the command was for.
        purpose: String,
        /// Its exit status.
        status: i32,
        /// The end of what it wrote to standard error.
        stderr: String,
    },
    /// The host has no engine and this run may not install one.
    #[error(
        "the host has no Docker engine (no dockerd or no docker.service) and this run does not install one; install docker.io on the host, or run a full provisioning with engine installation on"
    )]
    EngineMissing,
    /// The install script failed.
    #[error(
        "installing the engine exited with status {status}; its output ended with:\n{tail}\nFix the cause on the host (package sources, disk space, network, the install URL) and run the provisioning again"
    )]
    InstallFailed {
        /// The installer's exit status.
        status: i32,
        /// Its last lines.
        tail: String,
    },
    /// The install finished but left no engine behind.
    #[error(
        "the engine install finished but no dockerd and docker.service were found (looked on PATH, /usr/sbin/dockerd, /usr/bin/dockerd, /usr/local/bin/dockerd); check what the installer did"
    )]
    NoEngineAfterInstall,
    /// The caller could not make the certificates.
    #[error("the certificates could not be made: {0}")]
    Certificates(String),
    /// The engine did not start with the new drop-in; berth put the previous configuration back.
    #[error(
        "the engine did not start with the new configuration. systemd and the journal say:\n{journal}\n{restored}; fix the engine options and run the provisioning again"
    )]
    EngineStart {
        /// `systemctl status` and the tail of `journalctl -u docker`.
        journal: String,
        /// What the rollback did, as a sentence.
        restored: String,
    },
    /// daemon.json is not valid JSON (dockerd would not start with it either).
    #[error(
        "{DAEMON_JSON_PATH} on the host cannot be read as JSON ({reason}); dockerd would refuse it too. Fix the file, then run the provisioning again"
    )]
    DaemonJsonInvalid {
        /// The parser's words.
        reason: String,
    },
    /// daemon.json sets something berth passes as a flag.
    #[error(
        "{DAEMON_JSON_PATH} on the host sets \"{key}\", which berth sets as a dockerd flag, and dockerd refuses a setting given both ways; remove \"{key}\" from the file (berth manages TLS and its engine options), then run the provisioning again. Nothing was changed on the host"
    )]
    DaemonJsonConflict {
        /// The conflicting key.
        key: String,
    },
    /// Another drop-in sorting after berth's sets ExecStart, which would replace berth's.
    #[error(
        "{file} on the host sets its own ExecStart for docker.service, and because drop-ins apply in name order it would replace the command line berth writes in {DROPIN_PATH} (the engine would never listen on TLS); remove the ExecStart lines from {file} (put the dockerd flags you need into berth's engine options, e.g. --engine-opt), then run the provisioning again. Nothing was changed on the host"
    )]
    ForeignExecStart {
        /// The drop-in.
        file: String,
    },
    /// dockerd listens on the host, but this computer cannot open a TCP connection to the port.
    #[error(
        "the engine listens on the host ({listener}) but this computer cannot reach {address}: {connect_error}. A firewall on the host or between drops the port (on the host `nft list ruleset` or `iptables -S` shows its rules; in a cloud, the security group). Open TCP port {port} from this computer to the host, then run `berth provision {machine}`. The last TLS attempt said: {last_error}",
        port = address.rsplit(':').next().unwrap_or("2376")
    )]
    Unreachable {
        /// The machine's name, for the command that finishes it.
        machine: String,
        /// host:port as dialled.
        address: String,
        /// The listener as `ss` shows it on the host.
        listener: String,
        /// Why the plain TCP connect failed.
        connect_error: String,
        /// What the last TLS probe said.
        last_error: String,
    },
    /// The host's clock is too far from this computer's for certificates to work.
    #[error(
        "the host's clock is {amount} {} this computer's; {}. Set the host's clock (NTP: `timedatectl set-ntp true`, or `date -s`), then run the provisioning again. Nothing was changed on the host",
        if *behind { "behind" } else { "ahead of" },
        if *behind {
            "the engine would reject berth's client certificate as not yet valid, and apt would refuse Debian's package lists as not yet valid"
        } else {
            "everything the host dates (the engine's logs, certificates issued on it such as Swarm's) would be hours off for every other machine, and the certificates berth makes would look older to the host than they are"
        }
    )]
    ClockSkew {
        /// Whether the host is behind (else ahead).
        behind: bool,
        /// How far, e.g. "3h 5m".
        amount: String,
    },
    /// The engine did not answer over TLS in time.
    #[error(
        "the engine did not answer over TLS on port {port} within {}s (last error: {last_error}). Check that the port is open between here and the host (firewall, security group). The engine's journal ends with:\n{journal}",
        waited.as_secs()
    )]
    NotReady {
        /// The engine's TLS port.
        port: u16,
        /// How long berth waited.
        waited: Duration,
        /// What the last attempt said.
        last_error: String,
        /// The tail of `journalctl -u docker`, or why it could not be read.
        journal: String,
    },
}

/// The last `lines` lines of `text`, trimmed, for messages that quote a command's output.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn messages_name_the_step_the_host_and_what_to_do() {
        let err = ProvisionError {
            step: Step::Configuring,
            host: "203.0.113.7".into(),
            kind: Box::new(ErrorKind::EngineStart {
                journal: "dockerd: unknown flag --bogus".into(),
                restored: format!("berth put back {DROPIN_PATH}.previous"),
            }),
            done: vec![Step::Detecting],
        };
        let text = err.to_string();
        assert!(
            text.starts_with(
                "configuring the engine on 203.0.113.7 failed: the engine did not start"
            ),
            "{text}"
        );
        assert!(text.contains("unknown flag --bogus"));
        assert!(text.contains("10-machine.conf.previous"));

        let err = ErrorKind::NoSudo {
            user: "deploy".into(),
            host: "web1.example".into(),
        };
        assert_eq!(
            err.to_string(),
            "user deploy on web1.example has no passwordless sudo: give it NOPASSWD in sudoers or use --generic-ssh-user root"
        );
        let err = ErrorKind::NotReady {
            port: 2376,
            waited: Duration::from_secs(60),
            last_error: "connection refused".into(),
            journal: "-- No entries --".into(),
        };
        assert!(
            err.to_string()
                .contains("port 2376 within 60s (last error: connection refused)")
        );
    }
}
