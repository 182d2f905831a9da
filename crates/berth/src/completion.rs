//! Tab completion for bash, zsh, fish, elvish and PowerShell, with the names that live in the
//! store: machine names wherever a command takes one, driver names after `create -d`, `NAME:`
//! for `scp` and `mount`.
//!
//! docker-machine's bash completion asked `docker-machine ls` for the names on every Tab. berth
//! does the same through clap_complete's dynamic engine: `berth completion SHELL` prints a small
//! script that, on Tab, runs `berth` again with [`EnvVars::BERTH_COMPLETE`] set and the words typed so far;
//! berth then answers from the clap definitions (subcommands, flags, value lists) plus the
//! store, read here without a lock, a network call or a runtime. The scripts never need
//! regenerating when machines come and go, and they follow berth's flags as berth changes
//! (generating them at each shell start, `source <(berth completion bash)`, keeps the script and
//! the binary of one version, which clap_complete asks for).

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use berth_names::{EnvVars, MachineFiles};
use clap::Command;
use clap_complete::engine::{
    ArgValueCandidates, ArgValueCompleter, CompletionCandidate, ValueCompleter as _,
};
use clap_complete::env::{EnvCompleter, Shells};
use clap_complete::{PathCompleter, Shell};

use crate::context::ProcessEnv;
use crate::dialect::Dialect;

/// The states `ls --filter state=` takes, as docker-machine's bash completion offered them.
const STATES: [&str; 7] = [
    "Error", "Paused", "Running", "Saved", "Starting", "Stopped", "Stopping",
];

/// Answers a completion request when the process was started by a completion script
/// ([`EnvVars::BERTH_COMPLETE`] set to a shell's name): prints the candidates and says how to exit.
/// `None` for every ordinary run.
pub(crate) fn respond(env: &ProcessEnv, dialect: Dialect) -> Option<ExitCode> {
    let shell = env.get(EnvVars::BERTH_COMPLETE).filter(|s| *s != "0")?;
    let shells = Shells::builtins();
    let Some(completer) = shells.completer(shell) else {
        // Nothing useful can be printed into the middle of a completion; the exit status
        // tells the script to offer nothing.
        return Some(ExitCode::FAILURE);
    };
    // The scripts call `berth -- WORDS…`: what follows the first `--` is the line typed.
    let words: Vec<std::ffi::OsString> = std::env::args_os()
        .skip_while(|a| a != "--")
        .skip(1)
        .collect();
    if words.is_empty() {
        return Some(ExitCode::FAILURE);
    }
    let typed: Vec<String> = words
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let root = store_root(&typed, env, dialect);
    let mut command = command(root, dialect);
    let current_dir = std::env::current_dir().ok();
    let mut out = Vec::new();
    let written = if shell == "bash" {
        bash_complete(&mut command, typed, current_dir.as_deref(), &mut out)
    } else {
        completer.write_complete(&mut command, words, current_dir.as_deref(), &mut out)
    };
    if written.is_err() {
        return Some(ExitCode::FAILURE);
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&out);
    let _ = stdout.flush();
    Some(ExitCode::SUCCESS)
}

/// bash's answer. readline splits words at `:` and `=` as well as at spaces
/// (COMP_WORDBREAKS), so `mount web1:/srv /mnt` arrives as `web1` `:` `/srv` `/mnt` and
/// `--filter state=Ru` as `state` `=` `Ru`; clap's engine would count them as separate
/// arguments. The words are joined back before completing, and each candidate loses what
/// precedes the last break in its word, since readline replaces only the part after it (what
/// bash-completion's `__ltrim_colon_completions` does for other commands).
fn bash_complete(
    command: &mut Command,
    words: Vec<String>,
    current_dir: Option<&Path>,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let index: usize = std::env::var("_CLAP_COMPLETE_INDEX")
        .ok()
        .and_then(|i| i.parse().ok())
        .unwrap_or_default();
    let (words, index, strip) = join_broken_words(&words, index);
    let found = clap_complete::engine::complete(
        command,
        words.into_iter().map(Into::into).collect(),
        index,
        current_dir,
    )?;
    let ifs = std::env::var("_CLAP_IFS").unwrap_or_else(|_| "\n".to_owned());
    let values: Vec<String> = found
        .iter()
        .map(|c| c.get_value().to_string_lossy().into_owned())
        .filter_map(|v| v.strip_prefix(strip.as_str()).map(str::to_owned))
        .collect();
    out.extend_from_slice(values.join(&ifs).as_bytes());
    Ok(())
}

