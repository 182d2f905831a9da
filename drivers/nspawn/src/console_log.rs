//! `nspawn.log`, the machine's console output: read only as a bounded tail, kept to a bounded
//! size across boots.
//!
//! The guest writes to this file (its console), and the driver runs as root: reading it whole
//! for an error message would let a guest that prints gigabytes make the driver hold them, and a
//! file appended to on every boot would grow for the machine's whole life.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// How much of the end of the log an error message reads.
pub(crate) const TAIL_BYTES: u64 = 64 * 1024;
/// A log larger than this at a start is moved to `nspawn.log.1` (replacing an older one).
pub(crate) const ROTATE_AT: u64 = 1024 * 1024;

/// The last `lines` lines of the log within its last `max` bytes (the first, cut line left
/// out), or nothing when there is no log. Links are not followed.
pub(crate) fn tail(path: &Path, max: u64, lines: usize) -> String {
    let Ok(mut file) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0))
        .open(path)
    else {
        return String::new();
    };
    let Ok(meta) = file.metadata() else {
        return String::new();
    };
    if !meta.is_file() {
        return String::new();
    }
    let start = meta.len().saturating_sub(max);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = Read::by_ref(&mut file).take(max).read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let whole = if start > 0 {
        // The first line was cut by the seek.
        text.split_once('\n').map_or("", |(_, rest)| rest)
    } else {
        &text
    };
    let all: Vec<&str> = whole.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Before a boot: a log past `limit` bytes becomes `<log>.1`, so the console output of the
/// machine's whole life never piles up. A link at either name is replaced, never followed.
pub(crate) fn rotate(path: &Path, limit: u64) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() {
        let _ = fs::remove_file(path);
        return;
    }
    if meta.len() > limit {
        let mut old = path.as_os_str().to_owned();
        old.push(".1");
        // rename replaces the entry at the new name itself, a link there included.
        let _ = fs::rename(path, &old);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_reads_only_the_end_of_a_large_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("nspawn.log");
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str(&format!("line {i}\n"));
        }
        fs::write(&log, &text).unwrap();
        let tail = tail(&log, 1024, 3);
        assert_eq!(tail, "line 99997\nline 99998\nline 99999");
        // Fewer lines than asked within the window: only whole lines, never the cut first one.
        let window = super::tail(&log, 30, 20);
        assert!(window.lines().all(|l| l.starts_with("line ")), "{window}");
        assert!(window.lines().count() <= 3, "{window}");
        assert_eq!(super::tail(&dir.path().join("absent"), 1024, 3), "");
    }

    #[test]
    fn a_link_is_not_read_and_is_replaced_at_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        fs::write(&secret, "root's secret\n").unwrap();
        let log = dir.path().join("nspawn.log");
        std::os::unix::fs::symlink(&secret, &log).unwrap();
        assert_eq!(tail(&log, 1024, 3), "");
        rotate(&log, 10);
        assert!(fs::symlink_metadata(&log).is_err());
        assert_eq!(fs::read_to_string(&secret).unwrap(), "root's secret\n");
    }

    #[test]
    fn a_large_log_is_rotated_a_small_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("nspawn.log");
        fs::write(&log, "small\n").unwrap();
        rotate(&log, 100);
        assert_eq!(fs::read_to_string(&log).unwrap(), "small\n");
        fs::write(&log, "x".repeat(101)).unwrap();
        rotate(&log, 100);
        assert!(!log.exists());
        assert_eq!(
            fs::read_to_string(dir.path().join("nspawn.log.1"))
                .unwrap()
                .len(),
            101
        );
    }
}
