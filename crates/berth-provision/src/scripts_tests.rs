//! berth's host scripts run in a real shell on this machine: file writes go to
//! a temporary folder and `systemctl`/`journalctl` are stand-ins on PATH that
//! log their arguments, so nothing on the machine itself changes.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::facts::{DETECT_SCRIPT, HostFacts};
use crate::flow::{CONFIGURE_SCRIPT, WRITE_FILES_SCRIPT};
use crate::remote::Output;

/// Runs `script` with `sh -c` and `args`, `stdin` fed in, `bin` first on PATH.
fn sh(script: &str, args: &[&str], stdin: &[u8], bin: Option<&Path>) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg("berth").args(args);
    if let Some(bin) = bin {
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PATH", path);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sh");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    Output {
        status: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn write_files_splits_stdin_by_size_and_reports_changes() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("docker/ca.pem");
    let key = dir.path().join("docker/server-key.pem");
    let (ca_s, key_s) = (ca.to_str().unwrap(), key.to_str().unwrap());
    let run = |a: &str, b: &str| {
        let (la, lb) = (a.len().to_string(), b.len().to_string());
        sh(
            WRITE_FILES_SCRIPT,
            &[ca_s, "0644", &la, key_s, "0600", &lb],
            format!("{a}{b}").as_bytes(),
            None,
        )
    };
    let out = run("CA with\nlines\n", "KEY 'quoted' $x\n");
    assert!(out.success(), "{}", out.stderr_text());
    assert_eq!(out.stdout_text(), "changed=1\n");
    assert_eq!(std::fs::read_to_string(&ca).unwrap(), "CA with\nlines\n");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "KEY 'quoted' $x\n");
    assert_eq!(mode(&ca), 0o644);
    assert_eq!(mode(&key), 0o600);

    let out = run("CA with\nlines\n", "KEY 'quoted' $x\n");
    assert_eq!(out.stdout_text(), "changed=0\n");
    let out = run("CA with\nlines\n", "NEW KEY\n");
    assert_eq!(out.stdout_text(), "changed=1\n");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "NEW KEY\n");
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("docker"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn write_files_refuses_short_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let out = sh(
        WRITE_FILES_SCRIPT,
        &[path.to_str().unwrap(), "0600", "10"],
        b"short",
        None,
    );
    assert!(!out.success());
    assert!(
        out.stderr_text()
            .contains("expected 10 bytes on stdin, got 5"),
        "{}",
        out.stderr_text()
    );
    assert!(!path.exists());
}

/// Stand-ins for systemctl and journalctl: they log their arguments, keep the
/// unit's state in a file, and fail `restart` when `$dir/fail-start` exists.
fn fake_systemd(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let state = dir.join("state");
    let systemctl = format!(
        r#"#!/bin/sh
echo "systemctl $*" >> {log}
case "$1" in
  is-active) [ "$(cat {state} 2>/dev/null)" = active ] ;;
  is-enabled) [ -e {enabled} ] ;;
  enable) touch {enabled} ;;
  restart|start) if [ -e {fail} ]; then echo inactive > {state}; exit 1; fi
           if [ -e {fail}-once ]; then rm {fail}-once; echo inactive > {state}; exit 1; fi
           echo active > {state} ;;
  status) echo "docker.service - Docker Application Container Engine"; echo "   Active: failed"; exit 3 ;;
  *) true ;;
