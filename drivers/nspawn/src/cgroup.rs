//! A cgroup of its own for each machine, in every hierarchy.
//!
//! Without systemd on this machine, nspawn (with --keep-unit) runs a machine
//! in the cgroup of whoever started it: every machine then shared one tree,
//! and one guest's systemd stopping `/system.slice/X.service` killed the same
//! unit booting in another guest (random "failed" units at concurrent boots).
//! Each machine's nspawn is therefore moved into `<hierarchy>/berth/<name>`
//! before it starts, and the guest sees that subtree as its root.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::NspawnError;

/// The folder under each hierarchy that holds the machines' cgroups.
const PARENT: &str = "berth";

/// Every cgroup (v1 or v2) mount point under /sys/fs/cgroup.
fn hierarchies() -> Vec<PathBuf> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fstype = right.split(' ').next()?;
            let mount = left.split(' ').nth(4)?;
            ((fstype == "cgroup" || fstype == "cgroup2") && mount.starts_with("/sys/fs/cgroup"))
                .then(|| PathBuf::from(mount))
        })
        .collect()
}

/// Creates the machine's cgroup in every hierarchy; returns the `cgroup.procs`
/// files a process writes its pid into to join them.
pub(crate) fn prepare(name: &str) -> Result<Vec<PathBuf>, NspawnError> {
    let mut procs = Vec::new();
    for hierarchy in hierarchies() {
        let parent = hierarchy.join(PARENT);
        let dir = parent.join(name);
        fs::create_dir_all(&dir).map_err(NspawnError::io("could not create the cgroup", &dir))?;
        // A new v1 cpuset has no CPUs or memory nodes, and joining it fails until they are copied from above.
        for (from, to) in [
            (hierarchy.as_path(), parent.as_path()),
            (parent.as_path(), dir.as_path()),
        ] {
            for knob in ["cpuset.cpus", "cpuset.mems"] {
                inherit(from, to, knob)?;
            }
        }
        procs.push(dir.join("cgroup.procs"));
    }
    Ok(procs)
}

fn inherit(from: &Path, to: &Path, knob: &str) -> Result<(), NspawnError> {
    let target = to.join(knob);
    let Ok(current) = fs::read_to_string(&target) else {
        return Ok(());
    };
    if current.trim().is_empty() {
        let value = fs::read_to_string(from.join(knob))
            .map_err(NspawnError::io("could not read", from.join(knob)))?;
        fs::write(&target, value.trim()).map_err(NspawnError::io("could not write", &target))?;
    }
    Ok(())
}

/// Removes the machine's (now empty) cgroups, deepest first: what the guest's systemd made inside too.
pub(crate) fn remove(name: &str) {
    for hierarchy in hierarchies() {
        remove_tree(&hierarchy.join(PARENT).join(name));
        // Only succeeds when no other machine has a cgroup there.
        let _ = fs::remove_dir(hierarchy.join(PARENT));
    }
}

fn remove_tree(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

/// Whether `pid` belongs to the machine `name` (or, with `prefix` true, to any machine named `name…`).
///
/// The cgroup, not /proc/PID/root, tells: a guest's root is its own mount
/// namespace's "/", while its cgroup path names the machine.
pub(crate) fn pid_in(pid: i32, name: &str, prefix: bool) -> bool {
    let needle = format!(":/{PARENT}/{name}");
    fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.find(&needle).map(|i| &l[i + needle.len()..]))
        .any(|rest| prefix || rest.is_empty() || rest.starts_with('/'))
}

/// Cgroups left of machines named `prefix…`.
pub(crate) fn leftovers(prefix: &str) -> Vec<String> {
    hierarchies()
        .iter()
        .flat_map(|h| fs::read_dir(h.join(PARENT)).into_iter().flatten().flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix) && e.path().is_dir())
        .map(|e| e.path().display().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hierarchies_only_under_sys_fs_cgroup() {
        for h in hierarchies() {
            assert!(h.starts_with("/sys/fs/cgroup"), "{}", h.display());
        }
    }
}
