//! The provisioner's transport over a berth-ssh session: one SSH connection
//! carries the whole provisioning.

use crate::remote::{Output, Remote, RemoteError, StreamKind};

impl From<berth_ssh::Output> for Output {
    fn from(out: berth_ssh::Output) -> Self {
        Self {
            status: out.status,
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }
}

impl Remote for berth_ssh::Session {
    fn user(&self) -> &str {
        &self.target().user
    }

    fn run(&self, cmd: &str) -> Result<Output, RemoteError> {
        self.exec(cmd).map(Output::from).map_err(RemoteError::new)
    }

    fn run_with_stdin(&self, cmd: &str, stdin: &[u8]) -> Result<Output, RemoteError> {
        self.exec_with_stdin(cmd, stdin)
            .map(Output::from)
            .map_err(RemoteError::new)
    }

    fn run_streaming(
        &self,
        cmd: &str,
        on_line: &mut dyn FnMut(StreamKind, &str),
    ) -> Result<i32, RemoteError> {
        self.exec_streaming(cmd, &mut |stream, line| {
            let kind = match stream {
                berth_ssh::Stream::Stdout => StreamKind::Stdout,
                berth_ssh::Stream::Stderr => StreamKind::Stderr,
            };
            on_line(kind, line);
        })
        .map_err(RemoteError::new)
    }
}
