//! Non-blocking command I/O with one deadline rule: fail after `io_timeout`
//! of silence from the peer.
//!
//! libssh2's blocking reads would have to pick one stream and could sit on
//! stdout while the command floods stderr; here both streams (and stdin) are
//! served in turn and the socket is polled when none can move. While waiting,
//! SSH keepalives (which OpenSSH answers) prove the peer alive, so a long quiet
//! command is not mistaken for a cut network.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use ssh2::{BlockDirections, ErrorCode};

use crate::error::SshError;
use crate::output::Stream;

/// libssh2's LIBSSH2_ERROR_EAGAIN: the call would block.
const LIBSSH2_ERROR_EAGAIN: i32 = -37;
/// libssh2's LIBSSH2_ERROR_TIMEOUT: a blocking call hit `set_timeout`.
pub(crate) const LIBSSH2_ERROR_TIMEOUT: i32 = -9;

/// Whether a libssh2 error only means "try again when the socket is ready".
fn would_block(e: &ssh2::Error) -> bool {
    e.code() == ErrorCode::Session(LIBSSH2_ERROR_EAGAIN)
}

/// Whether a libssh2 error is a blocking call's timeout.
pub(crate) fn timed_out(e: &ssh2::Error) -> bool {
    e.code() == ErrorCode::Session(LIBSSH2_ERROR_TIMEOUT)
}

/// The keepalive interval for an I/O deadline: three chances per deadline, at least libssh2's minimum of 2 s.
pub(crate) fn keepalive_secs(io_timeout: Duration) -> u32 {
    u32::try_from((io_timeout / 3).as_secs())
        .unwrap_or(u32::MAX)
        .max(2)
}

/// Waits on the session's socket with the silence deadline.
pub(crate) struct Pump<'a> {
    sess: &'a ssh2::Session,
    sock: &'a TcpStream,
    addr: &'a str,
    io_timeout: Duration,
    keepalive_every: Duration,
    last_heard: Instant,
    last_keepalive: Instant,
    /// Set when the session was ended from another thread (see `Aborter`).
    aborted: Option<&'a AtomicBool>,
}

impl<'a> Pump<'a> {
    pub(crate) fn new(
        sess: &'a ssh2::Session,
        sock: &'a TcpStream,
        addr: &'a str,
        io_timeout: Duration,
    ) -> Self {
        let now = Instant::now();
        Self {
            sess,
            sock,
            addr,
            io_timeout,
            keepalive_every: Duration::from_secs(u64::from(keepalive_secs(io_timeout))),
            last_heard: now,
            last_keepalive: now,
            aborted: None,
        }
    }

    /// Makes every wait fail with [`SshError::Aborted`] once `flag` is set.
    pub(crate) fn aborted_by(mut self, flag: &'a AtomicBool) -> Self {
        self.aborted = Some(flag);
        self
    }

    fn check_aborted(&self, during: &str) -> Result<(), SshError> {
        if self.aborted.is_some_and(|f| f.load(Ordering::SeqCst)) {
            return Err(SshError::Aborted {
                addr: self.addr.to_string(),
                during: during.to_string(),
            });
        }
        Ok(())
    }

