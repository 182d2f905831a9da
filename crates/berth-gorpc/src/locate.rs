//! Which binary serves a docker-machine driver (`localbinary/plugin.go`, `driverPath`): one of the
//! 15 core drivers is served by the `docker-machine` binary itself (or Rancher's
//! `rancher-machine`, the same code); any other NAME by `docker-machine-driver-NAME`.
//!
//! When berth is installed as `docker-machine` (a symlink or a copy under that name, for
//! docker-machine's users), the `docker-machine` on PATH is berth: running it as a plugin host
//! would start berth again, so it is skipped by comparing files, not names.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The drivers the `docker-machine` binary serves itself (`CoreDrivers`).
pub const CORE_DRIVERS: [&str; 15] = [
    "amazonec2",
    "azure",
    "digitalocean",
    "exoscale",
    "generic",
    "google",
    "hyperv",
    "none",
    "openstack",
    "rackspace",
    "softlayer",
    "virtualbox",
    "vmwarefusion",
    "vmwarevcloudair",
    "vmwarevsphere",
];

/// File names of third-party drivers start with this.
pub const DRIVER_PREFIX: &str = "docker-machine-driver-";

/// The binaries that serve the core drivers, in the order they are tried.
pub const CORE_HOSTS: [&str; 2] = ["docker-machine", "rancher-machine"];

/// Where driver binaries are looked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoSearch {
    /// Folders for `docker-machine-driver-NAME`, in order (the store's plugins/, beside berth,
    /// PATH).
    pub driver_dirs: Vec<PathBuf>,
    /// Folders for `docker-machine` / `rancher-machine` (PATH).
    pub host_dirs: Vec<PathBuf>,
    /// berth's own executable, never run as a plugin host.
    pub current_exe: Option<PathBuf>,
}

impl GoSearch {
    /// The binary for driver `name`, or `None` when there is none.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        let file = format!("{DRIVER_PREFIX}{name}");
        if let Some(found) = self
            .driver_dirs
            .iter()
            .map(|d| d.join(&file))
            .find(|p| is_executable(p) && !self.is_berth(p))
        {
            return Some(found);
        }
        if !CORE_DRIVERS.contains(&name) {
            return None;
        }
        CORE_HOSTS.iter().find_map(|host| {
            self.host_dirs
                .iter()
                .map(|d| d.join(host))
                .find(|p| is_executable(p) && !self.is_berth(p))
        })
    }

    /// What a user has to install for driver `name`.
    pub fn wanted(name: &str) -> String {
        if CORE_DRIVERS.contains(&name) {
            "docker-machine (0.16; it serves its core drivers itself) on PATH".to_owned()
        } else {
            format!("{DRIVER_PREFIX}{name} in the store's plugins/ folder, beside berth or on PATH")
        }
    }

    /// Whether `path` is berth's own executable (the same file, however it is named).
    fn is_berth(&self, path: &Path) -> bool {
        let Some(exe) = &self.current_exe else {
            return false;
        };
        match (std::fs::metadata(path), std::fs::metadata(exe)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::fs;

    fn exe(path: &Path) {
        fs::write(path, "#!/bin/sh\n").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn third_party_drivers_first_then_the_docker_machine_binary_for_core_drivers() {
        let plugins = tempfile::tempdir().unwrap();
        let path = tempfile::tempdir().unwrap();
        exe(&plugins.path().join("docker-machine-driver-hetzner"));
        exe(&path.path().join("docker-machine"));
        let s = GoSearch {
            driver_dirs: vec![plugins.path().into()],
            host_dirs: vec![path.path().into()],
            current_exe: None,
        };
        assert_eq!(
            s.find("hetzner").unwrap(),
            plugins.path().join("docker-machine-driver-hetzner")
        );
        assert_eq!(
            s.find("amazonec2").unwrap(),
            path.path().join("docker-machine")
        );
        assert_eq!(s.find("kvm"), None);
    }

    /// berth installed as `docker-machine` must not start itself as a plugin host.
    #[test]
    fn a_docker_machine_that_is_berth_itself_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let berth = dir.path().join("berth");
        exe(&berth);
        let bin = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&berth, bin.path().join("docker-machine")).unwrap();
        fs::hard_link(&berth, bin.path().join("rancher-machine")).unwrap();
        let s = GoSearch {
            driver_dirs: vec![],
            host_dirs: vec![bin.path().into()],
            current_exe: Some(berth.clone()),
        };
        assert_eq!(s.find("amazonec2"), None);
        let real = tempfile::tempdir().unwrap();
        exe(&real.path().join("docker-machine"));
        let s = GoSearch {
            host_dirs: vec![bin.path().into(), real.path().into()],
            ..s
        };
        assert_eq!(
            s.find("amazonec2").unwrap(),
            real.path().join("docker-machine")
        );
    }
}
