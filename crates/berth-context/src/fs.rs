//! Atomic writes with the modes the docker CLI uses: a reader (the docker CLI running at the
//! same moment) sees the old file or the new one, never half of each.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use crate::ContextError;

/// Creates `dir` and its parents with `mode` (as Go's `os.MkdirAll`, under the umask).
pub(crate) fn create_dir_all(dir: &Path, mode: u32) -> Result<(), ContextError> {
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| ContextError::io("create the folder", dir, e))
}

/// Writes `bytes` to `path` as the docker CLI does: atomically, with exactly `mode`, and owned
/// by `owner` when given (its `copyFilePermissions`, so that a `sudo berth` does not leave a
/// user's config.json owned by root). [`berth_fs::write_atomic`] does the work.
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), ContextError> {
    berth_fs::write_atomic(path, bytes, mode, owner)
        .map_err(|e| ContextError::io(e.action, &e.path, e.source))
}
