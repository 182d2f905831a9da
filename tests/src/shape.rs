//! Hosts that do not look like ours (issue 11): each [`Shape`] is the default recipe plus a
//! declared difference, applied as root right after boot so that the cached roots stay shared
//! (and the engine root is reused wherever installing the engine is not the point).

/// A kind of host the suite can boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// The default recipe: Debian 12, no engine, root and a NOPASSWD sudo user `berth`.
    Default,
    /// The default recipe with Debian's docker.io already installed and running.
    EngineReady,
    /// A minimal Debian 12: no /etc/hosts, no /etc/hostname, no sudo, no `hostname` (so no
    /// `hostname -I`), no curl. No engine.
    Minimal,
    /// An engine someone else configured, running before berth comes: daemon.json with `hosts`
    /// plus `log-driver`, `data-root` and `live-restore`; a full docker.service in /etc with its
    /// own ExecStart; docker.socket masked; dockerd at /usr/bin/dockerd (as docker-ce has it);
    /// an `override.conf` drop-in with an Environment line.
    ForeignEngine,
    /// An engine whose `override.conf` drop-in sets its own ExecStart (which, sorting after
    /// berth's drop-in, would replace berth's command line).
    OverrideExecStart,
    /// The `berth` user's sudo asks for a password.
    SudoPassword,
    /// sshd on port 2222 with only an RSA host key; engine installed.
    RsaOnlyPort,
    /// Engine installed, and systemd-logind takes 45 s to come up, so the next SSH login waits
    /// that long in pam_systemd before sshd answers anything: what a freshly booted host under
    /// load does to its first login.
    SlowLogin,
}

/// The port sshd listens on in [`Shape::RsaOnlyPort`].
pub const RSA_PORT: u16 = 2222;

impl Shape {
    /// Whether the host boots from the cached root with the engine installed.
    pub fn engine_root(&self) -> bool {
        !matches!(self, Shape::Default | Shape::Minimal)
    }

    /// The port sshd listens on after setup, when not 22.
    pub fn ssh_port(&self) -> Option<u16> {
        (*self == Shape::RsaOnlyPort).then_some(RSA_PORT)
    }

    /// The root shell script that turns a booted default host into this shape ("" for none).
    pub fn setup(&self) -> String {
        match self {
            Shape::Default | Shape::EngineReady => String::new(),
            Shape::Minimal => MINIMAL.into(),
            Shape::ForeignEngine => FOREIGN_ENGINE.into(),
            Shape::OverrideExecStart => OVERRIDE_EXECSTART.into(),
            Shape::SudoPassword => SUDO_PASSWORD.into(),
            Shape::RsaOnlyPort => RSA_ONLY_PORT.replace("{port}", &RSA_PORT.to_string()),
            Shape::SlowLogin => SLOW_LOGIN.into(),
        }
    }
}

const MINIMAL: &str = r#"set -e
rm -f /etc/hosts /etc/hostname
SUDO_FORCE_REMOVE=yes dpkg --purge --force-depends curl sudo >/dev/null
dpkg --purge --force-remove-essential --force-depends hostname >/dev/null 2>&1
! command -v hostname && ! command -v sudo && ! command -v curl && [ ! -e /etc/hosts ]
"#;

const FOREIGN_ENGINE: &str = r#"set -e
systemctl stop docker.service docker.socket
systemctl mask --quiet docker.socket
mv /usr/sbin/dockerd /usr/bin/dockerd
sed -e 's#^ExecStart=.*#ExecStart=/usr/bin/dockerd --containerd=/run/containerd/containerd.sock#' \
    -e '/^Requires=docker.socket/d' -e 's/ docker.socket//' \
    /lib/systemd/system/docker.service > /etc/systemd/system/docker.service
mkdir -p /etc/docker /var/lib/docker/data /etc/systemd/system/docker.service.d
cat > /etc/docker/daemon.json <<'JSON'
{
  "hosts": ["unix:///var/run/docker.sock"],
  "log-driver": "local",
  "data-root": "/var/lib/docker/data",
  "live-restore": true
}
JSON
printf '[Service]\nEnvironment=ZOO_NOTE=kept\n' > /etc/systemd/system/docker.service.d/override.conf
systemctl daemon-reload
systemctl restart docker.service
systemctl is-active --quiet docker.service
"#;

const OVERRIDE_EXECSTART: &str = r#"set -e
mkdir -p /etc/systemd/system/docker.service.d
printf '[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// --log-level=warn\n' > /etc/systemd/system/docker.service.d/override.conf
systemctl daemon-reload
systemctl restart docker.service
systemctl is-active --quiet docker.service
"#;

/// logind restarted behind a 45 s ExecStartPre: until it answers, pam_systemd's CreateSession
/// (which waits up to 2 minutes) holds sshd's monitor, and with it the whole new connection.
const SLOW_LOGIN: &str = r#"set -e
mkdir -p /etc/systemd/system/user@.service.d
printf '[Service]\nExecStartPre=/bin/sleep 45\n' > /etc/systemd/system/user@.service.d/zoo-slow.conf
systemctl daemon-reload
"#;

const SUDO_PASSWORD: &str = r#"set -e
echo 'berth ALL=(ALL:ALL) ALL' > /etc/sudoers.d/berth
echo 'berth:zoo-secret' | chpasswd
"#;

const RSA_ONLY_PORT: &str = r#"set -e
rm -f /etc/ssh/ssh_host_ed25519_key* /etc/ssh/ssh_host_ecdsa_key*
printf 'Port {port}\nHostKey /etc/ssh/ssh_host_rsa_key\n' > /etc/ssh/sshd_config.d/zoo.conf
systemctl restart ssh.service
for i in $(seq 50); do ss -Hltn | grep -q ':{port} ' && exit 0; sleep 0.1; done
exit 1
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_without_engine_boot_the_plain_root() {
        assert!(!Shape::Minimal.engine_root());
        assert!(Shape::ForeignEngine.engine_root());
        assert_eq!(Shape::RsaOnlyPort.ssh_port(), Some(RSA_PORT));
        assert!(Shape::RsaOnlyPort.setup().contains("Port 2222"));
        assert!(Shape::EngineReady.setup().is_empty());
    }
}
