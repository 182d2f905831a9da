//! berth's storage folder.
//!
//! One folder per machine under a root (by default `~/.docker/machines`), holding the machine's
//! record (`config.toml`) and its certificates. Everything here is about keeping that folder
//! consistent when several berth processes run at once and when a command dies half-way:
//! writes are atomic, a machine is locked while a command changes it, and secrets are private.
//!
//! The store holds no domain types: the record is whatever serde value the lifecycle
//! (`berth-machine`) reads and writes as `config.toml`; the store checks only its format version.

mod atomic;
mod error;
mod lock;
mod name;
mod ownership;
mod remove_tree;
mod root;
mod store;

pub use atomic::{FileMode, write_atomic};
pub use error::StoreError;
pub use lock::MachineLock;
pub use name::{HOSTNAME_RULE, NAME_RULE, validate_name, validate_new_name};
pub use ownership::{check_private, effective_uid, guarded_folders};
pub use root::{RootSource, default_root};
pub use store::{CERT_FILES, Machine, MachineEntry, RECORD_VERSION, Store};
