//! [`ContextError`]: what can go wrong with the docker CLI's context store or config.json.

use std::path::PathBuf;

/// A failure reading or writing the docker CLI's files, each naming the path.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// A name the docker CLI would refuse as a context name.
    #[error("'{name}' cannot be a docker context name: {rule}")]
    InvalidName {
        /// The name as asked for.
        name: String,
        /// The docker CLI's rule it breaks, in words.
        rule: &'static str,
    },

    /// No home directory for the default `~/.docker`.
    #[error("cannot find a home directory for the docker CLI's ~/.docker; set DOCKER_CONFIG")]
    NoHome,

    /// A file or folder could not be read, written or removed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, as a verb ("read", "replace", …).
        action: &'static str,
        /// The file or folder it was done to.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },

    /// A file the docker CLI wrote is not the JSON it should be.
    #[error("{path} is not valid JSON ({message}); fix or remove the file")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The JSON parser's own words: where and why it stopped.
        message: String,
    },
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
