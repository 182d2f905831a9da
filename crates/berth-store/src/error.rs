//! [`StoreError`]: what can go wrong with the storage folder, each a sentence naming the path.

use std::path::PathBuf;

/// Everything that can go wrong with the storage folder.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A machine name broke the naming rule.
    #[error("'{name}' is not a valid machine name: {rule}")]
    InvalidName { name: String, rule: &'static str },

    /// A name the store uses for its own entries.
    #[error(
        "'{name}' is a name berth uses for a folder of its own in the store; pick another name"
    )]
    ReservedName { name: String },

    /// No machine of that name exists in this store.
    #[error("machine '{name}' does not exist in {root}; `berth ls` lists the machines there")]
    NotFound { name: String, root: PathBuf },

    /// A machine's folder is a symbolic link, which the store does not follow.
    #[error(
        "the folder of machine '{name}' ({path}) is a symbolic link; berth does not follow links in its store, since one could point anywhere. Put the machine's folder itself there, or delete the link"
    )]
    Symlinked { name: String, path: PathBuf },

    /// A removal renamed a machine's folder away but could not delete all of it.
    #[error(
        "an earlier removal of '{name}' did not finish deleting {path} ({reason}); berth tries again on each command, and `berth ls` shows it until then. If it stays, delete that folder by hand"
    )]
    RemovalUnfinished {
        name: String,
        path: PathBuf,
        reason: String,
    },

    /// A create found the name taken.
    #[error(
        "machine '{name}' already exists in {root}; pick another name or remove it first with `berth rm {name}`"
    )]
    AlreadyExists { name: String, root: PathBuf },

    /// No home directory could be found to put the default storage folder in.
    #[error(
        "cannot find a home directory for the default storage folder; set BERTH_STORAGE_PATH or pass --storage-path"
    )]
    NoHome,

    /// The record could not be parsed.
    #[error(
        "the record {path} is corrupt ({message}); fix or remove the file, or remove the machine with `berth rm -f`"
    )]
    Corrupt { path: PathBuf, message: String },

    /// The record was written by a newer berth.
    #[error(
        "the record {path} has format version {found}, newer than this berth understands ({supported}); upgrade berth"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// Another berth process holds the machine's lock.
    #[error(
        "machine '{name}' is being changed by another berth process (lock {path}); wait for it to finish and try again"
    )]
    Locked { name: String, path: PathBuf },

    /// berth runs as root and a folder it trusts can be changed by another user.
    #[error(
        "{what} {path} {reason}, and berth runs as root: whoever can change it could make berth run code or delete files as root. Make it root's and private: chown root {path} && chmod go-w {path}"
    )]
    NotPrivate {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },

    /// A file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A record could not be serialized (a bug: records are plain data).
    #[error("cannot serialize the record of '{name}': {message}")]
    Serialize { name: String, message: String },
}

impl StoreError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