esac
"#,
        log = dir.join("log").display(),
        state = state.display(),
        enabled = dir.join("enabled").display(),
        fail = dir.join("fail-start").display(),
    );
    let journalctl = "#!/bin/sh\necho \"dockerd[7]: unknown flag: --bogus\"\n";
    for (name, body) in [
        ("systemctl", systemctl.as_str()),
        ("journalctl", journalctl),
    ] {
        let path = bin.join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn configure_installs_keeps_previous_and_restarts_only_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_systemd(dir.path());
    let file = dir.path().join("docker.service.d/10-machine.conf");
    let f = file.to_str().unwrap();
    let configure = |text: &str, certs_changed: &str| {
        sh(
            CONFIGURE_SCRIPT,
            &[
                f,
                &text.len().to_string(),
                certs_changed,
                "0644",
                "/nonexistent",
                "-",
            ],
            text.as_bytes(),
            Some(&bin),
        )
    };
    let log = || std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();

    let out = configure("[Service]\nA\n", "0");
    assert!(out.success(), "{}", out.stderr_text());
    assert_eq!(
        out.stdout_text(),
        "changed=1\ndaemon_changed=0\nrestarted=1\n"
    );
    assert!(log().contains("systemctl daemon-reload"));
    assert!(log().contains("systemctl reset-failed docker.service docker.socket"));
    assert!(log().contains("systemctl enable --quiet docker.service"));
    assert!(!Path::new(&format!("{f}.previous")).exists());

    // Same drop-in, engine running: nothing to do, no restart.
    std::fs::remove_file(dir.path().join("log")).unwrap();
    let out = configure("[Service]\nA\n", "0");
    assert_eq!(
        out.stdout_text(),
        "changed=0\ndaemon_changed=0\nrestarted=0\n"
    );
    assert!(!log().contains("restart"), "{}", log());

    // Same drop-in, engine not running yet (a machine whose engine boots with berth's files
    // already in place, its start job under way): started, never restarted, no daemon-reload.
    std::fs::write(dir.path().join("state"), "inactive\n").unwrap();
    std::fs::remove_file(dir.path().join("log")).unwrap();
    let out = configure("[Service]\nA\n", "0");
    assert_eq!(
        out.stdout_text(),
        "changed=0\ndaemon_changed=0\nrestarted=0\n"
    );
    assert!(
        log().contains("systemctl start docker.service"),
        "{}",
        log()
    );
    assert!(!log().contains("restart"), "{}", log());
    assert!(!log().contains("daemon-reload"), "{}", log());

    // Same drop-in, new certificates: restart, and no daemon-reload (no unit file changed;
    // the engine reads its certificates itself).
    std::fs::write(dir.path().join("state"), "active\n").unwrap();
    std::fs::remove_file(dir.path().join("log")).unwrap();
    let out = configure("[Service]\nA\n", "1");
    assert_eq!(
        out.stdout_text(),
        "changed=0\ndaemon_changed=0\nrestarted=1\n"
    );
    assert!(
        log().contains("systemctl restart docker.service"),
        "{}",
        log()
    );
    assert!(!log().contains("daemon-reload"), "{}", log());

    // New drop-in: the old one is kept as .previous.
    let out = configure("[Service]\nB\n", "0");
    assert_eq!(
        out.stdout_text(),
        "changed=1\ndaemon_changed=0\nrestarted=1\n"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{f}.previous")).unwrap(),
        "[Service]\nA\n"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "[Service]\nB\n");

    // A start failure exits 42 with the status and journal on stdout, and puts B back.
    std::fs::write(dir.path().join("fail-start"), "").unwrap();
    let out = configure("[Service]\nC\n", "0");
    assert_eq!(out.status, 42);
    assert!(
        out.stdout_text().contains("Active: failed"),
        "{}",
        out.stdout_text()
    );
    assert!(out.stdout_text().contains("unknown flag: --bogus"));
    // The engine does not come back here either (the stand-in keeps failing): said so.
    assert!(
        out.stdout_text().ends_with("rollback=failed\n"),
        "{}",
        out.stdout_text()
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "[Service]\nB\n");

    // Once the engine can start, the re-run installs C and keeps B as the last good one.
    std::fs::remove_file(dir.path().join("fail-start")).unwrap();
    let out = configure("[Service]\nC\n", "0");
    assert_eq!(
        out.stdout_text(),
        "changed=1\ndaemon_changed=0\nrestarted=1\n"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{f}.previous")).unwrap(),
        "[Service]\nB\n"
    );
}

#[test]
fn configure_makes_the_dropin_private_when_asked_also_over_an_unchanged_one() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_systemd(dir.path());
    let file = dir.path().join("docker.service.d/10-machine.conf");
    let f = file.to_str().unwrap();
    let configure = |text: &str, mode: &str| {
        let out = sh(
            CONFIGURE_SCRIPT,
            &[f, &text.len().to_string(), "0", mode],
            text.as_bytes(),
            Some(&bin),
        );
        assert!(out.success(), "{}", out.stderr_text());
    };
    let secret = "[Service]\nEnvironment=\"HTTP_PROXY=http://user:pw@proxy:3128\"\n";
    configure(secret, "0600");
    assert_eq!(mode(&file), 0o600);
    // A drop-in an older berth left world-readable becomes private though its bytes are the same.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    configure(secret, "0600");
    assert_eq!(mode(&file), 0o600);
    // The copy kept as .previous holds the same secrets: private as well.
    configure("[Service]\n", "0644");
    assert_eq!(mode(&file), 0o644);
    assert_eq!(mode(Path::new(&format!("{f}.previous"))), 0o600);
}

#[test]
fn a_failed_start_puts_dropin_and_daemon_json_back_and_restarts_the_old_engine() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_systemd(dir.path());
    let file = dir.path().join("docker.service.d/10-machine.conf");
    let daemon = dir.path().join("daemon.json");
    let (f, d) = (file.to_str().unwrap(), daemon.to_str().unwrap());
    let old_daemon = "{\"hosts\": [\"unix:///var/run/docker.sock\"], \"live-restore\": true}\n";
    std::fs::write(&daemon, old_daemon).unwrap();
    std::fs::set_permissions(&daemon, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(dir.path().join("state"), "active").unwrap();
    let configure = |dropin: &str, json: &str| {
        sh(
            CONFIGURE_SCRIPT,
            &[
                f,
                &dropin.len().to_string(),
                "0",
                "0644",
                d,
                &json.len().to_string(),
            ],
            format!("{dropin}{json}").as_bytes(),
            Some(&bin),
        )
    };
    // The user's engine ran without any berth drop-in; the new configuration fails once.
    std::fs::write(dir.path().join("fail-start-once"), "").unwrap();
    let out = configure("[Service]\nNEW\n", "{\"live-restore\": true}\n");
    assert_eq!(out.status, 42, "{}", out.stderr_text());
    assert!(
        out.stdout_text().ends_with("rollback=running\n"),
        "{}",
        out.stdout_text()
    );
    assert!(!file.exists(), "the drop-in berth added is gone again");
    assert_eq!(std::fs::read_to_string(&daemon).unwrap(), old_daemon);
    assert_eq!(mode(&daemon), 0o600);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("state"))
            .unwrap()
            .trim(),
        "active"
    );

    // When it starts, both files change, each with its backup, and a re-run changes nothing.
    let out = configure("[Service]\nNEW\n", "{\"live-restore\": true}\n");
    assert_eq!(
        out.stdout_text(),
        "changed=1\ndaemon_changed=1\nrestarted=1\n"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{d}.berth-previous")).unwrap(),
        old_daemon
    );
    assert_eq!(mode(&daemon), 0o600);
    let out = configure("[Service]\nNEW\n", "{\"live-restore\": true}\n");
    assert_eq!(
        out.stdout_text(),
        "changed=0\ndaemon_changed=0\nrestarted=0\n"
    );
}

