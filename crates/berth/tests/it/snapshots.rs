//! Snapshots of everything a user sees from the commands that need no host: exit code, stdout
//! and stderr together, so that a changed message, a message on the wrong stream or a changed
//! exit status shows up as a diff to review (`cargo insta review`), not as a test nobody wrote.
//!
//! berth runs with an emptied environment: a temporary HOME, DOCKER_CONFIG and store, a fixed
//! PATH and width, NO_COLOR, and no DOCKER_HOST unless a case sets it, so the snapshots do not
//! depend on the machine they run on. Temporary paths, the binary's folder, the version and
//! durations are replaced by placeholders.
//!
//! The snapshots are in `snapshots/`. A run that differs fails; outside CI insta also writes
//! the new output beside the snapshot as `.snap.new` for review (those are never read back as
//! expectations, and .gitignore keeps them out of commits).

use berth_names::{EnvVars, MachineFiles};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A `none` machine recorded by hand: an engine URL on a loopback port that nothing listens
/// on (port 1 needs root to bind), so its state is `Stopped` at once and nothing is reached.
const NONE_RECORD: &str = r#"version = 1
name = "web"
driver = "none"
state = "Running"
url = "tcp://127.0.0.1:1"
created_at = "2026-11-23T12:00:00Z"

[driver_data]
url = "tcp://127.0.0.1:1"
"#;

/// A machine whose create stopped before its driver reported an address.
const FAILED_RECORD: &str = r#"version = 1
name = "half"
driver = "generic"
state = "Error"
error = "creating the host failed: the generic driver could not reach 192.0.2.1:22"
created_at = "2026-11-23T12:00:00Z"
"#;

/// A machine whose host is known but whose provisioning failed before the engine answered.
const UNPROVISIONED_RECORD: &str = r#"version = 1
name = "raw"
driver = "generic"
state = "Error"
error = "installing the engine failed: apt-get exited with status 100"
created_at = "2026-11-23T12:00:00Z"

[ssh]
host = "127.0.0.1"
port = 1
user = "root"
"#;

/// A temporary home, docker config and store, and berth run in them.
struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// Whether berth gets BERTH_STORAGE_PATH; help shows the variable's value, and a
    /// temporary path of another length would wrap the help differently.
    store_var: bool,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for sub in ["home", "docker"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        World {
            _dir: dir,
            root,
            store_var: true,
        }
    }

    fn store(&self) -> PathBuf {
        self.root.join("machines")
    }

    /// Writes `text` as the record of machine `name`.
    fn record(&self, name: &str, text: &str) -> &Self {
        let dir = self.store().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(MachineFiles::RECORD), text).unwrap();
        self
    }

    /// A world with the `none` machine `web` in it.
    fn with_web() -> Self {
        let world = World::new();
        world.record("web", NONE_RECORD);
        world
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(args)
            .env_clear()
            .env(EnvVars::PATH, "/usr/bin:/bin")
            .env(EnvVars::HOME, self.root.join("home"))
            .env(EnvVars::DOCKER_CONFIG, self.root.join("docker"))
            .env(EnvVars::NO_COLOR, "1")
            // clap wraps help at the terminal's width, or COLUMNS where there is no terminal.
            .env("COLUMNS", "100")
            .envs(env.iter().copied())
            // No terminal to ask on: confirmations are refused, as in a script.
            .stdin(Stdio::null());
        if self.store_var {
            cmd.env(EnvVars::BERTH_STORAGE_PATH, self.store());
        }
        cmd
    }

    /// `berth ARGS` with `env` added, as a transcript: the command, its exit code, its stdout
    /// and its stderr.
    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.command(args, env).output().unwrap();
        let shown: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(v)))
            .chain(std::iter::once("berth".to_owned()))
            .chain(args.iter().map(|a| quote(a)))
            .collect();
        format!(
            "$ {}\nexit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            shown.join(" "),
            out.status
                .code()
                .map_or_else(|| format!("killed ({:?})", out.status), |c| c.to_string()),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        )
    }

    fn run(&self, args: &[&str]) -> String {
        self.run_with(args, &[])
    }

    /// Compares the transcript of `berth ARGS` with the snapshot `name`.
    fn snap_with(&self, name: &str, args: &[&str], env: &[(&str, &str)]) {
        let text = self.run_with(args, env);
        self.settings().bind(|| insta::assert_snapshot!(name, text));
    }

    fn snap(&self, name: &str, args: &[&str]) {
        self.snap_with(name, args, &[]);
    }

    /// Filters for what differs between runs and machines.
    fn settings(&self) -> insta::Settings {
        refuse_accepting_in_ci();
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        for (path, placeholder) in [(self.root.clone(), "[TMP]"), (bin_dir(), "[BIN_DIR]")] {
            for form in [Some(path.clone()), path.canonicalize().ok()]
                .into_iter()
                .flatten()
            {
                settings.add_filter(&regex::escape(&form.to_string_lossy()), placeholder);
            }
        }
        settings.add_filter(
            &format!(r"\b{}\b", regex::escape(env!("CARGO_PKG_VERSION"))),
            "[VERSION]",
        );
        settings.add_filter(r"\(\d+\.\d+s\)", "([ELAPSED])");
        settings
    }
}

