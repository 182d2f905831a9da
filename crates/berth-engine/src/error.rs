//! What can go wrong talking to an engine, sorted by what the user does about it.

use std::time::Duration;

/// A failed call to an engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The TLS configuration could not be built from the machine's files.
    #[error(transparent)]
    Tls(#[from] berth_tls::TlsError),

    /// A host that is neither an IP address nor a DNS name.
    #[error("`{host}` is neither an IP address nor a valid DNS name")]
    InvalidHost {
        /// The host as given.
        host: String,
    },

    /// The host name did not resolve.
    #[error("could not resolve {address}: {reason}")]
    Resolve {
        /// host:port.
        address: String,
        /// The resolver's words.
        reason: String,
    },

    /// Nothing listens on the engine port.
    #[error(
        "connection to {address} was refused: the engine is not listening there; check that docker is running on the host and that port is open"
    )]
    ConnectionRefused {
        /// host:port.
        address: String,
    },

    /// The engine did not answer in time.
    #[error(
        "no answer from {address} within {timeout:?} while {stage}: check the address, a firewall, or whether the engine is up"
    )]
    Timeout {
        /// host:port.
        address: String,
        /// The limit that was hit.
        timeout: Duration,
        /// What was being done ("connecting", "in the TLS handshake", ...).
        stage: &'static str,
    },

    /// Any other network failure.
    #[error("network error with {address} while {stage}: {reason}")]
    Io {
        /// host:port.
        address: String,
        /// What was being done.
        stage: &'static str,
        /// The system's words.
        reason: String,
    },

    /// The engine refused berth's client certificate.
    #[error(
        "the engine at {address} rejected our client certificate (TLS alert: {alert}): the machine's certificates do not match the engine's CA; run `berth regenerate-certs`"
    )]
    ClientCertRejected {
        /// host:port.
        address: String,
        /// The TLS alert the engine sent.
        alert: String,
    },

    /// The engine's certificate does not match the machine's CA or its address.
    #[error(
        "the engine certificate at {address} is not trusted: {reason}; if the host's address changed or the certificates were replaced, run `berth regenerate-certs`"
    )]
    ServerCertUntrusted {
        /// host:port.
        address: String,
        /// Why it was refused.
        reason: String,
    },

    /// The peer closed the connection in the middle of the handshake.
    #[error(
        "the engine at {address} closed the connection during the TLS handshake: it probably rejected our client certificate, or the port does not speak TLS"
    )]
    HandshakeClosed {
        /// host:port.
        address: String,
    },

    /// Any other TLS failure.
    #[error("TLS with {address} failed: {source}")]
    Handshake {
        /// host:port.
        address: String,
        /// rustls's own words.
        #[source]
        source: rustls::Error,
    },

    /// The engine's answer was larger than berth reads ([`crate::MAX_ANSWER`]).
    #[error(
        "the answer from {address} is larger than {limit} bytes, more than any engine answer berth asks for; berth stopped reading it. Check what listens on that address"
    )]
    AnswerTooLarge {
        /// host:port.
        address: String,
        /// The cap that was passed.
        limit: usize,
    },

    /// The engine answered with something that is not HTTP.
    #[error("the answer from {address} to {what} is not valid HTTP: {reason}")]
    BadHttp {
        /// host:port.
        address: String,
        /// The call ("GET /version").
        what: &'static str,
        /// What was wrong.
        reason: String,
    },

    /// The engine answered with an error status.
    #[error("the engine at {address} answered {what} with HTTP {status}: {message}")]
    HttpStatus {
        /// host:port.
        address: String,
        /// The call ("GET /version").
        what: &'static str,
        /// The status code.
        status: u16,
        /// The engine's own words.
        message: String,
    },

    /// The answer is not the JSON an engine sends.
    #[error("the engine at {address} answered {what} with JSON berth cannot read: {reason}")]
    BadJson {
        /// host:port.
        address: String,
        /// The call ("GET /version").
        what: &'static str,
        /// serde_json's words.
        reason: String,
    },
}

impl EngineError {
    /// Whether the engine could not be reached at all in time (for `ls`, which shows `Timeout`).
    pub fn is_timeout(&self) -> bool {
        matches!(self, EngineError::Timeout { .. })
    }

    /// The HTTP status of an engine's refusal, if that is what this is.
    pub fn status(&self) -> Option<u16> {
        match self {
            EngineError::HttpStatus { status, .. } => Some(*status),
            _ => None,
        }
    }
}
