//! The engine probe: does the engine answer over mutual TLS with this
//! machine's client certificate, and which version is it?
//!
//! This is the last step of `create` and what `ls` shows, so its errors must
//! tell apart the cases a user fixes differently: nothing listening, no
//! answer, the engine refusing our client certificate, the engine's
//! certificate not matching the CA or the address, and an engine that
//! answers but not as an engine should.
//!
//! Two requests, one per connection (`Connection: close`): `/_ping` first,
//! because every engine version has it, then `/version`. The HTTP is small
//! enough to write here; httparse reads the response head and chunk sizes.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::{AlertDescription, ClientConfig, ClientConnection, StreamOwned};
use rustls_pki_types::ServerName;
use serde::{Deserialize, Serialize};

use crate::authority::parse_ip;
use crate::{PemPair, TlsError, client_config};

/// Largest response berth reads; an engine's /version is about 1 KiB.
const MAX_RESPONSE: u64 = 1 << 20;
/// How much of an error body goes into an error message.
const MAX_BODY_IN_ERROR: usize = 300;

/// What the engine says about itself on `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineVersion {
    /// The engine's release, e.g. `20.10.24+dfsg1`.
    #[serde(rename = "Version")]
    pub version: String,
    /// The highest API version it speaks, e.g. `1.41`.
    #[serde(rename = "ApiVersion")]
    pub api_version: String,
    /// The engine's OS, e.g. `linux`.
    #[serde(rename = "Os")]
    pub os: String,
    /// The engine's architecture, e.g. `amd64`.
    #[serde(rename = "Arch")]
    pub arch: String,
}

/// Connects to the engine at `host:port` over mutual TLS (trusting only
/// `ca_pem`, presenting `client`), checks `/_ping` and reads `/version`.
///
/// `timeout` bounds the connection and each read and write.
pub fn probe_engine(
    host: &str,
    port: u16,
    ca_pem: &str,
    client: &PemPair,
    timeout: Duration,
) -> Result<EngineVersion, TlsError> {
    let probe = Probe::new(host, port, client_config(ca_pem, client)?, timeout)?;
    probe.get("/_ping")?;
    let body = probe.get("/version")?;
    serde_json::from_slice(&body).map_err(|source| TlsError::BadJson {
        address: probe.address.clone(),
        path: "/version",
        source,
    })
}

struct Probe {
    host: String,
    port: u16,
    /// host:port as users write it, for messages and the Host header.
    address: String,
    server_name: ServerName<'static>,
    config: Arc<ClientConfig>,
    timeout: Duration,
}

impl Probe {
    fn new(
        host: &str,
        port: u16,
        config: Arc<ClientConfig>,
        timeout: Duration,
    ) -> Result<Self, TlsError> {
        // An IP is checked against the certificate's IP SANs, a name against its DNS SANs.
        let (host, server_name) = match parse_ip(host) {
            Some(ip) => (ip.to_string(), ServerName::IpAddress(ip.into())),
            None => {
                let name =
                    ServerName::try_from(host.to_owned()).map_err(|_| TlsError::InvalidHost {
                        host: host.to_owned(),
                    })?;
                (host.to_owned(), name)
            }
        };
        let address = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(Probe {
            host,
            port,
            address,
            server_name,
            config,
            timeout,
        })
    }

    /// One GET on a fresh connection; the body of a 2xx answer.
    fn get(&self, path: &'static str) -> Result<Vec<u8>, TlsError> {
        let tcp = self.connect()?;
        let conn = ClientConnection::new(self.config.clone(), self.server_name.clone()).map_err(
            |source| TlsError::Handshake {
                address: self.address.clone(),
                source,
            },
        )?;
        let mut tls = StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .map_err(|e| self.classify(e, "in the TLS handshake"))?;
        }
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: berth/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            self.address,
            env!("CARGO_PKG_VERSION"),
        );
        tls.write_all(request.as_bytes())
            .and_then(|()| tls.flush())
            .map_err(|e| self.classify(e, "sending the request"))?;
        // With TLS 1.3 the client finishes its half of the handshake before the
        // server has looked at the client certificate, so a rejection arrives
        // here, as an alert on the first read.
        let mut raw = Vec::new();
        match (&mut tls).take(MAX_RESPONSE).read_to_end(&mut raw) {
            Ok(_) => {}
            // A peer that closes without close_notify after a whole answer is fine.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
            Err(e) => return Err(self.classify(e, "reading the answer")),
        }
        let response = parse_response(&raw).map_err(|reason| TlsError::BadHttp {
            address: self.address.clone(),
            path,
            reason,
        })?;
        if !(200..300).contains(&response.status) {
            let text = String::from_utf8_lossy(&response.body);
            let mut body = text.trim().to_owned();
            if let Some((cut, _)) = body.char_indices().nth(MAX_BODY_IN_ERROR) {
                body.truncate(cut);
                body.push('…');
            }
            return Err(TlsError::HttpStatus {
                address: self.address.clone(),
                path,
                status: response.status,
                body,
            });
        }
        Ok(response.body)
    }

    fn connect(&self) -> Result<TcpStream, TlsError> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|source| TlsError::Resolve {
                address: self.address.clone(),
                source,
            })?
            .collect();
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(tcp) => {
                    let set = tcp
                        .set_read_timeout(Some(self.timeout))
                        .and_then(|()| tcp.set_write_timeout(Some(self.timeout)));
                    set.map_err(|e| self.io_error(e, "connecting"))?;
                    return Ok(tcp);
                }
                Err(e) => last = Some(e),
            }
        }
        let e = last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address found"));
        Err(match e.kind() {
            io::ErrorKind::ConnectionRefused => TlsError::ConnectionRefused {
                address: self.address.clone(),
            },
            _ => self.io_error(e, "connecting"),
        })
    }

    /// Sorts an I/O error from the TLS stream into what the user should do about it.
    fn classify(&self, e: io::Error, stage: &'static str) -> TlsError {
        let address = self.address.clone();
        let Some(tls) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        else {
            return match e.kind() {
                io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe => TlsError::HandshakeClosed { address },
                _ => self.io_error(e, stage),
            };
        };
        match tls {
            rustls::Error::InvalidCertificate(reason) => {
                let reason = match reason {
                    rustls::CertificateError::UnknownIssuer => {
                        "it was not signed by this machine's CA".to_owned()
                    }
                    rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. } => {
                        format!("it is not valid for `{}` ({reason})", self.host)
                    }
                    other => other.to_string(),
                };
                TlsError::ServerCertUntrusted { address, reason }
            }
            rustls::Error::AlertReceived(alert) if is_client_cert_alert(*alert) => {
                TlsError::ClientCertRejected {
                    address,
                    alert: format!("{alert:?}"),
                }
            }
            other => TlsError::Handshake {
                address,
                source: other.clone(),
            },
        }
    }

    fn io_error(&self, e: io::Error, stage: &'static str) -> TlsError {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TlsError::Timeout {
                address: self.address.clone(),
                timeout: self.timeout,
                stage,
            },
            _ => TlsError::Io {
                address: self.address.clone(),
                stage,
                source: e,
            },
        }
    }
}

