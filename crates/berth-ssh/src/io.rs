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

/// How long a host whose kernel acknowledges our packets may take to open a session (the
/// channel and the exec request) before the first command runs. sshd opens the PAM session right
/// after authentication, before it reads anything else, and pam_systemd waits up to 2 minutes
/// for systemd-logind (which, on a freshly booted host, may still be starting, or starting the
/// user's service manager); all that while sshd answers nothing, keepalives included.
pub const SESSION_PATIENCE: Duration = Duration::from_secs(150);

/// How many bytes of a stalled command's latest output an error quotes.
const TAIL_BYTES: usize = 200;

/// What a command sent back so far, for the message when it stalls.
#[derive(Debug, Default)]
struct Received {
    stdout: usize,
    stderr: usize,
    tail: Vec<u8>,
}

impl Received {
    fn add(&mut self, stream: Stream, bytes: &[u8]) {
        match stream {
            Stream::Stdout => self.stdout += bytes.len(),
            Stream::Stderr => self.stderr += bytes.len(),
        }
        self.tail.extend_from_slice(bytes);
        let excess = self.tail.len().saturating_sub(TAIL_BYTES);
        self.tail.drain(..excess);
    }

    fn describe(&self) -> String {
        if self.stdout == 0 && self.stderr == 0 {
            return "it had sent nothing yet".into();
        }
        format!(
            "it had sent {} bytes on stdout and {} on stderr, ending with {:?}",
            self.stdout,
            self.stderr,
            String::from_utf8_lossy(&self.tail).trim_end()
        )
    }
}

/// The first line of a command, short enough for a message (berth's own scripts start with a
/// comment naming their purpose).
pub(crate) fn summary(command: &str) -> String {
    let mut lines = command.lines();
    let first = lines.next().unwrap_or_default();
    let mut text: String = first.chars().take(100).collect();
    if text.len() < first.len() || lines.next().is_some() {
        text.push_str(" …");
    }
    text
}

/// Where a command is: the host still opening its session, or the command running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Channel open and exec request sent, not yet confirmed, since this instant.
    Opening(Instant),
    /// The command runs.
    Running,
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
    /// What the current command is, for messages.
    command: String,
    phase: Phase,
    received: Received,
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
            command: String::new(),
            phase: Phase::Running,
            received: Received::default(),
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

    /// What berth was doing, for a message: the command, the phase, what came back.
    fn during(&self) -> String {
        match self.phase {
            Phase::Opening(_) => format!(
                "opening a session to run `{}` (the login was accepted; sshd had not confirmed the command yet)",
                self.command
            ),
            Phase::Running => format!("running `{}` ({})", self.command, self.received.describe()),
        }
    }

    /// Whether the silence so far is a host busy opening the session rather than a dead peer:
    /// still opening, within [`SESSION_PATIENCE`], and the peer's kernel acknowledges our packets.
    fn busy_opening(&self, now: Instant) -> bool {
        match self.phase {
            Phase::Opening(since) => {
                now < since + SESSION_PATIENCE
                    && crate::liveness::all_acked(self.sock) == Some(true)
            }
            Phase::Running => false,
        }
    }

    /// Blocks until the socket can move in the direction libssh2 waits for,
    /// sending keepalives; fails once the peer has been silent for `io_timeout`
    /// (or, while the host opens the session, [`SESSION_PATIENCE`]).
    fn wait(&mut self) -> Result<(), SshError> {
        loop {
            self.check_aborted(&self.during())?;
            let now = Instant::now();
            let mut deadline = self.last_heard + self.io_timeout;
            if now >= deadline {
                if !self.busy_opening(now) {
                    return Err(self.stalled(now));
                }
                // Alive but busy: look again after one more keepalive.
                deadline = now + self.keepalive_every;
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
                        during: self.during(),
                        source: e.into(),
                    });
                }
            }
        }
    }

    /// The error for a peer silent past its deadline.
    fn stalled(&self, now: Instant) -> SshError {
        match self.phase {
            Phase::Opening(since) if crate::liveness::all_acked(self.sock) == Some(true) => {
                SshError::SessionStalled {
                    addr: self.addr.to_string(),
                    after: now.duration_since(since),
                    command: self.command.clone(),
                }
            }
            _ => SshError::Timeout {
                addr: self.addr.to_string(),
                after: self.io_timeout,
                during: self.during(),
            },
        }
    }

    /// Calls `f` until it stops saying "would block".
    fn retry<T>(&mut self, mut f: impl FnMut() -> Result<T, ssh2::Error>) -> Result<T, SshError> {
        loop {
            match f() {
                Ok(v) => return Ok(v),
                Err(e) if would_block(&e) => self.wait()?,
                Err(e) => {
                    return Err(SshError::Channel {
                        addr: self.addr.to_string(),
                        during: self.during(),
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
        self.check_aborted(&format!("running `{}`", summary(command)))?;
        result
    }

    fn run_channel(
        &mut self,
        command: &str,
        stdin: &[u8],
        sink: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<i32, SshError> {
        self.check_aborted(&format!("running `{}`", summary(command)))?;
        self.command = summary(command);
        self.received = Received::default();
        self.phase = Phase::Opening(Instant::now());
        let sess = self.sess;
        let mut channel = self.retry(|| sess.channel_session())?;
        self.retry(|| channel.exec(command))?;
        self.phase = Phase::Running;
        self.heard();
        let mut stderr = channel.stderr();
        let mut rest = stdin;
        let mut eof_sent = false;
        let (mut out_done, mut err_done) = (false, false);
        let mut buf = vec![0u8; 32 * 1024];
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
            for (stream, done) in [
                (Stream::Stdout, &mut out_done),
                (Stream::Stderr, &mut err_done),
            ] {
                if *done {
                    continue;
                }
                let got = match stream {
                    Stream::Stdout => channel.read(&mut buf),
                    Stream::Stderr => stderr.read(&mut buf),
                };
                match got {
                    Ok(0) => *done = true,
                    Ok(n) => {
                        self.received.add(stream, &buf[..n]);
                        sink(stream, &buf[..n]);
                        moved = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(source) => {
                        return Err(SshError::Io {
                            addr: self.addr.to_string(),
                            during: self.during(),
                            source,
                        });
                    }
                }
            }
            if out_done && err_done {
                break;
            }
            if moved {
                self.heard();
            } else {
                self.wait()?;
            }
        }
        self.retry(|| channel.wait_close())?;
        let status = self.retry(|| channel.exit_status())?;
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
    fn summary_is_the_first_line_shortened() {
        assert_eq!(summary("true"), "true");
        assert_eq!(
            summary("sh -c '# berth: detect the host\nPATH=x'"),
            "sh -c '# berth: detect the host …"
        );
        assert_eq!(summary(&"x".repeat(150)).chars().count(), 102);
    }

    #[test]
    fn received_keeps_counts_and_a_short_tail() {
        let mut r = Received::default();
        assert_eq!(r.describe(), "it had sent nothing yet");
        r.add(Stream::Stdout, "a".repeat(300).as_bytes());
        r.add(Stream::Stderr, b"waiting for lock\n");
        assert!(
            r.describe()
                .starts_with("it had sent 300 bytes on stdout and 17 on stderr")
        );
        assert!(
            r.describe().ends_with("waiting for lock\""),
            "{}",
            r.describe()
        );
        assert_eq!(r.tail.len(), TAIL_BYTES);
    }

    #[test]
    fn signals_map_like_a_shell() {
        assert_eq!(128 + signal_number("KILL"), 137);
        assert_eq!(128 + signal_number("TERM"), 143);
    }
}
