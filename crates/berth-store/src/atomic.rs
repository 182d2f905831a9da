//! Atomic writes (write a temporary file, fsync, rename): a machine's files are either the old
//! version or the new one, never half of each, even when berth dies mid-write.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// Who may read a file berth writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileMode {
    /// 0600: keys, records with addresses and key paths.
    Secret,
    /// 0644: certificates, which are public by nature.
    Public,
}

impl FileMode {
    fn bits(self) -> u32 {
        match self {
            FileMode::Secret => 0o600,
            FileMode::Public => 0o644,
        }
    }
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a mix.
///
/// Write to a temporary file in the same folder, fsync it, rename it over the target, then
/// fsync the folder so the rename itself survives a crash. The temporary name carries the pid
/// so two processes writing the same file never share a temporary.
///
/// The temporary is made with `O_CREAT | O_EXCL | O_NOFOLLOW`: it is always a new file of
/// berth's own, never an existing one nor whatever a link planted at its (predictable) name
/// points to. A name that is taken (a crashed run's leftover, a planted link) is skipped.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: FileMode) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let (tmp, mut file) = create_temporary(dir, file_name, mode)?;
    let result = (|| {
        file.write_all(bytes)
            .map_err(|e| StoreError::io("write", &tmp, e))?;
        file.sync_all()
            .map_err(|e| StoreError::io("sync", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| StoreError::io("replace", path, e))?;
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

/// `O_NOFOLLOW` for [`OpenOptionsExt::custom_flags`] (`O_EXCL` comes with `create_new`).
pub(crate) fn no_follow() -> i32 {
    // The flag's bits fit an i32 on every platform (0o400000 on Linux).
    i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0)
}

/// A new temporary file beside the target: `.NAME.PID.N.tmp` for the first N not taken.
fn create_temporary(
    dir: &Path,
    file_name: &str,
    mode: FileMode,
) -> Result<(PathBuf, File), StoreError> {
    const ATTEMPTS: u32 = 100;
    let pid = std::process::id();
    let mut attempt = 0;
    loop {
        let tmp = dir.join(format!(".{file_name}.{pid}.{attempt}.tmp"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(no_follow())
            .mode(mode.bits())
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt + 1 < ATTEMPTS => {
                attempt += 1;
            }
            Err(e) => return Err(StoreError::io("create", &tmp, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
        write_atomic(&path, b"SECRET", FileMode::Secret).expect("write");
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
    fn writes_with_the_mode_asked_for_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key.pem");
        write_atomic(&path, b"one", FileMode::Secret).expect("first write");
        write_atomic(&path, b"two", FileMode::Secret).expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("key.pem")]);
    }
}
