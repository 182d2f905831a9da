//! Issue 20's conveniences on a real host: `berth mount` through the real sshfs (a folder of
//! the machine read here, then unmounted; a host key that is not the pinned one refused), and
//! `--debug` showing berth's steps without rustls' internals. The host listens on port 2222
//! with only an RSA host key, so the port and the pinned key really reach sshfs' ssh.

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_e2e::Fleet;
use berth_e2e::Shape;

use crate::cli::Berth;

/// Unmounts `dir` when dropped, so that a failing assertion leaves no mount behind.
struct MountGuard(PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        if is_mounted(&self.0) {
            let _ = Command::new("fusermount3").arg("-u").arg(&self.0).status();
        }
    }
}

fn is_mounted(dir: &Path) -> bool {
    Command::new("findmnt")
        .arg("-n")
        .arg("--mountpoint")
        .arg(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn mount_and_debug_on_a_host_with_its_own_port_and_key() {
    assert!(
        Path::new("/dev/fuse").exists(),
        "this test mounts with sshfs and needs /dev/fuse (modprobe fuse)"
    );
    let fleet = Fleet::boot_shaped(1, &Shape::RsaOnlyPort).expect("booting a host on port 2222");
    let host = &fleet.hosts()[0];
    host.check(
        "mkdir -p /srv/share && echo hello from the machine > /srv/share/greeting \
         && chown -R berth /srv/share",
    )
    .unwrap();
    let berth = Berth::new();
    let port = host.port().to_string();

    // --debug: berth's steps, and no rustls internals although the create's last step is a
    // TLS handshake with the engine.
    let out = berth.create_generic(
        host,
        "berth",
        "web1",
        &["--debug", "--generic-ssh-port", &port],
    );
    let debug = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "create failed: {debug}");
    assert!(debug.contains("berth"), "no berth lines in: {debug}");
    assert!(
        !debug.contains("rustls::"),
        "rustls' internals in --debug: {debug}"
    );
    let ls = berth.cmd().args(["--debug", "ls"]).output().unwrap();
    let ls_err = String::from_utf8_lossy(&ls.stderr).into_owned();
    assert!(ls.status.success(), "{ls_err}");
    assert!(!ls_err.contains("rustls::"), "{ls_err}");
    // The same ls with BERTH_LOG=debug does show rustls' handshake: the quiet above is the
    // filter's, not a handshake that logs nothing.
    let ls = berth
        .cmd()
        .args(["--debug", "ls"])
        .env("BERTH_LOG", "debug")
        .output()
        .unwrap();
    let ls_err = String::from_utf8_lossy(&ls.stderr).into_owned();
    assert!(ls.status.success(), "{ls_err}");
    assert!(
        ls_err.contains("rustls::"),
        "BERTH_LOG=debug shows no rustls line: {ls_err}"
    );

    // mount: the machine's folder, read here through sshfs, as the machine's user.
    let local = tempfile::tempdir().unwrap();
    let dir = local.path().join("share");
    std::fs::create_dir(&dir).unwrap();
    let dir_arg = dir.to_string_lossy().into_owned();
    let guard = MountGuard(dir.clone());
    berth.ok(&["mount", "web1:/srv/share", &dir_arg]);
    assert!(is_mounted(&dir), "nothing is mounted on {dir_arg}");
    assert_eq!(
        std::fs::read_to_string(dir.join("greeting")).unwrap(),
        "hello from the machine\n"
    );
    std::fs::write(dir.join("back"), "written here\n").unwrap();
    assert_eq!(
        host.check("cat /srv/share/back && stat -c %U /srv/share/back")
            .unwrap(),
        "written here\nberth",
        "the file went through as the machine's SSH user"
    );
    berth.ok(&["mount", "-u", "web1:/srv/share", &dir_arg]);
    assert!(!is_mounted(&dir), "{dir_arg} is still mounted");
    assert!(!dir.join("greeting").exists());

    // A host key other than the pinned one is refused, as by `berth ssh`: docker-machine's
    // mount turned host-key checking off.
    let known_hosts = berth.machine_dir("web1").join("known_hosts");
    let pinned = std::fs::read_to_string(&known_hosts).unwrap();
    let other = tempfile::tempdir().unwrap();
    let key = other.path().join("k");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let impostor = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let host_part = pinned.split_whitespace().next().unwrap();
    let fake = format!(
        "{host_part} {}\n",
        impostor
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    );
    std::fs::write(&known_hosts, fake).unwrap();
    let out = berth.run(&["mount", "web1:/srv/share", &dir_arg]);
    assert!(!out.status.success(), "a wrong host key was accepted");
    assert!(!is_mounted(&dir), "mounted despite a wrong host key");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sshfs could not mount web1:/srv/share"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&known_hosts, pinned).unwrap();
    drop(guard);

    berth.ok(&["rm", "-y", "web1"]);
}
