//! End-to-end tests against real Debian hosts (systemd-nspawn). They need root
//! and the tools `scripts/test` installs; without them they fail and say why.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod audit;
mod cli;
mod contexts;
mod conveniences;
mod create;
mod docker_machine;
mod env_flags;
mod failures;
mod generic_more;
mod gorpc;
mod hosts;
mod import;
mod interrupt;
mod nspawn;
mod nspawn_security;
mod plugins;
mod ssh;
mod swarm;
mod terminal;
mod zoo;
