//! The docker CLI's configuration folder (`$DOCKER_CONFIG`, else `~/.docker`) and the one key
//! of its `config.json` that berth changes: `currentContext`, as `docker context use` writes it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_names::DockerConfigFiles;
use serde_json::{Map, Value};

use crate::fs::{create_dir_all, write_atomic};
use crate::name::DEFAULT_CONTEXT;
use crate::{ContextError, ContextStore};

/// config.json's key for the current context.
const CURRENT_CONTEXT: &str = "currentContext";

/// What the docker CLI talks to, in its own order of precedence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selected {
    /// `DOCKER_HOST` is set: it wins over every context.
    Host(String),
    /// A context, from `DOCKER_CONTEXT` or config.json's `currentContext`.
    Context(String),
    /// Neither: the `default` context (the local socket).
    Default,
}

/// The docker CLI's configuration folder.
#[derive(Clone, Debug)]
pub struct DockerConfig {
    dir: PathBuf,
}

impl DockerConfig {
    /// The folder at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DockerConfig { dir: dir.into() }
    }

    /// Where the docker CLI looks: `docker_config` (the value of `DOCKER_CONFIG`, passed in so
    /// that callers control the environment), else `~/.docker`.
    pub fn locate(docker_config: Option<PathBuf>) -> Result<Self, ContextError> {
        if let Some(dir) = docker_config.filter(|d| !d.as_os_str().is_empty()) {
            return Ok(DockerConfig::new(dir));
        }
        let base = directories::BaseDirs::new().ok_or(ContextError::NoHome)?;
        Ok(DockerConfig::new(base.home_dir().join(".docker")))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The context store in it.
    pub fn contexts(&self) -> ContextStore {
        ContextStore::new(self.dir.join("contexts"))
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join(DockerConfigFiles::CONFIG)
    }

    /// config.json as a JSON object (empty when the file does not exist or is empty).
    fn read_config(&self) -> Result<Map<String, Value>, ContextError> {
        let path = self.config_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
            Err(e) => return Err(ContextError::io("read", &path, e)),
        };
        if text.trim().is_empty() {
            return Ok(Map::new());
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ContextError::Corrupt {
                path,
                message: "it is not a JSON object".into(),
            }),
            Err(e) => Err(ContextError::Corrupt {
                path,
                message: e.to_string(),
            }),
        }
    }

    /// config.json's `currentContext`, None when unset or `default`.
    pub fn current_context(&self) -> Result<Option<String>, ContextError> {
        Ok(self
            .read_config()?
            .get(CURRENT_CONTEXT)
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty() && *name != DEFAULT_CONTEXT)
            .map(str::to_owned))
    }

    /// Sets (or with None or `default`, removes) `currentContext` as `docker context use`
    /// does. Every other key of config.json (credentials, proxies, formats) is kept.
    pub fn set_current_context(&self, name: Option<&str>) -> Result<(), ContextError> {
        self.update_current_context(|_| name.map(str::to_owned))
    }

    /// Removes `currentContext` when it is `name` (a context being removed); says whether it
    /// was. The check and the write are one step under the lock, so a `berth use` of another
    /// context at the same moment is not undone.
    pub fn clear_current_context_if(&self, name: &str) -> Result<bool, ContextError> {
        let mut was = false;
        self.update_current_context(|current| {
            was = current == Some(name);
            if was {
                None
            } else {
                current.map(str::to_owned)
            }
        })?;
        Ok(was)
    }

    /// Reads config.json, sets `currentContext` to what `change` makes of the current one,
    /// and writes it back, all under a lock of the folder (`flock` on the folder itself, so no
    /// file of berth's own lands in the docker CLI's folder): two berth processes never lose
    /// each other's change. The write is the docker CLI's own (`configfile.Save`): a temporary
    /// file in the folder of the file (the target of a link, as `os.Readlink` gives it),
    /// given the old file's mode and owner (0600 when new, since it may hold credentials),
    /// then renamed over it. Nothing is written when nothing changes.
    pub fn update_current_context(
        &self,
        change: impl FnOnce(Option<&str>) -> Option<String>,
    ) -> Result<(), ContextError> {
        create_dir_all(&self.dir, 0o700)?;
        let lock =
            std::fs::File::open(&self.dir).map_err(|e| ContextError::io("open", &self.dir, e))?;
        lock.lock()
            .map_err(|e| ContextError::io("lock", &self.dir, e))?;
        let mut config = self.read_config()?;
        let current = config
            .get(CURRENT_CONTEXT)
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty() && *n != DEFAULT_CONTEXT)
            .map(str::to_owned);
        let wanted = change(current.as_deref()).filter(|n| n != DEFAULT_CONTEXT);
        if wanted == current && (wanted.is_some() || !config.contains_key(CURRENT_CONTEXT)) {
            return Ok(());
        }
        match wanted {
            Some(name) => {
                config.insert(CURRENT_CONTEXT.into(), name.into());
            }
            None => {
                config.remove(CURRENT_CONTEXT);
            }
        }
        let mut path = self.config_path();
        if path.is_symlink() {
            path = std::fs::canonicalize(&path)
                .map_err(|e| ContextError::io("follow the link", &path, e))?;
        }
        let old = std::fs::metadata(&path).ok();
        let mode = old
            .as_ref()
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o600);
        let owner = old.as_ref().map(|m| (m.uid(), m.gid()));
        let mut bytes = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut bytes, formatter);
        serde::Serialize::serialize(&config, &mut ser).map_err(|e| ContextError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if let Some(dir) = path.parent() {
            create_dir_all(dir, 0o700)?;
        }
        write_atomic(&path, &bytes, mode, owner)
    }

    /// What the docker CLI would talk to, given the values of `DOCKER_HOST` and
    /// `DOCKER_CONTEXT` (empty counts as unset).
    pub fn selected(
        &self,
        docker_host: Option<&str>,
        docker_context: Option<&str>,
    ) -> Result<Selected, ContextError> {
        if let Some(host) = docker_host.filter(|h| !h.is_empty()) {
            return Ok(Selected::Host(host.to_owned()));
        }
        if let Some(name) = docker_context.filter(|c| !c.is_empty()) {
            return Ok(if name == DEFAULT_CONTEXT {
                Selected::Default
            } else {
                Selected::Context(name.to_owned())
            });
        }
        Ok(match self.current_context()? {
            Some(name) => Selected::Context(name),
            None => Selected::Default,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn use_keeps_every_other_key_and_unset_removes_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let config = DockerConfig::new(dir.path());
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"r.example":{"auth":"c2VjcmV0"}},"psFormat":"x","proxies":{"default":{"httpProxy":"p"}}}"#,
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        config.set_current_context(Some("web1")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["currentContext"], "web1");
        assert_eq!(value["auths"]["r.example"]["auth"], "c2VjcmV0");
        assert_eq!(value["psFormat"], "x");
        assert_eq!(value["proxies"]["default"]["httpProxy"], "p");
        assert!(
            text.contains("\n\t\"auths\""),
            "tab-indented as docker writes: {text}"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(config.current_context().unwrap().as_deref(), Some("web1"));

        config.set_current_context(None).unwrap();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(value.get("currentContext").is_none());
        assert_eq!(value["psFormat"], "x");
        assert_eq!(config.current_context().unwrap(), None);
    }

    /// Regression: config.json was read, changed and written back without a lock, so two
    /// berth processes could each undo the other's change.
    #[test]
    fn concurrent_updates_under_the_lock_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = DockerConfig::new(dir.path());
        std::fs::write(dir.path().join("config.json"), r#"{"auths":{}}"#).unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..25 {
                        config
                            .update_current_context(|current| {
                                let n: u32 = current.and_then(|c| c.parse().ok()).unwrap_or(0);
                                Some((n + 1).to_string())
                            })
                            .unwrap();
                    }
                });
            }
        });
        assert_eq!(config.current_context().unwrap().as_deref(), Some("200"));
        let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
        assert!(text.contains("auths"), "{text}");
    }

    /// As the docker CLI's `copyFilePermissions`: a `sudo berth use` keeps the user's file the
    /// user's.
    #[test]
    fn the_file_keeps_its_owner_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let root = std::fs::metadata(dir.path()).unwrap().uid() == 0;
        if root {
            std::os::unix::fs::chown(&path, Some(4242), Some(4242)).unwrap();
        }
        let config = DockerConfig::new(dir.path());
        config.set_current_context(Some("web1")).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        if root {
            assert_eq!((meta.uid(), meta.gid()), (4242, 4242));
        }
        assert!(config.clear_current_context_if("web1").unwrap());
        assert!(!config.clear_current_context_if("web1").unwrap());
    }

    #[test]
    fn a_new_config_json_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let config = DockerConfig::new(dir.path().join("docker"));
        config.set_current_context(Some("web1")).unwrap();
        let path = dir.path().join("docker/config.json");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_symlinked_config_json_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles-config.json");
        std::fs::write(&real, "{}").unwrap();
        let docker = dir.path().join("docker");
        std::fs::create_dir(&docker).unwrap();
        std::os::unix::fs::symlink(&real, docker.join("config.json")).unwrap();
        DockerConfig::new(&docker)
            .set_current_context(Some("web1"))
            .unwrap();
        assert!(docker.join("config.json").is_symlink());
        assert!(std::fs::read_to_string(&real).unwrap().contains("web1"));
    }

    #[test]
    fn a_config_json_that_is_not_json_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{oops").unwrap();
        let err = DockerConfig::new(dir.path())
            .set_current_context(Some("web1"))
            .unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{oops");
    }

    #[test]
    fn docker_host_then_docker_context_then_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = DockerConfig::new(dir.path());
        assert_eq!(config.selected(None, None).unwrap(), Selected::Default);
        config.set_current_context(Some("web1")).unwrap();
        assert_eq!(
            config.selected(None, None).unwrap(),
            Selected::Context("web1".into())
        );
        assert_eq!(
            config.selected(Some(""), Some("db1")).unwrap(),
            Selected::Context("db1".into())
        );
        assert_eq!(
            config.selected(None, Some("default")).unwrap(),
            Selected::Default
        );
        assert_eq!(
            config.selected(Some("tcp://h:2376"), Some("db1")).unwrap(),
            Selected::Host("tcp://h:2376".into())
        );
    }
}
