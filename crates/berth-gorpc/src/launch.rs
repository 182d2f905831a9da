//! Starting a driver binary the way docker-machine does (`libmachine/drivers/plugin/localbinary`):
//! no arguments, `MACHINE_PLUGIN_TOKEN=42` and `MACHINE_PLUGIN_DRIVER_NAME=NAME` in its
//! environment; its first stdout line is the address of its RPC server. Later stdout lines are
//! what docker-machine shows as progress (`(NAME) line` at info level), stderr lines what it
//! shows with `--debug`.
//!
//! Every line is bounded ([`MAX_LINE`]) and escaped by the caller's escaper before it is shown or
//! kept, and a plugin that floods gets [`MAX_LINES`] lines shown and the rest counted.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_names::EnvVars;
use berth_net::Backoff;

use crate::conn::Event;
use crate::error::GoRpcError;

/// The value of [`EnvVars::MACHINE_PLUGIN_TOKEN`] docker-machine sets for its plugins
/// (`localbinary/plugin.go`).
pub const PLUGIN_TOKEN: &str = "42";

/// A line longer than this is cut (the rest is read and counted).
pub const MAX_LINE: usize = 4096;
/// How many lines of one plugin's output are passed on; the rest are counted.
pub const MAX_LINES: usize = 2000;
/// How many stderr lines an error quotes.
const TAIL_LINES: usize = 12;
/// The address line: `127.0.0.1:PORT` is 15 bytes; anything this long is not an address.
const MAX_ADDRESS_LINE: usize = 256;

/// Which of the plugin's streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// stdout after the address line: docker-machine shows these as progress.
    Stdout,
    /// stderr: docker-machine shows these with --debug.
    Stderr,
}

/// Where lines go that no call is waiting for: `(driver, stream, escaped line)`.
pub type LineSink = Arc<dyn Fn(&str, Stream, &str) + Send + Sync>;

/// The running binary, its output readers, and what they kept.
pub(crate) struct Process {
    pub(crate) child: Child,
    tail: Arc<Mutex<VecDeque<String>>>,
    stderr_done: Receiver<()>,
}

/// How the address line arrived.
enum AddressLine {
    Line(String),
    TooLong,
}

/// Starts `path` as plugin `driver` and reads its address within `within`.
pub(crate) fn start(
    driver: &str,
    path: &Path,
    within: Duration,
    escape: fn(&str) -> String,
    sink: &LineSink,
    progress: Arc<Mutex<Option<Sender<Event>>>>,
) -> Result<(Process, SocketAddr), GoRpcError> {
    let spawn_error = |source| GoRpcError::Spawn {
        driver: driver.to_owned(),
        path: path.to_path_buf(),
        source,
    };
    let mut child = Command::new(path)
        .env(EnvVars::MACHINE_PLUGIN_TOKEN, PLUGIN_TOKEN)
        .env(EnvVars::MACHINE_PLUGIN_DRIVER_NAME, driver)
        // Its own process group: Ctrl-C reaches berth alone, and berth decides how the plugin
        // ends (Close, then SIGKILL) instead of both dying with nothing recorded.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(spawn_error(io::Error::other(
            "its output could not be piped",
        )));
    };
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
    let (done_tx, stderr_done) = mpsc::channel::<()>();
    let (addr_tx, addr_rx) = mpsc::channel::<AddressLine>();
    let mut process = Process {
        child,
        tail: Arc::clone(&tail),
        stderr_done,
    };
    let (d1, d2) = (driver.to_owned(), driver.to_owned());
    let (s1, s2) = (Arc::clone(sink), Arc::clone(sink));
    let spawned = std::thread::Builder::new()
        .name(format!("go-plugin-stdout-{driver}"))
        .spawn(move || read_stdout(stdout, &d1, escape, &s1, &addr_tx, &progress))
        .and_then(|_| {
            std::thread::Builder::new()
                .name(format!("go-plugin-stderr-{driver}"))
                .spawn(move || {
                    let _done = done_tx;
                    read_stderr(stderr, &d2, escape, &s2, &tail);
                })
        });
    if let Err(e) = spawned {
        process.kill();
        return Err(spawn_error(e));
    }

    let fail = |process: &mut Process, how: String| {
        process.kill();
        GoRpcError::NoAddress {
            driver: driver.to_owned(),
            path: path.to_path_buf(),
            waited: within,
            how,
            stderr_tail: process.tail(),
        }
    };
    let line = match addr_rx.recv_timeout(within) {
        Ok(AddressLine::Line(line)) => line,
        Ok(AddressLine::TooLong) => {
            let how = format!("its first line is longer than {MAX_ADDRESS_LINE} bytes");
            return Err(fail(&mut process, how));
        }
        Err(RecvTimeoutError::Timeout) => {
            return Err(fail(&mut process, "it printed nothing".to_owned()));
        }
        Err(RecvTimeoutError::Disconnected) => {
            let how = match process.wait_exit(Duration::from_secs(2)) {
                Some(status) => format!("it ended ({}) first", describe(status)),
                None => "it closed its output first".to_owned(),
            };
            return Err(fail(&mut process, how));
        }
    };
    match parse_address(&line) {
        Ok(addr) => Ok((process, addr)),
        Err(AddressError::NotLoopback) => {
            process.kill();
            Err(GoRpcError::NotLoopback {
                driver: driver.to_owned(),
                path: path.to_path_buf(),
                address: escape(&line),
            })
        }
        Err(AddressError::NotAnAddress) => {
            let how = format!(
                "its first line is {:?}, not an address like 127.0.0.1:PORT",
                crate::conn::cut(&escape(&line))
            );
            Err(fail(&mut process, how))
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AddressError {
    NotAnAddress,
    NotLoopback,
}

/// `IP:PORT` with a loopback IP; a host name is refused (it could resolve anywhere).
pub(crate) fn parse_address(line: &str) -> Result<SocketAddr, AddressError> {
    let addr: SocketAddr = line
        .trim()
        .parse()
        .map_err(|_| AddressError::NotAnAddress)?;
    if !addr.ip().is_loopback() {
        return Err(AddressError::NotLoopback);
    }
    if addr.port() == 0 {
        return Err(AddressError::NotAnAddress);
    }
    Ok(addr)
}

impl Process {
    /// The last stderr lines, escaped.
    pub(crate) fn tail(&self) -> Vec<String> {
        self.tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Kills the plugin and what it started in its process group, and reaps it.
    pub(crate) fn kill(&mut self) {
        use rustix::process::{Pid, Signal, kill_process_group};
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = kill_process_group(Pid::from_child(&self.child), Signal::KILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `grace` for the plugin to exit by itself. Its stderr closing comes first
    /// (a channel event); the exit status follows within moments, so the poll after is short.
    pub(crate) fn wait_exit(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut backoff = Backoff::moments(Instant::now() + grace);
        let _ = self.stderr_done.recv_timeout(grace);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if !backoff.wait() {
                return None;
            }
        }
    }
}

/// An exit status in words.
pub(crate) fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

fn read_stdout(
    stdout: impl Read,
    driver: &str,
    escape: fn(&str) -> String,
    sink: &LineSink,
    addr_tx: &Sender<AddressLine>,
    progress: &Mutex<Option<Sender<Event>>>,
) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    match read_line_bounded(&mut reader, &mut buf, MAX_ADDRESS_LINE) {
        Ok(Some(0)) => {
            let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
            let _ = addr_tx.send(AddressLine::Line(line));
        }
        Ok(Some(_)) => {
            let _ = addr_tx.send(AddressLine::TooLong);
        }
        Ok(None) | Err(_) => return,
    }
    let mut budget = Budget::default();
    loop {
        buf.clear();
        let Some(line) = next_line(&mut reader, &mut buf, escape) else {
            break;
        };
        if !budget.admit() {
            continue;
        }
        let waiting = progress.lock().ok().and_then(|p| p.clone());
        let sent = waiting.is_some_and(|tx| tx.send(Event::Progress(line.clone())).is_ok());
        if !sent {
            sink(driver, Stream::Stdout, &line);
        }
    }
    budget.report(driver, Stream::Stdout, sink);
}

fn read_stderr(
    stderr: impl Read,
    driver: &str,
    escape: fn(&str) -> String,
    sink: &LineSink,
    tail: &Mutex<VecDeque<String>>,
) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    let mut budget = Budget::default();
    loop {
        buf.clear();
        let Some(line) = next_line(&mut reader, &mut buf, escape) else {
            break;
        };
        if let Ok(mut t) = tail.lock() {
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line.clone());
        }
        if budget.admit() {
            sink(driver, Stream::Stderr, &line);
        }
    }
    budget.report(driver, Stream::Stderr, sink);
}

/// The next line, bounded and escaped; `None` at the end.
fn next_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    escape: fn(&str) -> String,
) -> Option<String> {
    let cut = read_line_bounded(reader, buf, MAX_LINE).ok()??;
    let text = String::from_utf8_lossy(buf);
    let mut line = escape(text.trim_end_matches(['\n', '\r']));
    if cut > 0 {
        line.push_str(&format!("… ({cut} bytes cut)"));
    }
    Some(line)
}

