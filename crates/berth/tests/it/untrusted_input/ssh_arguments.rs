//! What berth hands OpenSSH: a `--` before the destination, and no user or host from a record
//! that OpenSSH could read as an option.

use std::path::Path;
use std::process::Output;

use berth_names::EnvVars;
use berth_testkit::{Sandbox, fake_openssh, stderr};

use super::ssh_record;

/// Runs berth with the fake `ssh`/`scp` in `bin` first on PATH; returns its output and the
/// arguments the fake client was given (none when it never ran).
fn run_openssh(sb: &Sandbox, bin: &Path, args_file: &Path, args: &[&str]) -> (Output, Vec<String>) {
    let _ = std::fs::remove_file(args_file);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sb
        .berth()
        .env(EnvVars::PATH, path)
        .env("ARGS_FILE", args_file)
        .args(args)
        .output()
        .unwrap();
    let seen = std::fs::read_to_string(args_file)
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    (out, seen)
}

#[test]
fn openssh_gets_a_double_dash_before_its_destination() {
    let sb = Sandbox::new(crate::BERTH);
    sb.write_record("web", &ssh_record("web", "127.0.0.1", "root"));
    let bin = fake_openssh(sb.root.parent().unwrap());
    let args_file = sb.root.parent().unwrap().join("args");

    let (out, seen) = run_openssh(&sb, &bin, &args_file, &["ssh", "web", "--", "uname", "-a"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let at = seen.iter().position(|a| a == "root@127.0.0.1").unwrap();
    assert_eq!(seen[at - 1], "--", "{seen:?}");
    assert_eq!(seen[at + 1..], ["uname -a"], "{seen:?}");

    let (out, seen) = run_openssh(&sb, &bin, &args_file, &["scp", "-r", "./-x", "web:/tmp"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let at = seen.iter().position(|a| a == "./-x").unwrap();
    assert_eq!(seen[at - 1], "--", "{seen:?}");
}

#[test]
fn an_ssh_user_or_host_that_looks_like_an_option_is_refused() {
    let sb = Sandbox::new(crate::BERTH);
    let canary = sb.root.parent().unwrap().join("canary");
    let command = format!("-oProxyCommand=touch {}", canary.display());
    sb.write_record("evil-user", &ssh_record("evil-user", "127.0.0.1", &command));
    sb.write_record("evil-host", &ssh_record("evil-host", &command, "root"));
    let bin = fake_openssh(sb.root.parent().unwrap());
    let args_file = sb.root.parent().unwrap().join("args");
    for args in [
        &["ssh", "evil-user"][..],
        &["ssh", "evil-host", "--", "true"],
        &["scp", "./x", "evil-user:/tmp"],
        &["scp", "evil-host:/etc/hosts", "./x"],
    ] {
        let (out, seen) = run_openssh(&sb, &bin, &args_file, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("starts with '-'"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(seen.is_empty(), "{args:?}: the client ran with {seen:?}");
    }
    assert!(!canary.exists());
}