/// readline's words with every `:` and `=` glued back to its neighbours (never to the command
/// name itself); returns the joined words, the index of the word being completed among them,
/// and the part of that word before the word readline is completing.
fn join_broken_words(words: &[String], index: usize) -> (Vec<String>, usize, String) {
    let mut joined: Vec<String> = Vec::new();
    let mut at = 0;
    let mut strip = String::new();
    let mut glue_next = false;
    for (i, word) in words.iter().enumerate() {
        let is_break = word == ":" || word == "=";
        let glue = (is_break || glue_next) && joined.len() > 1;
        if glue && let Some(last) = joined.last_mut() {
            if i == index {
                strip = last.clone();
            }
            last.push_str(word);
        } else {
            joined.push(word.clone());
        }
        glue_next = is_break && joined.len() > 1;
        if i == index {
            at = joined.len() - 1;
            if !glue {
                strip.clear();
            }
        }
        if i >= index {
            break;
        }
    }
    if index >= words.len() {
        at = joined.len();
    }
    (joined, at, strip)
}

/// The script that registers completion of `bin` (the command as the user calls it) in `shell`;
/// on Tab it runs `completer` (this berth, as it was started) to ask for candidates.
pub(crate) fn registration(
    shell: Shell,
    bin: &str,
    completer: &str,
    dialect: Dialect,
) -> std::io::Result<String> {
    let adapter: &dyn EnvCompleter = match shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::Elvish => &clap_complete::env::Elvish,
        Shell::PowerShell => &clap_complete::env::Powershell,
        // clap_complete's `Shell` is non-exhaustive; a shell added there gets its static script.
        _ => {
            let mut out = Vec::new();
            let mut command = crate::driver_flags::completion_command(dialect);
            clap_complete::generate(shell, &mut command, bin, &mut out);
            return Ok(String::from_utf8_lossy(&out).into_owned());
        }
    };
    let mut out = Vec::new();
    adapter.write_registration(EnvVars::BERTH_COMPLETE, bin, bin, completer, &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// How the scripts should start this berth again: the name it was called by when PATH found it,
/// else its path made absolute — without resolving links, so that a `docker-machine` symlink
/// still completes in docker-machine's dialect.
pub(crate) fn completer_path(argv0: &str) -> String {
    let path = Path::new(argv0);
    if !argv0.contains('/') || path.is_absolute() {
        return argv0.to_owned();
    }
    std::env::current_dir()
        .map(|dir| dir.join(path).to_string_lossy().into_owned())
        .unwrap_or_else(|_| argv0.to_owned())
}

/// The storage folder the typed words name (`-s`/`--storage-path`), else the one the
/// environment names; `None` when there is none (no home folder): then no names are offered.
fn store_root(words: &[String], env: &ProcessEnv, dialect: Dialect) -> Option<PathBuf> {
    let flag = words.iter().enumerate().find_map(|(i, word)| {
        if word == "--storage-path" || word == "-s" {
            words.get(i + 1).cloned()
        } else {
            word.strip_prefix("--storage-path=").map(str::to_owned)
        }
    });
    crate::context::store_root(flag.map(PathBuf::from), dialect, env).ok()
}

/// The command line with a completer on every argument that takes a machine or driver name.
fn command(root: Option<PathBuf>, dialect: Dialect) -> Command {
    let root = Arc::new(root);
    attach(crate::driver_flags::completion_command(dialect), "", &root)
}

/// Adds the completers to `command` (called `name` under its parent) and its subcommands.
fn attach(command: Command, name: &str, root: &Arc<Option<PathBuf>>) -> Command {
    // `mut_args` keeps the arguments in their order (`mut_arg` would move the one it changes
    // to the end, after ssh's trailing command words).
    let mut command = command.mut_args(|arg| match kind_of(name, arg.get_id().as_str()) {
        Some(kind) => with_completer(arg, kind, root.clone()),
        None => arg,
    });
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for sub in subcommands {
        let root = root.clone();
        command = command.mut_subcommand(&sub, |s| {
            let own = s.get_name().to_owned();
            attach(s, &own, &root)
        });
    }
    command
}

/// `arg` with the completer for its kind of values.
fn with_completer(arg: clap::Arg, kind: Kind, root: Arc<Option<PathBuf>>) -> clap::Arg {
    match kind {
        Kind::Machine => arg.add(ArgValueCandidates::new(move || {
            candidates(machine_names(root.as_deref()))
        })),
        Kind::MachineColon => arg.add(ArgValueCandidates::new(move || {
            candidates(
                machine_names(root.as_deref())
                    .into_iter()
                    .map(|n| format!("{n}:")),
            )
        })),
        Kind::MachineOrPath => arg.add(ArgValueCompleter::new(move |current: &OsStr| {
            let mut found = PathCompleter::any().complete(current);
            let typed = current.to_string_lossy();
            found.extend(
                machine_names(root.as_deref())
                    .into_iter()
                    .map(|n| format!("{n}:"))
                    .filter(|c| c.starts_with(&*typed))
                    .map(CompletionCandidate::new),
            );
            found
        })),
        Kind::Driver => arg.add(ArgValueCandidates::new(move || {
            candidates(driver_names(root.as_deref()))
        })),
        Kind::Dir => arg.add(ArgValueCompleter::new(PathCompleter::dir())),
        Kind::Filter => arg.add(ArgValueCompleter::new(move |current: &OsStr| {
            filter_candidates(&current.to_string_lossy(), root.as_deref())
        })),
    }
}

/// What an argument's values are, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A machine of the store.
    Machine,
    /// `NAME:` of a machine, then a path on it (`mount`).
    MachineColon,
    /// A local path or `NAME:path` (`scp`).
    MachineOrPath,
    /// A driver's name.
    Driver,
    /// A local folder.
    Dir,
    /// `ls --filter KEY=VALUE`.
    Filter,
}

