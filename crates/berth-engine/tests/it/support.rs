//! A loopback HTTPS server thread that plays the engine: mutual TLS with a
//! given rustls configuration. It answers every request of a connection (HTTP/1.1 keep-alive)
//! until the client closes it, and records the paths it was asked for.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use berth_tls::rustls::{ServerConfig, ServerConnection, StreamOwned};

use berth_tls::{KeyAlgorithm, MachineCertificates, generate_machine_certificates};

/// What the server saw on one connection: the request paths, or why the
/// handshake or a request failed.
pub type Outcome = Result<Vec<String>, String>;

/// How a test server answers a path: status and body.
pub type Responder = fn(&str) -> (u16, String);

pub const VERSION_JSON: &str = r#"{"Platform":{"Name":"Docker Engine - Community"},"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","GitCommit":"5d6db84","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0-18-amd64"}"#;

/// Answers like an engine: /_ping says OK, /version says who it is.
pub fn engine(path: &str) -> (u16, String) {
    match path {
        "/_ping" => (200, "OK".to_owned()),
        "/version" => (200, VERSION_JSON.to_owned()),
        _ => (404, r#"{"message":"page not found"}"#.to_owned()),
    }
}

/// Two machines' certificate sets, made once for the whole test binary
/// (RSA keys take a while to make).
pub struct Machines {
    pub a: MachineCertificates,
    pub b: MachineCertificates,
    pub b_rsa: MachineCertificates,
}

pub fn machines() -> &'static Machines {
    static MACHINES: OnceLock<Machines> = OnceLock::new();
    MACHINES.get_or_init(|| {
        let sans = |ip: &str| vec![ip.to_owned(), format!("{ip}.example.test")];
        Machines {
            a: generate_machine_certificates("a", &sans("192.0.2.10"), KeyAlgorithm::EcdsaP256)
                .expect("machine A's certificates"),
            b: generate_machine_certificates("b", &sans("192.0.2.11"), KeyAlgorithm::EcdsaP256)
                .expect("machine B's certificates"),
            b_rsa: generate_machine_certificates(
                "b-rsa",
                &sans("192.0.2.12"),
                KeyAlgorithm::Rsa2048,
            )
            .expect("machine B's RSA certificates"),
        }
    })
}

pub struct TestServer {
    pub addr: SocketAddr,
    thread: JoinHandle<Vec<Outcome>>,
}

impl TestServer {
    /// Serves `connections` connections on an ephemeral port of `ip`, then stops.
    pub fn spawn(
        ip: &str,
        config: Arc<ServerConfig>,
        connections: usize,
        respond: Responder,
    ) -> Self {
        let listener = TcpListener::bind((ip, 0)).expect("bind an ephemeral loopback port");
        let addr = listener.local_addr().expect("local address");
        let thread = std::thread::spawn(move || {
            (0..connections)
                .map(|_| {
                    let (tcp, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
                    serve_one(tcp, config.clone(), respond)
                })
                .collect()
        });
        TestServer { addr, thread }
    }

    /// What the server saw, once it has served every connection.
    pub fn outcomes(self) -> Vec<Outcome> {
        self.thread.join().expect("server thread")
    }
}

fn serve_one(tcp: std::net::TcpStream, config: Arc<ServerConfig>, respond: Responder) -> Outcome {
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
            Ok(0) => return Ok(paths),
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
        let answer = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(answer.as_bytes())
            .and_then(|()| tls.flush())
            .map_err(|e| format!("answer: {e}"))?;
        paths.push(path);
    }
}
