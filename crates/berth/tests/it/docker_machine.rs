//! The docker-machine dialect: berth called through a symlink named `docker-machine`, with
//! only docker-machine's variables set (MACHINE_STORAGE_PATH), snapshotted as a transcript
//! (exit code, stdout, stderr); and the compatible parts that work under both names.
//!
//! The machines are records pointing at loopback port 1, where nothing listens (binding it
//! needs root), so every state and engine question fails at once and nothing is reached.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A generic machine with engine labels, as a create would leave it.
const GENERIC_RECORD: &str = r#"version = 1
name = "web1"
driver = "generic"
state = "Running"
url = "tcp://127.0.0.1:1"
created_at = "2026-11-23T12:00:00Z"

[ssh]
host = "127.0.0.1"
port = 1
user = "root"
key_path = "/keys/id_ed25519"

[engine]
labels = ["env=prod", "team=web"]
port = 2376

[driver_data]
ip_address = "127.0.0.1"
ssh_user = "root"
ssh_port = 1
"#;

/// A none machine: an engine URL and nothing to log in to.
const NONE_RECORD: &str = r#"version = 1
name = "db2"
driver = "none"
state = "Running"
url = "tcp://127.0.0.1:1"
created_at = "2026-11-23T12:00:00Z"

[driver_data]
url = "tcp://127.0.0.1:1"
"#;

/// A home, a docker-machine storage path (machines under `machines/`) and a folder with the
/// `docker-machine` symlink to the built berth.
struct Dm {
    dir: tempfile::TempDir,
}

impl Dm {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "bin", "storage/machines"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_berth"),
            dir.path().join("bin/docker-machine"),
        )
        .unwrap();
        let dm = Dm { dir };
        dm.record("web1", GENERIC_RECORD);
        dm.record("db2", NONE_RECORD);
        dm
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn record(&self, name: &str, text: &str) {
        let dir = self.path("storage/machines").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), text).unwrap();
    }

    /// `program ARGS` (`docker-machine` or `berth`) with `env` added.
    fn run_as(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
        let exe = match program {
            "docker-machine" => self.path("bin/docker-machine"),
            _ => PathBuf::from(env!("CARGO_BIN_EXE_berth")),
        };
        let out = Command::new(&exe)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.path("home"))
            .env("MACHINE_STORAGE_PATH", self.path("storage"))
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let shown: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(std::iter::once(program.to_owned()))
            .chain(
                args.iter()
                    .map(|a| shlex::try_quote(a).unwrap().into_owned()),
            )
            .collect();
        format!(
            "$ {}\nexit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            shown.join(" "),
            out.status.code().map_or("killed".into(), |c| c.to_string()),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        )
    }

    fn snap_as(&self, name: &str, program: &str, args: &[&str], env: &[(&str, &str)]) {
        let text = self.run_as(program, args, env);
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_snapshot_path("snapshots");
        for path in [
            self.dir.path().to_path_buf(),
            self.dir.path().canonicalize().unwrap(),
        ] {
            settings.add_filter(&regex::escape(&path.to_string_lossy()), "[TMP]");
        }
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_berth"));
        settings.add_filter(&regex::escape(&bin.to_string_lossy()), "[BERTH]");
        settings.add_filter(
            &format!(r"\b{}\b", regex::escape(env!("CARGO_PKG_VERSION"))),
            "[VERSION]",
        );
        settings.bind(|| insta::assert_snapshot!(name, text));
    }

    /// As docker-machine, called by its bare name as scripts do (PATH finds the symlink).
    fn dm(&self, name: &str, args: &[&str]) {
        self.dm_with(name, args, &[]);
    }

    fn dm_with(&self, name: &str, args: &[&str], env: &[(&str, &str)]) {
        let path = format!("{}:/usr/bin:/bin", self.path("bin").display());
        let mut env = env.to_vec();
        env.push(("PATH", &path));
        // The transcript shows the PATH as [TMP]/bin:…, which is stable.
        let text = {
            let out = Command::new("docker-machine")
                .args(args)
                .env_clear()
                .env("HOME", self.path("home"))
                .env("MACHINE_STORAGE_PATH", self.path("storage"))
                .env("NO_COLOR", "1")
                .env("COLUMNS", "100")
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let shown: Vec<String> = env
                .iter()
                .filter(|(k, _)| *k != "PATH")
                .map(|(k, v)| format!("{k}={v}"))
                .chain(std::iter::once("docker-machine".to_owned()))
                .chain(
                    args.iter()
                        .map(|a| shlex::try_quote(a).unwrap().into_owned()),
                )
                .collect();
            format!(
                "$ {}\nexit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
                shown.join(" "),
                out.status.code().map_or("killed".into(), |c| c.to_string()),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            )
        };
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_snapshot_path("snapshots");
        for path in [
            self.dir.path().to_path_buf(),
            self.dir.path().canonicalize().unwrap(),
        ] {
            settings.add_filter(&regex::escape(&path.to_string_lossy()), "[TMP]");
        }
        settings.add_filter(
            &format!(r"\b{}\b", regex::escape(env!("CARGO_PKG_VERSION"))),
            "[VERSION]",
        );
        settings.bind(|| insta::assert_snapshot!(name, text));
    }

    /// The same command under both names, each its own snapshot.
    fn both(&self, name: &str, args: &[&str]) {
        self.dm(&format!("dm_{name}"), args);
        self.snap_as(&format!("dm_berth_{name}"), "berth", args, &[]);
    }
}

