//! Finding `berth-driver-<name>` executables.
//!
//! The search folders are a value, not read from the process environment
//! inside the search, so tests and the binary decide them explicitly.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::builtin::BUILTIN_NAMES;
use berth_plugin::DriverError;

/// File names of plugins start with this.
pub const PLUGIN_PREFIX: &str = "berth-driver-";

/// Where plugins are looked for, in order: the storage folder's `plugins/`,
/// the folder of the berth executable, then each PATH entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginSearch {
    /// Folders searched in order; the first executable found wins.
    pub dirs: Vec<PathBuf>,
    /// The PATH entries alone: where docker-machine's own binary is looked for, which serves
    /// its core drivers (docker-machine looks for it on PATH only).
    pub path_dirs: Vec<PathBuf>,
    /// berth's own executable, which is never run as docker-machine's plugin host.
    pub current_exe: Option<PathBuf>,
}

impl PluginSearch {
    /// The standard order for a berth whose storage root is `storage`,
    /// running as `current_exe`, with the given PATH value.
    pub fn new(storage: &Path, current_exe: Option<&Path>, path_var: Option<&OsString>) -> Self {
        let mut dirs = vec![storage.join("plugins")];
        if let Some(dir) = current_exe.and_then(Path::parent) {
            dirs.push(dir.to_path_buf());
        }
        let mut path_dirs = Vec::new();
        if let Some(path) = path_var {
            // Empty PATH entries mean the current folder to a shell; a
            // plugin must not be picked up from wherever berth was run.
            path_dirs.extend(std::env::split_paths(path).filter(|p| p.is_absolute()));
        }
        dirs.extend(path_dirs.iter().cloned());
        let mut seen = std::collections::HashSet::new();
        dirs.retain(|d| seen.insert(d.clone()));
        let mut seen = std::collections::HashSet::new();
        path_dirs.retain(|d| seen.insert(d.clone()));
        Self {
            dirs,
            path_dirs,
            current_exe: current_exe.map(Path::to_path_buf),
        }
    }

    /// The standard order for this process: its own executable and `PATH`.
    pub fn from_env(storage: &Path) -> Self {
        let exe = std::env::current_exe().ok();
        let path = std::env::var_os(berth_names::EnvVars::PATH);
        Self::new(storage, exe.as_deref(), path.as_ref())
    }

    /// Where docker-machine's driver binaries are looked for: `docker-machine-driver-NAME` in
    /// the same folders as berth's plugins, docker-machine itself on PATH.
    pub fn go_search(&self) -> berth_gorpc::GoSearch {
        berth_gorpc::GoSearch {
            driver_dirs: self.dirs.clone(),
            host_dirs: self.path_dirs.clone(),
            current_exe: self.current_exe.clone(),
        }
    }

    /// The plugin executable for driver `name`, or an error that lists every
    /// folder searched and the built-in names.
    pub fn find(&self, name: &str) -> Result<PathBuf, DriverError> {
        validate_name(name)?;
        let file = format!("{PLUGIN_PREFIX}{name}");
        let candidates = || self.dirs.iter().map(|d| d.join(&file));
        if let Some(found) = candidates().find(|p| is_executable(p)) {
            return Ok(found);
        }
        // A plugin copied in without its executable bit is the likeliest slip of all: saying
        // "no driver named …" would send the user looking for a file that is right there.
        if let Some(plain) = candidates().find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
        {
            return Err(DriverError::PluginNotExecutable { plugin: plain });
        }
        Err(DriverError::UnknownDriver {
            name: name.to_owned(),
            looked_in: self.dirs.clone(),
            builtins: BUILTIN_NAMES.iter().map(|s| (*s).to_owned()).collect(),
            core_driver: berth_gorpc::CORE_DRIVERS.contains(&name),
        })
    }

    /// Every plugin found, by driver name (the first of each name wins), for
    /// listing the drivers `berth create -d` accepts.
    pub fn list(&self) -> Vec<(String, PathBuf)> {
        let mut found: Vec<(String, PathBuf)> = Vec::new();
        for dir in &self.dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut here: Vec<(String, PathBuf)> = entries
                .flatten()
                .filter_map(|e| {
                    let file = e.file_name().into_string().ok()?;
                    let name = file.strip_prefix(PLUGIN_PREFIX)?.to_owned();
                    let path = e.path();
                    (validate_name(&name).is_ok() && is_executable(&path)).then_some((name, path))
                })
                .collect();
            here.sort();
            for (name, path) in here {
                if !found.iter().any(|(n, _)| *n == name) {
                    found.push((name, path));
                }
            }
        }
        found
    }
}

/// Driver names become file names: only `[a-z][a-z0-9-]*` can never escape
/// the search folder or confuse a shell.
pub fn validate_name(name: &str) -> Result<(), DriverError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(DriverError::InvalidDriverName {
            name: name.to_owned(),
        })
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

    fn touch(path: &Path, mode: u32) {
        fs::write(path, "#!/bin/sh\n").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn order_is_storage_then_exe_dir_then_absolute_path_entries() {
        let path = OsString::from("/usr/bin::relative:/usr/bin:/bin");
        let s = PluginSearch::new(
            Path::new("/st"),
            Some(Path::new("/opt/berth/berth")),
            Some(&path),
        );
        let want: Vec<PathBuf> = ["/st/plugins", "/opt/berth", "/usr/bin", "/bin"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(s.dirs, want);
    }

    #[test]
    fn finds_first_executable_and_skips_non_executables() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        touch(&a.path().join("berth-driver-kvm"), 0o644);
        touch(&b.path().join("berth-driver-kvm"), 0o755);
        touch(&b.path().join("berth-driver-x1"), 0o755);
        let s = PluginSearch {
            dirs: vec![a.path().into(), b.path().into()],
            ..Default::default()
        };
        assert_eq!(s.find("kvm").unwrap(), b.path().join("berth-driver-kvm"));
        let names: Vec<String> = s.list().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["kvm", "x1"]);
    }

    /// A plugin without its executable bit used to be reported as "no driver named …".
    #[test]
    fn a_plugin_file_that_is_not_executable_is_named_with_the_fix() {
        let a = tempfile::tempdir().unwrap();
        let plugin = a.path().join("berth-driver-kvm");
        touch(&plugin, 0o644);
        let s = PluginSearch {
            dirs: vec![a.path().into()],
            ..Default::default()
        };
        let e = s.find("kvm").unwrap_err();
        assert!(matches!(e, DriverError::PluginNotExecutable { .. }), "{e}");
        let e = e.to_string();
        assert!(e.contains(&plugin.display().to_string()), "{e}");
        assert!(
            e.contains("not executable") && e.contains("chmod +x"),
            "{e}"
        );
    }

    #[test]
    fn unknown_driver_lists_where_it_looked() {
        let a = tempfile::tempdir().unwrap();
        let s = PluginSearch {
            dirs: vec![a.path().into()],
            ..Default::default()
        };
        let e = s.find("nope").unwrap_err().to_string();
        assert!(e.contains(&a.path().display().to_string()), "{e}");
        assert!(e.contains("generic, none"), "{e}");
    }

    #[test]
    fn names_that_could_escape_the_folder_are_refused() {
        for bad in ["", "../x", "a/b", "Kvm", "-x", "a b"] {
            assert!(
                matches!(
                    validate_name(bad),
                    Err(DriverError::InvalidDriverName { .. })
                ),
                "{bad}"
            );
        }
        validate_name("nspawn").unwrap();
    }
}