/// Alerts a server sends when it does not accept the client's certificate.
fn is_client_cert_alert(alert: AlertDescription) -> bool {
    matches!(
        alert,
        AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied
            | AlertDescription::CertificateRequired
    )
}

#[derive(Debug, PartialEq, Eq)]
struct Response {
    status: u16,
    body: Vec<u8>,
}

/// A whole HTTP/1.1 response read until the connection closed.
fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut head = httparse::Response::new(&mut headers);
    let body_start = match head.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if raw.is_empty() => {
            return Err("the connection closed without an answer".to_owned());
        }
        Ok(httparse::Status::Partial) => {
            return Err("the answer ends inside its headers".to_owned());
        }
        Err(e) => return Err(e.to_string()),
    };
    let status = head.code.ok_or("the answer has no status code")?;
    let header = |name: &str| {
        head.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let rest = raw.get(body_start..).unwrap_or_default();
    let body = if header("transfer-encoding").is_some_and(|te| te.ends_with("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("its Content-Length `{length}` is not a number"))?;
        rest.get(..length)
            .ok_or_else(|| format!("its body ends after {} of {length} bytes", rest.len()))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response { status, body })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let (start, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return Err("its chunked body is cut short".to_owned()),
            Err(_) => return Err("its chunked body has a bad chunk size".to_owned()),
        };
        if size == 0 {
            return Ok(body);
        }
        let end = usize::try_from(size)
            .ok()
            .and_then(|size| start.checked_add(size))
            .filter(|end| end.saturating_add(2) <= rest.len())
            .ok_or("its chunked body is cut short")?;
        body.extend_from_slice(&rest[start..end]);
        rest = &rest[end + 2..];
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn content_length_body() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKtrailing").unwrap();
        assert_eq!(
            r,
            Response {
                status: 200,
                body: b"OK".to_vec()
            }
        );
    }

    #[test]
    fn chunked_body() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n3\r\n\":1\r\n1\r\n}\r\n0\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap().body, b"{\"a\":1}");
    }

    #[test]
    fn body_until_close() {
        let r = parse_response(b"HTTP/1.0 404 Not Found\r\n\r\nno such page").unwrap();
        assert_eq!(
            r,
            Response {
                status: 404,
                body: b"no such page".to_vec()
            }
        );
    }

    #[test]
    fn short_bodies_and_silence_are_errors() {
        assert!(
            parse_response(b"")
                .unwrap_err()
                .contains("without an answer")
        );
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nOK").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
                .is_err()
        );
        assert!(parse_response(b"SSH-2.0-OpenSSH_9.2\r\n").is_err());
    }

    #[test]
    fn engine_version_reads_docker_json() {
        let json = r#"{"Platform":{"Name":""},"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64","KernelVersion":"6.1.0"}"#;
        let v: EngineVersion = serde_json::from_str(json).unwrap();
        assert_eq!(v.version, "20.10.24+dfsg1");
        assert_eq!(v.api_version, "1.41");
        assert_eq!((v.os.as_str(), v.arch.as_str()), ("linux", "amd64"));
    }

    #[test]
    fn an_invalid_host_is_refused_before_connecting() {
        let config = Arc::new(
            ClientConfig::builder_with_provider(crate::crypto_provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        );
        let err = Probe::new("not a host", 2376, config, Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(matches!(err, TlsError::InvalidHost { .. }), "{err}");
    }
}