#[test]
fn env_for_each_shell_as_docker_machine_printed_it() {
    let dm = Dm::new();
    for shell in ["bash", "fish", "powershell", "cmd", "tcsh", "emacs"] {
        dm.dm(
            &format!("dm_env_{shell}"),
            &["env", "--shell", shell, "web1"],
        );
        dm.dm(
            &format!("dm_env_unset_{shell}"),
            &["env", "--shell", shell, "-u"],
        );
    }
    dm.dm_with(
        "dm_env_detected_from_shell",
        &["env", "web1"],
        &[("SHELL", "/usr/bin/fish")],
    );
    dm.dm_with(
        "dm_env_no_proxy_lowercase_kept",
        &["env", "--no-proxy", "web1"],
        &[("no_proxy", "localhost,.internal")],
    );
    dm.dm_with(
        "dm_env_no_proxy_upper",
        &["env", "--no-proxy", "web1"],
        &[("NO_PROXY", "localhost")],
    );
    dm.dm("dm_env_no_name", &["env"]);
    dm.both("env_unset_with_a_name", &["env", "-u", "web1"]);
}

#[test]
fn ls_table_templates_and_filters() {
    let dm = Dm::new();
    dm.dm("dm_ls", &["ls"]);
    dm.dm("dm_ls_quiet", &["ls", "-q"]);
    dm.both(
        "ls_template",
        &[
            "ls",
            "-f",
            "{{.Name}} {{.DriverName}} {{.URL}} {{.DockerVersion}}",
        ],
    );
    dm.both(
        "ls_table_template",
        &[
            "ls",
            "--format",
            "table {{.Name}}\\t{{.DriverName}}\\t{{.Active}}",
        ],
    );
    dm.both(
        "ls_filter_label",
        &["ls", "-q", "--filter", "label=env=PROD"],
    );
    dm.both(
        "ls_filter_driver_or",
        &[
            "ls",
            "-q",
            "--filter",
            "driver=none",
            "--filter",
            "driver=generic",
        ],
    );
    dm.both(
        "ls_filter_driver_and_name",
        &[
            "ls",
            "-q",
            "--filter",
            "driver=none",
            "--filter",
            "name=web1",
        ],
    );
    dm.dm(
        "dm_ls_filter_name_regex",
        &["ls", "-q", "--filter", "name=^w.b"],
    );
    dm.both("ls_filter_bad_key", &["ls", "--filter", "color=red"]);
    dm.both("ls_filter_bad_syntax", &["ls", "--filter", "red"]);
    dm.both("ls_bad_template", &["ls", "-f", "{{.Name"]);
    dm.both("ls_unknown_field", &["ls", "-f", "{{.Nope}}"]);
}

#[test]
fn inspect_and_the_one_fact_commands() {
    let dm = Dm::new();
    dm.dm("dm_inspect", &["inspect", "web1"]);
    dm.dm("dm_inspect_none", &["inspect", "db2"]);
    dm.both(
        "inspect_driver_name",
        &["inspect", "-f", "{{.DriverName}}", "web1"],
    );
    dm.both(
        "inspect_ip",
        &[
            "inspect",
            "--format",
            "{{.Driver.IPAddress}}:{{.Driver.SSHPort}}",
            "web1",
        ],
    );
    dm.both(
        "inspect_json",
        &[
            "inspect",
            "-f",
            "{{json .HostOptions.EngineOptions.Labels}}",
            "web1",
        ],
    );
    dm.both(
        "inspect_prettyjson",
        &["inspect", "-f", "{{prettyjson .Driver}}", "web1"],
    );
    dm.both(
        "inspect_missing_key",
        &["inspect", "-f", "{{.Driver.Nope}}", "web1"],
    );
    dm.both(
        "inspect_bad_template",
        &["inspect", "-f", "{{.Driver", "web1"],
    );
    for command in ["url", "ip", "config", "status"] {
        dm.dm(&format!("dm_{command}"), &[command, "web1"]);
    }
}

