//! Atomic writes (a temporary file beside the target, fsync, rename): a reader sees the old
//! file or the new one, never half of each, even when berth dies mid-write. berth-store writes
//! a machine's record and keys this way, berth-context the docker CLI's config.json and
//! contexts, which the docker CLI may be reading at the same moment.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A write that did not happen; the target was left as it was and no temporary file stays.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {path}: {source}")]
pub struct WriteError {
    /// What was being done, as a verb phrase ("write", "replace", …), so that a caller can
    /// word its own error the same way.
    pub action: &'static str,
    /// The file or folder it was done to.
    pub path: PathBuf,
    /// The system's error.
    #[source]
    pub source: std::io::Error,
}

impl WriteError {
    fn new(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        WriteError {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// `O_NOFOLLOW` for [`OpenOptionsExt::custom_flags`] (`O_EXCL` comes with `create_new`).
pub fn no_follow() -> i32 {
    // The flag's bits fit an i32 on every platform (0o400000 on Linux).
    i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0)
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a mix.
///
/// Write to a temporary file in the same folder, set its mode to exactly `mode` (not bent by
/// the umask: the docker CLI's files and a machine's keys have the modes their owners expect),
/// optionally give it to `owner` (uid, gid: the docker CLI's `copyFilePermissions`, so that a
/// `sudo berth` does not leave a user's config.json owned by root; only root may, so for anyone
/// else it is skipped), fsync it, rename it over the target, then fsync the folder so the
/// rename itself survives a crash. On any failure the temporary file is removed.
///
/// The temporary is made with `O_CREAT | O_EXCL | O_NOFOLLOW` and mode 0600 until its own mode
/// is set: it is always a new file of berth's own, never an existing one nor whatever a link
/// planted at its (predictable, `.NAME.PID.N.tmp`) name points to, and nobody else can open it
/// before it is complete. A name that is taken (a crashed run's leftover, a planted link) is
/// skipped.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let (tmp, mut file) = create_temporary(dir, file_name)?;
    let result = (|| {
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(|e| WriteError::new("set the mode of", &tmp, e))?;
        if let Some((uid, gid)) = owner {
            // Only root may give a file away; for anyone else the file is theirs already.
            let _ = std::os::unix::fs::fchown(&file, Some(uid), Some(gid));
        }
        file.write_all(bytes)
            .map_err(|e| WriteError::new("write", &tmp, e))?;
        file.sync_all()
            .map_err(|e| WriteError::new("sync", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| WriteError::new("replace", path, e))?;
        if let Ok(dir) = File::open(dir) {
            // Best effort: some filesystems refuse fsync on a directory.
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A new temporary file beside the target: `.NAME.PID.N.tmp` for the first N not taken. The
/// pid keeps two processes writing the same file from sharing a temporary.
fn create_temporary(dir: &Path, file_name: &str) -> Result<(PathBuf, File), WriteError> {
    const ATTEMPTS: u32 = 100;
    let pid = std::process::id();
    let mut attempt = 0;
    loop {
        let tmp = dir.join(format!(".{file_name}.{pid}.{attempt}.tmp"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(no_follow())
            .mode(0o600)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt + 1 < ATTEMPTS => {
                attempt += 1;
            }
            Err(e) => return Err(WriteError::new("create a temporary file in", dir, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<std::ffi::OsString> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_link_planted_where_the_temporary_goes_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside");
        fs::write(&outside, "untouched").expect("outside");
        let store = dir.path().join("machine");
        fs::create_dir(&store).expect("mkdir");
        // The name a write of key.pem by this process would use for its temporary.
        let planted = store.join(format!(".key.pem.{}.0.tmp", std::process::id()));
        std::os::unix::fs::symlink(&outside, &planted).expect("link");
        let path = store.join("key.pem");
        write_atomic(&path, b"SECRET", 0o600, None).expect("write");
        assert_eq!(fs::read(&outside).expect("read"), b"untouched");
        assert_eq!(fs::read(&path).expect("read"), b"SECRET");
        assert!(
            !fs::symlink_metadata(&path)
                .expect("stat")
                .file_type()
                .is_symlink(),
            "the key is a file of its own"
        );
    }

    #[test]
    fn the_mode_is_exactly_the_one_asked_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        for mode in [0o600, 0o644, 0o640] {
            let path = dir.path().join(format!("f{mode:o}"));
            write_atomic(&path, b"x", mode, None).expect("write");
            let got = fs::metadata(&path).expect("stat").permissions().mode() & 0o7777;
            assert_eq!(got, mode, "{mode:o}");
        }
    }

    #[test]
    fn a_failed_write_leaves_the_target_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A folder where the file should go: the rename over it fails.
        let path = dir.path().join("config.json");
        fs::create_dir(&path).expect("mkdir");
        fs::write(path.join("inside"), "kept").expect("inside");
        let err = write_atomic(&path, b"new", 0o600, None).expect_err("a folder is in the way");
        assert_eq!(err.action, "replace");
        assert_eq!(err.path, path);
        assert_eq!(fs::read(path.join("inside")).expect("read"), b"kept");
        assert_eq!(
            names(dir.path()),
            vec![std::ffi::OsString::from("config.json")]
        );
    }
}
