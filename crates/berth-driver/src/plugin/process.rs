//! One running plugin process and the calls made to it.
//!
//! Plain threads, no async runtime: one thread turns the plugin's stdout into
//! lines on a channel, one forwards its stderr to the log and keeps the last
//! lines for error messages. A call writes one request and waits on the
//! channel with `recv_timeout`, which is what makes every deadline exact and
//! lets a hung plugin be killed without touching the reader.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use berth_net::Backoff;
use berth_plugin::DriverError;
use berth_plugin::protocol::{self, ProgressParams, RpcError};

/// Where a plugin's stderr lines go: `(driver name, line)`.
pub type LogSink = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// A stdout line longer than this is garbage, not a message: it protects
/// berth's memory from a plugin that writes without newlines. The largest message a plugin
/// sends is a create's result with its driver data, a few KiB.
const MAX_LINE: usize = 1024 * 1024;
/// How many stdout lines wait for berth to read them. Past that the reader thread waits, and
/// so does the plugin on its full pipe: a plugin writing between calls (when nobody reads)
/// cannot make berth hold more than `QUEUED_LINES × MAX_LINE`.
const QUEUED_LINES: usize = 16;
/// How many stderr lines an error message quotes.
const TAIL_LINES: usize = 12;
/// A stderr line is a log message for a person: past this many bytes the rest of it is
/// dropped (and counted), so a plugin writing without newlines cannot fill berth's memory.
const MAX_STDERR_LINE: usize = 4096;
/// How many stderr lines may reach the log at once; after that, [`LOGGED_PER_SECOND`]. A
/// plugin that floods its stderr cannot flood berth's terminal or log file: the lines beyond
/// are read (so the plugin never blocks on a full pipe) and counted, not passed on.
const MAX_LOGGED_LINES: usize = 500;
const LOGGED_PER_SECOND: f64 = 50.0;

/// How long a plugin told to stop (SIGTERM) on an interrupt may take before it is killed: the
/// user pressed Ctrl-C and waits.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

enum Event {
    /// berth was interrupted: the call under way must end now.
    Interrupted,
    Line(String),
    TooLong,
    NotUtf8,
    ReadError(io::Error),
    Eof,
}

/// Why a call did not return a result.
pub(crate) enum CallError {
    /// The plugin answered with a JSON-RPC error; the process is still usable.
    Rpc(RpcError),
    /// The process misbehaved or died; it must not be used again.
    Fatal(DriverError),
}

/// Wakes a call waiting on its plugin with [`Event::Interrupted`], from another thread.
///
/// The queue is bounded, so the waker never waits on it: it raises a flag that the call
/// checks after every event, and sends the event only when there is room (when there is none,
/// the call has lines to read and sees the flag right after).
#[derive(Clone)]
pub(crate) struct Waker(mpsc::SyncSender<Event>, Arc<AtomicBool>);

impl Waker {
    pub(crate) fn wake(&self) {
        self.1.store(true, Ordering::SeqCst);
        // A process already gone has no call to end; a full queue wakes the call already.
        let _ = self.0.try_send(Event::Interrupted);
    }
}

pub(crate) struct PluginProcess {
    path: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<Event>,
    /// A sender into `events`, so that an interrupt can wake a waiting call; dropped in `drop`.
    wake: Option<mpsc::SyncSender<Event>>,
    /// Raised by a [`Waker`]; the call stops at its next event.
    interrupted: Arc<AtomicBool>,
    tail: Arc<Mutex<VecDeque<String>>>,
    stderr_done: Receiver<()>,
    next_id: u64,
    grace: Duration,
}

