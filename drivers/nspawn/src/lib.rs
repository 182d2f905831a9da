//! Local Debian 12 machines in systemd-nspawn.
//!
//! A machine boots from a cached debootstrap root ([`image`]) through its own
//! overlayfs layer, in its own network namespace with an address on the
//! `berthbr0` bridge and NAT to the outside ([`network`]), with systemd as
//! PID 1 and sshd answering on port 22. Its writable layer and its
//! `/var/lib/docker` survive a power-off, so it can be started again: the
//! same code serves the test suite's throwaway hosts and the `nspawn` driver's
//! long-lived machines.
//!
//! Everything here needs root, `systemd-nspawn` (package systemd-container),
//! `debootstrap`, `ip` and `iptables`; [`preflight`] says which is missing.

mod cgroup;
mod cmd;
mod config;
mod console_log;
mod error;
mod guest_fs;
pub mod image;
mod leftovers;
mod machine;
pub mod network;
pub mod plugin;
mod preflight;
mod process;

pub use config::{Config, ENGINE_CAPABILITIES, Isolation};
pub use error::NspawnError;
pub use leftovers::{Leftovers, leftovers};
pub use machine::{Machine, State};
pub use preflight::preflight;
