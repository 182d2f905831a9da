//! SSH to berth hosts: one blocking [`Session`] per host, host keys pinned in a
//! per-machine `known_hosts`, key-file or agent authentication, and commands run
//! with their exit status and both output streams.
//!
//! Every wait is bounded: the TCP connect by [`Target::connect_timeout`], and
//! every later step by [`Target::io_timeout`] of silence from the peer. SSH
//! keepalives keep a long but quiet command (an `apt-get install`) alive, while
//! a host whose network is cut fails within `io_timeout` with
//! [`SshError::Timeout`] naming its address.

mod auth;
mod error;
mod hostkey;
mod io;
mod output;
mod session;
mod target;

pub use error::SshError;
pub use hostkey::fingerprint_of_key;
pub use output::{Output, Stream};
pub use session::{Aborter, Session};
pub use target::{Auth, HostKeyPolicy, Target};
