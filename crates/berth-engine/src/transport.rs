//! The transport bollard talks through: a TCP connection to the first address that answers,
//! rustls with the machine's CA as its only root and the machine's client certificate, then
//! HTTP/1.1 through hyper. The connection is kept for the next request of the same [`Engine`]
//! (so a probe is one connection), and every stage has the caller's deadline.
//!
//! [`Engine`]: crate::Engine

use std::io;
use std::sync::Arc;
use std::time::Duration;

use berth_net::{ConnectError, HostPort, connect_first_async};
use bollard::BollardRequest;
use http::{Request, Response, Uri, header};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::{AlertDescription, ClientConfig};
use rustls_pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::EngineError;
use crate::capped::{AnswerBudget, AnswerTooLarge, Capped, MAX_ANSWER};

/// The request body as hyper sends it (bollard's own body type is not nameable).
type Body = http_body_util::combinators::UnsyncBoxBody<
    bytes::Bytes,
    Box<dyn std::error::Error + Send + Sync>,
>;

/// What every request of one engine client shares.
pub(crate) struct Inner {
    pub(crate) address: HostPort,
    server_name: ServerName<'static>,
    connector: TlsConnector,
    pub(crate) timeout: Duration,
    conn: tokio::sync::Mutex<Option<SendRequest<Body>>>,
    /// What the current answer has read so far ([`crate::capped`]).
    budget: AnswerBudget,
}

impl Inner {
    pub(crate) fn new(
        address: HostPort,
        config: Arc<ClientConfig>,
        timeout: Duration,
    ) -> Result<Arc<Self>, EngineError> {
        // An IP is checked against the certificate's IP SANs, a name against its DNS SANs.
        let server_name = match address.ip() {
            Some(ip) => ServerName::IpAddress(ip.into()),
            None => ServerName::try_from(address.host.clone()).map_err(|_| {
                EngineError::InvalidHost {
                    host: address.host.clone(),
                }
            })?,
        };
        Ok(Arc::new(Inner {
            address,
            server_name,
            connector: TlsConnector::from(config),
            timeout,
            conn: tokio::sync::Mutex::new(None),
            budget: AnswerBudget::default(),
        }))
    }

    /// Sends one request, on the kept connection when it is still open.
    pub(crate) async fn send(
        self: Arc<Self>,
        req: BollardRequest,
    ) -> Result<Response<Incoming>, bollard::errors::Error> {
        self.send_classified(req).await.map_err(wrap)
    }

    async fn send_classified(
        &self,
        req: BollardRequest,
    ) -> Result<Response<Incoming>, EngineError> {
        let req = self.origin_form(req)?;
        self.send_request(req).await
    }

    /// `GET path` without a body, on the kept connection: for the calls whose answer's headers
    /// matter, which bollard does not hand back (`/_ping`'s `Swarm`).
    pub(crate) async fn get(&self, path: &str) -> Result<Response<Incoming>, EngineError> {
        use http_body_util::BodyExt as _;
        let bad = |e: http::Error| EngineError::BadHttp {
            address: self.address.to_string(),
            what: "a request",
            reason: e.to_string(),
        };
        let host = header::HeaderValue::from_str(&self.address.to_string()).map_err(|e| {
            EngineError::BadHttp {
                address: self.address.to_string(),
                what: "a request",
                reason: e.to_string(),
            }
        })?;
        let body: Body = http_body_util::Empty::<bytes::Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync();
        let req = Request::get(path)
            .header(header::HOST, host)
            .header(
                header::USER_AGENT,
                concat!("berth/", env!("CARGO_PKG_VERSION")),
            )
            .body(body)
            .map_err(bad)?;
        self.send_request(req).await
    }

