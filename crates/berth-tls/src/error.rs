//! The one error type of this crate.
//!
//! Every message is a sentence a user can act on: it names the certificate,
//! the address or the path that failed and says what to do. Variants are split
//! where a caller (or a user) would react differently: a refused connection
//! means "is the engine running?", a rejected client certificate means
//! "regenerate the certificates".

/// What went wrong while making, checking or using certificates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A key algorithm name that berth does not know.
    #[error("unknown key algorithm `{given}`: use `ecdsa-p256` (the default) or `rsa-2048`")]
    UnknownAlgorithm {
        /// The name as given.
        given: String,
    },

    /// The key generator failed (this is a bug or a broken system random source).
    #[error(
        "could not generate a {algorithm} key: {reason}; check that the system random source works"
    )]
    KeyGeneration {
        /// The algorithm asked for.
        algorithm: crate::KeyAlgorithm,
        /// What the generator said.
        reason: String,
    },

    /// A subject alternative name that cannot go into a certificate.
    #[error(
        "`{san}` cannot be a subject alternative name ({reason}): give an IP address or a DNS name"
    )]
    InvalidSan {
        /// The name as given.
        san: String,
        /// Why rcgen refused it.
        reason: String,
    },

    /// rcgen refused to build or sign a certificate.
    #[error("could not make the {what}: {source}")]
    Build {
        /// Which certificate was being made ("CA certificate", "server certificate", ...).
        what: &'static str,
        /// rcgen's own words.
        #[source]
        source: rcgen::Error,
    },

    /// Text that should be a PEM certificate is not one.
    #[error(
        "could not read the {what} as a PEM certificate: {reason}; regenerate the certificates"
    )]
    BadCertificate {
        /// Which certificate ("CA certificate", "certificate", ...).
        what: &'static str,
        /// What the parser said.
        reason: String,
    },

    /// Text that should be a PEM private key is not one (or is encrypted).
    #[error(
        "could not read the {what} as an unencrypted PKCS#8 PEM private key: {reason}; regenerate the certificates"
    )]
    BadKey {
        /// Which key ("CA key", "client key", ...).
        what: &'static str,
        /// What the parser said.
        reason: String,
    },

    /// A CA key that does not belong to the CA certificate beside it.
    #[error(
        "the CA key does not belong to the CA certificate `{subject}`: the two files come from different CAs; regenerate the certificates"
    )]
    KeyMismatch {
        /// Subject of the CA certificate.
        subject: String,
    },

    /// A certificate used as a CA is not marked as one.
    #[error("the certificate `{subject}` is not a CA certificate, so it cannot sign others")]
    NotCa {
        /// Subject of the certificate.
        subject: String,
    },

    /// A certificate that was not signed by the CA it was checked against.
    #[error(
        "the certificate `{subject}` was not signed by the CA `{ca_subject}` ({reason}); regenerate the certificates"
    )]
    NotSignedByCa {
        /// Subject of the checked certificate.
        subject: String,
        /// Subject of the CA.
        ca_subject: String,
        /// Why the check failed.
        reason: String,
    },

    /// A certificate outside its validity period.
    #[error(
        "the certificate `{subject}` is valid only from {not_before} to {not_after}, not now; check the clock or regenerate the certificates"
    )]
    NotValidNow {
        /// Subject of the certificate.
        subject: String,
        /// Start of the validity period (RFC 3339).
        not_before: String,
        /// End of the validity period (RFC 3339).
        not_after: String,
    },

    /// rustls refused a certificate or key while building a TLS configuration.
    #[error("could not build the TLS {side} configuration: {source}")]
    Config {
        /// "client" or "server".
        side: &'static str,
        /// rustls's own words.
        #[source]
        source: rustls::Error,
    },

    /// rustls could not build the client-certificate verifier from the CA.
    #[error("could not use the CA certificate to check client certificates: {source}")]
    ClientVerifier {
        /// rustls's own words.
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
}