impl PluginProcess {
    /// Start the plugin with piped stdio; its stderr goes to `log` as `label`.
    pub(crate) fn spawn(
        path: &Path,
        label: &str,
        log: LogSink,
        grace: Duration,
    ) -> Result<Self, DriverError> {
        let mut child = Command::new(path)
            // Its own process group: a Ctrl-C at the terminal reaches berth alone, and berth
            // decides how the plugin stops (SIGTERM, then SIGKILL), instead of both dying at
            // once with nothing recorded.
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| DriverError::PluginSpawn {
                plugin: path.to_path_buf(),
                source,
            })?;
        let (stdin, stdout, stderr) =
            match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
                (Some(i), Some(o), Some(e)) => (i, o, e),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(DriverError::PluginSpawn {
                        plugin: path.to_path_buf(),
                        source: io::Error::other("its standard streams could not be piped"),
                    });
                }
            };

        let (tx, events) = mpsc::sync_channel(QUEUED_LINES);
        let wake = tx.clone();
        std::thread::Builder::new()
            .name(format!("plugin-stdout-{label}"))
            .spawn(move || read_stdout(stdout, &tx))
            .map_err(|source| DriverError::PluginSpawn {
                plugin: path.to_path_buf(),
                source,
            })?;

        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let (done_tx, stderr_done) = mpsc::channel::<()>();
        let tail2 = Arc::clone(&tail);
        let label2 = label.to_owned();
        std::thread::Builder::new()
            .name(format!("plugin-stderr-{label}"))
            .spawn(move || {
                // The sender is dropped when this thread ends: that is the signal.
                let _done = done_tx;
                read_stderr(stderr, &label2, &log, &tail2);
            })
            .map_err(|source| DriverError::PluginSpawn {
                plugin: path.to_path_buf(),
                source,
            })?;

        Ok(Self {
            path: path.to_path_buf(),
            child,
            stdin: Some(stdin),
            events,
            wake: Some(wake),
            interrupted: Arc::new(AtomicBool::new(false)),
            tail,
            stderr_done,
            next_id: 1,
            grace,
        })
    }

    /// What ends a call of this process from another thread.
    pub(crate) fn waker(&self) -> Option<Waker> {
        self.wake
            .clone()
            .map(|tx| Waker(tx, Arc::clone(&self.interrupted)))
    }

    /// Send one request and wait for its response until `deadline`, passing
    /// progress notifications on as they come.
    pub(crate) fn call(
        &mut self,
        method: &str,
        params: &Value,
        deadline: Duration,
        progress: &dyn Fn(&str),
    ) -> Result<Value, CallError> {
        let id = self.next_id;
        self.next_id += 1;
        let started = Instant::now();
        let mut line = protocol::request(id, method, params).to_string();
        line.push('\n');
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.flush()),
            None => Err(io::Error::from(io::ErrorKind::BrokenPipe)),
        };
        if let Err(e) = written {
            return Err(CallError::Fatal(if e.kind() == io::ErrorKind::BrokenPipe {
                self.crashed(method)
            } else {
                DriverError::PluginIo {
                    plugin: self.path.clone(),
                    method: method.to_owned(),
                    source: e,
                }
            }));
        }

        let until = started + deadline;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let event = match self.events.recv_timeout(left) {
                Ok(event) => event,
                Err(RecvTimeoutError::Disconnected) => Event::Eof,
                Err(RecvTimeoutError::Timeout) => {
                    self.kill();
                    return Err(CallError::Fatal(DriverError::PluginTimedOut {
                        plugin: self.path.clone(),
                        method: method.to_owned(),
                        deadline,
                        stderr_tail: self.tail(),
                    }));
                }
            };
            let event = if self.interrupted.load(Ordering::SeqCst) {
                Event::Interrupted
            } else {
                event
            };
            let line = match event {
                Event::Interrupted => {
                    let how = self.stop();
                    return Err(CallError::Fatal(DriverError::PluginInterrupted {
                        plugin: self.path.clone(),
                        method: method.to_owned(),
                        how,
                    }));
                }
                Event::Line(line) => line,
                Event::Eof => return Err(CallError::Fatal(self.crashed(method))),
                Event::TooLong => {
                    return Err(self.garbage(
                        method,
                        format!("it wrote a line longer than {MAX_LINE} bytes"),
                    ));
                }
                Event::NotUtf8 => {
                    return Err(
                        self.garbage(method, "it wrote a line that is not UTF-8".to_owned())
                    );
                }
                Event::ReadError(source) => {
                    self.kill();
                    return Err(CallError::Fatal(DriverError::PluginIo {
                        plugin: self.path.clone(),
                        method: method.to_owned(),
                        source,
                    }));
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            match self.classify(method, id, &line, progress) {
                Ok(Some(result)) => return Ok(result),
                Ok(None) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// One stdout line: `Some(result)` when it answers the call, `None` for a
    /// notification, an error for an error response or garbage.
    fn classify(
        &mut self,
        method: &str,
        id: u64,
        line: &str,
        progress: &dyn Fn(&str),
    ) -> Result<Option<Value>, CallError> {
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                return Err(self.garbage(
                    method,
                    format!("it wrote {} which is not JSON ({e})", quote(line)),
                ));
            }
        };
        let Some(obj) = value.as_object() else {
            return Err(self.garbage(
                method,
                format!("it wrote {} which is not a JSON object", quote(line)),
            ));
        };
        if !obj.contains_key("id") {
            // A notification. Only progress is defined; others are ignored so
            // that later protocol additions do not break older berths.
            let Some(name) = obj.get("method").and_then(Value::as_str) else {
                return Err(self.garbage(
                    method,
                    format!(
                        "it wrote {} which has neither an id nor a method",
                        quote(line)
                    ),
                ));
            };
            if name == protocol::PROGRESS {
                match obj
                    .get("params")
                    .cloned()
                    .map(serde_json::from_value::<ProgressParams>)
                {
                    Some(Ok(p)) => progress(&p.message),
                    _ => {
                        tracing::debug!(plugin = %self.path.display(), line, "progress without a message")
                    }
                }
            } else {
                tracing::debug!(plugin = %self.path.display(), name, "ignoring an unknown notification");
            }
            return Ok(None);
        }
        if obj.get("id").and_then(Value::as_u64) != Some(id) {
            return Err(self.garbage(
                method,
                format!(
                    "it answered request id {} while berth waited for id {id}",
                    obj["id"]
                ),
            ));
        }
        if let Some(error) = obj.get("error") {
            return match serde_json::from_value::<RpcError>(error.clone()) {
                Ok(e) => Err(CallError::Rpc(e)),
                Err(e) => Err(self.garbage(
                    method,
                    format!("its error object {error} is malformed ({e})"),
                )),
            };
        }
        match obj.get("result") {
            Some(result) => Ok(Some(result.clone())),
            None => Err(self.garbage(
                method,
                format!("its response {} has neither result nor error", quote(line)),
            )),
        }
    }

    fn garbage(&mut self, method: &str, detail: String) -> CallError {
        self.kill();
        CallError::Fatal(DriverError::PluginGarbage {
            plugin: self.path.clone(),
            method: method.to_owned(),
            detail,
        })
    }

    /// The error for a plugin that closed its output: its exit status and
    /// last words, waiting briefly for both to arrive.
    fn crashed(&mut self, method: &str) -> DriverError {
        let status = match self.wait_for_exit() {
            Some(status) => describe(status),
            None => {
                self.kill();
                "it closed its output but kept running, so berth stopped it".to_owned()
            }
        };
        DriverError::PluginCrashed {
            plugin: self.path.clone(),
            method: method.to_owned(),
            status,
            stderr_tail: self.tail(),
        }
    }

    /// Wait up to the grace period for the process to exit on its own. Its
    /// stderr closing (a channel event) comes first; the exit status follows
    /// within moments, so the short poll after it is bounded and rare.
    fn wait_for_exit(&mut self) -> Option<ExitStatus> {
        let mut backoff = Backoff::moments(Instant::now() + self.grace);
        let _ = self.stderr_done.recv_timeout(self.grace);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if !backoff.wait() {
                return None;
            }
        }
    }

    /// Tells the plugin (and what it started in its process group) to stop with SIGTERM, and
    /// kills it if it has not exited within [`INTERRUPT_GRACE`]. Says which it was.
    fn stop(&mut self) -> String {
        use rustix::process::{Pid, Signal, kill_process_group};
        self.stdin = None;
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return "it had already exited".to_owned();
        }
        let group = Pid::from_child(&self.child);
        let _ = kill_process_group(group, Signal::TERM);
        let grace = self.grace.min(INTERRUPT_GRACE);
        let mut backoff = Backoff::moments(Instant::now() + grace);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return format!("on SIGTERM it ended with {}", describe(status));
            }
            if !backoff.wait() {
                let _ = kill_process_group(group, Signal::KILL);
                self.kill();
                return format!("it did not exit within {grace:?} of SIGTERM and was killed");
            }
        }
    }

    fn kill(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn tail(&self) -> Vec<String> {
        // Give the stderr reader a moment to drain what the plugin wrote last.
        let _ = self.stderr_done.recv_timeout(Duration::from_millis(200));
        self.tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for PluginProcess {
    /// Closing stdin is the plugin's signal to exit; one that does not within
    /// the grace period is killed, so no plugin outlives its berth command.
    fn drop(&mut self) {
        // Without this sender the channel ends when the stdout reader does.
        self.wake = None;
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        self.stdin = None;
        let until = Instant::now() + self.grace;
        loop {
            match self
                .events
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(Event::Eof | Event::ReadError(_) | Event::TooLong | Event::NotUtf8)
                | Err(RecvTimeoutError::Disconnected) => break,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    self.kill();
                    return;
                }
            }
        }
        if self.wait_for_exit().is_none() {
            self.kill();
        }
    }
}