/// The folder of the berth binary, which the plugin search names in its errors.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_berth"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// An argument as a shell user would type it, so that `""` and `'bad name!'` show.
fn quote(arg: &str) -> String {
    shlex::try_quote(arg).map_or_else(|_| format!("{arg:?}"), |q| q.into_owned())
}

/// In CI a snapshot that differs must fail the run. `INSTA_UPDATE=always|force|unseen` would
/// overwrite the snapshot instead and `INSTA_FORCE_PASS` would pass anyway, so they are refused
/// there (locally, `cargo insta test --accept` sets them on purpose).
fn refuse_accepting_in_ci() {
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    if !ci {
        return;
    }
    let update = std::env::var("INSTA_UPDATE").unwrap_or_default();
    assert!(
        matches!(update.as_str(), "" | "auto" | "no" | "new"),
        "INSTA_UPDATE={update} in CI would rewrite snapshots instead of failing on a difference; unset it"
    );
    let force = std::env::var("INSTA_FORCE_PASS").unwrap_or_default();
    assert!(
        matches!(force.as_str(), "" | "0"),
        "INSTA_FORCE_PASS={force} in CI would pass differing snapshots; unset it"
    );
}

/// Every command that takes a machine name, with a name the store does not have.
#[test]
fn unknown_machine() {
    let world = World::new();
    for command in [
        "env",
        "inspect",
        "status",
        "ip",
        "url",
        "config",
        "ssh",
        "rm",
        "start",
        "stop",
        "restart",
        "kill",
        "provision",
        "regenerate-certs",
    ] {
        world.snap(&format!("unknown_machine_{command}"), &[command, "nosuch"]);
    }
    world.snap("unknown_machine_rm_yes", &["rm", "-y", "nosuch"]);
    world.snap(
        "unknown_machine_regenerate_certs_yes",
        &["regenerate-certs", "-y", "nosuch"],
    );
    world.snap(
        "unknown_machine_scp_from",
        &["scp", "nosuch:/etc/hostname", "here"],
    );
    world.snap("unknown_machine_scp_to", &["scp", "here", "nosuch:/tmp/"]);
    assert!(!world.store().exists(), "looking a name up writes nothing");
}

