//! `berth mount` says what is missing before it tries anything: sshfs, fusermount, the local
//! folder, the machine. (The mount itself is tested on a real host in tests/e2e.)

use berth_names::EnvVars;
use berth_testkit::{Sandbox, stderr};

const URL: &str = "tcp://127.0.0.7:2376";

#[test]
fn mount_without_sshfs_says_to_install_it() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", URL);
    let empty = tempfile::tempdir().unwrap();
    let out = sb
        .berth()
        .args(["mount", "web1:/srv", "/mnt"])
        .env(EnvVars::PATH, empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("sshfs is not installed") && err.contains("apt-get install sshfs"),
        "{err}"
    );
    let out = sb
        .berth()
        .args(["mount", "-u", "web1:/srv", "/mnt"])
        .env(EnvVars::PATH, empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("neither fusermount3 nor fusermount is installed")
            && err.contains("apt-get install fuse3"),
        "{err}"
    );
}

#[test]
fn mount_names_a_missing_folder_and_a_missing_machine() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", URL);
    // A fake sshfs on PATH: the checks before it must stop the command first.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("sshfs");
    std::fs::write(&fake, "#!/bin/sh\necho fake sshfs ran >&2\nexit 9\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |args: &[&str]| {
        sb.berth()
            .args(args)
            .env(EnvVars::PATH, bin.path())
            .output()
            .unwrap()
    };
    let missing = bin.path().join("no-such-folder");
    let out = run(&["mount", "web1:/srv", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("is not a folder here: make it first"), "{err}");
    assert!(!err.contains("fake sshfs ran"), "{err}");

    let here = tempfile::tempdir().unwrap();
    let out = run(&["mount", "/srv", here.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("/srv names no machine: write NAME:PATH"),
        "{err}"
    );
    assert!(!err.contains("fake sshfs ran"), "{err}");
    // Under docker-machine's name, a PATH alone is on the machine `default`, as there.
    let links = tempfile::tempdir().unwrap();
    let link = links.path().join("docker-machine");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_berth"), &link).unwrap();
    let out = std::process::Command::new(&link)
        .args(["mount", "/srv", here.path().to_str().unwrap()])
        .env(EnvVars::BERTH_STORAGE_PATH, &sb.root)
        .env_remove(EnvVars::MACHINE_STORAGE_PATH)
        .env(EnvVars::PATH, bin.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("\"default\""), "{err}");
    assert!(!err.contains("fake sshfs ran"), "{err}");

    let out = run(&["mount", "web1:"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("names no folder to mount on"),
        "{}",
        stderr(&out)
    );

    // sshfs failing is a sentence too, after its own words.
    let out = run(&["mount", "web1:/srv", here.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("fake sshfs ran"), "{err}");
    assert!(err.contains("sshfs could not mount web1:/srv"), "{err}");
}