fn read_stdout(stdout: impl Read, tx: &mpsc::SyncSender<Event>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut buf = Vec::new();
        let event = match reader
            .by_ref()
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
        {
            Ok(0) => Event::Eof,
            Ok(_) if buf.len() > MAX_LINE => Event::TooLong,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                match String::from_utf8(buf) {
                    Ok(line) => Event::Line(line),
                    Err(_) => Event::NotUtf8,
                }
            }
            Err(e) => Event::ReadError(e),
        };
        let last = !matches!(event, Event::Line(_));
        if tx.send(event).is_err() || last {
            return;
        }
    }
}

fn read_stderr(stderr: impl Read, label: &str, log: &LogSink, tail: &Mutex<VecDeque<String>>) {
    let mut reader = BufReader::new(stderr);
    let mut budget = LogBudget::new(Instant::now());
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let cut = match read_line_bounded(&mut reader, &mut buf, MAX_STDERR_LINE) {
            Ok(None) | Err(_) => break,
            Ok(Some(cut)) => cut,
        };
        let text = String::from_utf8_lossy(&buf);
        let mut line = printable(text.trim_end_matches(['\n', '\r']));
        if cut > 0 {
            line.push_str(&format!("… ({cut} bytes cut)"));
        }
        match budget.take(Instant::now()) {
            Admit::Yes { dropped } => {
                if dropped > 0 {
                    log(label, &not_shown(dropped));
                }
                log(label, &line);
            }
            Admit::No => {}
        }
        if let Ok(mut t) = tail.lock() {
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    }
    if budget.dropped > 0 {
        log(label, &not_shown(budget.dropped));
    }
}