    async fn send_request(&self, req: Request<Body>) -> Result<Response<Incoming>, EngineError> {
        let mut slot = self.conn.lock().await;
        let mut sender = match slot.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.connect().await?,
        };
        if sender.ready().await.is_err() {
            sender = self.connect().await?;
        }
        self.budget.reset();
        let answer = sender.send_request(req);
        *slot = Some(sender);
        drop(slot);
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(self.classify(&e, "reading the answer")),
            Err(_) => Err(self.timed_out("waiting for the answer")),
        }
    }

    /// A request as a direct connection sends it: the path alone, and a Host header.
    fn origin_form(&self, req: BollardRequest) -> Result<Request<Body>, EngineError> {
        use http_body_util::BodyExt as _;
        let (mut parts, body) = req.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        parts.uri = path.parse::<Uri>().map_err(|e| EngineError::BadHttp {
            address: self.address.to_string(),
            what: "a request",
            reason: e.to_string(),
        })?;
        let host = header::HeaderValue::from_str(&self.address.to_string()).map_err(|e| {
            EngineError::BadHttp {
                address: self.address.to_string(),
                what: "a request",
                reason: e.to_string(),
            }
        })?;
        parts.headers.insert(header::HOST, host);
        parts.headers.insert(
            header::USER_AGENT,
            header::HeaderValue::from_static(concat!("berth/", env!("CARGO_PKG_VERSION"))),
        );
        Ok(Request::from_parts(parts, body.boxed_unsync()))
    }

    async fn connect(&self) -> Result<SendRequest<Body>, EngineError> {
        let tcp = connect_first_async(&self.address, self.timeout)
            .await
            .map_err(|e| self.connect_error(e))?;
        let _ = tcp.set_nodelay(true);
        let handshake = self.connector.connect(self.server_name.clone(), tcp);
        let tls = match tokio::time::timeout(self.timeout, handshake).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return Err(self.classify(&e, "in the TLS handshake")),
            Err(_) => return Err(self.timed_out("in the TLS handshake")),
        };
        let tls = Capped::new(tls, self.budget.clone(), MAX_ANSWER);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| self.classify(&e, "starting HTTP"))?;
        let address = self.address.to_string();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%address, error = %e, "engine connection ended");
            }
        });
        Ok(sender)
    }

    fn timed_out(&self, stage: &'static str) -> EngineError {
        EngineError::Timeout {
            address: self.address.to_string(),
            timeout: self.timeout,
            stage,
        }
    }

    fn connect_error(&self, e: ConnectError) -> EngineError {
        let address = self.address.to_string();
        match e {
            ConnectError::Refused { .. } => EngineError::ConnectionRefused { address },
            ConnectError::Timeout { .. } => self.timed_out("connecting"),
            ConnectError::Resolve { source, .. } => EngineError::Resolve {
                address,
                reason: source.to_string(),
            },
            ConnectError::Io { source, .. } => EngineError::Io {
                address,
                stage: "connecting",
                reason: source.to_string(),
            },
        }
    }

    /// Sorts a failure from the TLS stream or hyper into what the user should do about it.
    /// With TLS 1.3 the client finishes its half of the handshake before the server has looked
    /// at the client certificate, so a rejection arrives as an alert on the first read.
    pub(crate) fn classify(
        &self,
        err: &(dyn std::error::Error + 'static),
        stage: &'static str,
    ) -> EngineError {
        let address = self.address.to_string();
        let mut io_kind = None;
        let mut current = Some(err);
        while let Some(e) = current {
            let tls = e.downcast_ref::<rustls::Error>().or_else(|| {
                e.downcast_ref::<io::Error>()
                    .and_then(io::Error::get_ref)
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            });
            if let Some(tls) = tls {
                return self.tls_error(tls);
            }
            if let Some(io) = e.downcast_ref::<io::Error>() {
                if let Some(big) = io
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<AnswerTooLarge>())
                {
                    return EngineError::AnswerTooLarge {
                        address,
                        limit: big.limit,
                    };
                }
                io_kind.get_or_insert(io.kind());
            }
            if let Some(big) = e.downcast_ref::<AnswerTooLarge>() {
                return EngineError::AnswerTooLarge {
                    address,
                    limit: big.limit,
                };
            }
            if let Some(h) = e.downcast_ref::<hyper::Error>()
                && (h.is_incomplete_message() || h.is_closed())
            {
                io_kind.get_or_insert(io::ErrorKind::UnexpectedEof);
            }
            current = e.source();
        }
        match io_kind {
            Some(
                io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe,
            ) => EngineError::HandshakeClosed { address },
            Some(io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => self.timed_out(stage),
            _ => EngineError::Io {
                address,
                stage,
                reason: err.to_string(),
            },
        }
    }

    fn tls_error(&self, tls: &rustls::Error) -> EngineError {
        let address = self.address.to_string();
        match tls {
            rustls::Error::InvalidCertificate(reason) => {
                let reason = match reason {
                    rustls::CertificateError::UnknownIssuer => {
                        "it was not signed by this machine's CA".to_owned()
                    }
                    rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. } => {
                        format!("it is not valid for `{}` ({reason})", self.address.host)
                    }
                    other => other.to_string(),
                };
                EngineError::ServerCertUntrusted { address, reason }
            }
            rustls::Error::AlertReceived(alert) if is_client_cert_alert(*alert) => {
                EngineError::ClientCertRejected {
                    address,
                    alert: format!("{alert:?}"),
                }
            }
            other => EngineError::Handshake {
                address,
                source: other.clone(),
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

/// Carries a sorted error through bollard, which takes only its own error type.
fn wrap(e: EngineError) -> bollard::errors::Error {
    bollard::errors::Error::IOError {
        err: io::Error::other(e),
    }
}

/// Gets back an error that [`wrap`] carried through bollard.
pub(crate) fn unwrap(err: io::Error) -> Result<EngineError, io::Error> {
    if err.get_ref().is_some_and(|inner| inner.is::<EngineError>()) {
        if let Some(inner) = err.into_inner()
            && let Ok(engine) = inner.downcast::<EngineError>()
        {
            return Ok(*engine);
        }
        return Err(io::Error::other("an engine error was lost on the way"));
    }
    Err(err)
}
