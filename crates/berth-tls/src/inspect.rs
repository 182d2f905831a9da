//! Checks of certificates berth stored earlier: what they say, whether the
//! CA signed them, whether they cover an address, how long they have left.
//!
//! These read the certificates themselves rather than a record beside them,
//! so a file replaced by hand is judged by what it really contains.

use std::net::IpAddr;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::authority::parse_ip;
use crate::{TlsError, pem};

/// What a certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject, e.g. `CN=berth CA for web1, O=berth`.
    pub subject: String,
    /// DNS names and IP addresses it is valid for (IP addresses in their usual text form).
    pub sans: Vec<String>,
    /// Start of its validity.
    pub not_before: OffsetDateTime,
    /// End of its validity.
    pub not_after: OffsetDateTime,
    /// Whether it may sign other certificates.
    pub is_ca: bool,
}

/// Reads the first certificate of a PEM text.
pub fn inspect(cert_pem: &str) -> Result<CertInfo, TlsError> {
    let der = pem::cert_der(cert_pem, "certificate")?;
    let cert = pem::parse(&der, "certificate")?;
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        sans: sans(&cert)?.iter().map(San::to_string).collect(),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        is_ca: cert.is_ca(),
    })
}

/// Checks that `cert_pem` was signed by the CA in `ca_pem` and that both are
/// valid now.
pub fn verify_chain(ca_pem: &str, cert_pem: &str) -> Result<(), TlsError> {
    let ca_der = pem::cert_der(ca_pem, "CA certificate")?;
    let ca = pem::parse(&ca_der, "CA certificate")?;
    let der = pem::cert_der(cert_pem, "certificate")?;
    let cert = pem::parse(&der, "certificate")?;
    if !ca.is_ca() {
        return Err(TlsError::NotCa {
            subject: ca.subject().to_string(),
        });
    }
    let not_signed = |reason: String| TlsError::NotSignedByCa {
        subject: cert.subject().to_string(),
        ca_subject: ca.subject().to_string(),
        reason,
    };
    if cert.issuer().as_raw() != ca.subject().as_raw() {
        return Err(not_signed(format!("its issuer is `{}`", cert.issuer())));
    }
    cert.verify_signature(Some(ca.public_key()))
        .map_err(|e| not_signed(format!("the signature does not verify: {e}")))?;
    valid_now(&ca)?;
    valid_now(&cert)
}

/// Whether `key_pem` is the private key of the certificate in `cert_pem` (its public key is
/// the one the certificate carries). A certificate and a key that do not belong together are
/// what a hostile store pairs to get some other key (the user's SSH key, another machine's
/// server key) copied and uploaded under a certificate's name; dockerd would refuse to start
/// with them anyway. RSA keys are compared by modulus and exponent, in PKCS#1 (what
/// docker-machine writes) or PKCS#8; other keys by their SubjectPublicKeyInfo.
pub fn key_matches_certificate(key_pem: &str, cert_pem: &str) -> Result<bool, TlsError> {
    use rcgen::PublicKeyData;
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    use rustls_pki_types::PrivateKeyDer;
    use x509_parser::public_key::PublicKey;

    let der = pem::cert_der(cert_pem, "certificate")?;
    let cert = pem::parse(&der, "certificate")?;
    let key = pem::private_key(key_pem, "key")?;
    let rsa = match &key {
        PrivateKeyDer::Pkcs1(k) => Some(rsa::RsaPrivateKey::from_pkcs1_der(k.secret_pkcs1_der())),
        PrivateKeyDer::Pkcs8(k) => rsa::RsaPrivateKey::from_pkcs8_der(k.secret_pkcs8_der())
            .ok()
            .map(Ok),
        _ => None,
    };
    if let Some(rsa) = rsa {
        let rsa = rsa.map_err(|e| TlsError::BadKey {
            what: "key",
            reason: e.to_string(),
        })?;
        let strip = |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|x| *x == 0).collect() };
        return Ok(match cert.public_key().parsed() {
            Ok(PublicKey::RSA(public)) => {
                strip(public.modulus) == strip(&rsa.n().to_bytes_be())
                    && strip(public.exponent) == strip(&rsa.e().to_bytes_be())
            }
            _ => false,
        });
    }
    let pair = rcgen::KeyPair::from_pem(key_pem).map_err(|e| TlsError::BadKey {
        what: "key",
        reason: e.to_string(),
    })?;
    Ok(pair.subject_public_key_info() == cert.public_key().raw)
}