/// The kind of argument `id` of subcommand `command`; `None` where names from the store would
/// be wrong (create's and import's names are new to the store, audit takes addresses).
fn kind_of(command: &str, id: &str) -> Option<Kind> {
    match (command, id) {
        ("create", "driver") => Some(Kind::Driver),
        ("create", "swarm_join") => Some(Kind::Machine),
        ("create" | "import" | "audit", _) => None,
        ("scp", "source" | "destination") => Some(Kind::MachineOrPath),
        ("mount", "source") => Some(Kind::MachineColon),
        ("mount" | "man" | "install-symlink", "dir") => Some(Kind::Dir),
        ("ls", "filter") => Some(Kind::Filter),
        (_, "name" | "names" | "manager") if !command.is_empty() => Some(Kind::Machine),
        _ => None,
    }
}

fn candidates(values: impl IntoIterator<Item = String>) -> Vec<CompletionCandidate> {
    values.into_iter().map(CompletionCandidate::new).collect()
}

/// The names of the machines in the store: folders whose name is a valid machine name (which
/// leaves out the store's own `plugins/`, `.locks/` and removals in progress) and that hold a
/// record. Read only: a Tab changes nothing, waits for no lock and follows no link.
fn machine_names(root: Option<&Path>) -> Vec<String> {
    let Some(entries) = root.and_then(|r| std::fs::read_dir(r).ok()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            std::fs::symlink_metadata(e.path().join(MachineFiles::RECORD))
                .is_ok_and(|m| m.is_file())
        })
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| berth_store::validate_name(n).is_ok())
        .collect();
    names.sort();
    names
}