#[derive(Default)]
struct Budget {
    passed: usize,
    dropped: u64,
}

impl Budget {
    fn admit(&mut self) -> bool {
        if self.passed < MAX_LINES {
            self.passed += 1;
            true
        } else {
            self.dropped += 1;
            false
        }
    }

    fn report(&self, driver: &str, stream: Stream, sink: &LineSink) {
        if self.dropped > 0 {
            let what = format!(
                "({} more lines of this driver's output not shown)",
                self.dropped
            );
            sink(driver, stream, &what);
        }
    }
}

/// Reads one line into `buf`, at most `max` bytes of it; the rest of a longer line is read and
/// thrown away. `None` at the end of the stream, else how many bytes were thrown away.
fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<usize>> {
    let n = reader.by_ref().take(max as u64).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') || n < max {
        return Ok(Some(0));
    }
    let mut cut = 0;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(Some(cut));
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(i) => {
                cut += i;
                reader.consume(i + 1);
                return Ok(Some(cut));
            }
            None => {
                let len = available.len();
                cut += len;
                reader.consume(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_loopback_ip_addresses_are_taken() {
        assert_eq!(parse_address("127.0.0.1:40123\n").unwrap().port(), 40123);
        assert!(parse_address("[::1]:5").is_ok());
        assert!(parse_address("127.8.9.10:5").is_ok());
        assert_eq!(parse_address("0.0.0.0:5"), Err(AddressError::NotLoopback));
        assert_eq!(
            parse_address("203.0.113.7:5"),
            Err(AddressError::NotLoopback)
        );
        for bad in [
            "localhost:5",
            "127.0.0.1",
            "127.0.0.1:0",
            "This is a Docker Machine plugin binary.",
            "",
        ] {
            assert_eq!(parse_address(bad), Err(AddressError::NotAnAddress), "{bad}");
        }
    }

    #[test]
    fn long_lines_are_cut_and_counted() {
        let mut text = vec![b'a'; MAX_LINE + 10];
        text.extend_from_slice(b"\nnext\n");
        let mut r = BufReader::new(&text[..]);
        let mut buf = Vec::new();
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, MAX_LINE).unwrap(),
            Some(10)
        );
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, MAX_LINE).unwrap(),
            Some(0)
        );
        assert_eq!(buf, b"next\n");
    }
}
