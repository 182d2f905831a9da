//! One Go net/rpc connection: the HTTP CONNECT that opens it (`rpc.DialHTTP`), then requests and
//! responses as gob values, a header and a body each (`net/rpc`'s `gobClientCodec`).
//!
//! Calls may overlap — the heartbeat goes out every 5 s while a `Create` runs for minutes — so
//! one thread reads every response and hands it to the caller waiting for its sequence number.
//! A caller waits on its own channel with a deadline; nothing here blocks without one, except
//! the reader thread, which ends when the socket is shut down or the plugin closes it.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gobwire::{Dynamic, Encode, Encoder};

use crate::frame::{FrameError, GobReader};
use crate::messages::{RequestHeader, ResponseHeader};

/// What `rpc.DialHTTP` writes, and what Go's server answers (`net/rpc/server.go`, `connected`).
const CONNECT: &[u8] = b"CONNECT /_goRPC_ HTTP/1.0\n\n";
const CONNECTED: &str = "HTTP/1.0 200 Connected to Go RPC";
/// The CONNECT answer is one short line and an empty one; more is not Go's server.
const MAX_CONNECT_ANSWER: usize = 512;
/// A request is small; a plugin that does not read it within this is stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the connection can no longer be used.
#[derive(Debug, Clone)]
pub(crate) enum Broken {
    /// The plugin closed it (or exited).
    Closed,
    /// Reading failed.
    Io(String),
    /// The plugin sent bytes that are not an answer berth can take.
    Malformed(String),
}

/// What a waiting caller receives.
pub(crate) enum Event {
    /// The answer: the header's error (empty on success) and the body.
    Reply { error: String, body: Dynamic },
    /// The connection broke before the answer came.
    Broken(Broken),
    /// A line the plugin printed on stdout while the call ran.
    Progress(String),
    /// berth was interrupted.
    Interrupted,
}

/// Why a call returned no body.
#[derive(Debug)]
pub(crate) enum CallErr {
    /// The driver's own error.
    Remote(String),
    /// The connection broke.
    Broken(Broken),
    /// No answer before the deadline.
    TimedOut,
    /// berth was interrupted.
    Interrupted,
    /// Writing the request failed.
    Io(io::Error),
    /// The arguments could not be encoded (a bug in berth).
    Encode(String),
}

struct Writer {
    stream: TcpStream,
    encoder: Encoder,
    next_seq: u64,
    buf: Vec<u8>,
}

#[derive(Default)]
struct Pending {
    calls: HashMap<u64, Sender<Event>>,
    broken: Option<Broken>,
    interrupted: bool,
}

/// A connected, handshaken net/rpc client.
pub(crate) struct Conn {
    writer: Mutex<Writer>,
    pending: Arc<Mutex<Pending>>,
    shutdown: TcpStream,
    /// Where the plugin's stdout lines go while a call with progress runs.
    progress: Arc<Mutex<Option<Sender<Event>>>>,
}

