//! The context store: `contexts/meta/<id>/meta.json` and `contexts/tls/<id>/docker/{ca,cert,key}.pem`,
//! where `<id>` is the hex SHA-256 of the context's name (docker/cli `cli/context/store`).

use std::path::{Path, PathBuf};

use berth_names::DockerTlsFiles;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::fs::{create_dir_all, write_atomic};
use crate::{ContextError, validate_name};

/// The metadata key that names who made a context: berth writes the machine's folder there.
/// The docker CLI keeps unknown metadata keys (`docker context update` leaves them), and shows
/// nothing of them.
pub const OWNER_KEY: &str = "berth.machine-folder";

/// Modes as the docker CLI makes them: metadata is world-readable, TLS material is not.
const META_DIR_MODE: u32 = 0o755;
const META_FILE_MODE: u32 = 0o644;
const TLS_DIR_MODE: u32 = 0o700;
const TLS_FILE_MODE: u32 = 0o600;

/// The folder name of a context: the hex SHA-256 of its name.
pub fn context_id(name: &str) -> String {
    format!("{:x}", Sha256::digest(name.as_bytes()))
}

/// The TLS material of a context's docker endpoint (PEM bytes).
#[derive(Clone, Copy, Debug)]
pub struct TlsFiles<'a> {
    /// The CA certificate the docker CLI checks the engine's certificate against.
    pub ca: &'a [u8],
    /// The client certificate the docker CLI presents to the engine.
    pub cert: &'a [u8],
    /// The client certificate's private key (written 0600).
    pub key: &'a [u8],
}

/// A context to write: a docker endpoint over mutual TLS.
#[derive(Clone, Copy, Debug)]
pub struct ContextSpec<'a> {
    /// The context's name, as `docker context use` takes it.
    pub name: &'a str,
    /// What `docker context ls` shows beside the name.
    pub description: &'a str,
    /// `tcp://host:port`.
    pub host: &'a str,
    /// The certificates the docker endpoint uses.
    pub tls: TlsFiles<'a>,
    /// Written under [`OWNER_KEY`].
    pub owner: &'a str,
}

/// A context as found in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredContext {
    /// The context's name, from its meta.json (its folder's name is only a hash of it).
    pub name: String,
    /// What `docker context ls` shows beside the name, if the context has one.
    pub description: Option<String>,
    /// The docker endpoint's host.
    pub host: Option<String>,
    /// The value of [`OWNER_KEY`], when the context has one.
    pub owner: Option<String>,
}

/// meta.json. Field order and names as the docker CLI's `store.Metadata`; `Metadata` is a map
/// (Go's encoder sorts map keys, as serde_json's map does).
#[derive(Debug, Serialize, Deserialize)]
struct MetaFile {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Metadata", default)]
    metadata: Map<String, Value>,
    #[serde(rename = "Endpoints", default)]
    endpoints: Map<String, Value>,
}

/// The docker endpoint, as the docker CLI's `docker.EndpointMeta`.
#[derive(Debug, Serialize)]
struct DockerEndpoint<'a> {
    #[serde(rename = "Host")]
    host: &'a str,
    #[serde(rename = "SkipTLSVerify")]
    skip_tls_verify: bool,
}

/// The docker CLI's context store under one `contexts` folder.
#[derive(Clone, Debug)]
pub struct ContextStore {
    root: PathBuf,
}