/// Names the store refuses, and those it takes that a reader might not expect; none of them
/// may leave anything in the store.
#[test]
fn create_names() {
    let long = "a".repeat(64);
    let longest = "a".repeat(63);
    for (case, name) in [
        ("uppercase", "Web1"),
        ("too_long", long.as_str()),
        ("longest", longest.as_str()),
        ("dash_first", "-x"),
        ("dash_first_after_double_dash", "-x"),
        ("empty", ""),
        ("double_dot", "a..b"),
        ("dash_last", "web-"),
        ("space", "bad name!"),
        ("underscore", "web_1"),
        ("slash", "a/b"),
        ("dot_dot", ".."),
    ] {
        let world = World::new();
        let mut args = vec!["create", "-d", "none", "--url", "tcp://127.0.0.1:1"];
        if case == "dash_first_after_double_dash" {
            args.push("--");
        }
        args.push(name);
        let text = world.run(&args);
        world
            .settings()
            .bind(|| insta::assert_snapshot!(format!("create_name_{case}"), text));
        if text.contains("\nexit: 0\n") {
            assert!(world.store().join(name).join("config.toml").is_file());
        } else {
            assert!(
                !world.store().join(name).exists() || name.is_empty() || name == "..",
                "{case}: a refused name leaves nothing behind"
            );
        }
    }
}

/// Flags clap refuses: unknown, without their value, values outside their set.
#[test]
fn bad_flags() {
    let world = World::with_web();
    for (case, args) in [
        ("no_command", &[][..]),
        ("unknown_command", &["nosuch"]),
        ("unknown_flag", &["ls", "--bogus"]),
        ("unknown_flag_create", &["create", "--bogus", "x"]),
        ("missing_value", &["ls", "--format"]),
        ("missing_value_driver", &["create", "-d"]),
        ("bad_enum_shell", &["env", "--shell", "nope", "web"]),
        ("bad_enum_format", &["ls", "--format", "xml"]),
        ("bad_enum_completion", &["completion", "nope"]),
        ("bad_number_timeout", &["ls", "--timeout", "soon"]),
        (
            "bad_number_port",
            &[
                "create",
                "--generic-ip-address",
                "192.0.2.1",
                "--generic-ssh-port",
                "99999",
                "x",
            ],
        ),
        ("missing_name_env", &["env"]),
        ("missing_name_create", &["create"]),
        ("missing_name_ip", &["ip"]),
        ("extra_argument", &["url", "web", "other"]),
        ("scp_without_machine", &["scp", "a", "b"]),
        ("scp_two_machines", &["scp", "web:/a", "other:/b"]),
    ] {
        world.snap(&format!("bad_flag_{case}"), args);
    }
}