impl Conn {
    /// Connects to `addr`, opens the RPC session with CONNECT, and starts the reader thread.
    /// `progress` is the slot the plugin's stdout reader sends its lines to.
    pub(crate) fn open(
        addr: SocketAddr,
        timeout: Duration,
        progress: Arc<Mutex<Option<Sender<Event>>>>,
    ) -> Result<Self, String> {
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| format!("connecting to {addr} failed ({e})"))?;
        Self::handshake(stream, timeout, progress)
    }

    /// The CONNECT exchange on a connected stream, then the reader thread.
    pub(crate) fn handshake(
        mut stream: TcpStream,
        timeout: Duration,
        progress: Arc<Mutex<Option<Sender<Event>>>>,
    ) -> Result<Self, String> {
        let _ = stream.set_nodelay(true);
        stream
            .set_write_timeout(Some(WRITE_TIMEOUT))
            .and_then(|()| stream.set_read_timeout(Some(timeout)))
            .map_err(|e| format!("cannot set the connection's timeouts ({e})"))?;
        stream
            .write_all(CONNECT)
            .map_err(|e| format!("sending CONNECT failed ({e})"))?;
        let read_half = stream
            .try_clone()
            .map_err(|e| format!("cannot share the connection ({e})"))?;
        let mut reader = BufReader::new(read_half);
        let status = read_line(&mut reader, timeout)?;
        if status != CONNECTED {
            return Err(format!(
                "it answered CONNECT with {:?}, not {CONNECTED:?}",
                cut(&status)
            ));
        }
        let blank = read_line(&mut reader, timeout)?;
        if !blank.is_empty() {
            return Err(format!("its CONNECT answer goes on with {:?}", cut(&blank)));
        }
        // From here on the reader thread waits as long as calls are pending; each caller has
        // its own deadline, and a stuck plugin is stopped by shutting the socket down.
        reader
            .get_ref()
            .set_read_timeout(None)
            .map_err(|e| format!("cannot set the connection's timeouts ({e})"))?;
        let shutdown = stream
            .try_clone()
            .map_err(|e| format!("cannot share the connection ({e})"))?;
        let pending = Arc::new(Mutex::new(Pending::default()));
        let pending2 = Arc::clone(&pending);
        std::thread::Builder::new()
            .name("go-plugin-rpc".to_owned())
            .spawn(move || read_loop(GobReader::new(reader), &pending2))
            .map_err(|e| format!("cannot start a thread ({e})"))?;
        Ok(Self {
            writer: Mutex::new(Writer {
                stream,
                encoder: Encoder::new(),
                next_seq: 0,
                buf: Vec::new(),
            }),
            pending,
            shutdown,
            progress,
        })
    }

    /// Calls `method` with `args` and waits up to `deadline` for its body. While it waits, the
    /// plugin's stdout lines go to `progress` when one is given.
    pub(crate) fn call(
        &self,
        method: &str,
        args: &dyn Encode,
        deadline: Duration,
        progress: Option<&dyn Fn(&str)>,
    ) -> Result<Dynamic, CallErr> {
        let started = Instant::now();
        let (tx, rx) = mpsc::channel();
        let seq = self.send(method, args, &tx)?;
        let slot = progress.is_some();
        if slot && let Ok(mut p) = self.progress.lock() {
            *p = Some(tx.clone());
        }
        drop(tx);
        let outcome = wait(&rx, started + deadline, progress);
        if slot && let Ok(mut p) = self.progress.lock() {
            *p = None;
        }
        if outcome.is_err()
            && let Ok(mut p) = self.pending.lock()
        {
            p.calls.remove(&seq);
        }
        outcome
    }

    /// Sends a request without waiting for its answer (`Close`, whose answer Go's plugin
    /// server may never write: it exits as soon as it is told to).
    pub(crate) fn send_only(&self, method: &str, args: &dyn Encode) -> Result<(), CallErr> {
        let (tx, _rx) = mpsc::channel();
        self.send(method, args, &tx).map(drop)
    }

    fn send(&self, method: &str, args: &dyn Encode, tx: &Sender<Event>) -> Result<u64, CallErr> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| CallErr::Broken(Broken::Io("a call panicked".to_owned())))?;
        let seq = w.next_seq;
        w.next_seq += 1;
        {
            let mut p = self
                .pending
                .lock()
                .map_err(|_| CallErr::Broken(Broken::Io("a call panicked".to_owned())))?;
            if p.interrupted {
                return Err(CallErr::Interrupted);
            }
            if let Some(b) = &p.broken {
                return Err(CallErr::Broken(b.clone()));
            }
            p.calls.insert(seq, tx.clone());
        }
        let header = RequestHeader {
            service_method: method.to_owned(),
            seq,
        };
        let Writer {
            stream,
            encoder,
            buf,
            ..
        } = &mut *w;
        buf.clear();
        encoder
            .encode_into(&header, buf)
            .and_then(|()| encoder.encode_into(args, buf))
            .map_err(|e| CallErr::Encode(e.to_string()))?;
        stream.write_all(buf).map_err(CallErr::Io)?;
        Ok(seq)
    }

    /// Ends every call under way with [`Event::Interrupted`]; later calls fail at once.
    pub(crate) fn interrupt(&self) {
        if let Ok(mut p) = self.pending.lock() {
            p.interrupted = true;
            for tx in p.calls.values() {
                let _ = tx.send(Event::Interrupted);
            }
        }
    }

    /// Shuts the socket down: the reader thread ends, and so does every call waiting.
    pub(crate) fn shut(&self) {
        let _ = self.shutdown.shutdown(Shutdown::Both);
    }
}

