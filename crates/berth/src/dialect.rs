//! Which command-line dialect berth speaks, decided once from the name it was called by.
//!
//! Called as `docker-machine` (a symlink, `berth compat install-symlink`), berth answers as
//! docker-machine 0.16.2 did: its output of `env`, `ls`, `inspect`, `version`, its error
//! sentences and its exit status 1 for every error, so that scripts written for it run
//! unchanged. Called as `berth`, berth keeps its own output. `main` decides it once, from argv0,
//! and hands the value to the parser, the printer and every command (`Ctx::dialect`); the
//! sentences docker-machine printed live in `berth_compat::words`.

use std::io::Write as _;
use std::path::Path;

use berth_compat::words::{self, Sentence};

/// The docker-machine release whose behaviour the dialect follows.
pub(crate) const DOCKER_MACHINE_VERSION: &str = "0.16.2";

/// The name berth answers to in the docker-machine dialect.
pub(crate) const DOCKER_MACHINE: &str = "docker-machine";

/// The command-line language berth answers in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Berth,
    DockerMachine,
}

impl Dialect {
    /// The dialect of a program called `argv0` (a path or a bare name).
    pub(crate) fn of_argv0(argv0: &str) -> Dialect {
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

    pub(crate) fn is_docker_machine(self) -> bool {
        self == Dialect::DockerMachine
    }

    /// Ends the process with clap's message. Help and version exit 0; usage errors exit 2 as
    /// berth. As docker-machine, the usage errors a script meets (an unknown command or
    /// flag, a missing or extra name) print docker-machine's sentence and exit as it did
    /// ([`berth_compat::words::exit_code`]); other usage errors print clap's message and exit 1.
    pub(crate) fn exit_usage(self, err: clap::Error) -> ! {
        if self.is_docker_machine() {
            let words: Vec<String> = std::env::args().collect();
            if let Some(sentence) = docker_machine_usage(&err, &words) {
                if matches!(sentence, Sentence::UnknownFlag(_)) {
                    let _ = std::io::stdout().write_all(words::INCORRECT_USAGE.as_bytes());
                }
                let _ = writeln!(std::io::stderr(), "{sentence}");
                std::process::exit(words::exit_code(&sentence).into())
            }
        }
        let code = if err.use_stderr() && self.is_docker_machine() {
            1
        } else {
            err.exit_code()
        };
        let _ = err.print();
        std::process::exit(code)
    }

    /// A command's error in this dialect: berth's sentence, or docker-machine's.
    pub(crate) fn error(self, berth: impl Into<String>, docker_machine: Sentence) -> anyhow::Error {
        match self {
            Dialect::Berth => anyhow::Error::msg(berth.into()),
            Dialect::DockerMachine => docker_machine.into(),
        }
    }
}

/// docker-machine's sentence for a usage error clap found in `words` (the command line).
fn docker_machine_usage(err: &clap::Error, words: &[String]) -> Option<Sentence> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let arg = |kind| match err.get(kind) {
        Some(ContextValue::String(arg)) => Some(arg.clone()),
        _ => None,
    };
    let command = subcommand(words);
    match err.kind() {
        ErrorKind::InvalidSubcommand => Some(Sentence::NotACommand {
            command: arg(ContextKind::InvalidSubcommand)?,
            argv0: words.first().cloned().unwrap_or_default(),
        }),
        ErrorKind::UnknownArgument => {
            let arg = arg(ContextKind::InvalidArg)?;
            if arg.starts_with('-') {
                return Some(Sentence::UnknownFlag(
                    arg.split('=').next().unwrap_or_default().to_owned(),
                ));
            }
            Some(match command.as_deref() {
                Some("create") => {
                    let from = words.iter().position(|w| *w == arg).unwrap_or(words.len());
                    Sentence::ExtraArguments(
                        words[from..]
                            .iter()
                            .filter(|w| !w.starts_with('-'))
                            .cloned()
                            .collect(),
                    )
                }
                Some("scp") => Sentence::WrongNumberArguments,
                _ => Sentence::ExpectedOneMachine,
            })
        }
        ErrorKind::MissingRequiredArgument => Some(match command.as_deref() {
            Some("create") => Sentence::NoMachineName,
            Some("scp") => Sentence::WrongNumberArguments,
            _ => Sentence::NoDefault,
        }),
        _ => None,
    }
}

/// The subcommand a command line names: its first word that is neither a flag nor the value
/// of `-s`/`--storage-path`.
fn subcommand(words: &[String]) -> Option<String> {
    let mut rest = words.iter().skip(1);
    while let Some(word) = rest.next() {
        match word.as_str() {
            "-s" | "--storage-path" => {
                rest.next();
            }
            w if w.starts_with('-') => {}
            w => return Some(w.to_owned()),
        }
    }
    None
}

/// `docker-machine version` / `-v`: docker-machine's line, saying which berth answers.
pub(crate) fn docker_machine_version_line() -> String {
    format!(
        "{DOCKER_MACHINE} version {DOCKER_MACHINE_VERSION}, build berth-{}",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(line: &str) -> Option<Sentence> {
        let words: Vec<String> = line.split(' ').map(str::to_owned).collect();
        let err = crate::cli::command(Dialect::DockerMachine)
            .try_get_matches_from(&words)
            .expect_err(line);
        docker_machine_usage(&err, &words)
    }

    #[test]
    fn clap_usage_errors_become_docker_machines_sentences() {
        assert_eq!(
            usage("docker-machine frobnicate"),
            Some(Sentence::NotACommand {
                command: "frobnicate".into(),
                argv0: "docker-machine".into()
            })
        );
        assert_eq!(
            usage("docker-machine -s /x ls --bogus=1"),
            Some(Sentence::UnknownFlag("--bogus".into()))
        );
        assert_eq!(usage("docker-machine ip"), Some(Sentence::NoDefault));
        assert_eq!(
            usage("docker-machine env a b"),
            Some(Sentence::ExpectedOneMachine)
        );
        assert_eq!(
            usage("docker-machine scp a:/x"),
            Some(Sentence::WrongNumberArguments)
        );
        assert_eq!(
            usage("docker-machine create -d none"),
            Some(Sentence::NoMachineName)
        );
        assert_eq!(
            subcommand(&["dm".into(), "-s".into(), "ls".into(), "env".into()]).as_deref(),
            Some("env")
        );
    }

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
