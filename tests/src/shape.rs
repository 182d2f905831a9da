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
    /// Engine installed, and a firewall on the host (nftables, or iptables where `nft` is
    /// missing) that drops every packet to TCP 2376.
    FirewallDrops2376,
    /// No engine, and another process holds apt's frontend lock (an fcntl lock, as apt and
    /// dpkg take it) for [`LOCK_SECONDS`] after boot: what unattended-upgrades does.
    DpkgLocked,
    /// The default recipe on Debian 11 (bullseye).
    Bullseye,
    /// The default recipe on Debian 13 (trixie).
    Trixie,
}

/// How long [`Shape::DpkgLocked`] holds the lock.
pub const LOCK_SECONDS: u32 = 20;

/// The port sshd listens on in [`Shape::RsaOnlyPort`].
pub(crate) const RSA_PORT: u16 = 2222;

impl Shape {
    /// Whether the host boots from the cached root with the engine installed.
    pub fn engine_root(&self) -> bool {
        !matches!(
            self,
            Shape::Default | Shape::Minimal | Shape::DpkgLocked | Shape::Bullseye | Shape::Trixie
        )
    }

    /// The Debian release of the cached root it boots from.
    pub fn release(&self) -> &'static str {
        match self {
            Shape::Bullseye => "bullseye",
            Shape::Trixie => "trixie",
            _ => berth_nspawn::image::DEFAULT_RELEASE,
        }
    }

    /// The port sshd listens on after setup, when not 22.
    pub fn ssh_port(&self) -> Option<u16> {
        (*self == Shape::RsaOnlyPort).then_some(RSA_PORT)
    }

    /// The root shell script that turns a booted default host into this shape ("" for none).
    pub fn setup(&self) -> String {
        match self {
            Shape::Default | Shape::EngineReady | Shape::Bullseye | Shape::Trixie => String::new(),
            Shape::Minimal => MINIMAL.into(),
            Shape::ForeignEngine => FOREIGN_ENGINE.into(),
            Shape::OverrideExecStart => OVERRIDE_EXECSTART.into(),
            Shape::SudoPassword => SUDO_PASSWORD.into(),
            Shape::RsaOnlyPort => RSA_ONLY_PORT.replace("{port}", &RSA_PORT.to_string()),
            Shape::SlowLogin => SLOW_LOGIN.into(),
            Shape::FirewallDrops2376 => FIREWALL.into(),
            Shape::DpkgLocked => DPKG_LOCKED.replace("{seconds}", &LOCK_SECONDS.to_string()),
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

/// The rule is what `nft list ruleset` shows afterwards; FIREWALL_OFF takes it away again.
const FIREWALL: &str = r#"set -e
if command -v nft >/dev/null; then
  nft add table inet zoo
  nft add chain inet zoo input '{ type filter hook input priority 0; policy accept; }'
  nft add rule inet zoo input tcp dport 2376 drop
else
  iptables -I INPUT -p tcp --dport 2376 -j DROP
fi
"#;

/// Takes [`Shape::FirewallDrops2376`]'s rule away.
pub const FIREWALL_OFF: &str = "if command -v nft >/dev/null; then nft delete table inet zoo; else iptables -D INPUT -p tcp --dport 2376 -j DROP; fi";

/// A process that takes apt's frontend lock as apt does (fcntl F_SETLK, F_WRLCK: flock(1) would
/// not count for apt) and keeps it, in a transient unit so that it outlives the setup's SSH
/// session. Perl is in every Debian (perl-base is essential); `apt-get check` proves apt sees
/// the lock as held before the shape counts as applied.
const DPKG_LOCKED: &str = r#"set -e
cat > /usr/local/bin/zoo-hold-lock <<'PERL'
#!/usr/bin/perl
use Fcntl;
$0 = "apt-get install zoo-lock-holder";
sysopen(my $fh, "/var/lib/dpkg/lock-frontend", O_RDWR | O_CREAT, 0640) or die "open: $!";
my $lock = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0);
fcntl($fh, F_SETLK, $lock) or die "lock: $!";
sleep($ARGV[0]);
PERL
chmod 755 /usr/local/bin/zoo-hold-lock
systemd-run --quiet --unit=zoo-lock /usr/local/bin/zoo-hold-lock {seconds}
for i in $(seq 150); do
  if ! apt-get -o DPkg::Lock::Timeout=0 check >/dev/null 2>&1; then exit 0; fi
  sleep 0.1
done
echo "apt does not see the lock as held" >&2
exit 1
"#;

const SUDO_PASSWORD: &str = r#"set -e
echo 'berth ALL=(ALL:ALL) ALL' > /etc/sudoers.d/berth
echo 'berth:zoo-secret' | chpasswd
"#;

const RSA_ONLY_PORT: &str = r#"set -e
rm -f /etc/ssh/ssh_host_ed25519_key* /etc/ssh/ssh_host_ecdsa_key*
[ -e /etc/ssh/ssh_host_rsa_key ] || ssh-keygen -q -t rsa -N '' -f /etc/ssh/ssh_host_rsa_key
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
