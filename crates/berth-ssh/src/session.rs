//! A connected, authenticated SSH session to one host.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::auth::authenticate;
use crate::error::SshError;
use crate::hostkey::{fingerprint_of_key, verify};
use crate::io::{Pump, keepalive_secs, timed_out};
use crate::output::{LineSplitter, Output, Stream};
use crate::target::Target;

/// One SSH connection. Commands on it run one at a time (a lock serialises
/// them); open one session per host for parallel work.
pub struct Session {
    sess: ssh2::Session,
    /// A handle on the same socket, polled while libssh2 waits.
    sock: TcpStream,
    target: Target,
    fingerprint: String,
    busy: Mutex<()>,
    /// Set by an [`Aborter`]; every wait on the socket checks it.
    aborted: Arc<AtomicBool>,
}

/// Ends a [`Session`] from another thread (berth's Ctrl-C handling): the command under way and
/// every later one fail at once with [`SshError::Aborted`] instead of running to the end.
///
/// It shuts the socket down, which wakes a wait on it at once, and sets a flag the waits check,
/// so no call can sleep on a socket that will never speak again.
#[derive(Debug)]
pub struct Aborter {
    sock: TcpStream,
    aborted: Arc<AtomicBool>,
}

impl Aborter {
    /// Ends the session. The host's sshd sees the connection close; a command still running
    /// there loses its output pipe (and dies of SIGPIPE at its next write, as with `ssh` itself).
    pub fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
        let _ = self.sock.shutdown(Shutdown::Both);
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("addr", &self.target.addr())
            .field("user", &self.target.user)
            .field("host_key", &self.fingerprint)
            .finish()
    }
}

impl Session {
    /// Connects, checks the host key by the target's policy and authenticates.
    pub fn connect(target: &Target) -> Result<Session, SshError> {
        let addr = target.addr();
        let sock = connect_tcp(target)?;
        let _ = sock.set_nodelay(true);
        let poll_sock = sock.try_clone().map_err(|source| SshError::Connect {
            addr: addr.clone(),
            source,
        })?;
        let handshake_err = |source: ssh2::Error| {
            if timed_out(&source) {
                SshError::Timeout {
                    addr: addr.clone(),
                    after: target.io_timeout,
                    during: "the SSH handshake".into(),
                }
            } else {
                SshError::Handshake {
                    addr: addr.clone(),
                    source,
                }
            }
        };
        let mut sess = ssh2::Session::new().map_err(handshake_err)?;
        sess.set_tcp_stream(sock);
        sess.set_timeout(u32::try_from(target.io_timeout.as_millis()).unwrap_or(u32::MAX));
        sess.handshake().map_err(handshake_err)?;
        let Some((key, kind)) = sess.host_key() else {
            return Err(SshError::Handshake {
                addr,
                source: ssh2::Error::unknown(),
            });
        };
        let fingerprint = fingerprint_of_key(key);
        verify(&sess, target, key, kind)?;
        authenticate(&sess, target)?;
        sess.set_keepalive(true, keepalive_secs(target.io_timeout));
        Ok(Session {
            sess,
            sock: poll_sock,
            target: target.clone(),
            fingerprint,
            busy: Mutex::new(()),
            aborted: Arc::new(AtomicBool::new(false)),
        })
    }

    /// A handle that ends this session from another thread; see [`Aborter`].
    pub fn aborter(&self) -> Result<Aborter, SshError> {
        let sock = self.sock.try_clone().map_err(|source| SshError::Io {
            addr: self.target.addr(),
            during: "preparing for an interrupt".into(),
            source,
        })?;
        Ok(Aborter {
            sock,
            aborted: Arc::clone(&self.aborted),
        })
    }

    /// Runs a command (through the user's login shell on the host) and collects its output.
    pub fn exec(&self, command: &str) -> Result<Output, SshError> {
        self.exec_with_stdin(command, &[])
    }

