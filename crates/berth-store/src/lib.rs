//! berth's storage folder.
//!
//! One folder per machine under a root (by default `~/.docker/machines`), holding the machine's
//! record (`config.toml`) and its certificates. Everything here is about keeping that folder
//! consistent when several berth processes run at once and when a command dies half-way:
//! writes are atomic, a machine is locked while a command changes it, and secrets are private.

mod atomic;
mod error;
mod lock;
mod name;
mod ownership;
mod record;
mod remove_tree;
mod root;
mod store;

pub use atomic::{FileMode, write_atomic};
pub use error::StoreError;
pub use lock::MachineLock;
pub use ownership::{check_private, effective_uid, guarded_folders};
pub use name::{HOSTNAME_RULE, NAME_RULE, validate_name, validate_new_name};
pub use record::{
    ContextSettings, MachineRecord, MachineState, RECORD_VERSION, SshSettings, TlsSettings,
};
pub use root::{RootSource, default_root};
pub use store::{CERT_FILES, Machine, MachineEntry, Store};
