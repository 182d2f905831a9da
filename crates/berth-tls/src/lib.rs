//! berth-tls: the certificates that lock a machine's Docker engine behind
//! mutual TLS, and the checks berth runs on them (the engine itself is reached
//! through `berth-engine`).
//!
//! Every machine has its own CA ([`CertificateAuthority`]); from it come the
//! engine's server certificate and the client certificate that the `docker`
//! CLI presents ([`generate_machine_certificates`]). Keys are ECDSA P-256 by
//! default ([`KeyAlgorithm`]), written as unencrypted PKCS#8 PEM, which is
//! what dockerd loads. Nothing here prints or touches files: the caller
//! decides where PEM text is stored.

mod algorithm;
mod authority;
mod config;
mod error;
mod inspect;
mod pem;

pub use algorithm::KeyAlgorithm;
pub use authority::{
    CA_VALIDITY_DAYS, CLOCK_SKEW, CertificateAuthority, LEAF_VALIDITY_DAYS, MachineCertificates,
    PemPair, check_san, generate_machine_certificates,
};
pub use config::{client_config, crypto_provider, server_config};
pub use error::TlsError;
pub use inspect::{
    CertInfo, covers, days_until_expiry, inspect, key_matches_certificate, verify_chain,
};
/// Re-exported so callers use the same rustls as the configurations returned here.
pub use rustls;
