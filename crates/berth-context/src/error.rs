//! [`ContextError`]: what can go wrong with the docker CLI's context store or config.json.

use std::path::PathBuf;

/// A failure reading or writing the docker CLI's files, each naming the path.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// A name the docker CLI would refuse as a context name.
    #[error("'{name}' cannot be a docker context name: {rule}")]
    InvalidName { name: String, rule: &'static str },

    /// No home directory for the default `~/.docker`.
    #[error("cannot find a home directory for the docker CLI's ~/.docker; set DOCKER_CONFIG")]
    NoHome,

    /// A file or folder could not be read, written or removed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file the docker CLI wrote is not the JSON it should be.
    #[error("{path} is not valid JSON ({message}); fix or remove the file")]
    Corrupt { path: PathBuf, message: String },
}

impl ContextError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        ContextError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}
