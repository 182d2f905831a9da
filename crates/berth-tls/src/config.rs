//! rustls configurations for talking mutual TLS with an engine (and for
//! playing the engine in tests).
//!
//! Both sides trust exactly one CA, the machine's own, and never the system
//! roots: that is what makes a per-machine CA a boundary. The crypto provider
//! is passed explicitly so no process-wide default has to be installed first
//! (and a binary that links two providers cannot pick the wrong one).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::CertificateDer;

use crate::{PemPair, TlsError, pem};

/// The crypto provider berth uses everywhere: ring.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration that trusts only `ca_pem` and presents `client`.
pub fn client_config(ca_pem: &str, client: &PemPair) -> Result<Arc<ClientConfig>, TlsError> {
    let config_error = |source| TlsError::Config {
        side: "client",
        source,
    };
    let roots = roots(ca_pem, "client")?;
    let chain = vec![pem::cert_der(&client.cert_pem, "client certificate")?];
    let key = pem::private_key(&client.key_pem, "client key")?;
    let config = ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(config_error)?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(config_error)?;
    Ok(Arc::new(config))
}

/// A server configuration that presents `server` and requires a client
/// certificate signed by `ca_pem`, as dockerd with `--tlsverify` does.
pub fn server_config(ca_pem: &str, server: &PemPair) -> Result<Arc<ServerConfig>, TlsError> {
    let config_error = |source| TlsError::Config {
        side: "server",
        source,
    };
    let provider = crypto_provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots(ca_pem, "server")?),
        provider.clone(),
    )
    .build()
    .map_err(|source| TlsError::ClientVerifier { source })?;
    let chain = vec![pem::cert_der(&server.cert_pem, "server certificate")?];
    let key = pem::private_key(&server.key_pem, "server key")?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(config_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(config_error)?;
    Ok(Arc::new(config))
}

fn roots(ca_pem: &str, side: &'static str) -> Result<RootCertStore, TlsError> {
    let ca: CertificateDer<'static> = pem::cert_der(ca_pem, "CA certificate")?;
    let mut roots = RootCertStore::empty();
    roots
        .add(ca)
        .map_err(|source| TlsError::Config { side, source })?;
    Ok(roots)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{KeyAlgorithm, generate_machine_certificates};

    #[test]
    fn configs_build_from_a_fresh_set() {
        let set = generate_machine_certificates("m", &[], KeyAlgorithm::EcdsaP256).unwrap();
        client_config(&set.ca.cert_pem, &set.client).unwrap();
        server_config(&set.ca.cert_pem, &set.server).unwrap();
    }

    #[test]
    fn a_key_that_is_not_pem_is_named() {
        let set = generate_machine_certificates("m", &[], KeyAlgorithm::EcdsaP256).unwrap();
        let broken = PemPair {
            cert_pem: set.client.cert_pem.clone(),
            key_pem: "nope".to_owned(),
        };
        let err = client_config(&set.ca.cert_pem, &broken).unwrap_err();
        assert!(err.to_string().contains("client key"), "{err}");
    }

    #[test]
    fn a_key_from_another_pair_is_refused() {
        let set = generate_machine_certificates("m", &[], KeyAlgorithm::EcdsaP256).unwrap();
        let mixed = PemPair {
            cert_pem: set.client.cert_pem.clone(),
            key_pem: set.server.key_pem.clone(),
        };
        let err = client_config(&set.ca.cert_pem, &mixed).unwrap_err();
        assert!(matches!(err, TlsError::Config { .. }), "{err}");
    }
}
