//! Where and how to connect: the caller's whole description of one SSH endpoint.

use std::path::PathBuf;
use std::time::Duration;

/// How the host's key is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Trust on first use: record the key into known_hosts if the host is absent, verify it if present.
    Pin,
    /// The key must already be in known_hosts.
    Strict,
    /// The key must have this fingerprint (`SHA256:base64` as `ssh-keygen -lf` prints); recorded on match.
    Fingerprint(String),
}

/// How the user proves who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A private key file (OpenSSH or PEM format, unencrypted); `<file>.pub` is used when present.
    KeyFile(PathBuf),
    /// The keys of the running ssh-agent (`SSH_AUTH_SOCK`).
    Agent,
    /// The agent, then `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`, as `ssh` does.
    Default,
}

/// One SSH endpoint and how to talk to it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host name or IP address.
    pub host: String,
    /// TCP port, usually 22.
    pub port: u16,
    /// Remote user.
    pub user: String,
    /// Authentication method.
    pub auth: Auth,
    /// The OpenSSH-format known_hosts file that pins the host key.
    pub known_hosts: PathBuf,
    /// How the host key is trusted.
    pub policy: HostKeyPolicy,
    /// Deadline for the TCP connect.
    pub connect_timeout: Duration,
    /// Longest silence from the peer before a step fails (keepalives are answered, so a quiet command does not count).
    pub io_timeout: Duration,
}

impl Target {
    /// A target with port 22, pinning policy and default timeouts (10 s connect, 30 s I/O).
    pub fn new(
        host: impl Into<String>,
        user: impl Into<String>,
        auth: Auth,
        known_hosts: impl Into<PathBuf>,
    ) -> Self {
        Self {
            host: host.into(),
            port: 22,
            user: user.into(),
            auth,
            known_hosts: known_hosts.into(),
            policy: HostKeyPolicy::Pin,
            connect_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(30),
        }
    }

    /// `host:port`, with brackets around IPv6 addresses: what errors print.
    pub fn addr(&self) -> String {
        berth_net::HostPort::new(self.host.clone(), self.port).to_string()
    }

    /// The name under which OpenSSH records this host in known_hosts.
    pub fn known_hosts_name(&self) -> String {
        if self.port == 22 {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hosts_name_brackets_non_default_ports() {
        let mut t = Target::new("10.0.0.1", "root", Auth::Agent, "/tmp/kh");
        assert_eq!(t.known_hosts_name(), "10.0.0.1");
        t.port = 2222;
        assert_eq!(t.known_hosts_name(), "[10.0.0.1]:2222");
        assert_eq!(t.addr(), "10.0.0.1:2222");
    }

    #[test]
    fn addr_brackets_ipv6() {
        let t = Target::new("fd00::1", "root", Auth::Agent, "/tmp/kh");
        assert_eq!(t.addr(), "[fd00::1]:22");
    }
}
