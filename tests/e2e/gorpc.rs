//! Issue 19: docker-machine's Go driver plugins run under berth unchanged. The driver is
//! tests/plugins/docker-machine-driver-gotest, written in Go from docker-machine 0.16.2's plugin
//! contract with the standard library alone (net/rpc, encoding/gob), serving libmachine's
//! `RPCServerDriver` under libmachine's gob names; it hands out a booted test host and powers it
//! "off" and "on" by stopping and starting the host's docker service over SSH (see its main.go).
//!
//! What is proved against real hosts and the real docker CLI: create with the driver's flags from
//! the command line and from their own `EnvVar`s, docker over TLS, ls/status, stop/start/restart/
//! kill/rm through the driver (each in a new berth process, so the driver's config is handed back
//! every time), a misbehaving plugin (hang, huge or malformed replies, exit mid-call, an address
//! that is not loopback) failing with a sentence that names the driver within a bounded time and
//! leaving no process behind, and `berth import` of a docker-machine store whose machine has the
//! driver — with the binary (power goes through it) and without (docker still works; the
//! commands that need the driver name the binary to install). No secret of the driver's config
//! is printed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use berth_e2e::{Fleet, TestHost};

use crate::cli::Berth;

/// The binary docker-machine looks for: `docker-machine-driver-` and the driver's name.
const BINARY: &str = "docker-machine-driver-gotest";

/// The driver's secret, as a cloud driver's access key: kept in its GetConfigRaw JSON, never
/// printed.
const TOKEN: &str = "gotest-secret-7d3f9a1c5e";

/// Builds the Go driver once per test process (tests/plugins/docker-machine-driver-gotest/build,
/// which scripts/test also runs) and returns the built binary.
fn built_driver() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| tests.join("../target"))
            .join("go-plugins");
        let status = Command::new(tests.join("plugins/docker-machine-driver-gotest/build"))
            .arg(&out)
            .status()
            .expect("running tests/plugins/docker-machine-driver-gotest/build");
        assert!(
            status.success(),
            "building the Go test driver failed ({status}); it needs Debian's golang-go"
        );
        out.join(BINARY)
    })
}

/// A copy of the driver in `dir`, so that the processes of this test's plugin can be told from
/// other tests' by their executable's path.
fn install_driver(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let to = dir.join(BINARY);
    // Copied by a child process: a file written by this multi-threaded test process could
    // still be open for writing in a forked sibling, and exec would fail with ETXTBSY.
    let status = Command::new("install")
        .arg("-m0755")
        .arg(built_driver())
        .arg(&to)
        .status()
        .unwrap();
    assert!(status.success());
    to
}

/// Pids of running processes whose executable is `binary`.
fn processes_of(binary: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(e.path().join("exe")).ok()?;
            (exe == binary).then_some(pid)
        })
        .collect()
}