fn wait(
    rx: &Receiver<Event>,
    until: Instant,
    progress: Option<&dyn Fn(&str)>,
) -> Result<Dynamic, CallErr> {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Event::Reply { error, body }) => {
                return if error.is_empty() {
                    Ok(body)
                } else {
                    Err(CallErr::Remote(error))
                };
            }
            Ok(Event::Broken(b)) => return Err(CallErr::Broken(b)),
            Ok(Event::Interrupted) => return Err(CallErr::Interrupted),
            Ok(Event::Progress(line)) => {
                if let Some(p) = progress {
                    p(&line);
                }
            }
            Err(RecvTimeoutError::Timeout) => return Err(CallErr::TimedOut),
            Err(RecvTimeoutError::Disconnected) => return Err(CallErr::Broken(Broken::Closed)),
        }
    }
}

fn read_loop<R: Read>(mut reader: GobReader<R>, pending: &Mutex<Pending>) {
    let broken = loop {
        let header: ResponseHeader = match reader.read() {
            Ok(h) => h,
            Err(e) => break broken(e),
        };
        let body: Dynamic = match reader.read() {
            Ok(b) => b,
            Err(e) => break broken(e),
        };
        let tx = pending
            .lock()
            .ok()
            .and_then(|mut p| p.calls.remove(&header.seq));
        match tx {
            Some(tx) => {
                let _ = tx.send(Event::Reply {
                    error: header.error,
                    body,
                });
            }
            None => {
                break Broken::Malformed(format!(
                    "an answer to request {} ({:?}), which berth did not send or no longer waits for",
                    header.seq,
                    cut(&header.service_method)
                ));
            }
        }
    };
    if let Ok(mut p) = pending.lock() {
        for (_, tx) in p.calls.drain() {
            let _ = tx.send(Event::Broken(broken.clone()));
        }
        p.broken = Some(broken);
    }
}

fn broken(e: FrameError) -> Broken {
    match e {
        FrameError::Closed { clean: true } => Broken::Closed,
        FrameError::Closed { clean: false } => {
            Broken::Malformed("the connection ended inside a message".to_owned())
        }
        FrameError::Io(e) => Broken::Io(e.to_string()),
        FrameError::Malformed(m) => Broken::Malformed(m),
    }
}

/// One line of the CONNECT answer, without its newline, bounded in length; the stream's read
/// timeout bounds the time.
fn read_line(reader: &mut impl BufRead, timeout: Duration) -> Result<String, String> {
    let mut buf = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_CONNECT_ANSWER as u64)
        .read_until(b'\n', &mut buf)
        .map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                format!("it did not answer CONNECT within {timeout:?}")
            }
            _ => format!("reading its CONNECT answer failed ({e})"),
        })?;
    if n == 0 {
        return Err("it closed the connection instead of answering CONNECT".to_owned());
    }
    if buf.last() != Some(&b'\n') {
        return Err(format!(
            "its CONNECT answer is not a line of at most {MAX_CONNECT_ANSWER} bytes"
        ));
    }
    buf.pop();
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Text from the plugin, cut short for an error message.
pub(crate) fn cut(s: &str) -> String {
    cut_to(s, 200)
}

/// At most `max` bytes of `s` (on a character boundary), marked when cut.
pub(crate) fn cut_to(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
