//! The `berth` binary as a user meets it, on a local store (no hosts needed).
//! End-to-end tests against real hosts live in the workspace's `tests/` package.
#![allow(clippy::unwrap_used)]

/// The berth binary under test, for the kit's sandbox (a dev-dependency cannot find it).
const BERTH: &str = env!("CARGO_BIN_EXE_berth");

mod certs_contexts;
mod completion_shells;
mod docker_machine;
mod driver_flags;
mod env_shells;
mod man_pages;
mod mount_refusals;
mod plugin_spec;
mod secrets;
mod snapshots;
mod store_commands;
mod store_trust;
mod untrusted_input;
