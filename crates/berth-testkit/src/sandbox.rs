//! The CLI tests' sandbox: a temporary store and a way to run the berth binary against it.
//! The kit cannot know where Cargo put the binary (only the binary's own package's tests get
//! `CARGO_BIN_EXE_berth`), so the caller passes it in.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use berth_names::{EnvVars, MachineFiles};

/// A storage folder in a temp dir, and a way to run berth against it.
pub struct Sandbox {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    /// The store berth is told to use (`BERTH_STORAGE_PATH`); made by berth when it needs it.
    pub root: PathBuf,
}

impl Sandbox {
    /// A sandbox running the berth binary at `bin` (`env!("CARGO_BIN_EXE_berth")`).
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        Self::with_root_name(bin, "machines")
    }

    /// A store whose path contains `name` (to test quoting of odd paths).
    pub fn with_root_name(bin: impl Into<PathBuf>, name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(name);
        Sandbox {
            _dir: dir,
            bin: bin.into(),
            root,
        }
    }

    /// The berth binary this sandbox runs.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// A command running berth on this store, with the variables that would point it
    /// elsewhere (`DOCKER_HOST`, `DOCKER_MACHINE_NAME`, proxies' exceptions) removed and colour
    /// off.
    pub fn berth(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env(EnvVars::BERTH_STORAGE_PATH, &self.root)
            .env_remove(EnvVars::DOCKER_HOST)
            .env_remove(EnvVars::DOCKER_MACHINE_NAME)
            .env_remove(EnvVars::NO_PROXY)
            .env_remove(EnvVars::NO_PROXY_LOWER)
            .env(EnvVars::NO_COLOR, "1");
        cmd
    }

    /// Runs `berth ARGS` to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.berth().args(args).output().unwrap()
    }

    /// Writes `text` as the record (`config.toml`) of machine `name`; returns its folder.
    pub fn write_record(&self, name: &str, text: &str) -> PathBuf {
        let dir = self.root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(MachineFiles::RECORD), text).unwrap();
        dir
    }

    /// Writes a machine record as a successful create would leave it (with the generic
    /// driver's data, so that `ls` asks the driver and finds the SSH port closed: port 1).
    pub fn add_machine(&self, name: &str, url: &str) -> PathBuf {
        let text = format!(
            "version = 1\nname = \"{name}\"\ndriver = \"generic\"\nstate = \"Running\"\nurl = \"{url}\"\ncreated_at = \"2026-11-23T12:00:00Z\"\n\n[ssh]\nhost = \"{host}\"\nport = 22\nuser = \"root\"\n\n[driver_data]\nip_address = \"{host}\"\nssh_user = \"root\"\nssh_port = 1\n",
            host = url.trim_start_matches("tcp://").rsplit_once(':').unwrap().0
        );
        self.write_record(name, &text)
    }
}

/// A command's stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command's stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A program the tests need; its absence fails the test with what to install.
pub fn require(program: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(EnvVars::PATH).unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| Path::new(p).is_file())
        .unwrap_or_else(|| panic!("`{program}` is needed by this test and is not installed: apt-get install {package} (scripts/test does)"))
}

/// A fake `ssh`/`scp` on PATH that writes its arguments, one a line, to $ARGS_FILE, and runs
/// nothing else: the test sees whether berth called the client at all.
pub fn fake_openssh(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in ["ssh", "scp"] {
        let path = bin.join(name);
        std::fs::write(
            &path,
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$ARGS_FILE\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}
