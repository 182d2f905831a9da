//! SSH to berth hosts: one blocking [`Session`] per host, host keys pinned in a
//! per-machine `known_hosts`, key-file or agent authentication, and commands run
//! with their exit status and both output streams.
//!
//! Every wait is bounded: the TCP connect by [`Target::connect_timeout`], and
//! every later step by [`Target::io_timeout`] of silence from the peer. SSH
//! keepalives keep a long but quiet command (an `apt-get install`) alive, while
//! a host whose network is cut fails within `io_timeout` with
//! [`SshError::Timeout`] naming its address, the command and what it had sent so far.
//!
//! One exception: a host opening a session may be silent for longer. sshd opens the
//! login's PAM session before it reads anything after authentication, and on a freshly
//! booted host pam_systemd can wait a minute or two for systemd-logind, answering nothing,
//! keepalives included. While the host's kernel still acknowledges our packets (it is up
//! and its network works) berth waits up to [`SESSION_PATIENCE`] for the session, and then
//! fails with [`SshError::SessionStalled`], saying what the host is slow at.

mod auth;
mod error;
mod hostkey;
mod io;
mod liveness;
mod output;
mod session;
mod target;

pub use error::SshError;
pub use hostkey::fingerprint_of_key;
pub use io::SESSION_PATIENCE;
pub use output::{Output, Stream};
pub use session::{Aborter, MAX_OUTPUT, Session};
pub use target::{Auth, HostKeyPolicy, Target};
