//! The `berth` binary as a user meets it, on a local store (no hosts needed).
//! End-to-end tests against real hosts live in the workspace's `tests/` package.
#![allow(clippy::unwrap_used)]

mod certs_contexts;
mod common;
mod completion_shells;
mod docker_machine;
mod driver_flags;
mod env_shells;
mod fake_engine;
mod man_pages;
mod mount_refusals;
mod plugin_spec;
mod review_low;
mod secrets;
mod snapshots;
mod store_commands;
mod store_trust;
