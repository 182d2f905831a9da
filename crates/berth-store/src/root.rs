//! Where the storage folder is when `--storage-path` does not say: `$DOCKER_CONFIG/machines`,
//! else `~/.docker/machines` (docker-machine's place).

use std::path::PathBuf;

use crate::StoreError;

/// Where the default storage folder came from, for `berth inspect`-style messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootSource {
    /// `$DOCKER_CONFIG/machines`: Docker users who moved `~/.docker` expect machines to follow.
    DockerConfig,
    /// `~/.docker/machines`, where docker-machine kept them.
    Home,
}

/// The default storage root: `$DOCKER_CONFIG/machines`, else `~/.docker/machines`.
///
/// `docker_config` is passed in rather than read here so that callers (and tests) control the
/// environment. `--storage-path` and `BERTH_STORAGE_PATH` are handled by the CLI before this.
pub fn default_root(docker_config: Option<PathBuf>) -> Result<(PathBuf, RootSource), StoreError> {
    if let Some(dir) = docker_config.filter(|d| !d.as_os_str().is_empty()) {
        return Ok((dir.join("machines"), RootSource::DockerConfig));
    }
    let base = directories::BaseDirs::new().ok_or(StoreError::NoHome)?;
    Ok((
        base.home_dir().join(".docker").join("machines"),
        RootSource::Home,
    ))
}
