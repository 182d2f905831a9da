//! The names berth shares with other programs, spelled once.
//!
//! An environment variable or a file name is a contract: the docker CLI reads `DOCKER_HOST`
//! and looks for `ca.pem` in `DOCKER_CERT_PATH`, docker-machine wrote `config.json` and
//! `id_rsa` into its machine folders, a user's script sets `MACHINE_STORAGE_PATH`. A typo in
//! one of many copies breaks that contract silently, so every crate takes the name from here,
//! and each name says who reads it and why.
//!
//! The crate has no dependencies, so any crate of the workspace (and any driver) can use it
//! without a cycle.

mod env_vars;
mod files;

pub use env_vars::EnvVars;
pub use files::{DockerConfigFiles, DockerMachineFiles, DockerTlsFiles, MachineFiles};
