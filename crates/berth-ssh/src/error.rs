//! What can go wrong talking SSH to a host, each message naming the address.

use std::path::PathBuf;
use std::time::Duration;

/// An SSH failure; every variant names the `host:port` it concerns.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// The host name did not resolve to any address.
    #[error("could not resolve {addr}: {source}. Check the host name or use its IP address")]
    Resolve {
        /// `host:port` as given.
        addr: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The TCP connection was refused or failed.
    #[error(
        "could not connect to {addr}: {source}. Check that the host is up and that sshd listens on that port"
    )]
    Connect {
        /// `host:port`.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The peer did not answer within the deadline.
    #[error(
        "{addr} did not answer within {after:?} while {during}; the host may be down or its network cut"
    )]
    Timeout {
        /// `host:port`.
        addr: String,
        /// The deadline that passed.
        after: Duration,
        /// What berth was waiting for.
        during: String,
    },
    /// The host accepted the login and acknowledges every packet, but sshd did not open the
    /// session within [`crate::SESSION_PATIENCE`]: it waits in PAM's session setup.
    #[error(
        "{addr} accepted the login but did not open a session for {after:?} to run `{command}`; its kernel answers, so sshd itself is waiting, usually in the login's PAM session setup for systemd-logind or dbus (a host still booting, or one whose logind hangs). Check `systemctl status systemd-logind` and `journalctl -u ssh` on the host, then run the command again"
    )]
    SessionStalled {
        /// `host:port`.
        addr: String,
        /// How long berth waited for the session.
        after: Duration,
        /// The command (its first line).
        command: String,
    },
    /// A command printed more than berth keeps of one stream ([`crate::MAX_OUTPUT`]).
    #[error(
        "`{command}` on {addr} printed more than {limit} bytes to its {stream}, more than any command berth runs prints; berth kept none of it beyond that. Check what the host runs in place of that command (a login script, a wrapper)"
    )]
    OutputTooLarge {
        /// `host:port`.
        addr: String,
        /// The command (its first line).
        command: String,
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The cap that was passed.
        limit: usize,
    },
    /// The SSH protocol handshake failed.
    #[error("the SSH handshake with {addr} failed: {source}. Check that this port speaks SSH")]
    Handshake {
        /// `host:port`.
        addr: String,
        /// libssh2's error.
        source: ssh2::Error,
    },
    /// The host key differs from the one recorded in known_hosts.
    #[error(
        "the host key of {addr} changed (recorded {expected}, offered {got}). If the host was reinstalled, remove its line from {}; otherwise someone may be intercepting the connection",
        known_hosts.display()
    )]
    HostKeyMismatch {
        /// `host:port`.
        addr: String,
        /// The known_hosts file holding the old key.
        known_hosts: PathBuf,
        /// Fingerprint of the recorded key.
        expected: String,
        /// Fingerprint of the key the host offered.
        got: String,
    },
    /// Strict policy, and the host is not in known_hosts.
    #[error(
        "the host key of {addr} ({got}) is not in {}; connect once with host-key pinning or add the key there",
        known_hosts.display()
    )]
    HostKeyUnknown {
        /// `host:port`.
        addr: String,
        /// The known_hosts file searched.
        known_hosts: PathBuf,
        /// Fingerprint of the key the host offered.
        got: String,
    },
    /// The host key does not have the fingerprint the caller expected.
    #[error(
        "the host key of {addr} has fingerprint {got}, not the expected {expected}; check the fingerprint or whether someone is intercepting the connection"
    )]
    FingerprintMismatch {
        /// `host:port`.
        addr: String,
        /// The fingerprint given by the caller.
        expected: String,
        /// Fingerprint of the key the host offered.
        got: String,
    },
    /// known_hosts could not be read or written.
    #[error("could not use the known_hosts file {} for {addr}: {detail}", path.display())]
    KnownHosts {
        /// `host:port`.
        addr: String,
        /// The file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// Every authentication method was refused.
    #[error(
        "{addr} refused to let {user} in; tried: {}. Check that the public key is in ~{user}/.ssh/authorized_keys on the host",
        if tried.is_empty() { "nothing (no key file and no agent)".to_string() } else { tried.join("; ") }
    )]
    AuthFailed {
        /// The remote user.
        user: String,
        /// `host:port`.
        addr: String,
        /// Each method tried, with its error.
        tried: Vec<String>,
    },
    /// Opening a channel or running a command failed at the protocol level.
    #[error("SSH to {addr} failed while {during}: {source}")]
    Channel {
        /// `host:port`.
        addr: String,
        /// What berth was doing (names the command).
        during: String,
        /// libssh2's error.
        source: ssh2::Error,
    },
    /// Reading or writing a command's streams failed.
    #[error("SSH to {addr} failed while {during}: {source}")]
    Io {
        /// `host:port`.
        addr: String,
        /// What berth was doing (names the command).
        during: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The session was ended on purpose from another thread ([`crate::Aborter`]): berth was
    /// interrupted. Whatever command ran on the host lost its connection.
    #[error("the SSH session to {addr} was ended while {during}, because berth was interrupted")]
    Aborted {
        /// `host:port`.
        addr: String,
        /// What berth was doing (names the command).
        during: String,
    },
}
