//! Reading certificates and keys out of PEM text.
//!
//! One place for it so every caller reports a bad file the same way, and so
//! nothing else in the crate needs to know which parser is underneath.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::certificate::X509Certificate;

use crate::TlsError;

/// The first certificate of a PEM text, as DER.
pub(crate) fn cert_der(pem: &str, what: &'static str) -> Result<CertificateDer<'static>, TlsError> {
    let mut certs = CertificateDer::pem_slice_iter(pem.as_bytes());
    match certs.next() {
        Some(Ok(der)) => Ok(der),
        Some(Err(e)) => Err(TlsError::BadCertificate {
            what,
            reason: e.to_string(),
        }),
        None => Err(TlsError::BadCertificate {
            what,
            reason: "there is no CERTIFICATE block in it".to_owned(),
        }),
    }
}

/// Parses DER into x509-parser's view, for inspection and checks.
pub(crate) fn parse<'a>(
    der: &'a CertificateDer<'_>,
    what: &'static str,
) -> Result<X509Certificate<'a>, TlsError> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| TlsError::BadCertificate {
            what,
            reason: e.to_string(),
        })
}

/// The private key of a PEM text. Encrypted keys are refused here, as dockerd refuses them.
pub(crate) fn private_key(
    pem: &str,
    what: &'static str,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    if pem.contains("ENCRYPTED") {
        return Err(TlsError::BadKey {
            what,
            reason: "it is encrypted".to_owned(),
        });
    }
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| TlsError::BadKey {
        what,
        reason: e.to_string(),
    })
}
