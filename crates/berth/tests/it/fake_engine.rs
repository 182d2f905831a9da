//! A loopback engine over mutual TLS with a machine's own certificates, answering the few calls
//! berth makes before it asks a question (`/_ping`, `/version`, `/info`, the running
//! containers), so that CLI tests can meet an engine that runs containers without a host.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use berth_tls::rustls::{ServerConnection, StreamOwned};
use berth_tls::{KeyAlgorithm, generate_machine_certificates, server_config};

/// Writes a machine's CA and client certificate into `dir` and serves an engine on 127.0.0.1
/// that runs one container (`sleeper`) without live-restore, until the test process ends.
/// Returns the engine URL.
pub fn serve_in(dir: &Path) -> String {
    serve_counting(dir, None).0
}

/// [`serve_in`], with the `Swarm` header of `/_ping` set to `swarm` (engines since API 1.42
/// send it; `None` is an older engine, like Debian's 20.10), and the paths of every request it
/// was sent, in order.
pub fn serve_counting(
    dir: &Path,
    swarm: Option<&'static str>,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let set =
        generate_machine_certificates("fake", &["127.0.0.1".to_owned()], KeyAlgorithm::EcdsaP256)
            .unwrap();
    std::fs::write(dir.join("ca.pem"), &set.ca.cert_pem).unwrap();
    std::fs::write(dir.join("cert.pem"), &set.client.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &set.client.key_pem).unwrap();
    let config = server_config(&set.ca.cert_pem, &set.server).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = log.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (config, requests) = (config.clone(), requests.clone());
            std::thread::spawn(move || serve(tcp, config, swarm, &requests));
        }
    });
    (format!("tcp://127.0.0.1:{port}"), log)
}

fn serve(
    tcp: std::net::TcpStream,
    config: Arc<berth_tls::rustls::ServerConfig>,
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
        let body = match path {
            "/_ping" => "OK".to_owned(),
            "/version" => r#"{"Version":"20.10.24","ApiVersion":"1.41","Os":"linux","Arch":"amd64"}"#.to_owned(),
            "/info" => r#"{"LiveRestoreEnabled":false,"Swarm":{"LocalNodeState":"inactive"}}"#.to_owned(),
            "/containers/json" => r#"[{"Id":"c0ffee","Names":["/sleeper"],"State":"running"}]"#.to_owned(),
            "/containers/c0ffee/json" => r#"{"Id":"c0ffee","Name":"/sleeper","State":{"Running":true,"StartedAt":"2026-12-01T10:00:00Z"}}"#.to_owned(),
            _ => {
                let _ = respond(&mut tls, 404, r#"{"message":"page not found"}"#);
                continue;
            }
        };
        if respond_with(&mut tls, 200, &header, &body).is_err() {
            return;
        }
    }
}

fn respond(tls: &mut impl Write, status: u16, body: &str) -> std::io::Result<()> {
    respond_with(tls, status, "", body)
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