impl ContextStore {
    /// The store at `root` (normally `$DOCKER_CONFIG/contexts`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ContextStore { root: root.into() }
    }

    /// The `contexts` folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn meta_dir(&self, name: &str) -> PathBuf {
        self.root.join("meta").join(context_id(name))
    }

    fn tls_dir(&self, name: &str) -> PathBuf {
        self.root.join("tls").join(context_id(name))
    }

    /// The context `name`, or None when the store has none of that name.
    pub fn get(&self, name: &str) -> Result<Option<StoredContext>, ContextError> {
        let path = self.meta_dir(name).join("meta.json");
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ContextError::io("read", &path, e)),
        };
        let meta: MetaFile = serde_json::from_slice(&bytes).map_err(|e| ContextError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        Ok(Some(StoredContext {
            description: text(meta.metadata.get("Description")),
            owner: text(meta.metadata.get(OWNER_KEY)),
            host: text(meta.endpoints.get("docker").and_then(|d| d.get("Host"))),
            name: meta.name,
        }))
    }

    /// Writes the context (creating or replacing it): TLS files first, meta.json last, so that
    /// a context that appears is complete.
    pub fn write(&self, spec: &ContextSpec<'_>) -> Result<(), ContextError> {
        validate_name(spec.name)?;
        let tls_dir = self.tls_dir(spec.name).join("docker");
        create_dir_all(&tls_dir, TLS_DIR_MODE)?;
        for (file, bytes) in [
            (DockerTlsFiles::CA, spec.tls.ca),
            (DockerTlsFiles::CERT, spec.tls.cert),
            (DockerTlsFiles::KEY, spec.tls.key),
        ] {
            write_atomic(&tls_dir.join(file), bytes, TLS_FILE_MODE, None)?;
        }
        let mut metadata = Map::new();
        if !spec.description.is_empty() {
            metadata.insert("Description".into(), spec.description.into());
        }
        metadata.insert(OWNER_KEY.into(), spec.owner.into());
        let mut endpoints = Map::new();
        let docker = DockerEndpoint {
            host: spec.host,
            skip_tls_verify: false,
        };
        endpoints.insert(
            "docker".into(),
            serde_json::to_value(docker).map_err(|e| ContextError::Corrupt {
                path: self.meta_dir(spec.name),
                message: e.to_string(),
            })?,
        );
        let meta = MetaFile {
            name: spec.name.to_owned(),
            metadata,
            endpoints,
        };
        let meta_dir = self.meta_dir(spec.name);
        let path = meta_dir.join("meta.json");
        // Compact, as the docker CLI writes it.
        let bytes = serde_json::to_vec(&meta).map_err(|e| ContextError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        create_dir_all(&meta_dir, META_DIR_MODE)?;
        write_atomic(&path, &bytes, META_FILE_MODE, None)
    }

    /// Removes the context `name` (metadata first, so that a half-removed context is no longer
    /// listed); true when there was one.
    pub fn remove(&self, name: &str) -> Result<bool, ContextError> {
        let mut found = false;
        for dir in [self.meta_dir(name), self.tls_dir(name)] {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => found = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ContextError::io("remove", &dir, e)),
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn spec<'a>(name: &'a str, host: &'a str) -> ContextSpec<'a> {
        ContextSpec {
            name,
            description: "berth machine web1",
            host,
            tls: TlsFiles {
                ca: b"CA",
                cert: b"CERT",
                key: b"KEY",
            },
            owner: "/store/web1",
        }
    }

    #[test]
    fn the_id_is_the_sha256_of_the_name() {
        // `echo -n web1 | sha256sum`, and the folder `docker context create web1` made.
        assert_eq!(
            context_id("web1"),
            "659a7fb2af476fae688d711213d91dc1550a37f0395a00a6f7bacb78ece3666b"
        );
    }

    #[test]
    fn writes_what_docker_context_create_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path().join("contexts"));
        store.write(&spec("web1", "tcp://10.1.2.3:2376")).unwrap();
        let id = context_id("web1");
        let meta = dir.path().join("contexts/meta").join(&id).join("meta.json");
        // The docker CLI 28.2 wrote this line for `docker context create web1 --description …
        // --docker host=tcp://10.1.2.3:2376,ca=…,cert=…,key=…`, plus berth's owner key.
        assert_eq!(
            std::fs::read_to_string(&meta).unwrap(),
            r#"{"Name":"web1","Metadata":{"Description":"berth machine web1","berth.machine-folder":"/store/web1"},"Endpoints":{"docker":{"Host":"tcp://10.1.2.3:2376","SkipTLSVerify":false}}}"#
        );
        assert_eq!(mode(&meta), 0o644);
        let tls = dir.path().join("contexts/tls").join(&id);
        assert_eq!(mode(&tls), 0o700);
        assert_eq!(mode(&tls.join("docker")), 0o700);
        for (file, content) in [("ca.pem", "CA"), ("cert.pem", "CERT"), ("key.pem", "KEY")] {
            let path = tls.join("docker").join(file);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
            assert_eq!(mode(&path), 0o600, "{file}");
        }
        let leftovers: Vec<_> = std::fs::read_dir(tls.join("docker"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn reads_back_what_it_wrote_and_what_docker_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path());
        assert_eq!(store.get("web1").unwrap(), None);
        store.write(&spec("web1", "tcp://h:2376")).unwrap();
        let got = store.get("web1").unwrap().unwrap();
        assert_eq!(got.host.as_deref(), Some("tcp://h:2376"));
        assert_eq!(got.owner.as_deref(), Some("/store/web1"));
        // A context of someone else's, as `docker context create other --docker host=…` writes it.
        let other = dir.path().join("meta").join(context_id("other"));
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(
            other.join("meta.json"),
            r#"{"Name":"other","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://1.2.3.4:2376","SkipTLSVerify":false}}}"#,
        )
        .unwrap();
        let got = store.get("other").unwrap().unwrap();
        assert_eq!(got.owner, None);
        assert_eq!(got.description, None);
    }

    #[test]
    fn a_corrupt_meta_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path());
        let meta = dir.path().join("meta").join(context_id("web1"));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(meta.join("meta.json"), "{not json").unwrap();
        let err = store.get("web1").unwrap_err().to_string();
        assert!(
            err.contains("meta.json") && err.contains("not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn remove_takes_both_folders_and_says_whether_there_was_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path());
        store.write(&spec("web1", "tcp://h:2376")).unwrap();
        assert!(store.remove("web1").unwrap());
        assert!(!dir.path().join("meta").join(context_id("web1")).exists());
        assert!(!dir.path().join("tls").join(context_id("web1")).exists());
        assert!(!store.remove("web1").unwrap());
    }

    #[test]
    fn refuses_to_write_a_name_docker_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path());
        assert!(store.write(&spec("default", "tcp://h:2376")).is_err());
        assert!(store.write(&spec("a", "tcp://h:2376")).is_err());
    }
}
