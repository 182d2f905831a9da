//! Where machines keep their files and which network they share.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

/// Folders, network and mirror for local machines. `Default` is what the
/// driver and the test suite share, so their machines never collide.
#[derive(Debug, Clone)]
pub struct Config {
    /// Cached roots: `<cache_dir>/<release>-<recipe hash>`.
    pub cache_dir: PathBuf,
    /// Machines (`machines/<name>`) and address claims (`addresses/<ip>`).
    pub data_dir: PathBuf,
    /// The bridge on this machine that every host's veth joins.
    pub bridge: String,
    /// First three octets of the hosts' /24; `.1` is the bridge (gateway).
    pub subnet: [u8; 3],
    /// The Debian mirror debootstrap uses.
    pub mirror: String,
    /// The Debian release the root is built from (debootstrap's suite: `bookworm`, and for the
    /// test suite's zoo also `bullseye` and `trixie`).
    pub release: String,
    /// How long a boot may take until sshd answers.
    pub boot_timeout: Duration,
    /// How long an orderly power-off may take before SIGKILL.
    pub stop_timeout: Duration,
    /// Boot from the root with the Docker engine already installed (the driver's machines);
    /// the test suite's hosts start without one, as a fresh host does.
    pub engine_preinstalled: bool,
    /// What the guest's root may do on this computer (see [`Isolation`]).
    pub isolation: Isolation,
}

/// How far a machine's root is kept from the computer that hosts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// nspawn's default capability set plus only what a nested Docker engine needs
    /// ([`ENGINE_CAPABILITIES`]), and /proc/sys, /sys read-only as nspawn mounts them: the
    /// nspawn driver's machines, which users keep and whose client certificate may be handed on.
    Engine,
    /// Every capability and writable /proc/sys and /sys: throw-away test hosts the suite
    /// controls, never a model for machines users keep.
    Wide,
}

/// What a nested Docker engine needs beyond nspawn's default set, measured with Debian 12's
/// docker.io (dockerd 20.10, runc) on cgroup v1: with the default set alone dockerd does not
/// start ("iptables -t nat -N DOCKER: Permission denied": nspawn keeps CAP_NET_ADMIN only for
/// networks it makes itself, not for `--network-namespace-path`); with CAP_NET_ADMIN added,
/// `docker run` of a local image works. Nothing else was needed.
pub const ENGINE_CAPABILITIES: &[&str] = &["CAP_NET_ADMIN"];

impl Default for Config {
    fn default() -> Self {
        Self {
            cache_dir: "/var/cache/berth/nspawn".into(),
            data_dir: "/var/lib/berth/nspawn".into(),
            bridge: "berthbr0".into(),
            // Not 10.88.0.0/24: other tooling on these machines uses it.
            subnet: [10, 213, 0],
            mirror: std::env::var(berth_names::EnvVars::BERTH_DEBIAN_MIRROR)
                .unwrap_or_else(|_| "http://deb.debian.org/debian".into()),
            release: crate::image::DEFAULT_RELEASE.into(),
            boot_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(30),
            engine_preinstalled: false,
            isolation: Isolation::Engine,
        }
    }
}

impl Config {
    /// The gateway address (the bridge's own).
    pub fn gateway(&self) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, 1)
    }

    /// The subnet in CIDR form, e.g. `10.213.0.0/24`.
    pub fn cidr(&self) -> String {
        let [a, b, c] = self.subnet;
        format!("{a}.{b}.{c}.0/24")
    }

    /// Folder of one machine.
    pub fn machine_dir(&self, name: &str) -> PathBuf {
        self.data_dir.join("machines").join(name)
    }

    /// Folder of the address claims.
    pub fn registry_dir(&self) -> PathBuf {
        self.data_dir.join("addresses")
    }
}