fn not_shown(dropped: u64) -> String {
    format!("({dropped} lines of this plugin's log not shown: it wrote faster than berth logs)")
}

/// Reads one line into `buf`, at most `max` bytes of it; the rest of a longer line is read
/// and thrown away. `None` at the end of the stream, else how many bytes were thrown away.
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
            Some(at) => {
                reader.consume(at + 1);
                return Ok(Some(cut + at));
            }
            None => {
                let len = available.len();
                reader.consume(len);
                cut += len;
            }
        }
    }
}

/// A token bucket over log lines: [`MAX_LOGGED_LINES`] at once, then [`LOGGED_PER_SECOND`].
struct LogBudget {
    tokens: f64,
    last: Instant,
    /// Lines left out since the last one logged.
    dropped: u64,
}

enum Admit {
    /// Log the line; `dropped` lines were left out before it.
    Yes {
        dropped: u64,
    },
    No,
}

impl LogBudget {
    fn new(now: Instant) -> Self {
        LogBudget {
            tokens: MAX_LOGGED_LINES as f64,
            last: now,
            dropped: 0,
        }
    }

    fn take(&mut self, now: Instant) -> Admit {
        let refill = now.saturating_duration_since(self.last).as_secs_f64() * LOGGED_PER_SECOND;
        self.tokens = (self.tokens + refill).min(MAX_LOGGED_LINES as f64);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Admit::Yes {
                dropped: std::mem::take(&mut self.dropped),
            }
        } else {
            self.dropped += 1;
            Admit::No
        }
    }
}

