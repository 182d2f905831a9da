//! The one TLS client in berth that does not verify the server: the audit's probe.
//!
//! It answers one question — does this port hand its engine to a client that presents no
//! certificate? — so it must get through whatever certificate the server shows (self-signed,
//! for another name, expired). That is safe here because the probe sends nothing secret (a
//! `GET /version` with no credentials) and believes nothing it hears beyond "an engine
//! answered". It must never be used for anything else: every other connection to an engine goes
//! through [`crate::Engine`], whose only root is the machine's own CA.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use berth_net::HostPort;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// Accepts any server certificate; still checks that the server holds the key of the
/// certificate it shows (the handshake's signatures), which costs nothing and keeps the TLS
/// exchange a real one.
#[derive(Debug)]
struct AcceptAnyServer {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Presents no client certificate, and remembers whether the server asked for one (its
/// CertificateRequest): the one sure sign of mutual TLS. The refusal that follows in TLS 1.3
/// reaches the client as an alert or as a dropped connection, whichever the client reads first.
#[derive(Debug, Default)]
pub(super) struct AskedForCertificate(AtomicBool);

impl AskedForCertificate {
    /// Whether the server sent a CertificateRequest.
    pub(super) fn asked(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl rustls::client::ResolvesClientCert for AskedForCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.0.store(true, Ordering::SeqCst);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

/// A client that verifies no server and presents no client certificate; `asked` learns
/// whether the server wanted one.
pub(super) fn client_config(
    asked: Arc<AskedForCertificate>,
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AcceptAnyServer {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ClientConfig::builder_with_provider(provider as Arc<CryptoProvider>)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(asked);
    Ok(Arc::new(config))
}

/// The name sent in the handshake: the host's, or for an IP address the address itself (no
/// SNI is sent for those).
pub(super) fn server_name(target: &HostPort) -> ServerName<'static> {
    match target.ip() {
        Some(ip) => ServerName::IpAddress(ip.into()),
        None => ServerName::try_from(target.host.clone())
            .unwrap_or_else(|_| ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into())),
    }
}
