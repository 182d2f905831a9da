//! What a command needs from the world: the store, and the environment variables it reads.
//!
//! Commands read variables through [`ProcessEnv`] instead of `std::env`, so the one place that
//! touches the real process environment is here.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context as _;
use berth_names::EnvVars;
use berth_store::Store;

use crate::dialect::Dialect;

/// A snapshot of the environment variables berth reads.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProcessEnv {
    vars: HashMap<String, String>,
    /// The command line as typed (argv0 first), for hints that repeat it.
    args: Vec<String>,
}

impl ProcessEnv {
    pub(crate) fn from_process() -> Self {
        ProcessEnv {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            args: std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        }
    }

    /// An environment made of the given pairs (tests).
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        ProcessEnv {
            vars: pairs.into_iter().collect(),
            args: Vec::new(),
        }
    }

    /// The command line as typed, argv0 first.
    pub(crate) fn args(&self) -> &[String] {
        &self.args
    }

    /// A variable's value; empty counts as unset, as shells treat it.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Opens the store at [`store_root`].
pub(crate) fn open_store(
    storage_path: Option<PathBuf>,
    dialect: Dialect,
    env: &ProcessEnv,
) -> anyhow::Result<Store> {
    Ok(Store::new(store_root(storage_path, dialect, env)?))
}

/// The folder that holds the machine folders.
///
/// berth's `--storage-path` and `BERTH_STORAGE_PATH` name that folder itself. docker-machine's
/// `-s/--storage-path` and `MACHINE_STORAGE_PATH` name the folder *above* it (machines live in
/// `<path>/machines/<name>`), so in its dialect the flag gets `machines` appended, and so does
/// `MACHINE_STORAGE_PATH` under either name: a script that exports it finds the machines it
/// made through `docker-machine` when it calls `berth` too. The flag wins over the variables;
/// the variable of the dialect in use wins over the other one.
pub(crate) fn store_root(
    storage_path: Option<PathBuf>,
    dialect: Dialect,
    env: &ProcessEnv,
) -> anyhow::Result<PathBuf> {
    let berth_var = env.get(EnvVars::BERTH_STORAGE_PATH).map(PathBuf::from);
    let machine_var = env
        .get(EnvVars::MACHINE_STORAGE_PATH)
        .map(|p| PathBuf::from(p).join("machines"));
    let chosen = match dialect {
        Dialect::Berth => storage_path.or(berth_var).or(machine_var),
        Dialect::DockerMachine => storage_path
            .map(|p| p.join("machines"))
            .or(machine_var)
            .or(berth_var),
    };
    match chosen {
        Some(path) => Ok(path),
        None => Ok(
            berth_store::default_root(env.get(EnvVars::DOCKER_CONFIG).map(PathBuf::from))
                .context("cannot find the storage folder")?
                .0,
        ),
    }
}

/// Under root, refuses a store (root, `plugins/`, `.locks/`) or a docker CLI configuration
/// folder that another user can change: through it that user could have berth run a plugin or
/// delete files as root ([`berth_store::check_private`]).
pub(crate) fn check_trusted_folders(
    store_root: &std::path::Path,
    docker_config: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let euid = berth_store::effective_uid();
    for (path, what) in berth_store::guarded_folders(store_root) {
        berth_store::check_private(&path, what, euid)?;
    }
    if let Some(dir) = docker_config {
        berth_store::check_private(dir, "the docker CLI's configuration folder", euid)?;
    }
    Ok(())
}
