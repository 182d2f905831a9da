//! `berth audit`: is a Docker engine exposed at an address? The exposure berth exists to
//! prevent, found where it already is.
//!
//! Each port is asked `GET /version` twice over: in plain HTTP (an engine on `-H tcp://…:2375`
//! answers anyone), then — when the port speaks TLS — over TLS without a client certificate (an
//! engine on `--tls` without `--tlsverify` answers anyone who does not check its certificate).
//! An engine that refuses the second in the handshake, or right after it, requires a client
//! certificate: mutual TLS, berth's way.
//!
//! The TLS probe verifies nothing about the server on purpose (see [`insecure`]): it wants to
//! know whether *anyone* gets in, and it sends nothing secret. It lives apart from the engine
//! client ([`crate::Engine`]), which trusts the machine's own CA and nothing else.

mod insecure;

use std::sync::Arc;
use std::time::Duration;

use berth_net::{ConnectError, HostPort};
use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use rustls::AlertDescription;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};

/// The engine's plain-HTTP port.
pub const PLAIN_PORT: u16 = 2375;
/// The engine's TLS port.
pub const TLS_PORT: u16 = 2376;

/// What one port of one address holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum Verdict {
    /// An engine answers in plain HTTP: anyone who reaches the port is root on the host.
    PlainHttp {
        /// The engine's version, as it said.
        engine_version: String,
    },
    /// An engine answers over TLS without asking for a client certificate: the same, encrypted.
    TlsWithoutClientVerification {
        /// The engine's version, as it said.
        engine_version: String,
    },
    /// The port speaks TLS and refuses a client without a certificate (berth's mutual TLS).
    ClientCertificateRequired {
        /// What the refusal looked like (the TLS alert).
        detail: String,
    },
    /// Nothing listens (the connection was refused).
    Closed,
    /// No answer within the deadline (filtered, or a host that is down).
    NoAnswer,
    /// Something answers, but not as a Docker engine.
    NotAnEngine {
        /// What it said.
        detail: String,
    },
    /// The address could not be probed (it does not resolve, the network failed).
    Failed {
        /// Why.
        detail: String,
    },
}

impl Verdict {
    /// Whether anyone who reaches the port can use the engine.
    pub fn exposed(&self) -> bool {
        matches!(
            self,
            Verdict::PlainHttp { .. } | Verdict::TlsWithoutClientVerification { .. }
        )
    }

    /// A few words for a table cell.
    pub fn summary(&self) -> String {
        match self {
            Verdict::PlainHttp { engine_version } => {
                format!("EXPOSED: engine {engine_version} answers plain HTTP, no TLS")
            }
            Verdict::TlsWithoutClientVerification { engine_version } => {
                format!("EXPOSED: engine {engine_version} answers TLS without a client certificate")
            }
            Verdict::ClientCertificateRequired { .. } => {
                "mutual TLS: a client certificate is required".to_owned()
            }
            Verdict::Closed => "closed".to_owned(),
            Verdict::NoAnswer => "no answer".to_owned(),
            Verdict::NotAnEngine { detail } => format!("not a Docker engine ({detail})"),
            Verdict::Failed { detail } => format!("cannot probe: {detail}"),
        }
    }
}

/// One probed port and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The address as given (without the port).
    pub address: String,
    /// The port probed.
    pub port: u16,
    /// What was found.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Whether anyone who reaches the port can use the engine.
    pub exposed: bool,
}

/// The ports to probe for one address: the one it names, else the engine's two.
pub fn targets(address: &str) -> Result<Vec<HostPort>, berth_net::AddrError> {
    // `parse` refuses a given port 0, so 0 stands for "none given" here.
    let parsed = HostPort::parse(address, 0)?;
    Ok(if parsed.port == 0 {
        vec![
            HostPort::new(parsed.host.clone(), PLAIN_PORT),
            HostPort::new(parsed.host, TLS_PORT),
        ]
    } else {
        vec![parsed]
    })
}

