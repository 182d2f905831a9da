//! Atomic writes (write a temporary file, fsync, rename): a machine's files are either the old
//! version or the new one, never half of each, even when berth dies mid-write.

use std::path::Path;

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

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a mix,
/// with exactly the mode `mode` stands for: [`berth_fs::write_atomic`] (temporary file beside
/// the target made without following links, fsync, rename, fsync of the folder, no temporary
/// left behind on failure).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: FileMode) -> Result<(), StoreError> {
    berth_fs::write_atomic(path, bytes, mode.bits(), None)
        .map_err(|e| StoreError::io(e.action, e.path, e.source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

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
