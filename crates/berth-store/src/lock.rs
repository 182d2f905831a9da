//! Per-machine locks, so that two berth processes never change one machine at once.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_net::Backoff;

use crate::StoreError;

/// An exclusive lock on one machine, held while a command changes it.
///
/// The lock file lives outside the machine's folder (in `<root>/.locks/`) so that `rm` can
/// delete the folder while still holding the lock. The OS drops the lock when the process
/// dies, so a killed berth never leaves a machine locked forever.
#[derive(Debug)]
pub struct MachineLock {
    _file: File,
    path: PathBuf,
}

impl MachineLock {
    /// Takes the lock, waiting up to `wait` for another process to release it.
    pub(crate) fn acquire(
        name: &str,
        locks_dir: &Path,
        wait: Duration,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(locks_dir).map_err(|e| StoreError::io("create", locks_dir, e))?;
        let path = locks_dir.join(format!("{name}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            // A link planted in .locks/ must not make berth create or lock a file elsewhere.
            .custom_flags(berth_fs::no_follow())
            .open(&path)
            .map_err(|e| StoreError::io("open", &path, e))?;
        // Polling with a short, growing pause: std offers no timed blocking lock.
        let mut backoff = Backoff::new(
            Duration::from_millis(5),
            Duration::from_millis(200),
            Instant::now() + wait,
        );
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(MachineLock { _file: file, path }),
                Err(TryLockError::WouldBlock) if backoff.wait() => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked {
                        name: name.to_owned(),
                        path,
                    });
                }
                Err(TryLockError::Error(e)) => return Err(StoreError::io("lock", &path, e)),
            }
        }
    }

    /// The lock file, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
