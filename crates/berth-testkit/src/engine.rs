//! Loopback HTTPS servers that play the Docker engine over mutual TLS: [`TestServer`] and
//! [`OneShotServer`] serve a fixed number of connections with a given rustls configuration and
//! report what they saw; [`FakeDocker`] is a whole engine with its own certificates that the
//! CLI's tests point `berth` at.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use berth_tls::rustls::{ServerConfig, ServerConnection, StreamOwned};
use berth_tls::server_config;

use crate::certs::{loopback_machine, write_client_files};

/// How a test server answers a path: status and body.
pub type Responder = fn(&str) -> (u16, String);

/// What `/version` of a Debian 12 engine says.
pub const VERSION_JSON: &str = r#"{"Platform":{"Name":"Docker Engine - Community"},"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","GitCommit":"5d6db84","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0-18-amd64"}"#;

/// Answers like an engine: /_ping says OK, /version says who it is.
pub fn engine(path: &str) -> (u16, String) {
    match path {
        "/_ping" => (200, "OK".to_owned()),
        "/version" => (200, VERSION_JSON.to_owned()),
        _ => (404, r#"{"message":"page not found"}"#.to_owned()),
    }
}

/// A server that answers every request of a connection (HTTP/1.1 keep-alive) until the client
/// closes it, for a fixed number of connections, and records the paths it was asked for.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    thread: JoinHandle<Vec<Result<Vec<String>, String>>>,
}

impl TestServer {
    /// Serves `connections` connections on an ephemeral port of `ip`, then stops.
    pub fn spawn(
        ip: &str,
        config: Arc<ServerConfig>,
        connections: usize,
        respond: Responder,
    ) -> Self {
        let (addr, thread) = spawn(ip, config, connections, respond, Reuse::KeepAlive);
        TestServer { addr, thread }
    }

    /// What the server saw, once it has served every connection: per connection, the request
    /// paths, or why the handshake or a request failed.
    pub fn outcomes(self) -> Vec<Result<Vec<String>, String>> {
        self.thread.join().expect("server thread")
    }
}

/// A server that answers one request per connection (`Connection: close`, then close_notify),
/// for a fixed number of connections.
pub struct OneShotServer {
    /// Where it listens.
    pub addr: SocketAddr,
    thread: JoinHandle<Vec<Result<Vec<String>, String>>>,
}

impl OneShotServer {
    /// Serves `connections` connections on an ephemeral port of `ip`, then stops.
    pub fn spawn(
        ip: &str,
        config: Arc<ServerConfig>,
        connections: usize,
        respond: Responder,
    ) -> Self {
        let (addr, thread) = spawn(ip, config, connections, respond, Reuse::OneRequest);
        OneShotServer { addr, thread }
    }

    /// What the server saw, once it has served every connection: per connection, the request
    /// path, or why the handshake or the request failed.
    pub fn outcomes(self) -> Vec<Result<String, String>> {
        let outcomes = self.thread.join().expect("server thread");
        outcomes
            .into_iter()
            .map(|o| o.map(|paths| paths.into_iter().next().unwrap_or_default()))
            .collect()
    }
}

/// Whether a connection carries many requests or one.
#[derive(Clone, Copy, PartialEq)]
enum Reuse {
    KeepAlive,
    OneRequest,
}

type Served = (SocketAddr, JoinHandle<Vec<Result<Vec<String>, String>>>);

fn spawn(
    ip: &str,
    config: Arc<ServerConfig>,
    connections: usize,
    respond: Responder,
    reuse: Reuse,
) -> Served {
    let listener = TcpListener::bind((ip, 0)).expect("bind an ephemeral loopback port");
    let addr = listener.local_addr().expect("local address");
    let thread = std::thread::spawn(move || {
        (0..connections)
            .map(|_| {
                let (tcp, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
                serve_one(tcp, config.clone(), respond, reuse)
            })
            .collect()
    });
    (addr, thread)
}

fn serve_one(
    tcp: TcpStream,
    config: Arc<ServerConfig>,
    respond: Responder,
    reuse: Reuse,
) -> Result<Vec<String>, String> {
    let timeout = Some(Duration::from_secs(10));
    tcp.set_read_timeout(timeout).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(timeout).map_err(|e| e.to_string())?;
    let conn = ServerConnection::new(config).map_err(|e| e.to_string())?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| format!("handshake: {e}"))?;
    }
    let mut paths = Vec::new();
    loop {
        let mut reader = BufReader::new(&mut tls);
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) if reuse == Reuse::KeepAlive => return Ok(paths),
            Ok(_) => {}
            // The client hung up without close_notify after its last answer: fine.
            Err(_) if !paths.is_empty() => return Ok(paths),
            Err(e) => return Err(format!("request: {e}")),
        }
        loop {
            let mut line = String::new();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("headers: {e}"))?;
            if n == 0 || line == "\r\n" {
                break;
            }
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .ok_or_else(|| format!("bad request line {request_line:?}"))?
            .to_owned();
        let (status, body) = respond(&path);
        let close = match reuse {
            Reuse::KeepAlive => "",
            Reuse::OneRequest => "Connection: close\r\n",
        };
        let answer = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{close}\r\n{body}",
            body.len()
        );
        tls.write_all(answer.as_bytes())
            .map_err(|e| format!("answer: {e}"))?;
        paths.push(path);
        if reuse == Reuse::OneRequest {
            tls.conn.send_close_notify();
            tls.flush().map_err(|e| format!("close: {e}"))?;
            return Ok(paths);
        }
        tls.flush().map_err(|e| format!("answer: {e}"))?;
    }
}