    /// Records that the peer just sent something.
    fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    /// Blocks until the socket can move in the direction libssh2 waits for,
    /// sending keepalives; fails once the peer has been silent for `io_timeout`.
    fn wait(&mut self, during: &str) -> Result<(), SshError> {
        loop {
            self.check_aborted(during)?;
            let now = Instant::now();
            let deadline = self.last_heard + self.io_timeout;
            if now >= deadline {
                return Err(SshError::Timeout {
                    addr: self.addr.to_string(),
                    after: self.io_timeout,
                    during: during.to_string(),
                });
            }
            if now >= self.last_keepalive + self.keepalive_every {
                // A would-block here only delays the keepalive to the next round.
                let _ = self.sess.keepalive_send();
                self.last_keepalive = now;
            }
            let wake = deadline.min(self.last_keepalive + self.keepalive_every);
            let flags = match self.sess.block_directions() {
                BlockDirections::Outbound => PollFlags::OUT,
                BlockDirections::Both => PollFlags::IN | PollFlags::OUT,
                BlockDirections::Inbound | BlockDirections::None => PollFlags::IN,
            };
            let timeout =
                Timespec::try_from(wake.saturating_duration_since(now)).unwrap_or(Timespec {
                    tv_sec: 1,
                    tv_nsec: 0,
                });
            let mut fds = [PollFd::new(self.sock, flags)];
            match poll(&mut fds, Some(&timeout)) {
                Ok(0) => continue,
                Ok(_) => {
                    let got = fds[0].revents();
                    if got.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                        self.heard();
                    }
                    return Ok(());
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    return Err(SshError::Io {
                        addr: self.addr.to_string(),
                        during: during.to_string(),
                        source: e.into(),
                    });
                }
            }
        }
    }

    /// Calls `f` until it stops saying "would block".
    pub(crate) fn retry<T>(
        &mut self,
        during: &str,
        mut f: impl FnMut() -> Result<T, ssh2::Error>,
    ) -> Result<T, SshError> {
        loop {
            match f() {
                Ok(v) => return Ok(v),
                Err(e) if would_block(&e) => self.wait(during)?,
                Err(e) => {
                    return Err(SshError::Channel {
                        addr: self.addr.to_string(),
                        during: during.to_string(),
                        source: e,
                    });
                }
            }
        }
    }

    /// Runs `command` on a new channel: feeds `stdin`, hands every chunk of
    /// output to `sink` as it arrives, and returns the exit status.
    pub(crate) fn run(
        &mut self,
        command: &str,
        stdin: &[u8],
        sink: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<i32, SshError> {
        let result = self.run_channel(command, stdin, sink);
        // Whatever the dead socket made libssh2 say (an error, or an end of file that looks like
        // the command's), the command did not finish: say why.
        self.check_aborted(&format!("running `{command}`"))?;
        result
    }

    fn run_channel(
        &mut self,
        command: &str,
        stdin: &[u8],
        sink: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<i32, SshError> {
        self.check_aborted(&format!("running `{command}`"))?;
        let during = format!("running `{command}`");
        let mut channel = self.retry(&during, || self.sess.channel_session())?;
        self.retry(&during, || channel.exec(command))?;
        let mut stderr = channel.stderr();
        let mut rest = stdin;
        let mut eof_sent = false;
        let (mut out_done, mut err_done) = (false, false);
        let mut buf = vec![0u8; 32 * 1024];
        let io_err = |source: std::io::Error| SshError::Io {
            addr: self.addr.to_string(),
            during: during.clone(),
            source,
        };
        loop {
            let mut moved = false;
            if !rest.is_empty() {
                match channel.write(rest) {
                    Ok(n) => {
                        rest = &rest[n..];
                        moved = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    // The command closed its stdin or ended: it does not want the rest.
                    Err(_) => rest = &[],
                }
            }
            if rest.is_empty() && !eof_sent {
                match channel.send_eof() {
                    Ok(()) => eof_sent = true,
                    Err(e) if would_block(&e) => {}
                    // Already closed by the other side: nothing left to signal.
                    Err(_) => eof_sent = true,
                }
            }
            if !out_done {
                match channel.read(&mut buf) {
                    Ok(0) => out_done = true,
                    Ok(n) => {
                        sink(Stream::Stdout, &buf[..n]);
                        moved = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(io_err(e)),
                }
            }
            if !err_done {
                match stderr.read(&mut buf) {
                    Ok(0) => err_done = true,
                    Ok(n) => {
                        sink(Stream::Stderr, &buf[..n]);
                        moved = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(io_err(e)),
                }
            }
            if out_done && err_done {
                break;
            }
            if moved {
                self.heard();
            } else {
                self.wait(&during)?;
            }
        }
        self.retry(&during, || channel.wait_close())?;
        let status = self.retry(&during, || channel.exit_status())?;
        let signal = channel.exit_signal().ok().and_then(|s| s.exit_signal);
        Ok(match signal {
            Some(name) => 128 + signal_number(&name),
            None => status,
        })
    }
}

/// The Linux number of a signal named without its SIG prefix (as SSH reports it).
fn signal_number(name: &str) -> i32 {
    match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "SEGV" => 11,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "USR1" => 10,
        "USR2" => 12,
        // Unknown names still say "killed by a signal" through a status above 128.
        _ => 127,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_has_three_chances_and_a_floor() {
        assert_eq!(keepalive_secs(Duration::from_secs(30)), 10);
        assert_eq!(keepalive_secs(Duration::from_secs(3)), 2);
    }

    #[test]
    fn signals_map_like_a_shell() {
        assert_eq!(128 + signal_number("KILL"), 137);
        assert_eq!(128 + signal_number("TERM"), 143);
    }
}
