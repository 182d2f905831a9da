//! The provisioner's transport over a berth-ssh session.

use berth_provision::{Output, Remote, RemoteError, StreamKind};
use berth_ssh::{Session, Stream};

/// A berth-ssh session as the provisioner's [`Remote`].
pub struct SshRemote<'a>(pub &'a Session);

fn output(out: berth_ssh::Output) -> Output {
    Output {
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

impl Remote for SshRemote<'_> {
    fn user(&self) -> &str {
        &self.0.target().user
    }

    fn run(&self, cmd: &str) -> Result<Output, RemoteError> {
        self.0.exec(cmd).map(output).map_err(RemoteError::new)
    }

    fn run_with_stdin(&self, cmd: &str, stdin: &[u8]) -> Result<Output, RemoteError> {
        self.0
            .exec_with_stdin(cmd, stdin)
            .map(output)
            .map_err(RemoteError::new)
    }

    fn run_streaming(
        &self,
        cmd: &str,
        on_line: &mut dyn FnMut(StreamKind, &str),
    ) -> Result<i32, RemoteError> {
        self.0
            .exec_streaming(cmd, &mut |stream, line| {
                let kind = match stream {
                    Stream::Stdout => StreamKind::Stdout,
                    Stream::Stderr => StreamKind::Stderr,
                };
                on_line(kind, line);
            })
            .map_err(RemoteError::new)
    }
}