    /// Runs a command with `stdin` as its standard input, then end-of-file.
    ///
    /// Each stream is kept up to [`MAX_OUTPUT`] bytes: a host is not trusted to print a bounded
    /// amount. Past that the command still runs to its end (its output read and dropped, so a
    /// half-done install is not cut off), and the call fails with [`SshError::OutputTooLarge`].
    pub fn exec_with_stdin(&self, command: &str, stdin: &[u8]) -> Result<Output, SshError> {
        let mut out = Output::default();
        let mut over = None;
        out.status = self.run(command, stdin, &mut |stream, bytes| {
            let (kept, name) = match stream {
                Stream::Stdout => (&mut out.stdout, "stdout"),
                Stream::Stderr => (&mut out.stderr, "stderr"),
            };
            if !keep_bounded(kept, bytes, MAX_OUTPUT) {
                over.get_or_insert(name);
            }
        })?;
        if let Some(stream) = over {
            return Err(SshError::OutputTooLarge {
                addr: self.target.addr(),
                command: crate::io::summary(command),
                stream,
                limit: MAX_OUTPUT,
            });
        }
        Ok(out)
    }

    /// Runs a command and hands each line of its output to `on_line` as it
    /// arrives; returns the exit status.
    pub fn exec_streaming(
        &self,
        command: &str,
        on_line: &mut dyn FnMut(Stream, &str),
    ) -> Result<i32, SshError> {
        let mut out = LineSplitter::default();
        let mut err = LineSplitter::default();
        let status = self.run(command, &[], &mut |stream, bytes| match stream {
            Stream::Stdout => out.feed(bytes, &mut |l| on_line(Stream::Stdout, l)),
            Stream::Stderr => err.feed(bytes, &mut |l| on_line(Stream::Stderr, l)),
        })?;
        out.finish(&mut |l| on_line(Stream::Stdout, l));
        err.finish(&mut |l| on_line(Stream::Stderr, l));
        Ok(status)
    }

    /// The host key's fingerprint, `SHA256:...` as `ssh-keygen -lf` prints it.
    pub fn host_key_fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// What this session was connected with.
    pub fn target(&self) -> &Target {
        &self.target
    }

    fn run(
        &self,
        command: &str,
        stdin: &[u8],
        sink: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<i32, SshError> {
        // A panic in another command's sink leaves nothing half-done in the lock's data (there is none).
        let _turn = self
            .busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let addr = self.target.addr();
        self.sess.set_blocking(false);
        let result = Pump::new(&self.sess, &self.sock, &addr, self.target.io_timeout)
            .aborted_by(&self.aborted)
            .run(command, stdin, sink);
        self.sess.set_blocking(true);
        result
    }
}

/// The most berth keeps of one output stream of a command run with [`Session::exec`]: the
/// largest thing berth reads that way (daemon.json, a unit file, os-release) is a few KiB.
pub const MAX_OUTPUT: usize = 8 * 1024 * 1024;

/// Appends `bytes` to `kept` up to `limit` bytes in all; false when some had to be dropped.
fn keep_bounded(kept: &mut Vec<u8>, bytes: &[u8], limit: usize) -> bool {
    let room = limit.saturating_sub(kept.len());
    kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    bytes.len() <= room
}

/// Resolves the target and connects to the first address that answers within `connect_timeout`.
fn connect_tcp(target: &Target) -> Result<TcpStream, SshError> {
    use berth_net::ConnectError;
    let addr = target.addr();
    let endpoint = berth_net::HostPort::new(target.host.clone(), target.port);
    berth_net::connect_first(&endpoint, target.connect_timeout).map_err(|e| match e {
        ConnectError::Timeout { .. } => SshError::Timeout {
            addr,
            after: target.connect_timeout,
            during: "connecting".into(),
        },
        ConnectError::Resolve { source, .. } => SshError::Resolve { addr, source },
        ConnectError::Refused { .. } => SshError::Connect {
            addr,
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        },
        ConnectError::Io { source, .. } => SshError::Connect { addr, source },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_beyond_the_cap_is_dropped_and_said() {
        let mut kept = Vec::new();
        assert!(keep_bounded(&mut kept, b"abc", 5));
        assert!(keep_bounded(&mut kept, b"de", 5));
        assert!(!keep_bounded(&mut kept, b"f", 5));
        assert!(!keep_bounded(&mut kept, &[b'x'; 1000], 5));
        assert_eq!(kept, b"abcde");
    }
}
