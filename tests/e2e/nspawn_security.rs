//! Issue 10: what a guest of the nspawn driver can and cannot do to the computer that hosts it,
//! and what one berth store can do to another's machines.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_e2e::assert_no_leftovers;
use berth_nspawn::Config;

use crate::cli::Berth;

/// Removes the machines even when an assertion fails half-way.
struct Cleanup<'a> {
    berth: &'a Berth,
    names: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in &self.names {
            if self.berth.machine_dir(name).exists() {
                let _ = self.berth.cmd().args(["rm", "-y", "-f", name]).output();
            }
        }
    }
}

/// Every entry under `dir` with its type, mode, owner, size, modification time and content, so
/// that any creation, change or re-owning shows as a difference.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut found = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let content = if meta.is_file() {
            String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()
        } else {
            String::new()
        };
        found.insert(
            path.clone(),
            format!(
                "{:?} mode={:o} owner={}:{} size={} mtime={}.{} {content:?}",
                meta.file_type(),
                meta.mode(),
                meta.uid(),
                meta.gid(),
                meta.size(),
                meta.mtime(),
                meta.mtime_nsec()
            ),
        );
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                todo.push(entry.unwrap().path());
            }
        }
    }
    found
}

/// Runs a shell command as root inside the machine through `berth ssh`; returns its stdout.
fn in_guest(berth: &Berth, name: &str, script: &str) -> String {
    berth.ok(&["ssh", name, "--", "sh", "-c", script])
}

