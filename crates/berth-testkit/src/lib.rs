//! The test kit of the berth workspace: one fake mutual-TLS Docker engine, one CLI sandbox and
//! the shared certificate fixtures, so that each crate's tests stop carrying their own copy
//! (issue 17). It is a dev-dependency only; it panics on failure, as a test helper should.

#![allow(clippy::unwrap_used)]

pub mod certs;
pub mod engine;
pub mod sandbox;

pub use certs::{Machines, loopback_machine, machines, write_client_files};
pub use engine::{FakeDocker, OneShotServer, Responder, TestServer, VERSION_JSON, engine};
pub use sandbox::{Sandbox, fake_openssh, require, stderr, stdout};