/// How many times the per-stage `timeout` one address given may take in all.
const STAGES: u32 = 3;

/// Probes every target at once. Each has one deadline for all of it, [`STAGES`] times
/// `timeout`: its name's resolution, every address the name resolves to, the plain and the
/// TLS probe. (A name resolving to many silent addresses took `timeout` for each of them.)
pub async fn audit(targets: &[HostPort], timeout: Duration) -> Vec<Finding> {
    futures::future::join_all(targets.iter().map(|t| async move {
        let verdict = tokio::time::timeout(timeout.saturating_mul(STAGES), probe(t, timeout))
            .await
            .unwrap_or(Verdict::NoAnswer);
        Finding {
            address: t.host.clone(),
            port: t.port,
            exposed: verdict.exposed(),
            verdict,
        }
    }))
    .await
}

/// What one port holds.
pub async fn probe(target: &HostPort, timeout: Duration) -> Verdict {
    match plain(target, timeout).await {
        Plain::Done(verdict) => verdict,
        Plain::SpeaksTls => tls(target, timeout).await,
    }
}

enum Plain {
    Done(Verdict),
    /// The port answered plain HTTP as a TLS server does, or hung up on it.
    SpeaksTls,
}

/// Connects to the first address of `target` that answers; one `timeout` covers the name's
/// resolution and all its addresses together, not each of them.
async fn connect(target: &HostPort, timeout: Duration) -> Result<tokio::net::TcpStream, Verdict> {
    let addrs = match target.ip() {
        Some(ip) => vec![std::net::SocketAddr::new(ip, target.port)],
        None => match tokio::time::timeout(
            timeout,
            tokio::net::lookup_host((target.host.as_str(), target.port)),
        )
        .await
        {
            Err(_) => return Err(Verdict::NoAnswer),
            Ok(Err(e)) => {
                return Err(Verdict::Failed {
                    detail: format!("could not resolve {target}: {e}"),
                });
            }
            Ok(Ok(addrs)) => addrs.collect(),
        },
    };
    connect_any(target, &addrs, timeout).await
}

/// The first of `addrs` that accepts within one `timeout` for them all.
async fn connect_any(
    target: &HostPort,
    addrs: &[std::net::SocketAddr],
    timeout: Duration,
) -> Result<tokio::net::TcpStream, Verdict> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = None;
    for addr in addrs {
        match tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => return Ok(tcp),
            Ok(Err(e)) => last = Some(e),
            Err(_) => return Err(Verdict::NoAnswer),
        }
    }
    Err(ConnectError::from_last(target, timeout, last)).map_err(|e| match e {
        ConnectError::Refused { .. } => Verdict::Closed,
        ConnectError::Timeout { .. } => Verdict::NoAnswer,
        other => Verdict::Failed {
            detail: other.to_string(),
        },
    })
}

async fn plain(target: &HostPort, timeout: Duration) -> Plain {
    let tcp = match connect(target, timeout).await {
        Ok(tcp) => tcp,
        Err(verdict) => return Plain::Done(verdict),
    };
    match get_version(tcp, target, timeout).await {
        Ok((status, body)) => {
            if let Some(version) = engine_version(status, &body) {
                return Plain::Done(Verdict::PlainHttp {
                    engine_version: version,
                });
            }
            // Go's TLS server answers an HTTP request with this 400 (dockerd with --tls).
            if String::from_utf8_lossy(&body).contains("HTTP request to an HTTPS server") {
                return Plain::SpeaksTls;
            }
            Plain::Done(Verdict::NotAnEngine {
                detail: format!("plain HTTP answered {status}"),
            })
        }
        Err(Answer::NoAnswer) => Plain::Done(Verdict::NoAnswer),
        // Hung up or answered garbage: perhaps a TLS server that does not speak to plain HTTP.
        Err(Answer::Broken(_)) => Plain::SpeaksTls,
    }
}

