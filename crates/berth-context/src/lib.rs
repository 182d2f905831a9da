//! berth-context: the docker CLI's own context store (`$DOCKER_CONFIG/contexts`) and the
//! `currentContext` of its `config.json`, written byte for byte the way `docker context create`,
//! `docker context use` and `docker context rm` write them (docker/cli `cli/context/store`), so
//! that the docker CLI, Compose and every tool that reads contexts see berth's machines.
//!
//! This crate knows the format and nothing of machines: which context belongs to which machine,
//! and what berth may overwrite, is berth-machine's policy. The one thing it adds to the format
//! is an owner key in a context's metadata (an extra field the docker CLI keeps through
//! `docker context update`), so that a context berth did not make can be told apart.

mod config;
mod error;
mod fs;
mod name;
mod store;

pub use config::{DockerConfig, Selected};
pub use error::ContextError;
pub use name::{DEFAULT_CONTEXT, NAME_RULE, validate_name};
pub use store::{ContextSpec, ContextStore, OWNER_KEY, StoredContext, TlsFiles, context_id};
