//! Checks made before touching anything, so a missing tool is one clear sentence
//! instead of a failure halfway through a boot.

use std::path::Path;

use crate::error::NspawnError;

/// The programs machines need and the Debian packages that provide them.
const TOOLS: &[(&str, &str)] = &[
    ("systemd-nspawn", "systemd-container"),
    ("debootstrap", "debootstrap"),
    ("ip", "iproute2"),
    ("iptables", "iptables"),
    ("mount", "mount"),
];

/// Fails unless the process is root and every needed program is on PATH.
pub fn preflight() -> Result<(), NspawnError> {
    if !rustix::process::geteuid().is_root() {
        return Err(NspawnError::NotRoot);
    }
    for (tool, package) in TOOLS {
        if find_on_path(tool).is_none() {
            return Err(NspawnError::MissingTool {
                tool: (*tool).to_string(),
                package: (*package).to_string(),
            });
        }
    }
    Ok(())
}

/// The first `dir/name` on PATH (plus the sbin folders, which a sudo PATH may lack).
pub(crate) fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os(berth_names::EnvVars::PATH).unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(Into::into))
        .map(|dir: std::path::PathBuf| dir.join(name))
        .find(|p| Path::new(p).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_not_nonsense() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("no-such-tool-berth").is_none());
    }
}
