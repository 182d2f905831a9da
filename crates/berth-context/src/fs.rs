//! Atomic writes with the modes the docker CLI uses: a reader (the docker CLI running at the
//! same moment) sees the old file or the new one, never half of each.

use std::fs::{DirBuilder, File, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
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

/// Writes `bytes` to `path` through a temporary file in the same folder: write, fsync, chmod,
/// (chown to `owner`, as the docker CLI's `copyFilePermissions` does, so that a `sudo berth`
/// does not leave a user's config.json owned by root), rename, fsync the folder.
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), ContextError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| ContextError::io("create a temporary file in", dir, e))?;
    let io = |action, e| ContextError::io(action, path, e);
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(|e| io("set the mode of", e))?;
    if let Some((uid, gid)) = owner {
        // Only root may give a file away; for anyone else the file is theirs already.
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid));
    }
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("sync", e))?;
    tmp.persist(path)
        .map_err(|e| ContextError::io("replace", path, e.error))?;
    if let Ok(dir) = File::open(dir) {
        // Best effort: some filesystems refuse fsync on a directory.
        let _ = dir.sync_all();
    }
    Ok(())
}