/// Fails unless no process of `binary` runs within a few seconds (a plugin that berth closed or
/// killed exits at once; the deadline only absorbs the kernel's reaping).
fn assert_no_plugin_left(binary: &Path, after: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_of(binary);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {after}, plugin processes are left running: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// berth with the test's storage folder and an environment of its own for the plugin.
#[derive(Clone)]
struct Go<'a> {
    berth: &'a Berth,
    path: OsString,
    env: Vec<(&'static str, String)>,
}

impl<'a> Go<'a> {
    /// berth whose PATH starts with `bin` (None: the PATH without any copy of the driver).
    fn new(berth: &'a Berth, bin: Option<&Path>) -> Self {
        let system = std::env::var_os("PATH").unwrap_or_default();
        let path = match bin {
            Some(bin) => {
                let mut p = OsString::from(bin);
                p.push(":");
                p.push(&system);
                p
            }
            None => system,
        };
        Go {
            berth,
            path,
            env: Vec::new(),
        }
    }

    /// The same, with one more variable in the environment.
    fn with(&self, key: &'static str, value: impl Into<String>) -> Self {
        let mut go = self.clone();
        go.env.push((key, value.into()));
        go
    }

    fn run(&self, args: &[&str]) -> (Output, Duration) {
        let mut cmd = self.berth.cmd();
        cmd.args(args).env("PATH", &self.path);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let out = cmd.output().expect("running berth");
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "$ {} berth {}\n{}{}-> {:?} in {took:.1?}",
            self.env
                .iter()
                .map(|(k, _)| format!("{k}=…"))
                .collect::<Vec<_>>()
                .join(" "),
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            // A broken plugin's output must be bounded by berth; the log is bounded here too.
            &stderr[..stderr.len().min(16 << 10)],
            out.status.code()
        );
        (out, took)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (out, _) = self.run(args);
        assert!(
            out.status.success(),
            "berth {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail; returns its stderr and how long it took.
    fn fails(&self, args: &[&str]) -> (String, Duration) {
        let (out, took) = self.run(args);
        assert!(
            !out.status.success(),
            "berth {} should have failed",
            args.join(" ")
        );
        (String::from_utf8_lossy(&out.stderr).into_owned(), took)
    }
}

/// The lines the driver logged (GOTEST_CALL_LOG), one per RPC call.
fn calls(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Whether any call since line `from` was `method`.
fn called_since(log: &Path, from: usize, method: &str) -> bool {
    calls(log)
        .iter()
        .skip(from)
        .any(|l| l == method || l.starts_with(&format!("{method} ")))
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                todo.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

/// The help text of one flag: from its name to the next `--gotest-` flag.
fn flag_help<'h>(help: &'h str, flag: &str) -> &'h str {
    let start = help
        .find(&format!("--{flag}"))
        .unwrap_or_else(|| panic!("--{flag} is not in the help:\n{help}"));
    let rest = &help[start + 2..];
    let end = rest.find("--gotest-").unwrap_or(rest.len());
    &rest[..end]
}

/// The engine's state on the host: `systemctl is-active docker`.
fn engine_active(host: &TestHost) -> bool {
    host.run("systemctl is-active docker.service")
        .map(|o| o.stdout_str().trim() == "active")
        .unwrap_or(false)
}

fn state_of(go: &Go<'_>, name: &str) -> String {
    let ls = go.ok(&["ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}"]);
    ls.lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} is not listed:\n{ls}"))
        .to_string()
}

#[test]
fn a_go_driver_plugin_makes_a_machine_that_docker_uses_and_powers_it_through_the_driver() {
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let work = tempfile::tempdir().unwrap();
    let bin = work.path().join("bin");
    let driver = install_driver(&bin);
    let log = work.path().join("calls.log");
    let go = Go::new(&berth, Some(&bin)).with("GOTEST_CALL_LOG", log.display().to_string());
    let address = host.address().to_string();
    let key = host.key_path().display().to_string();

    // The driver's own flags, with their defaults and their own environment twins.
    let help = go.ok(&["create", "-d", "gotest", "--help"]);
    assert!(
        flag_help(&help, "gotest-ssh-user").contains("root"),
        "{help}"
    );
    assert!(flag_help(&help, "gotest-ssh-port").contains("22"), "{help}");
    assert!(
        flag_help(&help, "gotest-engine-port").contains("2376"),
        "{help}"
    );
    assert!(
        flag_help(&help, "gotest-label").contains("tier=test"),
        "{help}"
    );
    assert!(
        flag_help(&help, "gotest-access-token").contains("GOTEST_TOKEN"),
        "the driver's EnvVar, not one derived from the flag's name: {help}"
    );
    assert!(flag_help(&help, "gotest-skip-ssh-check").contains("Skip"));
    assert_no_plugin_left(&driver, "create --help");

    // An address line that is not loopback is refused, and nothing connects to it (the port
    // printed is the plugin's real one, on the test host's address).
    let (err, _) = go
        .with("GOTEST_ADDRESS_LINE", format!("{address}:{{port}}"))
        .fails(&[
            "create",
            "-d",
            "gotest",
            "--gotest-ip-address",
            &address,
            "bad1",
        ]);
    assert!(err.contains("gotest"), "names the driver: {err}");
    assert!(err.contains(&address), "names the address: {err}");
    assert_no_plugin_left(&driver, "a refused address line");
    if berth.machine_dir("bad1").exists() {
        go.ok(&["rm", "-y", "bad1"]);
    }

    // Create: the key and the secret from their environment twins, the rest from flags.
    let out = go
        .with("GOTEST_SSH_KEY", key.clone())
        .with("GOTEST_TOKEN", TOKEN)
        .ok(&[
            "create",
            "--debug",
            "-d",
            "gotest",
            "--gotest-ip-address",
            &address,
            "--gotest-label",
            "a=1",
            "--gotest-label",
            "b=2",
            "--tls-san",
            "gotest.invalid",
            "gt1",
        ]);
    assert!(!out.contains(TOKEN), "create printed the driver's secret");
    let flags = calls(&log)
        .into_iter()
        .find(|l| l.starts_with("SetConfigFromFlags "))
        .expect("SetConfigFromFlags was called");
    for typed in [
        "gotest-ip-address=string",
        "gotest-ssh-port=int",
        "gotest-ssh-user=string",
        "gotest-label=[]string",
        "gotest-skip-ssh-check=bool",
        "gotest-access-token=string",
        "engine-install-url=string",
        "tls-san=[]string",
    ] {
        assert!(
            flags.split(' ').any(|f| f == typed),
            "{typed} in the RPCFlags, typed as docker-machine sends them: {flags}"
        );
    }
    for method in ["PreCreateCheck", "Create", "GetSSHHostname", "GetConfigRaw"] {
        assert!(called_since(&log, 0, method), "{method}: {:?}", calls(&log));
    }
    // Create ran on the host (over SSH with the key from GOTEST_SSH_KEY).
    assert_eq!(host.check("cat /var/lib/gotest/created").unwrap(), "gt1");
    // The driver's copy of the key landed inside the machine's folder.
    let dir = berth.machine_dir("gt1");
    let test_key = std::fs::read(host.key_path()).unwrap();
    let copies: Vec<_> = files_under(&dir)
        .into_iter()
        .filter(|f| std::fs::read(f).ok().as_deref() == Some(&test_key[..]))
        .collect();
    assert!(
        !copies.is_empty(),
        "the driver's key copy is in {}",
        dir.display()
    );
    // Its config (with the secret) is kept, readable only by the user.
    let mut holds_secret = 0;
    for f in files_under(berth.store.path()) {
        if std::fs::read(&f)
            .map(|b| String::from_utf8_lossy(&b).contains(TOKEN))
            .unwrap_or(false)
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} holds the secret", f.display());
            holds_secret += 1;
        }
    }
    assert!(
        holds_secret > 0,
        "the driver's config, with the token from GOTEST_TOKEN, is in the record"
    );

    let inspect = go.ok(&["inspect", "gt1"]);
    assert!(
        !inspect.contains(TOKEN),
        "inspect shows the driver's secret"
    );
    let v: serde_json::Value = serde_json::from_str(&inspect).expect("inspect is JSON");
    assert_eq!(v["driver"], "gotest", "{inspect}");
    assert!(berth.docker("gt1", "version").status.success());
    assert!(
        state_of(&go, "gt1").ends_with("gotest Running"),
        "{}",
        state_of(&go, "gt1")
    );
    assert_no_plugin_left(&driver, "create and ls");

    // Stop, in a new process: the driver gets its config back and stops the host's engine.
    let mark = calls(&log).len();
    go.ok(&["stop", "gt1"]);
    assert!(called_since(&log, mark, "Stop"), "{:?}", calls(&log));
    let handed_back = calls(&log)
        .into_iter()
        .skip(mark)
        .find(|l| l.starts_with("SetConfigRaw "))
        .expect("the config handed back before Stop");
    assert!(
        handed_back.contains("MachineName=gt1") && handed_back.contains(&address),
        "{handed_back}"
    );
    assert!(!engine_active(host), "the engine is stopped");
    assert!(
        state_of(&go, "gt1").ends_with(" Stopped"),
        "ls while stopped"
    );
    let mark = calls(&log).len();
    assert_eq!(go.ok(&["status", "gt1"]).trim(), "Stopped");
    assert!(
        called_since(&log, mark, "GetState"),
        "status asks the driver"
    );

    // Start: the engine answers again over TLS.
    let mark = calls(&log).len();
    go.ok(&["start", "gt1"]);
    assert!(called_since(&log, mark, "Start"), "{:?}", calls(&log));
    assert!(engine_active(host));
    assert!(berth.docker("gt1", "ps").status.success());

    // Restart through the driver's Restart.
    let mark = calls(&log).len();
    go.ok(&["restart", "gt1"]);
    assert!(called_since(&log, mark, "Restart"), "{:?}", calls(&log));
    assert!(berth.docker("gt1", "ps").status.success());

    // Kill, then start again.
    let mark = calls(&log).len();
    go.ok(&["kill", "gt1"]);
    assert!(called_since(&log, mark, "Kill"), "{:?}", calls(&log));
    assert!(!engine_active(host));
    assert_eq!(go.ok(&["status", "gt1"]).trim(), "Stopped");
    go.ok(&["start", "gt1"]);
    assert!(berth.docker("gt1", "ps").status.success());

    // Nothing of the secret in --debug output or in ls.
    let (out, _) = go.run(&["--debug", "ls"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(TOKEN));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(TOKEN));

    // A reply far larger than any real one (64 MiB for GetSSHHostname) fails the create with
    // a sentence naming the driver, and the store stays usable.
    let (err, took) = go
        .with("GOTEST_SSH_KEY", key.clone())
        .with("GOTEST_MISBEHAVE", "hugereply:GetSSHHostname")
        .fails(&[
            "create",
            "-d",
            "gotest",
            "--gotest-ip-address",
            &address,
            "huge1",
        ]);
    assert!(err.contains("gotest"), "{err}");
    assert!(
        err.len() < 64 << 10,
        "the error is bounded: {} bytes",
        err.len()
    );
    assert!(took < Duration::from_secs(120), "{took:?}");
    assert_no_plugin_left(&driver, "a huge reply");
    go.ok(&["ls"]);
    if berth.machine_dir("huge1").exists() {
        go.ok(&["rm", "-y", "huge1"]);
    }

    // rm goes through the driver's Remove, which "destroys" the host's machine.
    let mark = calls(&log).len();
    go.ok(&["rm", "-y", "gt1"]);
    assert!(called_since(&log, mark, "Remove"), "{:?}", calls(&log));
    assert_eq!(host.check("cat /var/lib/gotest/removed").unwrap(), "gt1");
    assert!(
        !dir.exists(),
        "the machine's folder and the driver's files are gone"
    );
    for copy in copies {
        assert!(!copy.exists(), "{}", copy.display());
    }
    assert!(!go.ok(&["ls", "-q"]).contains("gt1"));
    assert_no_plugin_left(&driver, "rm");
}

