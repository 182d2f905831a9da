//! berth's provisioner: turns a Debian or Ubuntu host reached over SSH into a
//! Docker host whose API listens on TCP 2376 behind mutual TLS.
//!
//! It detects the OS in one round trip, names the host, installs the engine
//! when missing, puts the server's certificates in /etc/docker, writes the
//! systemd drop-in `10-machine.conf`, restarts the engine only when something
//! changed, and waits until it answers over TLS. It prints nothing: progress
//! and `--debug` traces go to the caller as [`Event`]s.
//!
//! The transport is the [`Remote`] trait; [`berth_ssh::Session`] implements it
//! (see `ssh.rs`), and tests use fakes.

mod clock;
mod config;
mod daemon_json;
mod dropin;
mod error;
mod facts;
mod flow;
mod remote;
mod runner;
mod ssh;
mod step;
mod systemd;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod scripts_tests;

pub use config::{ConfigError, DEFAULT_PORT, EngineConfig, engine_opt_flag, parse_env};
pub use daemon_json::DAEMON_JSON_PATH;
pub use dropin::{CA_PATH, SERVER_CERT_PATH, SERVER_KEY_PATH, dockerd_args, render_dropin};
pub use error::{DROPIN_PATH, ErrorKind, ProvisionError};
pub use facts::{HostFacts, parse_os_release};
pub use flow::{
    EngineHook, Outcome, Plan, Reach, ServerCerts, dropin_mode_bits, engine_running, provision,
    tcp_reach,
};
pub use remote::{Output, Remote, RemoteError, StreamKind};
pub use step::{Event, Step};
pub use systemd::{environment_line, exec_arg};
