//! The provisioner's transport over a berth-ssh session: one SSH connection
//! carries the whole provisioning.

use crate::remote::{Output, Remote, RemoteError, StreamKind};

impl Remote for berth_ssh::Session {
    fn user(&self) -> &str {
        &self.target().user
    }

    fn run(&self, cmd: &str) -> Result<Output, RemoteError> {
        self.exec(cmd).map_err(RemoteError::new)
    }

    fn run_with_stdin(&self, cmd: &str, stdin: &[u8]) -> Result<Output, RemoteError> {
        self.exec_with_stdin(cmd, stdin).map_err(RemoteError::new)
    }

    fn run_streaming(
        &self,
        cmd: &str,
        on_line: &mut dyn FnMut(StreamKind, &str),
    ) -> Result<i32, RemoteError> {
        self.exec_streaming(cmd, &mut |stream: StreamKind, line| on_line(stream, line))
            .map_err(RemoteError::new)
    }
}
