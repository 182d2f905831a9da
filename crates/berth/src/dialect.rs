//! Which command-line dialect berth speaks, decided once from the name it was called by.
//!
//! Called as `docker-machine` (a symlink, `berth compat install-symlink`), berth answers as
//! docker-machine 0.16.2 did: its output of `env`, `ls`, `inspect`, `version`, its error
//! sentences and its exit status 1 for every error, so that scripts written for it run
//! unchanged. Called as `berth`, berth keeps its own output. The dialect is a fact of the
//! process (its argv0), so it is kept in one place rather than threaded through every call.

use std::path::Path;
use std::sync::OnceLock;

/// The docker-machine release whose behaviour the dialect follows.
pub const DOCKER_MACHINE_VERSION: &str = "0.16.2";

/// The name berth answers to in the docker-machine dialect.
pub const DOCKER_MACHINE: &str = "docker-machine";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Berth,
    DockerMachine,
}

static CURRENT: OnceLock<Dialect> = OnceLock::new();

impl Dialect {
    /// The dialect of a program called `argv0` (a path or a bare name).
    pub fn of_argv0(argv0: &str) -> Dialect {
        let name = Path::new(argv0)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name.strip_suffix(".exe").unwrap_or(&name);
        if stem == DOCKER_MACHINE {
            Dialect::DockerMachine
        } else {
            Dialect::Berth
        }
    }

    pub fn is_docker_machine(self) -> bool {
        self == Dialect::DockerMachine
    }
}

/// The dialect of this process, from its argv0; decided on first use.
pub fn current() -> Dialect {
    *CURRENT.get_or_init(|| {
        Dialect::of_argv0(
            &std::env::args_os()
                .next()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    })
}

/// `docker-machine version` / `-v`: docker-machine's line, saying which berth answers.
pub fn docker_machine_version_line() -> String {
    format!(
        "{DOCKER_MACHINE} version {DOCKER_MACHINE_VERSION}, build berth-{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Ends the process with clap's message. Help and version exit 0; usage errors exit 2 as
/// berth, and 1 as docker-machine, whose every failure exits 1.
pub fn exit_usage(err: clap::Error) -> ! {
    let code = if err.use_stderr() && current().is_docker_machine() {
        1
    } else {
        err.exit_code()
    };
    let _ = err.print();
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_decides_not_the_folder() {
        assert_eq!(
            Dialect::of_argv0("/usr/local/bin/docker-machine"),
            Dialect::DockerMachine
        );
        assert_eq!(Dialect::of_argv0("docker-machine"), Dialect::DockerMachine);
        assert_eq!(
            Dialect::of_argv0("C:\\bin\\docker-machine.exe"),
            Dialect::Berth,
            "a Windows path is one file name on Unix"
        );
        assert_eq!(
            Dialect::of_argv0("docker-machine.exe"),
            Dialect::DockerMachine
        );
        assert_eq!(Dialect::of_argv0("/docker-machine/berth"), Dialect::Berth);
        assert_eq!(Dialect::of_argv0("berth"), Dialect::Berth);
        assert_eq!(Dialect::of_argv0(""), Dialect::Berth);
    }
}
