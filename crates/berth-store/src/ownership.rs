//! Who may write the folders berth trusts, checked when berth runs as root.
//!
//! berth runs as root for the nspawn driver. A store root, a `plugins/` folder (whose
//! executables berth starts, then as root), a `.locks` folder or a docker CLI configuration
//! folder that another user can write lets that user plant a plugin, a `.removing-*` entry or a
//! context, and so act as root. OpenSSH's StrictModes refuses a group-writable `~/.ssh` for the
//! same reason; berth refuses such folders under root with the commands that fix them.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// Refuses `path` when berth runs as root (`euid` 0) and another user could change it: it is
/// writable by its group or by everyone, or owned by a user other than root. A path that does
/// not exist yet passes (berth makes it private itself). Under any other user nothing is
/// checked: such a berth can do no more than its user can.
pub fn check_private(path: &Path, what: &'static str, euid: u32) -> Result<(), StoreError> {
    if euid != 0 {
        return Ok(());
    }
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io("inspect", path, e)),
    };
    let mode = meta.mode() & 0o7777;
    let reason = if meta.uid() != 0 {
        format!("is owned by uid {}, not root", meta.uid())
    } else if mode & 0o022 != 0 {
        format!(
            "is writable by {} (mode {mode:04o})",
            if mode & 0o002 != 0 {
                "every user"
            } else {
                "its group"
            }
        )
    } else {
        return Ok(());
    };
    Err(StoreError::NotPrivate {
        what,
        path: path.to_path_buf(),
        reason,
    })
}

/// The effective user id of this process.
pub fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The folders of the store at `root` that [`check_private`] guards: the root itself, its
/// `plugins/` and its `.locks/`.
pub fn guarded_folders(root: &Path) -> [(PathBuf, &'static str); 3] {
    [
        (root.to_path_buf(), "the storage folder"),
        (
            root.join(crate::store::PLUGINS_DIR),
            "the store's plugins folder",
        ),
        (
            root.join(crate::store::LOCKS_DIR),
            "the store's lock folder",
        ),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn folder(mode: u32) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        dir
    }

    #[test]
    fn under_root_a_folder_others_can_write_is_refused_with_the_fix() {
        let euid = effective_uid();
        for mode in [0o777, 0o770, 0o1777] {
            let dir = folder(mode);
            let result = check_private(dir.path(), "the storage folder", 0);
            if euid == 0 {
                let err = result.expect_err("refused");
                let text = err.to_string();
                assert!(text.contains("chmod go-w"), "{text}");
                assert!(text.contains(&dir.path().display().to_string()), "{text}");
            } else {
                // Owned by this user, who is not root: refused as not root's.
                assert!(result.is_err());
            }
        }
        let dir = folder(0o700);
        if euid == 0 {
            check_private(dir.path(), "the storage folder", 0).unwrap();
        }
        // Not root: nothing to guard against.
        check_private(folder(0o777).path(), "the storage folder", 1000).unwrap();
        // Not there yet: berth makes it private.
        check_private(&dir.path().join("absent"), "the storage folder", 0).unwrap();
    }

    #[test]
    fn under_root_a_folder_owned_by_another_user_is_refused() {
        if effective_uid() != 0 {
            // Only root can give a folder away; as another user the folder is this user's,
            // which the first test shows is refused under root all the same.
            let dir = folder(0o700);
            assert!(check_private(dir.path(), "x", 0).is_err());
            return;
        }
        let dir = folder(0o700);
        rustix::fs::chown(
            dir.path(),
            Some(rustix::fs::Uid::from_raw(4242)),
            Some(rustix::fs::Gid::from_raw(4242)),
        )
        .unwrap();
        let err = check_private(dir.path(), "the store's plugins folder", 0).expect_err("refused");
        assert!(err.to_string().contains("uid 4242"), "{err}");
        assert!(err.to_string().contains("chown root"), "{err}");
    }
}
