//! [`StoreError`]: what can go wrong with the storage folder, each a sentence naming the path.

use std::path::PathBuf;

/// Everything that can go wrong with the storage folder.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A machine name broke the naming rule.
    #[error("'{name}' is not a valid machine name: {rule}")]
    InvalidName {
        /// The name as the user gave it.
        name: String,
        /// The rule it broke, in words, so the user can pick a name that passes.
        rule: &'static str,
    },

    /// A name the store uses for its own entries.
    #[error(
        "'{name}' is a name berth uses for a folder of its own in the store; pick another name"
    )]
    ReservedName {
        /// The name as the user gave it.
        name: String,
    },

    /// No machine of that name exists in this store.
    #[error("machine '{name}' does not exist in {root}; `berth ls` lists the machines there")]
    NotFound {
        /// The name that was looked up.
        name: String,
        /// The storage folder looked in: a missing machine is often one in another store.
        root: PathBuf,
    },

    /// A machine's folder is a symbolic link, which the store does not follow.
    #[error(
        "the folder of machine '{name}' ({path}) is a symbolic link; berth does not follow links in its store, since one could point anywhere. Put the machine's folder itself there, or delete the link"
    )]
    Symlinked {
        /// The machine whose folder is a link.
        name: String,
        /// The link itself.
        path: PathBuf,
    },

    /// A removal renamed a machine's folder away but could not delete all of it.
    #[error(
        "an earlier removal of '{name}' did not finish deleting {path} ({reason}); berth tries again on each command, and `berth ls` shows it until then. If it stays, delete that folder by hand"
    )]
    RemovalUnfinished {
        /// The machine being removed.
        name: String,
        /// The renamed-away folder (`.removing-*`) that is still there.
        path: PathBuf,
        /// What stopped the deletion, in the system's words.
        reason: String,
    },

    /// A create found the name taken.
    #[error(
        "machine '{name}' already exists in {root}; pick another name or remove it first with `berth rm {name}`"
    )]
    AlreadyExists {
        /// The name asked for.
        name: String,
        /// The storage folder that already holds it.
        root: PathBuf,
    },

    /// No home directory could be found to put the default storage folder in.
    #[error(
        "cannot find a home directory for the default storage folder; set BERTH_STORAGE_PATH or pass --storage-path"
    )]
    NoHome,

    /// The record could not be parsed.
    #[error(
        "the record {path} is corrupt ({message}); fix or remove the file, or remove the machine with `berth rm -f`"
    )]
    Corrupt {
        /// The record file.
        path: PathBuf,
        /// The parser's own words: where and why it stopped.
        message: String,
    },

    /// The record was written by a newer berth.
    #[error(
        "the record {path} has format version {found}, newer than this berth understands ({supported}); upgrade berth"
    )]
    TooNew {
        /// The record file.
        path: PathBuf,
        /// The format version the record declares.
        found: u32,
        /// The newest format version this berth reads.
        supported: u32,
    },

    /// Another berth process holds the machine's lock.
    #[error(
        "machine '{name}' is being changed by another berth process (lock {path}); wait for it to finish and try again"
    )]
    Locked {
        /// The machine that is locked.
        name: String,
        /// The lock file, so a user can see which process holds it.
        path: PathBuf,
    },

    /// berth runs as root and a folder it trusts can be changed by another user.
    #[error(
        "{what} {path} {reason}, and berth runs as root: whoever can change it could make berth run code or delete files as root. Make it root's and private: chown root {path} && chmod go-w {path}"
    )]
    NotPrivate {
        /// What the folder is to berth ("the storage folder", …), to start the sentence.
        what: &'static str,
        /// The folder.
        path: PathBuf,
        /// Who else could change it: its owner, or the mode that lets others write.
        reason: String,
    },

    /// A file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What berth was doing, as a verb ("read", "replace", …).
        action: &'static str,
        /// The file or folder it was doing it to.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },

    /// A record could not be serialized (a bug: records are plain data).
    #[error("cannot serialize the record of '{name}': {message}")]
    Serialize {
        /// The machine whose record it was.
        name: String,
        /// The serializer's own words.
        message: String,
    },
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
