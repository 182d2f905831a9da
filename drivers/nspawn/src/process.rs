//! Processes seen through /proc: whether one still runs (a zombie does not:
//! on machines whose PID 1 does not reap, an exited nspawn stays a zombie),
//! and signals.

use std::fs;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

/// Whether `pid` exists and is not a zombie.
pub(crate) fn running(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state letter follows the parenthesised command name, which may itself hold spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z" && state != "X")
}

/// The NUL-separated arguments of `pid`.
pub(crate) fn cmdline(pid: i32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every pid on the machine.
pub(crate) fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Sends a signal; a process that is already gone is not an error.
pub(crate) fn signal(pid: i32, sig: Signal) {
    if let Some(p) = Pid::from_raw(pid) {
        let _ = kill_process(p, sig);
    }
}

/// Waits until `pid` no longer runs; false if it still does at the deadline.
pub(crate) fn wait_gone(pid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    // No handle to wait on (the process is not our child): poll /proc with a deadline.
    while running(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_itself_running_and_a_reaped_child_gone() {
        let me = i32::try_from(std::process::id()).expect("pid fits");
        assert!(running(me));
        assert!(!cmdline(me).is_empty());
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = i32::try_from(child.id()).expect("pid fits");
        child.wait().expect("reap");
        assert!(wait_gone(pid, Duration::from_secs(1)));
    }
}