/// The hostname script with its /etc/hosts and /etc/hostname in `dir`, and the check whether
/// the running name differs from the new one answered by `renames` (the kernel's name is not
/// the test's to change).
fn hostname_script_in(dir: &Path, renames: bool) -> String {
    let script = crate::flow::HOSTNAME_SCRIPT
        .replace("/etc/hosts", "$HOSTS")
        .replace("/etc/hostname", "$HOSTNAME_FILE")
        .replace(
            "[ \"$(uname -n)\" != \"$name\" ]",
            if renames { "true" } else { "false" },
        );
    format!(
        "HOSTS={} HOSTNAME_FILE={}\n{script}",
        dir.join("hosts").display(),
        dir.join("hostname").display()
    )
}

#[test]
fn hostname_works_without_etc_hosts_or_the_hostname_tool() {
    // The script's effects on the real /etc are what an e2e test checks (Shape::Minimal);
    // here: with no /etc/hosts, awk reads an empty file instead of failing.
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    let name_file = dir.path().join("hostname");
    let out = sh(&hostname_script_in(dir.path(), false), &["web1"], b"", None);
    assert!(out.success(), "{}", out.stderr_text());
    assert_eq!(
        std::fs::read_to_string(&hosts).unwrap(),
        "127.0.1.1\tweb1\n"
    );
    assert_eq!(std::fs::read_to_string(&name_file).unwrap(), "web1\n");
}

#[test]
fn hostname_is_set_with_the_hostname_tool_before_hostnamectl() {
    // docker-machine's provisioners run `sudo hostname NAME`; hostnamectl goes through
    // systemd-hostnamed over D-Bus and costs a service start. Both stand-ins log their calls.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("log");
    for tool in ["hostname", "hostnamectl"] {
        let path = bin.join(tool);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"{tool} $*\" >> {}\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = sh(
        &hostname_script_in(dir.path(), true),
        &["web1"],
        b"",
        Some(&bin),
    );
    assert!(out.success(), "{}", out.stderr_text());
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "hostname web1\n");
}

#[test]
fn detection_runs_on_this_machine_and_parses() {
    let out = sh(
        &format!("{}{DETECT_SCRIPT}", crate::runner::PREAMBLE),
        &[],
        b"",
        None,
    );
    assert!(out.success(), "{}", out.stderr_text());
    let facts = HostFacts::parse(&out.stdout_text()).unwrap();
    assert!(!facts.os_id.is_empty(), "{}", out.stdout_text());
    assert!(!facts.pretty_name.is_empty());
    assert!(!facts.hostname.is_empty());
}

/// A dpkg run cut off half-way (berth interrupted during the install) is finished before apt
/// runs, since apt refuses to work on an interrupted dpkg; a clean host gets no dpkg call.
#[test]
fn install_finishes_an_interrupted_dpkg_run_first() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("log");
    for tool in ["dpkg", "apt-get"] {
        let stub = bin.join(tool);
        std::fs::write(
            &stub,
            format!("#!/bin/sh\necho \"{tool} $*\" >> '{}'\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let admin = dir.path().join("dpkg");
    std::fs::create_dir_all(admin.join("updates")).unwrap();
    let script = format!(
        "DPKG_ADMINDIR='{}'; export DPKG_ADMINDIR\n{}",
        admin.display(),
        crate::flow::INSTALL_SCRIPT
    );
    let run = || {
        let _ = std::fs::remove_file(&log);
        let out = sh(&script, &[""], b"", Some(&bin));
        assert_eq!(out.status, 0, "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read_to_string(&log).unwrap()
    };
    let clean = run();
    assert!(!clean.contains("dpkg "), "{clean}");
    std::fs::write(admin.join("updates/0001"), "half-done").unwrap();
    let repaired = run();
    let lines: Vec<&str> = repaired.lines().collect();
    assert!(
        lines[0].starts_with("dpkg ") && lines[0].contains("--configure -a"),
        "{repaired}"
    );
    assert!(
        repaired.contains("apt-get") && repaired.contains("install -y docker.io"),
        "{repaired}"
    );
}
