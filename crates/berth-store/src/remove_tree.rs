//! Deleting a folder of the store without following a single link.
//!
//! `std::fs::read_dir` on a path follows a symbolic link at that path, and so does a
//! `remove_file` of `link/x`: a `.removing-x` planted in the store as a link to `~/.ssh` would
//! have every file in `~/.ssh` deleted by the clean-up that runs before each command. Here each
//! folder is opened relative to its parent's descriptor with `O_NOFOLLOW | O_DIRECTORY`, and
//! every entry is unlinked relative to that descriptor (`unlinkat`), so a link anywhere in the
//! tree is removed as a link and its target is never touched.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

/// How deep a removal descends before it gives up: berth's machine folders are one or two
/// levels deep; a deeper tree is not one berth made.
const MAX_DEPTH: usize = 64;

/// Removes `path` (a folder, a file or a link) without following links: a link is unlinked
/// itself. Files directly in a folder go before its subfolders, so the keys and the record of a
/// machine are gone first even when some subfolder cannot be removed. Returns the first error,
/// after trying everything; a `path` that does not exist is not an error.
pub(crate) fn remove_tree_nofollow(path: &Path) -> Result<(), String> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let Some(name) = path.file_name() else {
        return Err(format!("{} names no entry", path.display()));
    };
    let name = CString::new(name.as_bytes()).map_err(|e| e.to_string())?;
    let parent_fd = rustix::fs::open(
        parent,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("{}: {e}", parent.display()))?;
    let mut first_error = None;
    remove_entry(&parent_fd, &name, path, 0, &mut first_error);
    first_error.map_or(Ok(()), Err)
}

/// Removes the entry `name` of the folder `dir`: unlinks it when it is not a folder (links
/// included), else empties it through its own descriptor and removes it.
fn remove_entry(
    dir: &OwnedFd,
    name: &CStr,
    shown: &Path,
    depth: usize,
    first_error: &mut Option<String>,
) {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return,
        // Linux says EISDIR for a folder (POSIX allows EPERM): descend.
        Err(Errno::ISDIR | Errno::PERM) => {}
        Err(e) => {
            first_error.get_or_insert(format!("{}: {e}", shown.display()));
            return;
        }
    }
    if depth >= MAX_DEPTH {
        first_error.get_or_insert(format!("{}: nested too deep", shown.display()));
        return;
    }
    let child = match rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => {
            first_error.get_or_insert(format!("{}: {e}", shown.display()));
            return;
        }
    };
    let mut folders = Vec::new();
    match rustix::fs::Dir::read_from(child.as_fd()) {
        Ok(entries) => {
            for entry in entries {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(e) => {
                        first_error.get_or_insert(format!("{}: {e}", shown.display()));
                        break;
                    }
                };
                let entry_name = entry.file_name();
                if entry_name == c"." || entry_name == c".." {
                    continue;
                }
                // Files (and links, and anything not a folder) first; folders after.
                match rustix::fs::unlinkat(&child, entry_name, AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(Errno::ISDIR | Errno::PERM) => folders.push(entry_name.to_owned()),
                    Err(e) => {
                        let path = shown.join(std::ffi::OsStr::from_bytes(entry_name.to_bytes()));
                        first_error.get_or_insert(format!("{}: {e}", path.display()));
                    }
                }
            }
        }
        Err(e) => {
            first_error.get_or_insert(format!("{}: {e}", shown.display()));
        }
    }
    for folder in folders {
        let path = shown.join(std::ffi::OsStr::from_bytes(folder.to_bytes()));
        remove_entry(&child, &folder, &path, depth + 1, first_error);
    }
    drop(child);
    match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => {
            first_error.get_or_insert(format!("{}: {e}", shown.display()));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_link_to_a_folder_is_removed_as_a_link_and_its_files_survive() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("ssh");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("id_ed25519"), "KEY").unwrap();
        let link = tmp.path().join(".removing-x");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        remove_tree_nofollow(&link).unwrap();
        assert!(std::fs::symlink_metadata(&link).is_err(), "the link stays");
        assert_eq!(
            std::fs::read_to_string(target.join("id_ed25519")).unwrap(),
            "KEY"
        );
    }

    #[test]
    fn links_inside_the_tree_are_not_followed_and_the_tree_goes() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), "x").unwrap();
        let trash = tmp.path().join("trash");
        std::fs::create_dir_all(trash.join("sub/deeper")).unwrap();
        std::fs::write(trash.join("key.pem"), "SECRET").unwrap();
        std::fs::write(trash.join("sub/deeper/f"), "").unwrap();
        std::os::unix::fs::symlink(&outside, trash.join("sub/link")).unwrap();
        std::os::unix::fs::symlink(outside.join("keep"), trash.join("filelink")).unwrap();
        remove_tree_nofollow(&trash).unwrap();
        assert!(!trash.exists());
        assert!(outside.join("keep").exists());
        // A path that is gone already is fine.
        remove_tree_nofollow(&trash).unwrap();
    }
}