/// Drivers berth has not got, and built-in ones missing what they need.
#[test]
fn drivers_without_a_host() {
    let world = World::new();
    world.snap("driver_unknown", &["create", "-d", "nosuchdriver", "x"]);
    world.snap("driver_bad_name", &["create", "-d", "../evil", "x"]);
    world.snap(
        "driver_generic_without_address",
        &["create", "-d", "generic", "x"],
    );
    world.snap("driver_none_without_url", &["create", "-d", "none", "x"]);
    world.snap(
        "driver_none_with_http_url",
        &["create", "-d", "none", "--url", "http://x", "x"],
    );
    assert!(
        !world.store().join("x").exists(),
        "a refused create leaves no machine"
    );
    world.snap(
        "driver_none_created",
        &["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "x"],
    );
    world.snap(
        "driver_create_existing",
        &["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "x"],
    );
}

/// Create's own checks, made before any driver runs: nothing may be left in the store.
#[test]
fn create_refusals() {
    let world = World::new();
    let none = ["create", "-d", "none", "--url", "tcp://127.0.0.1:1"];
    for (case, extra) in [
        ("one_bad_name_of_two", &["ok1", "Bad!"][..]),
        ("same_name_twice", &["d1", "d1"]),
        ("bad_tls_algorithm", &["--tls-algorithm", "foo", "t1"]),
        ("empty_engine_opt", &["--engine-opt", "", "t2"]),
        ("bad_engine_env", &["--engine-env", "NOVALUE", "t3"]),
    ] {
        let args: Vec<&str> = none.iter().chain(extra).copied().collect();
        world.snap(&format!("create_{case}"), &args);
    }
    assert!(!world.store().exists(), "a refused create writes nothing");
    // Flags of another driver are taken and not used; the snapshot shows that no warning says so.
    let args: Vec<&str> = none
        .iter()
        .chain(&["--generic-ip-address", "192.0.2.1", "g1"])
        .copied()
        .collect();
    world.snap("create_none_with_generic_flag", &args);
}

/// What the commands that need a host say about a `none` machine, whose host berth cannot
/// reach, and the state they leave it in.
#[test]
fn host_commands_on_a_none_machine() {
    let world = World::with_web();
    world.snap("provision_none", &["provision", "web"]);
    world.snap("provision_none_then_status", &["status", "web"]);
    let world = World::with_web();
    world.snap("regenerate_certs_none", &["regenerate-certs", "-y", "web"]);
    world.snap("regenerate_certs_none_then_status", &["status", "web"]);
    world.snap("rm_none", &["rm", "-y", "web"]);
    assert!(!world.store().join("web").exists());
}

#[test]
fn ls() {
    let empty = World::new();
    empty.snap("ls_empty", &["ls"]);
    empty.snap("ls_empty_json", &["ls", "--format", "json"]);
    empty.snap("ls_empty_quiet", &["ls", "-q"]);

    let world = World::with_web();
    world
        .record("half", FAILED_RECORD)
        .record("broken", "name = [unclosed");
    world.snap("ls_records", &["ls"]);
    world.snap("ls_json", &["ls", "--format", "json"]);
    world.snap("ls_quiet", &["ls", "-q"]);
    world.snap_with(
        "ls_active",
        &["ls"],
        &[("DOCKER_HOST", "tcp://127.0.0.1:1")],
    );
    world.snap("ls_filter_name", &["ls", "--filter", "name=w*"]);
    world.snap("ls_filter_driver", &["ls", "--filter", "driver=none"]);
    world.snap("ls_filter_state", &["ls", "-q", "--filter", "state=error"]);
    world.snap(
        "ls_filter_two",
        &["ls", "-q", "--filter", "state=error", "--filter", "name=h*"],
    );
    world.snap("ls_filter_unknown_key", &["ls", "--filter", "colour=red"]);
    world.snap("ls_filter_not_key_value", &["ls", "--filter", "web"]);
}

/// `env` for every shell, setting and unsetting, of a `none` machine.
#[test]
fn env_shells() {
    let world = World::with_web();
    for shell in [
        "bash",
        "zsh",
        "sh",
        "fish",
        "tcsh",
        "powershell",
        "cmd",
        "nu",
        "emacs",
    ] {
        world.snap(&format!("env_{shell}"), &["env", "--shell", shell, "web"]);
        world.snap(
            &format!("env_{shell}_unset"),
            &["env", "--shell", shell, "--unset"],
        );
    }
    world.snap("env_default_shell", &["env", "web"]);
    world.snap_with(
        "env_from_shell_var",
        &["env", "web"],
        &[("SHELL", "/usr/bin/fish")],
    );
    world.snap_with(
        "env_no_proxy",
        &["env", "--no-proxy", "web"],
        &[("NO_PROXY", "localhost")],
    );
    world.snap("env_unset_no_proxy", &["env", "--unset", "--no-proxy"]);
}

/// The commands that print one fact from the record, and what they say when the record
/// lacks it or cannot be read.
#[test]
fn facts() {
    let world = World::with_web();
    world
        .record("half", FAILED_RECORD)
        .record("broken", "name = [unclosed");
    for command in ["inspect", "url", "ip", "config", "status"] {
        world.snap(command, &[command, "web"]);
        world.snap(&format!("{command}_failed"), &[command, "half"]);
        world.snap(&format!("{command}_corrupt"), &[command, "broken"]);
    }
    world.record("raw", UNPROVISIONED_RECORD);
    world.snap("ip_unprovisioned", &["ip", "raw"]);
    world.snap("url_unprovisioned", &["url", "raw"]);
    world.snap("env_unprovisioned", &["env", "raw"]);
    world.snap("ip_several", &["ip", "web", "raw"]);
    world.snap("ip_several_one_unfinished", &["ip", "web", "half"]);
    world.snap("ip_known_and_unknown", &["ip", "web", "nosuch"]);
    world.snap("env_failed", &["env", "half"]);
    world.snap("env_corrupt", &["env", "broken"]);
    world.snap("ssh_none", &["ssh", "web"]);
    world.snap("ssh_failed", &["ssh", "half"]);
    world.snap("scp_none", &["scp", "here", "web:/tmp/"]);
    for command in ["start", "stop", "restart", "kill"] {
        world.snap(&format!("{command}_none"), &[command, "web"]);
    }
    world.snap("rm_without_terminal", &["rm", "web"]);
    world.snap("rm_corrupt", &["rm", "-y", "broken"]);
    world.snap(
        "regenerate_certs_without_terminal",
        &["regenerate-certs", "web"],
    );
}

#[test]
fn active() {
    let world = World::with_web();
    world.snap("active_unset", &["active"]);
    world.snap_with(
        "active",
        &["active"],
        &[("DOCKER_HOST", "tcp://127.0.0.1:1")],
    );
    world.snap_with(
        "active_elsewhere",
        &["active"],
        &[("DOCKER_HOST", "tcp://192.0.2.9:2376")],
    );
}

#[test]
fn version_help_and_completion() {
    let mut world = World::new();
    world.store_var = false;
    world.snap("version", &["version"]);
    world.snap("version_flag", &["--version"]);
    world.snap("help", &["--help"]);
    world.snap("help_short", &["-h"]);
    world.snap("help_create", &["create", "--help"]);
    world.snap("help_command", &["help", "ls"]);

    // The script itself is clap_complete's; what matters is that it is made, for berth.
    let out = world
        .command(&["completion", "bash"], &[])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let head: String = stdout.lines().take(3).collect::<Vec<_>>().join("\n");
    let text = format!(
        "exit: {}\n----- stdout (first lines of {}) -----\n{head}\n----- stderr -----\n{}",
        out.status.code().unwrap(),
        if stdout.lines().count() > 100 {
            "many"
        } else {
            "few"
        },
        String::from_utf8_lossy(&out.stderr)
    );
    world
        .settings()
        .bind(|| insta::assert_snapshot!("completion_bash", text));
    assert!(
        !world.store().exists() && !world.root.join("docker/machines").exists(),
        "none of these touch the store"
    );
}

/// `import` refusals that need no host: no store there, berth's store inside docker-machine's
/// (MACHINE_STORAGE_PATH moves both), an empty store, a machine the store does not have.
#[test]
fn import_refusals() {
    let world = World::new();
    world.snap(
        "import_not_a_store",
        &[
            "import",
            "--from",
            &world.root.join("nothing").to_string_lossy(),
        ],
    );
    let dm = world.root.join("dm");
    std::fs::create_dir_all(dm.join("machines")).unwrap();
    let dm_text = dm.to_string_lossy().into_owned();
    world.snap("import_empty_store", &["import", "--from", &dm_text]);
    world.snap(
        "import_unknown_machine",
        &["import", "--from", &dm_text, "ghost"],
    );
    assert!(
        !world.store().join("ghost").exists(),
        "nothing is left in berth's store"
    );
    let mut inside = World::new();
    inside.store_var = false;
    let dm = inside.root.join("dm");
    std::fs::create_dir_all(dm.join("machines")).unwrap();
    inside.snap_with(
        "import_into_docker_machines_own_folder",
        &["import"],
        &[("MACHINE_STORAGE_PATH", &dm.to_string_lossy())],
    );
}