/// An engine on 127.0.0.1 with a machine's own certificates, answering the few calls berth
/// makes before it asks a question (`/_ping`, `/version`, `/info`, the running containers): it
/// runs one container (`sleeper`) without live-restore, so that CLI tests meet an engine that
/// runs containers without a host. It requires the client certificate it wrote and serves until
/// the test process ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct FakeDocker {
    swarm: Option<&'static str>,
}

impl FakeDocker {
    /// An engine whose `/_ping` sends no `Swarm` header (an engine older than API 1.42, like
    /// Debian's 20.10).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `Swarm` header of `/_ping` to `state` (engines since API 1.42 send it), or
    /// leaves it out for `None`.
    pub fn swarm(mut self, state: Option<&'static str>) -> Self {
        self.swarm = state;
        self
    }

    /// Writes the machine's CA and client certificate into `dir` (`ca.pem`, `cert.pem`,
    /// `key.pem`) and starts serving. Returns the engine URL and the paths of every request it
    /// was sent, in order (without bollard's `/v1.NN` prefix or a query).
    pub fn serve_in(self, dir: &Path) -> (String, Arc<Mutex<Vec<String>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let set = loopback_machine("fake");
        write_client_files(dir, &set);
        let config = server_config(&set.ca.cert_pem, &set.server).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = log.clone();
        let swarm = self.swarm;
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let (config, requests) = (config.clone(), requests.clone());
                std::thread::spawn(move || serve_docker(tcp, config, swarm, &requests));
            }
        });
        (format!("tcp://127.0.0.1:{port}"), log)
    }
}

fn serve_docker(
    tcp: TcpStream,
    config: Arc<ServerConfig>,
    swarm: Option<&str>,
    requests: &Mutex<Vec<String>>,
) {
    let Ok(conn) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = StreamOwned::new(conn, tcp);
    loop {
        let mut reader = BufReader::new(&mut tls);
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
        }
        let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let path = path.split('?').next().unwrap_or("/");
        // bollard may put the API version in front (`/v1.41/version`).
        let path = match path.strip_prefix("/v1.") {
            Some(rest) => rest.find('/').map_or(path, |i| &rest[i..]),
            None => path,
        };
        requests.lock().unwrap().push(path.to_owned());
        let header = match (path, swarm) {
            ("/_ping", Some(state)) => format!("Swarm: {state}\r\n"),
            _ => String::new(),
        };
        let (status, body) = docker_answer(path);
        if respond_with(&mut tls, status, &header, body).is_err() {
            return;
        }
    }
}

/// What [`FakeDocker`] answers to `path`.
fn docker_answer(path: &str) -> (u16, &'static str) {
    match path {
        "/_ping" => (200, "OK"),
        "/version" => (
            200,
            r#"{"Version":"20.10.24","ApiVersion":"1.41","Os":"linux","Arch":"amd64"}"#,
        ),
        "/info" => (
            200,
            r#"{"LiveRestoreEnabled":false,"Swarm":{"LocalNodeState":"inactive"}}"#,
        ),
        "/containers/json" => (
            200,
            r#"[{"Id":"c0ffee","Names":["/sleeper"],"State":"running"}]"#,
        ),
        "/containers/c0ffee/json" => (
            200,
            r#"{"Id":"c0ffee","Name":"/sleeper","State":{"Running":true,"StartedAt":"2026-12-01T10:00:00Z"}}"#,
        ),
        _ => (404, r#"{"message":"page not found"}"#),
    }
}

fn respond_with(
    tls: &mut impl Write,
    status: u16,
    headers: &str,
    body: &str,
) -> std::io::Result<()> {
    write!(
        tls,
        "HTTP/1.1 {status} X\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    tls.flush()
}
