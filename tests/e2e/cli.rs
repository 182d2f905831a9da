//! Running the real `berth` binary (built by `cargo build --workspace --bins`, as scripts/test
//! does) against a storage folder of the test's own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use berth_names::EnvVars;

/// The berth binary of this workspace's build.
pub(crate) fn berth_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug/berth");
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build --workspace --bins` (scripts/test does)",
        bin.display()
    );
    bin
}

/// A storage folder and the berth commands that use it, with a docker CLI folder
/// (DOCKER_CONFIG) of its own, so that no test touches the real ~/.docker/contexts.
pub(crate) struct Berth {
    pub store: tempfile::TempDir,
    pub docker_config: tempfile::TempDir,
}

impl Berth {
    pub(crate) fn new() -> Self {
        Berth {
            store: tempfile::tempdir().expect("a temporary storage folder"),
            docker_config: tempfile::tempdir().expect("a temporary DOCKER_CONFIG"),
        }
    }

    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = Command::new(berth_bin());
        cmd.env(EnvVars::BERTH_STORAGE_PATH, self.store.path())
            .env(EnvVars::DOCKER_CONFIG, self.docker_config.path())
            .env_remove(EnvVars::DOCKER_CONTEXT)
            .env("NO_COLOR", "1")
            .env_remove(EnvVars::DOCKER_HOST)
            .env_remove("SSH_AUTH_SOCK");
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd().args(args).output().expect("running berth");
        eprintln!(
            "$ berth {}\n{}{}-> {:?}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            out.status.code()
        );
        out
    }

    /// Runs berth and fails the test with its output unless it succeeds; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `berth create -d generic` for a test host, logging in as `user` with the fleet's key.
    pub(crate) fn create_generic(
        &self,
        host: &berth_e2e::TestHost,
        user: &str,
        name: &str,
        extra: &[&str],
    ) -> Output {
        let address = host.address().to_string();
        let key = host.key_path().to_string_lossy().into_owned();
        let mut args = vec![
            "create",
            "-d",
            "generic",
            "--generic-ip-address",
            &address,
            "--generic-ssh-key",
            &key,
            "--generic-ssh-user",
            user,
        ];
        args.extend_from_slice(extra);
        args.push(name);
        self.run(&args)
    }

    pub(crate) fn machine_dir(&self, name: &str) -> PathBuf {
        self.store.path().join(name)
    }

    /// The docker CLI pointed at `name` the way users do it: by evaluating `berth env` in a shell.
    pub(crate) fn docker(&self, name: &str, docker_args: &str) -> Output {
        let script = format!(
            "eval \"$('{}' env --shell bash {name})\" && docker {docker_args}",
            berth_bin().display()
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .env(EnvVars::BERTH_STORAGE_PATH, self.store.path())
            .env(EnvVars::DOCKER_CONFIG, self.docker_config.path())
            .env_remove(EnvVars::DOCKER_CONTEXT)
            .env_remove(EnvVars::DOCKER_HOST)
            .output()
            .expect("running bash");
        eprintln!(
            "$ docker {docker_args}\n{}{}-> {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            out.status.code()
        );
        out
    }

    /// The real docker CLI with this test's DOCKER_CONFIG and nothing else pointing it anywhere
    /// (no DOCKER_HOST, no DOCKER_CONTEXT): what its contexts say decides.
    pub(crate) fn docker_cli(&self, args: &[&str]) -> Output {
        let out = Command::new("docker")
            .args(args)
            .env(EnvVars::DOCKER_CONFIG, self.docker_config.path())
            .env_remove(EnvVars::DOCKER_HOST)
            .env_remove(EnvVars::DOCKER_CONTEXT)
            .env_remove(EnvVars::DOCKER_TLS_VERIFY)
            .env_remove(EnvVars::DOCKER_CERT_PATH)
            .output()
            .expect("running the docker CLI");
        eprintln!(
            "$ docker {}\n{}{}-> {:?}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            out.status.code()
        );
        out
    }

    /// [`Berth::docker_cli`] that must succeed; returns stdout.
    pub(crate) fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker_cli(args);
        assert!(
            out.status.success(),
            "docker {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