#[test]
fn links_made_in_the_guest_never_lead_the_host_out_of_the_machine() {
    let berth = Berth::new();
    let name = format!("lnk{}", std::process::id());
    let _cleanup = Cleanup {
        berth: &berth,
        names: vec![name.clone()],
    };
    berth.ok(&["create", "-d", "nspawn", &name]);

    // Host files the guest will aim at: two that exist, one that does not (resolv.conf), and a
    // folder standing in for a host user's ~/.ssh.
    let canary = tempfile::Builder::new()
        .prefix("berth-canary")
        .tempdir_in("/var/tmp")
        .unwrap();
    let c = canary.path();
    std::fs::write(c.join("hostname"), "the host's own hostname\n").unwrap();
    std::fs::write(c.join("hosts"), "the host's own hosts\n").unwrap();
    std::fs::create_dir(c.join("ssh")).unwrap();
    std::fs::set_permissions(c.join("ssh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        c.join("ssh/authorized_keys"),
        "ssh-ed25519 AAAA host-admin\n",
    )
    .unwrap();
    let before = snapshot(c);

    // Guest root points its boot files at the host: absolute links, and a relative one that
    // climbs out of the machine's root as the host sees it.
    let climb = "../".repeat(30);
    let c_text = c.display().to_string();
    in_guest(
        &berth,
        &name,
        &format!(
            "rm -rf /home/berth/.ssh && ln -s {c_text}/ssh /home/berth/.ssh && \
             ln -sfn {c_text}/hostname /etc/hostname && \
             ln -sfn {climb}{} /etc/hosts && \
             ln -sfn {c_text}/resolv.conf /etc/resolv.conf && sync",
            c_text.trim_start_matches('/').to_owned() + "/hosts"
        ),
    );

    let out = berth.run(&["restart", &name]);
    assert_eq!(
        snapshot(c),
        before,
        "the host followed links the guest made: files outside the machine were created, changed or re-owned"
    );
    // A link where berth needs a folder is refused, with the way out.
    assert!(
        !out.status.success(),
        "restart followed or ignored the link"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/home/berth/.ssh") && err.contains("link"),
        "{err}"
    );

    // Doing what the message says lets the machine boot; the links at the files themselves are
    // replaced inside the machine, and the host's files are still untouched.
    let upper = Config::default().machine_dir(&name).join("upper");
    std::fs::remove_file(upper.join("home/berth/.ssh")).unwrap();
    berth.ok(&["start", &name]);
    assert_eq!(snapshot(c), before, "start touched host files");
    let seen = in_guest(
        &berth,
        &name,
        "for f in /etc/hostname /etc/hosts /etc/resolv.conf /home/berth/.ssh/authorized_keys; do \
         test -f $f -a ! -L $f || echo \"$f is not a plain file\"; done; \
         stat -c '%u:%g %a' /home/berth/.ssh /home/berth/.ssh/authorized_keys; cat /etc/hostname",
    );
    assert_eq!(
        seen.trim(),
        format!("1000:1000 700\n1000:1000 600\n{name}"),
        "{seen}"
    );
    assert!(berth.docker(&name, "version").status.success());

    berth.ok(&["rm", "-y", &name]);
    assert_no_leftovers(&Config::default(), &name);
}

#[test]
fn one_store_cannot_remove_or_touch_another_store_s_machine() {
    let (a, b) = (Berth::new(), Berth::new());
    let name = format!("own{}", std::process::id());
    let _cleanup = Cleanup {
        berth: &a,
        names: vec![name.clone()],
    };
    let _cleanup_b = Cleanup {
        berth: &b,
        names: vec![name.clone()],
    };
    a.ok(&["create", "-d", "nspawn", &name]);

    // Store B asks for the same name: the driver refuses (the name is taken) and B keeps a
    // record without driver data. Removing that record must not remove A's machine.
    let out = b.run(&["create", "-d", "nspawn", &name]);
    assert!(
        !out.status.success(),
        "B made a second machine of the same name"
    );
    b.ok(&["rm", "-y", &name]);
    assert!(!b.machine_dir(&name).exists());
    assert_eq!(
        a.ok(&["status", &name]).trim(),
        "Running",
        "B's rm removed or stopped A's machine"
    );
    assert!(a.docker(&name, "version").status.success());

    // A copy of A's record in B (data that names A's machine, without A's token) opens nothing.
    let copied = b.machine_dir(&name);
    std::fs::create_dir_all(&copied).unwrap();
    std::fs::set_permissions(&copied, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(
        a.machine_dir(&name).join("config.toml"),
        copied.join("config.toml"),
    )
    .unwrap();
    for args in [["stop", name.as_str()], ["kill", name.as_str()]] {
        let out = b.run(&args);
        assert!(!out.status.success(), "B could {} A's machine", args[0]);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("another berth store"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = b.run(&["rm", "-y", &name]);
    assert_eq!(a.ok(&["status", &name]).trim(), "Running");
    let _ = b.run(&["rm", "-y", "-f", &name]);
    assert_eq!(a.ok(&["status", &name]).trim(), "Running");
    assert!(a.docker(&name, "version").status.success());

    a.ok(&["rm", "-y", &name]);
    assert_no_leftovers(&Config::default(), &name);
}

/// A busybox image made locally (no registry is reachable) and imported into `name`'s engine.
fn import_busybox(berth: &Berth, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox-static is installed (scripts/test does)");
    for tool in ["sh", "echo", "cat"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(tool)).unwrap();
    }
    let tar = dir.path().join("busybox.tar");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let out = berth.docker(
        name,
        &format!("import '{}' berth-busybox:test", tar.display()),
    );
    assert!(out.status.success(), "docker import failed");
}

#[test]
fn a_guest_lacks_the_host_s_capabilities_and_still_runs_containers() {
    let berth = Berth::new();
    let name = format!("cap{}", std::process::id());
    let _cleanup = Cleanup {
        berth: &berth,
        names: vec![name.clone()],
    };
    let core_pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    berth.ok(&["create", "-d", "nspawn", &name]);

    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let full: u64 = (1u64 << (last + 1)) - 1;
    let status = in_guest(&berth, &name, "grep CapEff /proc/1/status");
    let cap_eff = u64::from_str_radix(status.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_ne!(cap_eff, full, "the guest's PID 1 holds every capability");
    // CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_TIME, CAP_MAC_ADMIN, CAP_BPF: none of them.
    for (bit, cap) in [
        (16, "CAP_SYS_MODULE"),
        (17, "CAP_SYS_RAWIO"),
        (25, "CAP_SYS_TIME"),
        (33, "CAP_MAC_ADMIN"),
        (39, "CAP_BPF"),
    ] {
        assert_eq!(
            cap_eff & (1 << bit),
            0,
            "the guest holds {cap} ({cap_eff:x})"
        );
    }

    // The kernel's settings are not the guest's to write.
    let out = berth.run(&[
        "ssh",
        &name,
        "--",
        "sh",
        "-c",
        "echo '|/bin/false berth' > /proc/sys/kernel/core_pattern",
    ]);
    assert!(!out.status.success(), "the guest wrote core_pattern");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        core_pattern
    );

    // And the nested engine still runs containers of a local image, with their network.
    import_busybox(&berth, &name);
    let out = berth.docker(&name, "run --rm berth-busybox:test echo hello-from-inside");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello-from-inside"
    );

    berth.ok(&["rm", "-y", &name]);
    assert_no_leftovers(&Config::default(), &name);
}
