//! berth interrupted (Ctrl-C) while a plugin works: the call under way ends within moments, the
//! plugin is told to stop (SIGTERM) and killed if it does not, and no later call starts.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_driver::{Deadlines, PluginDriver, PluginOptions};
use berth_plugin::{Driver, DriverError};
use serde_json::json;

use crate::{machine, options_with_log, wait_for_log};

const ACTIVATED: &str = r#"echo '{"jsonrpc":"2.0","id":1,"result":{"protocol_version":1,"name":"slow","implements":["Driver"]}}'"#;

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("berth-driver-{name}"));
    let source = dir.join(format!("{name}.src"));
    std::fs::write(&source, format!("#!/bin/sh\n{body}\n")).unwrap();
    // Written by `install`, not by this process (see misbehaving.rs: ETXTBSY).
    let status = std::process::Command::new("install")
        .args(["-m", "755"])
        .arg(&source)
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

/// Long deadlines: only the interrupt may end these calls.
fn patient() -> (PluginOptions, std::sync::mpsc::Receiver<String>) {
    let (options, log) = options_with_log();
    (
        PluginOptions {
            deadlines: Deadlines::all(Duration::from_secs(60)),
            grace: Duration::from_secs(10),
            ..options
        },
        log,
    )
}

fn alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{}", pid.trim())).exists()
}

/// Interrupts `driver` from another thread once the plugin logged `ready`.
fn interrupt_when(
    driver: &PluginDriver,
    log: std::sync::mpsc::Receiver<String>,
    ready: &'static str,
) -> std::thread::JoinHandle<Instant> {
    let stop = driver
        .interrupter()
        .expect("a plugin driver can be interrupted");
    std::thread::spawn(move || {
        assert!(
            wait_for_log(&log, ready),
            "the plugin never logged {ready:?}"
        );
        stop();
        Instant::now()
    })
}

#[test]
fn an_interrupt_ends_the_call_under_way_and_the_plugin_hears_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let marker = dir.path().join("got-term");
    let p = script(
        dir.path(),
        "slow",
        &format!(
            "echo $$ > {pid}\ntrap 'touch {marker}; exit 0' TERM\nread l\n{ACTIVATED}\nread l\necho working >&2\nsleep 60 &\nwait",
            pid = pidfile.display(),
            marker = marker.display()
        ),
    );
    let (options, log) = patient();
    let d = PluginDriver::launch(&p, options).unwrap();
    let interrupter = interrupt_when(&d, log, "working");
    let m = machine("m", dir.path(), json!({}));
    let err = d.state(&m).unwrap_err();
    let ended = Instant::now();
    let interrupted_at = interrupter.join().unwrap();
    match &err {
        DriverError::PluginInterrupted { method, how, .. } => {
            assert_eq!(method, "Driver.State");
            assert!(how.contains("SIGTERM"), "{how}");
        }
        e => panic!("wrong error: {e}"),
    }
    assert!(
        ended.duration_since(interrupted_at) < Duration::from_secs(2),
        "the call took {:?} to end after the interrupt",
        ended.duration_since(interrupted_at)
    );
    assert!(marker.exists(), "the plugin was not told to stop (SIGTERM)");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(!alive(&pid), "the plugin (pid {pid}) is still running");

    // Nothing starts after an interrupt: a new call fails at once, without a process.
    let started = Instant::now();
    match d.state(&m).unwrap_err() {
        DriverError::PluginInterrupted { how, .. } => {
            assert!(how.contains("not asked to start"), "{how}")
        }
        e => panic!("wrong error: {e}"),
    }
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[test]
fn a_plugin_that_ignores_sigterm_is_killed_within_moments() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let p = script(
        dir.path(),
        "deaf",
        &format!(
            "echo $$ > {}\ntrap '' TERM\nread l\n{ACTIVATED}\nread l\necho working >&2\nexec sleep 60",
            pidfile.display()
        ),
    );
    let (options, log) = patient();
    let d = PluginDriver::launch(&p, options).unwrap();
    let interrupter = interrupt_when(&d, log, "working");
    let err = d.state(&machine("m", dir.path(), json!({}))).unwrap_err();
    let took = interrupter.join().unwrap().elapsed();
    match &err {
        DriverError::PluginInterrupted { how, .. } => assert!(how.contains("killed"), "{how}"),
        e => panic!("wrong error: {e}"),
    }
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(!alive(&pid), "the plugin (pid {pid}) is still running");
}

#[test]
fn a_plugin_runs_in_its_own_process_group_so_ctrl_c_reaches_berth_alone() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let p = script(
        dir.path(),
        "group",
        &format!(
            "echo $$ > {}\nwhile read l; do {ACTIVATED}; done",
            pidfile.display()
        ),
    );
    let d = PluginDriver::launch(&p, PluginOptions::default()).unwrap();
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap();
    // Field 5 of /proc/PID/stat is the process group (after "pid (comm) state ppid").
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let pgrp: u32 = after_comm.split(' ').nth(2).unwrap().parse().unwrap();
    assert_eq!(
        pgrp.to_string(),
        pid.trim(),
        "the plugin leads its own group"
    );
    drop(d);
}