/// The built-in drivers and every plugin found where `create -d` looks for them.
fn driver_names(root: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = berth_driver::builtin::BUILTIN_NAMES
        .iter()
        .map(|n| (*n).to_owned())
        .collect();
    if let Some(root) = root {
        let search = berth_driver::PluginSearch::from_env(root);
        for (name, _) in search.list() {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// `ls --filter` values: the keys first, then after `driver=`, `name=` or `state=` its values.
fn filter_candidates(current: &str, root: Option<&Path>) -> Vec<CompletionCandidate> {
    let values: Vec<String> = match current.split_once('=') {
        None => ["driver=", "label=", "name=", "state="]
            .into_iter()
            .map(str::to_owned)
            .collect(),
        Some(("driver", _)) => prefixed("driver=", driver_names(root)),
        Some(("name", _)) => prefixed("name=", machine_names(root)),
        Some(("state", _)) => prefixed("state=", STATES.iter().map(|s| (*s).to_owned())),
        Some(_) => Vec::new(),
    };
    candidates(values.into_iter().filter(|v| v.starts_with(current)))
}

fn prefixed(prefix: &str, values: impl IntoIterator<Item = String>) -> Vec<String> {
    values.into_iter().map(|v| format!("{prefix}{v}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every argument called `name`, `names` or `manager` outside create, import and audit is a
    /// machine of the store: a new subcommand that takes machines completes them without a
    /// change here, and one whose argument is called otherwise shows up in this list.
    #[test]
    fn every_machine_argument_completes_machine_names() {
        fn walk(command: &Command, name: &str, found: &mut Vec<(String, String, Option<Kind>)>) {
            for arg in command.get_positionals() {
                found.push((
                    name.to_owned(),
                    arg.get_id().to_string(),
                    kind_of(name, arg.get_id().as_str()),
                ));
            }
            for sub in command.get_subcommands() {
                walk(sub, sub.get_name(), found);
            }
        }
        let mut found = Vec::new();
        walk(
            &crate::cli::command(crate::dialect::Dialect::Berth),
            "",
            &mut found,
        );
        let uncompleted: Vec<_> = found
            .iter()
            .filter(|(_, _, kind)| kind.is_none())
            .map(|(c, id, _)| format!("{c} {id}"))
            .collect();
        // What is left without candidates from the store, and why: new names, docker-machine's
        // names, addresses, a command line for the remote side, a shell name (clap lists
        // those itself).
        assert_eq!(
            uncompleted,
            [
                "create names",
                "ssh command",
                "audit addresses",
                "import names",
                "completion shell"
            ],
            "{found:?}"
        );
    }

    #[test]
    fn machine_names_are_folders_with_a_record_and_valid_names() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["web1", "db", "plugins", ".locks", "half", "Bad Name"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        for name in ["web1", "db", "Bad Name"] {
            std::fs::write(dir.path().join(name).join("config.toml"), "").unwrap();
        }
        std::os::unix::fs::symlink(dir.path().join("web1"), dir.path().join("link")).unwrap();
        assert_eq!(machine_names(Some(dir.path())), ["db", "web1"]);
        assert!(machine_names(Some(&dir.path().join("missing"))).is_empty());
        assert!(machine_names(None).is_empty());
    }

    #[test]
    fn ls_filters_complete_keys_then_values() {
        let values = |current: &str| -> Vec<String> {
            filter_candidates(current, None)
                .iter()
                .map(|c| c.get_value().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(values(""), ["driver=", "label=", "name=", "state="]);
        assert_eq!(values("st"), ["state="]);
        assert_eq!(
            values("state=St"),
            ["state=Starting", "state=Stopped", "state=Stopping"]
        );
        assert_eq!(values("driver="), ["driver=generic", "driver=none"]);
        assert!(values("label=x").is_empty());
    }

    #[test]
    fn words_that_readline_broke_at_colons_and_equals_are_joined() {
        let w = |line: &str| -> Vec<String> { line.split(' ').map(str::to_owned).collect() };
        assert_eq!(
            join_broken_words(&w("berth mount web1 : /srv /mn"), 5),
            (w("berth mount web1:/srv /mn"), 3, String::new())
        );
        assert_eq!(
            join_broken_words(&w("berth ls --filter state = Ru"), 5),
            (w("berth ls --filter state=Ru"), 3, "state=".to_owned())
        );
        assert_eq!(
            join_broken_words(&w("berth ls --filter state ="), 4),
            (w("berth ls --filter state="), 3, "state".to_owned())
        );
        assert_eq!(
            join_broken_words(&w("berth ssh we"), 2),
            (w("berth ssh we"), 2, String::new())
        );
    }

    #[test]
    fn the_completer_is_found_again_from_another_folder() {
        assert_eq!(completer_path("berth"), "berth");
        assert_eq!(completer_path("/usr/bin/berth"), "/usr/bin/berth");
        let relative = completer_path("./target/debug/berth");
        assert!(Path::new(&relative).is_absolute(), "{relative}");
        assert!(relative.ends_with("target/debug/berth"), "{relative}");
    }
}