#[test]
fn versions_and_errors_in_docker_machines_words() {
    let dm = Dm::new();
    dm.dm("dm_version", &["version"]);
    dm.dm("dm_version_flag", &["-v"]);
    dm.both("version_of_unknown_machine", &["version", "nosuch"]);
    for command in [
        "env", "inspect", "ip", "url", "config", "status", "ssh", "upgrade",
    ] {
        dm.dm(&format!("dm_unknown_{command}"), &[command, "nosuch"]);
    }
    dm.dm("dm_unknown_rm", &["rm", "-y", "nosuch"]);
    dm.dm(
        "dm_unknown_regenerate_certs",
        &["regenerate-certs", "-f", "nosuch"],
    );
    dm.dm(
        "dm_create_existing",
        &["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "web1"],
    );
    dm.dm("dm_bad_flag", &["ls", "--bogus"]);
    // Each usage and argument error in docker-machine's words and with its exit status
    // (docs/docker-machine.md lists them beside berth's own).
    dm.dm("dm_bad_global_flag", &["--bogus", "ls"]);
    dm.dm("dm_not_a_command", &["frobnicate"]);
    dm.dm("dm_ip_no_name", &["ip"]);
    dm.dm("dm_env_two_names", &["env", "web1", "db2"]);
    dm.dm("dm_create_no_name", &["create", "-d", "none"]);
    dm.dm(
        "dm_create_invalid_name",
        &[
            "create",
            "-d",
            "none",
            "--url",
            "tcp://127.0.0.1:1",
            "bad!name",
        ],
    );
    dm.dm(
        "dm_create_extra_arguments",
        &[
            "create",
            "-d",
            "none",
            "--url",
            "tcp://127.0.0.1:1",
            "a",
            "b",
            "c",
        ],
    );
    dm.dm("dm_scp_one_argument", &["scp", "web1:/etc/hostname"]);
    dm.dm("dm_active_none", &["active"]);
    dm.both(
        "regenerate_certs_force_on_none",
        &["regenerate-certs", "-f", "db2"],
    );
    dm.both("upgrade_none", &["upgrade", "db2"]);
    dm.both("ssh_none", &["ssh", "db2", "uname", "-a"]);
}

#[test]
fn storage_path_flag_names_the_folder_above_machines() {
    let dm = Dm::new();
    let storage = dm.path("storage");
    let storage = storage.to_str().unwrap();
    // -s wins over the variable, and machines are under <path>/machines as in docker-machine.
    dm.dm_with(
        "dm_storage_flag",
        &["-s", storage, "ls", "-q"],
        &[("MACHINE_STORAGE_PATH", "/nonexistent")],
    );
    // berth's own flag names the machines folder itself.
    dm.snap_as(
        "dm_berth_storage_flag",
        "berth",
        &["--storage-path", &format!("{storage}/machines"), "ls", "-q"],
        &[("MACHINE_STORAGE_PATH", "/nonexistent")],
    );
}

#[test]
fn install_symlink_makes_the_docker_machine_name() {
    let dm = Dm::new();
    let target = dm.path("links");
    std::fs::create_dir_all(&target).unwrap();
    let t = target.to_str().unwrap();
    dm.snap_as(
        "compat_install_symlink",
        "berth",
        &["compat", "install-symlink", t],
        &[],
    );
    let link = target.join("docker-machine");
    assert_eq!(
        std::fs::canonicalize(&link).unwrap(),
        std::fs::canonicalize(env!("CARGO_BIN_EXE_berth")).unwrap()
    );
    let out = Command::new(&link).arg("version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("docker-machine version 0.16.2"));
    dm.snap_as(
        "compat_install_symlink_again",
        "berth",
        &["compat", "install-symlink", t],
        &[],
    );
    std::fs::remove_file(&link).unwrap();
    std::fs::write(&link, "#!/bin/sh\n").unwrap();
    dm.snap_as(
        "compat_install_symlink_refuses_a_file",
        "berth",
        &["compat", "install-symlink", t],
        &[],
    );
}