/// One misbehaviour of the plugin, on a create that needs no host (the SSH check is skipped and
/// the misbehaviour comes before the driver would reach anything).
fn misbehaves(berth: &Berth, driver: &Path, misbehave: &str, extra: &[(&'static str, &str)]) {
    let mut go = Go::new(berth, None).with("GOTEST_MISBEHAVE", misbehave);
    for (k, v) in extra {
        go = go.with(k, *v);
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!("m{}", NEXT.fetch_add(1, Ordering::SeqCst));
    let (err, took) = go.fails(&[
        "create",
        "-d",
        "gotest",
        "--gotest-ip-address",
        "127.0.0.1",
        "--gotest-skip-ssh-check",
        &name,
    ]);
    assert!(
        err.contains("gotest"),
        "{misbehave}: the error names the driver: {err}"
    );
    assert!(
        err.len() < 64 << 10,
        "{misbehave}: the error is bounded ({} bytes)",
        err.len()
    );
    // docker-machine's own plugin start gives up after 10 s; a hanging call gets berth's
    // deadline for flags (10 s in docs/plugins.md) — a minute is the bound asked here.
    assert!(took < Duration::from_secs(60), "{misbehave}: took {took:?}");
    assert_no_plugin_left(driver, misbehave);
    // The store is consistent: ls works, and whatever was kept can be removed.
    let go = Go::new(berth, None);
    go.ok(&["ls"]);
    if berth.machine_dir(&name).exists() {
        go.ok(&["rm", "-y", &name]);
    }
    assert_no_plugin_left(driver, "rm after a misbehaviour");
}

#[test]
fn a_misbehaving_go_plugin_fails_with_a_sentence_naming_it_in_bounded_time() {
    let berth = Berth::new();
    // In the store's plugins/ folder, where berth looks before PATH.
    let driver = install_driver(&berth.store.path().join("plugins"));

    for misbehave in [
        "hang:GetCreateFlags",
        "hang:GetVersion",
        "exit:GetCreateFlags",
        "exit:Create",
        "huge:GetCreateFlags",
        "huge:PreCreateCheck",
        "malformed:GetCreateFlags",
        "malformed:GetVersion",
        "flood:GetCreateFlags",
    ] {
        misbehaves(&berth, &driver, misbehave, &[]);
    }
    // An address line for a port on all interfaces is not loopback.
    misbehaves(
        &berth,
        &driver,
        "",
        &[("GOTEST_ADDRESS_LINE", "0.0.0.0:{port}")],
    );
    misbehaves(
        &berth,
        &driver,
        "",
        &[("GOTEST_ADDRESS_LINE", "not an address")],
    );

    // A plugin's terminal escapes and a 1 MiB stderr line do not reach the terminal raw.
    let go = Go::new(&berth, None).with("GOTEST_MISBEHAVE", "noisy:GetCreateFlags");
    let (out, _) = go.run(&["create", "-d", "gotest", "--help", "--debug"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\x1b'), "escapes reached the terminal");
    assert!(stderr.len() < 256 << 10, "{} bytes of stderr", stderr.len());
    assert_no_plugin_left(&driver, "a noisy plugin");

    // The old service name (RpcServerDriver) still works, as docker-machine falls back to it.
    let help = Go::new(&berth, None)
        .with("GOTEST_SERVICE", "V0")
        .ok(&["create", "-d", "gotest", "--help"]);
    assert!(help.contains("--gotest-ip-address"), "{help}");
    assert_no_plugin_left(&driver, "the V0 service name");
}

/// libmachine's `host.Host` for a machine of the gotest driver (ConfigVersion 3): the driver's
/// JSON as its GetConfigRaw gives it (BaseDriver's fields, then its own), then `host.Options`.
fn gotest_config(store: &Path, name: &str, host: &TestHost) -> String {
    let store_s = store.display().to_string();
    let machine = format!("{store_s}/machines/{name}");
    let config = serde_json::json!({
        "ConfigVersion": 3,
        "Driver": {
            "IPAddress": host.address().to_string(),
            "MachineName": name,
            "SSHUser": "root",
            "SSHPort": host.port(),
            "SSHKeyPath": format!("{machine}/id_ed25519"),
            "StorePath": store_s,
            "SwarmMaster": false,
            "SwarmHost": "",
            "SwarmDiscovery": "",
            "EnginePort": 2376,
            "SSHKey": host.key_path().display().to_string(),
            "AccessToken": TOKEN,
            "Labels": ["tier=test"],
            "SkipSSHCheck": false,
        },
        "DriverName": "gotest",
        "HostOptions": crate::import::host_options(&store_s, &machine),
        "Name": name,
    });
    serde_json::to_string_pretty(&config).unwrap()
}

#[test]
fn an_imported_machine_of_a_go_driver_keeps_its_driver() {
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];

    // The engine set up on the host by a generic create in a scratch store; its certificates
    // become a docker-machine store's, as docker-machine's provisioner would have left them.
    let scratch = Berth::new();
    let out = scratch.create_generic(host, "root", "scratch", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made = scratch.machine_dir("scratch");
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("machine");
    let write = crate::import::write;
    let read = |f: &str| std::fs::read(made.join(f)).unwrap();
    for (f, mode) in [
        ("ca.pem", 0o644),
        ("ca-key.pem", 0o600),
        ("cert.pem", 0o644),
        ("key.pem", 0o600),
    ] {
        write(&store.join("certs").join(f), &read(f), mode);
    }
    let dir = store.join("machines/gt1");
    write(
        &dir.join("config.json"),
        gotest_config(&store, "gt1", host).as_bytes(),
        0o600,
    );
    for (f, mode) in [
        ("ca.pem", 0o644),
        ("cert.pem", 0o644),
        ("key.pem", 0o600),
        ("server.pem", 0o644),
        ("server-key.pem", 0o600),
    ] {
        write(&dir.join(f), &read(f), mode);
    }
    // The driver's copy of its SSH key, where its Create put it.
    write(
        &dir.join("id_ed25519"),
        &std::fs::read(host.key_path()).unwrap(),
        0o600,
    );
    let untouched = crate::import::fingerprint(&store);
    let from = store.display().to_string();

    // Without the driver's binary: the machine is imported with its driver, works over its
    // engine URL, and the commands that need the driver name the binary.
    let without = Berth::new();
    let go = Go::new(&without, None);
    go.ok(&["import", "--from", &from]);
    assert!(
        state_of(&go, "gt1").contains(" gotest "),
        "the driver is kept: {}",
        state_of(&go, "gt1")
    );
    assert!(without.docker("gt1", "ps").status.success());
    let (err, _) = go.fails(&["stop", "gt1"]);
    assert!(err.contains(BINARY), "names the binary to install: {err}");
    assert!(engine_active(host), "nothing was stopped");
    assert!(!go.ok(&["inspect", "gt1"]).contains(TOKEN));

    // With it: power and rm go through the driver, with the config from config.json.
    let with = Berth::new();
    let bin = work.path().join("bin");
    let driver = install_driver(&bin);
    let log = work.path().join("calls.log");
    let go = Go::new(&with, Some(&bin)).with("GOTEST_CALL_LOG", log.display().to_string());
    go.ok(&["import", "--from", &from]);
    let inspect = go.ok(&["inspect", "gt1"]);
    assert!(
        !inspect.contains(TOKEN),
        "inspect shows the driver's secret"
    );
    assert!(with.docker("gt1", "ps").status.success());

    go.ok(&["stop", "gt1"]);
    assert!(called_since(&log, 0, "Stop"), "{:?}", calls(&log));
    assert!(!engine_active(host));
    assert!(state_of(&go, "gt1").ends_with(" Stopped"));
    let mark = calls(&log).len();
    go.ok(&["start", "gt1"]);
    assert!(called_since(&log, mark, "Start"), "{:?}", calls(&log));
    assert!(with.docker("gt1", "ps").status.success());

    let mark = calls(&log).len();
    go.ok(&["rm", "-y", "gt1"]);
    assert!(called_since(&log, mark, "Remove"), "{:?}", calls(&log));
    assert_eq!(host.check("cat /var/lib/gotest/removed").unwrap(), "gt1");
    assert!(!with.machine_dir("gt1").exists());
    assert_no_plugin_left(&driver, "rm of the imported machine");

    // The driver worked on berth's copies: the docker-machine store is as it was.
    assert_eq!(
        crate::import::fingerprint(&store),
        untouched,
        "the docker-machine store was not changed"
    );
}
