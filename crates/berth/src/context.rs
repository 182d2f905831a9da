//! What a command needs from the world: the store, and the environment variables it reads.
//!
//! Commands read variables through [`ProcessEnv`] instead of `std::env`, so the one place that
//! touches the real process environment is here.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context as _;
use berth_store::Store;

/// A snapshot of the environment variables berth reads.
#[derive(Clone, Debug, Default)]
pub struct ProcessEnv {
    vars: HashMap<String, String>,
}

impl ProcessEnv {
    pub fn from_process() -> Self {
        ProcessEnv {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment made of the given pairs (tests).
    #[cfg(test)]
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        ProcessEnv {
            vars: pairs.into_iter().collect(),
        }
    }

    /// A variable's value; empty counts as unset, as shells treat it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Opens the store: `--storage-path`/`BERTH_STORAGE_PATH` (clap folds the two), else the default.
pub fn open_store(storage_path: Option<PathBuf>, env: &ProcessEnv) -> anyhow::Result<Store> {
    let root = match storage_path {
        Some(path) => path,
        None => {
            berth_store::default_root(env.get("DOCKER_CONFIG").map(PathBuf::from))
                .context("cannot find the storage folder")?
                .0
        }
    };
    Ok(Store::new(root))
}