async fn tls(target: &HostPort, timeout: Duration) -> Verdict {
    let tcp = match connect(target, timeout).await {
        Ok(tcp) => tcp,
        Err(verdict) => return verdict,
    };
    let asked = Arc::new(insecure::AskedForCertificate::default());
    let config = match insecure::client_config(asked.clone()) {
        Ok(config) => config,
        Err(e) => {
            return Verdict::Failed {
                detail: format!("no TLS client: {e}"),
            };
        }
    };
    let connector = tokio_rustls::TlsConnector::from(config);
    let handshake = connector.connect(insecure::server_name(target), tcp);
    let stream = match tokio::time::timeout(timeout, handshake).await {
        Err(_) => return Verdict::NoAnswer,
        Ok(Err(e)) => {
            return match refusal(&e) {
                Some(detail) => Verdict::ClientCertificateRequired { detail },
                None if asked.asked() => Verdict::ClientCertificateRequired {
                    detail: format!(
                        "the server asked for a client certificate and ended the handshake without one ({e})"
                    ),
                },
                None => Verdict::NotAnEngine {
                    detail: format!("neither an engine's HTTP nor TLS: {e}"),
                },
            };
        }
        Ok(Ok(stream)) => stream,
    };
    // In TLS 1.3 the server checks the client's (empty) certificate after the client has
    // finished its handshake: the refusal comes as an alert on the first read.
    match get_version(stream, target, timeout).await {
        Ok((status, body)) => match engine_version(status, &body) {
            Some(version) => Verdict::TlsWithoutClientVerification {
                engine_version: version,
            },
            None => Verdict::NotAnEngine {
                detail: format!("TLS, then HTTP {status}"),
            },
        },
        Err(Answer::NoAnswer) => Verdict::NoAnswer,
        Err(Answer::Broken(e)) => match refusal_in(&*e) {
            Some(detail) => Verdict::ClientCertificateRequired { detail },
            // The alert lost the race with the closed connection (hyper then says "operation
            // was canceled"), but the server did ask for a certificate.
            None if asked.asked() => Verdict::ClientCertificateRequired {
                detail: format!(
                    "the server asked for a client certificate and ended the connection without one ({e})"
                ),
            },
            None => Verdict::NotAnEngine {
                detail: format!("TLS, then: {e}"),
            },
        },
    }
}

/// The TLS alert by which a server refuses a client without a certificate.
fn refusal(e: &std::io::Error) -> Option<String> {
    let inner = e.get_ref()?;
    let rustls_error = inner.downcast_ref::<rustls::Error>()?;
    match rustls_error {
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::HandshakeFailure
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied),
        ) => Some(format!("the server sent the TLS alert {alert:?}")),
        _ => None,
    }
}

/// [`refusal`] anywhere in an error's chain (hyper wraps the stream's I/O error).
fn refusal_in(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && let Some(found) = refusal(io)
        {
            return Some(found);
        }
        cause = c.source();
    }
    None
}

enum Answer {
    NoAnswer,
    Broken(Box<dyn std::error::Error + Send + Sync>),
}

/// `GET /version` over `stream`; the status and body (at most 64 KiB are kept).
async fn get_version<S>(
    stream: S,
    target: &HostPort,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), Answer>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let exchange = async {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|e| Answer::Broken(e.into()))?;
        let connection = tokio::spawn(conn);
        let request = Request::get("/version")
            .header(header::HOST, target.to_string())
            .header(
                header::USER_AGENT,
                concat!("berth-audit/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| Answer::Broken(e.into()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| Answer::Broken(e.into()))?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), 64 * 1024)
            .collect()
            .await
            .map_err(Answer::Broken)?
            .to_bytes();
        connection.abort();
        Ok((status, body))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Answer::NoAnswer),
    }
}

