//! The one thing the provisioner needs from a transport: run a command on the
//! host. Keeping it a trait lets the flow be tested against a fake that
//! records commands, and keeps this crate independent of how SSH is done.

use std::error::Error;

/// What a finished remote command left behind, and which stream a streamed line came from:
/// the SSH crate's own types, so one shape crosses from the transport to the flow.
pub use berth_ssh::{Output, Stream as StreamKind};

/// The transport failed: the command may or may not have run (connection lost,
/// channel refused, timeout). A command that ran and failed is an [`Output`]
/// with a non-zero status instead.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct RemoteError(Box<dyn Error + Send + Sync>);

impl RemoteError {
    /// Wraps the transport's own error so its message reaches the user unchanged.
    pub fn new(source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self(source.into())
    }
}

/// A shell on the host, as the SSH user. Commands are single strings that the
/// user's login shell runs, as `ssh host CMD` would.
pub trait Remote {
    /// The SSH user's name, for messages (privilege is decided from `id -u`, not from this).
    fn user(&self) -> &str;

    /// Runs `cmd` and collects its output.
    fn run(&self, cmd: &str) -> Result<Output, RemoteError>;

    /// Runs `cmd` with `stdin` as its standard input (then end of file). Remote files
    /// are written this way, from their bytes, never through shell quoting.
    fn run_with_stdin(&self, cmd: &str, stdin: &[u8]) -> Result<Output, RemoteError>;

    /// Runs `cmd`, handing each output line to `on_line` as it arrives, and returns the
    /// exit status. Long commands (package installs) use this so users see progress.
    ///
    /// The default runs the command to the end and then replays its lines; transports
    /// that can stream should override it.
    fn run_streaming(
        &self,
        cmd: &str,
        on_line: &mut dyn FnMut(StreamKind, &str),
    ) -> Result<i32, RemoteError> {
        let output = self.run(cmd)?;
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            on_line(StreamKind::Stdout, line);
        }
        for line in String::from_utf8_lossy(&output.stderr).lines() {
            on_line(StreamKind::Stderr, line);
        }
        Ok(output.status)
    }
}