/// Whether `address` (an IP address, also `[v6]`, or a DNS name) is among
/// the certificate's SANs. A DNS SAN `*.example.com` covers one label.
pub fn covers(cert_pem: &str, address: &str) -> Result<bool, TlsError> {
    let der = pem::cert_der(cert_pem, "certificate")?;
    let cert = pem::parse(&der, "certificate")?;
    let sans = sans(&cert)?;
    let covered = match parse_ip(address.trim()) {
        Some(ip) => sans.contains(&San::Ip(ip)),
        None => {
            let host = address.trim().trim_end_matches('.');
            sans.iter().any(|san| match san {
                San::Dns(pattern) => dns_matches(pattern, host),
                San::Ip(_) => false,
            })
        }
    };
    Ok(covered)
}

/// Whole days until the certificate expires; negative once it has.
pub fn days_until_expiry(cert_pem: &str) -> Result<i64, TlsError> {
    let info = inspect(cert_pem)?;
    Ok((info.not_after - OffsetDateTime::now_utc()).whole_days())
}

fn valid_now(cert: &X509Certificate<'_>) -> Result<(), TlsError> {
    if cert.validity().is_valid() {
        return Ok(());
    }
    let rfc3339 = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| t.to_string())
    };
    Err(TlsError::NotValidNow {
        subject: cert.subject().to_string(),
        not_before: rfc3339(cert.validity().not_before.to_datetime()),
        not_after: rfc3339(cert.validity().not_after.to_datetime()),
    })
}

#[derive(Debug, PartialEq, Eq)]
enum San {
    Dns(String),
    Ip(IpAddr),
}

impl std::fmt::Display for San {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            San::Dns(name) => f.write_str(name),
            San::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

fn sans(cert: &X509Certificate<'_>) -> Result<Vec<San>, TlsError> {
    let ext = cert
        .subject_alternative_name()
        .map_err(|e| TlsError::BadCertificate {
            what: "certificate",
            reason: format!("its subject alternative names are malformed: {e}"),
        })?;
    let Some(ext) = ext else {
        return Ok(Vec::new());
    };
    Ok(ext
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(San::Dns((*dns).to_owned())),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(San::Ip),
            _ => None,
        })
        .collect())
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
}

/// RFC 6125 matching, without case: exact, or `*.` covering exactly one label.
fn dns_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.');
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn wildcards_cover_exactly_one_label() {
        assert!(dns_matches("*.example.com", "web1.Example.com"));
        assert!(!dns_matches("*.example.com", "a.web1.example.com"));
        assert!(!dns_matches("*.example.com", "example.com"));
        assert!(dns_matches("Web1.example.com.", "web1.example.com"));
    }

    #[test]
    fn ip_bytes_of_both_families() {
        assert_eq!(
            ip_from_bytes(&[10, 0, 0, 1]),
            Some("10.0.0.1".parse().unwrap())
        );
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(ip_from_bytes(&v6), Some("::1".parse().unwrap()));
        assert_eq!(ip_from_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn garbage_is_reported_as_a_bad_certificate() {
        let err = inspect("hello").unwrap_err();
        assert!(matches!(err, TlsError::BadCertificate { .. }), "{err}");
    }

    #[test]
    fn a_key_matches_only_its_own_certificate() {
        use crate::{CertificateAuthority, KeyAlgorithm};
        for algo in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
            let ca = CertificateAuthority::generate("ca", algo, 10).unwrap();
            let server = ca.issue_server(&["localhost".into()], algo, 10).unwrap();
            let client = ca.issue_client("c", algo, 10).unwrap();
            assert!(key_matches_certificate(&server.key_pem, &server.cert_pem).unwrap());
            assert!(key_matches_certificate(&client.key_pem, &client.cert_pem).unwrap());
            assert!(key_matches_certificate(&ca.pem().key_pem, &ca.pem().cert_pem).unwrap());
            assert!(!key_matches_certificate(&client.key_pem, &server.cert_pem).unwrap());
            assert!(!key_matches_certificate(&ca.pem().key_pem, &server.cert_pem).unwrap());
        }
        // Across algorithms, and an RSA key in PKCS#1 as docker-machine writes it.
        let rsa_ca = CertificateAuthority::generate("ca", KeyAlgorithm::Rsa2048, 10).unwrap();
        let ec_ca = CertificateAuthority::generate("ca", KeyAlgorithm::EcdsaP256, 10).unwrap();
        assert!(!key_matches_certificate(&ec_ca.pem().key_pem, &rsa_ca.pem().cert_pem).unwrap());
        assert!(!key_matches_certificate(&rsa_ca.pem().key_pem, &ec_ca.pem().cert_pem).unwrap());
        let pkcs1 = {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::pkcs8::DecodePrivateKey;
            rsa::RsaPrivateKey::from_pkcs8_pem(&rsa_ca.pem().key_pem)
                .unwrap()
                .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
                .unwrap()
                .to_string()
        };
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(key_matches_certificate(&pkcs1, &rsa_ca.pem().cert_pem).unwrap());
        // What is not a key is an error, not a "no".
        assert!(key_matches_certificate("hello", &rsa_ca.pem().cert_pem).is_err());
    }
}