/// The engine's version when `body` is a Docker engine's answer to `GET /version`.
fn engine_version(status: StatusCode, body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Version {
        #[serde(rename = "Version")]
        version: String,
        #[serde(rename = "ApiVersion")]
        api_version: String,
    }
    if !status.is_success() {
        return None;
    }
    let v: Version = serde_json::from_slice(body).ok()?;
    (!v.api_version.is_empty()).then_some(v.version)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_address_without_a_port_means_both_engine_ports() {
        let t = targets("10.0.0.5").unwrap();
        assert_eq!(
            t,
            [
                HostPort::new("10.0.0.5", 2375),
                HostPort::new("10.0.0.5", 2376)
            ]
        );
        assert_eq!(
            targets("tcp://h.example:2376").unwrap(),
            [HostPort::new("h.example", 2376)]
        );
        assert_eq!(targets("[::1]").unwrap().len(), 2);
        assert!(targets("ftp://x").is_err());
    }

    #[test]
    fn only_an_engines_version_answer_counts_as_an_engine() {
        let body = br#"{"Version":"20.10.24","ApiVersion":"1.41","Os":"linux"}"#;
        assert_eq!(
            engine_version(StatusCode::OK, body).as_deref(),
            Some("20.10.24")
        );
        assert_eq!(engine_version(StatusCode::NOT_FOUND, body), None);
        assert_eq!(engine_version(StatusCode::OK, b"<html>"), None);
        assert_eq!(engine_version(StatusCode::OK, br#"{"Version":"1"}"#), None);
    }

    #[test]
    fn exposure_is_plain_http_or_tls_without_client_verification() {
        let v = || "1".to_owned();
        assert!(
            Verdict::PlainHttp {
                engine_version: v()
            }
            .exposed()
        );
        assert!(
            Verdict::TlsWithoutClientVerification {
                engine_version: v()
            }
            .exposed()
        );
        assert!(
            !Verdict::ClientCertificateRequired {
                detail: String::new()
            }
            .exposed()
        );
        assert!(!Verdict::Closed.exposed());
    }

    /// A loopback address that never completes a connect: a listener with no room left in
    /// its accept queue drops new SYNs (Linux), as a filtered port does.
    fn black_hole(
        ip: [u8; 4],
    ) -> (
        tokio::net::TcpListener,
        Vec<std::net::TcpStream>,
        std::net::SocketAddr,
    ) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(std::net::SocketAddr::from((ip, 0))).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..8 {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                Ok(tcp) => fillers.push(tcp),
                Err(_) => return (listener, fillers, addr),
            }
        }
        panic!("the accept queue of {addr} never filled");
    }

    /// Regression: each address a name resolved to had a `timeout` of its own, so a name with
    /// many silent addresses held `audit` for each of them.
    #[tokio::test]
    async fn all_addresses_of_one_name_share_one_deadline() {
        let holes: Vec<_> = (2..=5).map(|last| black_hole([127, 0, 0, last])).collect();
        let addrs: Vec<std::net::SocketAddr> = holes.iter().map(|(_, _, a)| *a).collect();
        let target = HostPort::new("silent.example", addrs[0].port());
        let timeout = Duration::from_millis(700);
        let started = std::time::Instant::now();
        let verdict = connect_any(&target, &addrs, timeout).await;
        let took = started.elapsed();
        assert!(matches!(verdict, Err(Verdict::NoAnswer)), "{verdict:?}");
        assert!(
            took < timeout * 2,
            "four silent addresses took {took:?}, more than one deadline of {timeout:?}"
        );
    }

    /// A real listener on loopback that answers like an engine on 2375.
    #[tokio::test]
    async fn a_plain_engine_on_loopback_is_exposed_and_a_closed_port_is_closed() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let body = r#"{"Version":"99.0","ApiVersion":"1.99"}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
        });
        let found = probe(&HostPort::new("127.0.0.1", port), Duration::from_secs(5)).await;
        assert_eq!(
            found,
            Verdict::PlainHttp {
                engine_version: "99.0".into()
            }
        );
        // A port nobody listens on: bind one, note it, close it.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_port = closed.local_addr().unwrap().port();
        drop(closed);
        let found = probe(
            &HostPort::new("127.0.0.1", closed_port),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(found, Verdict::Closed);
    }
}