/// A plugin's log line (or any text a plugin or Go driver sent) as one line of plain text:
/// every control character a terminal would obey, the bidirectional marks among them, written
/// as an escape by berth's one escaper, so that the plugin cannot move the cursor, rewrite
/// berth's lines, set the terminal's title or reorder what is shown.
pub(crate) fn printable(line: &str) -> String {
    berth_term::escape(line, berth_term::Lines::Escape).into_owned()
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

/// A line as it appears in an error: quoted, and cut if long.
fn quote(line: &str) -> String {
    const MAX: usize = 200;
    if line.len() <= MAX {
        format!("{line:?}")
    } else {
        let mut end = MAX;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{:?}… ({} bytes)", &line[..end], line.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `read_stderr` over `input` and returns what reached the log, and the tail.
    fn logged(input: &[u8]) -> (Vec<String>, Vec<String>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink_lines = Arc::clone(&lines);
        let log: LogSink = Arc::new(move |_, line| {
            if let Ok(mut l) = sink_lines.lock() {
                l.push(line.to_owned());
            }
        });
        let tail = Mutex::new(VecDeque::new());
        read_stderr(input, "t", &log, &tail);
        let lines = lines.lock().map(|l| l.clone()).unwrap_or_default();
        let tail = tail.into_inner().map(Vec::from).unwrap_or_default();
        (lines, tail)
    }

    #[test]
    fn stderr_lines_are_escaped_before_anyone_prints_them() {
        let (lines, tail) = logged(b"a\x1b[2J\rb\x07\x9b\xc2\x9bc\r\nplain\n");
        assert_eq!(lines, [r"a\x1b[2J\rb\x07�\u{9b}c", "plain"]);
        assert_eq!(tail, lines);
    }

    #[test]
    fn stderr_lines_show_the_marks_that_reorder_text() {
        // U+202E would print "exe.png" backwards; U+2066 opens an isolate.
        let (lines, _) = logged("ok \u{202e}gnp.exe \u{2066}x\n".as_bytes());
        assert_eq!(lines, [r"ok \u{202e}gnp.exe \u{2066}x"]);
    }

    #[test]
    fn a_long_stderr_line_is_cut_and_a_flood_is_bounded() {
        let mut input = vec![b'x'; 8 << 20];
        input.push(b'\n');
        for i in 0..100_000 {
            input.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        input.extend_from_slice(b"last words\n");
        let (lines, tail) = logged(&input);
        let total: usize = lines.iter().map(String::len).sum();
        assert!(
            lines.len() <= 2 * MAX_LOGGED_LINES && total < 1 << 20,
            "{} lines, {total} bytes reached the log",
            lines.len()
        );
        assert!(lines[0].len() <= MAX_STDERR_LINE + 64, "{}", lines[0].len());
        assert!(
            lines[0].ends_with("bytes cut)"),
            "{}",
            &lines[0][lines[0].len() - 40..]
        );
        assert!(
            lines.last().is_some_and(|l| l.contains("not shown")),
            "the log says lines were left out: {:?}",
            lines.last()
        );
        // The tail for error messages still has the plugin's last words.
        assert_eq!(tail.last().map(String::as_str), Some("last words"));
        assert!(tail.len() <= TAIL_LINES);
    }

    #[test]
    fn quote_cuts_long_lines_on_char_boundaries() {
        let long = "é".repeat(300);
        let q = quote(&long);
        assert!(q.ends_with("(600 bytes)"), "{q}");
        assert_eq!(quote("hi"), "\"hi\"");
    }
}
