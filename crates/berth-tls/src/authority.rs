//! A machine's own certificate authority, and the certificates it issues.
//!
//! Each machine gets its own CA (not one CA shared by every machine), so a
//! client certificate leaked from one machine opens no other: dockerd with
//! `--tlsverify` trusts only the CA file it is given.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
};
use time::{Duration, OffsetDateTime};

use crate::{KeyAlgorithm, TlsError, pem};

/// How long a machine's CA lasts: ten years, so it outlives every leaf it signs.
pub const CA_VALIDITY_DAYS: u32 = 3650;
/// How long server and client certificates last: three years. Nothing else is
/// recorded; berth warns ahead of expiry from the certificate itself
/// ([`crate::days_until_expiry`]), which is what docker-machine never did.
pub const LEAF_VALIDITY_DAYS: u32 = 1095;
/// How far in the past certificates start, so a fresh host whose clock lags
/// a little does not see them as "not yet valid".
pub const CLOCK_SKEW: Duration = Duration::minutes(10);
/// Names every server certificate carries, so the engine can also be reached
/// through an SSH tunnel or from the host itself.
const LOOPBACK_SANS: [&str; 2] = ["localhost", "127.0.0.1"];

/// A certificate and its private key, both PEM (the key unencrypted PKCS#8,
/// because dockerd refuses encrypted keys).
#[derive(Clone, PartialEq, Eq)]
pub struct PemPair {
    /// The certificate, `-----BEGIN CERTIFICATE-----`.
    pub cert_pem: String,
    /// The private key, `-----BEGIN PRIVATE KEY-----`.
    pub key_pem: String,
}

impl fmt::Debug for PemPair {
    /// Never prints the key: these values end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemPair")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// A CA certificate with its key, able to issue server and client certificates.
pub struct CertificateAuthority {
    pem: PemPair,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("pem", &self.pem)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Makes a new self-signed CA named `common_name` (organisation "berth").
    ///
    /// Path length 0: it signs leaves only, never another CA.
    pub fn generate(
        common_name: &str,
        algo: KeyAlgorithm,
        validity_days: u32,
    ) -> Result<Self, TlsError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params, validity_days);
        let key = algo.generate()?;
        let cert = params.self_signed(&key).map_err(|source| TlsError::Build {
            what: "CA certificate",
            source,
        })?;
        Ok(CertificateAuthority {
            pem: PemPair {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            },
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA stored earlier (ca.pem and ca-key.pem), checking that the
    /// certificate is a CA and that the key is its own.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let der = pem::cert_der(cert_pem, "CA certificate")?;
        let cert = pem::parse(&der, "CA certificate")?;
        let subject = cert.subject().to_string();
        if !cert.is_ca() {
            return Err(TlsError::NotCa { subject });
        }
        // Refuse encrypted keys with the same words everywhere.
        pem::private_key(key_pem, "CA key")?;
        let key = KeyPair::from_pem(key_pem).map_err(|e| TlsError::BadKey {
            what: "CA key",
            reason: e.to_string(),
        })?;
        if key.subject_public_key_info() != cert.public_key().raw {
            return Err(TlsError::KeyMismatch { subject });
        }
        let issuer =
            Issuer::from_ca_cert_pem(cert_pem, key).map_err(|e| TlsError::BadCertificate {
                what: "CA certificate",
                reason: e.to_string(),
            })?;
        Ok(CertificateAuthority {
            pem: PemPair {
                cert_pem: cert_pem.to_owned(),
                key_pem: key_pem.to_owned(),
            },
            issuer,
        })
    }

    /// The CA certificate and key, as stored in ca.pem and ca-key.pem.
    pub fn pem(&self) -> PemPair {
        self.pem.clone()
    }

    /// Issues the engine's certificate (serverAuth).
    ///
    /// The SANs are the given names (IP addresses become IP SANs, anything
    /// else DNS SANs) plus "localhost" and "127.0.0.1", without duplicates.
    /// Its common name is the first given name.
    pub fn issue_server(
        &self,
        sans: &[String],
        algo: KeyAlgorithm,
        validity_days: u32,
    ) -> Result<PemPair, TlsError> {
        let sans = server_sans(sans);
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(|source| TlsError::Build {
                what: "server certificate",
                source,
            })?;
        params.subject_alt_names = sans
            .iter()
            .map(|san| san_type(san))
            .collect::<Result<_, _>>()?;
        let common_name = sans.first().map_or("localhost", String::as_str);
        params.distinguished_name = name(common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue_leaf(params, algo, validity_days, "server certificate")
    }

    /// Issues a client certificate (clientAuth): what `docker` presents to the engine.
    pub fn issue_client(
        &self,
        common_name: &str,
        algo: KeyAlgorithm,
        validity_days: u32,
    ) -> Result<PemPair, TlsError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue_leaf(params, algo, validity_days, "client certificate")
    }

    fn issue_leaf(
        &self,
        mut params: CertificateParams,
        algo: KeyAlgorithm,
        validity_days: u32,
        what: &'static str,
    ) -> Result<PemPair, TlsError> {
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = match algo {
            KeyAlgorithm::EcdsaP256 => vec![KeyUsagePurpose::DigitalSignature],
            // TLS 1.2 RSA key exchange encrypts with the server key.
            KeyAlgorithm::Rsa2048 => vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ],
        };
        params.use_authority_key_identifier_extension = true;
        // The serial number is left to rcgen: it derives it from the hash of
        // the (always fresh) public key, so it is unique without a counter.
        set_validity(&mut params, validity_days);
        let key = algo.generate()?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|source| TlsError::Build { what, source })?;
        Ok(PemPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Everything one machine needs; berth stores it as ca.pem ca-key.pem
/// server.pem server-key.pem cert.pem key.pem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineCertificates {
    /// The machine's own CA (ca.pem, ca-key.pem).
    pub ca: PemPair,
    /// The engine's certificate (server.pem, server-key.pem).
    pub server: PemPair,
    /// The client certificate (cert.pem, key.pem).
    pub client: PemPair,
}

/// Makes a new CA for `machine` and issues the engine's and the client's
/// certificates from it, with the default lifetimes.
pub fn generate_machine_certificates(
    machine: &str,
    sans: &[String],
    algo: KeyAlgorithm,
) -> Result<MachineCertificates, TlsError> {
    let ca =
        CertificateAuthority::generate(&format!("berth CA for {machine}"), algo, CA_VALIDITY_DAYS)?;
    let server = ca.issue_server(sans, algo, LEAF_VALIDITY_DAYS)?;
    let client = ca.issue_client(
        &format!("berth client for {machine}"),
        algo,
        LEAF_VALIDITY_DAYS,
    )?;
    Ok(MachineCertificates {
        ca: ca.pem(),
        server,
        client,
    })
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "berth");
    dn
}

fn set_validity(params: &mut CertificateParams, validity_days: u32) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - CLOCK_SKEW;
    params.not_after = now + Duration::days(i64::from(validity_days));
}

/// The given SANs, cleaned (`[::1]` → `::1`, blanks dropped), plus the
/// loopback names, each once: IPs compared as addresses, names without case.
fn server_sans(given: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    given
        .iter()
        .map(|s| s.trim())
        .chain(LOOPBACK_SANS)
        .filter(|s| !s.is_empty())
        .map(|s| match parse_ip(s) {
            Some(ip) => ip.to_string(),
            None => s.trim_end_matches('.').to_owned(),
        })
        .filter(|s| seen.insert(s.to_ascii_lowercase()))
        .collect()
}

/// An IP address, also in the bracketed form used in URLs.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let bare = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse().ok()
}

/// Checks a subject alternative name a user asked for (`--tls-san`) before anything runs: an
/// IP address (bare or in brackets), or a DNS name whose labels are letters, digits, '-' and
/// '_', none empty and none starting or ending with '-', with `*` only as a whole first label.
///
/// Stricter than what issuing accepts for the names berth finds on a host itself: a malformed
/// name given on the command line is a typo to report at once, not a certificate to fail later.
pub fn check_san(san: &str) -> Result<(), TlsError> {
    if parse_ip(san).is_some() {
        return Ok(());
    }
    let invalid = |reason: &str| TlsError::InvalidSan {
        san: san.to_owned(),
        reason: reason.to_owned(),
    };
    if san.is_empty() {
        return Err(invalid("it is empty"));
    }
    let name = san.strip_suffix('.').unwrap_or(san);
    if name.len() > 253 {
        return Err(invalid("it is longer than 253 characters"));
    }
    for (i, label) in name.split('.').enumerate() {
        if label == "*" && i == 0 {
            continue;
        }
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(invalid(&format!(
                "its label {label:?} is not letters, digits, '-' and '_' (1 to 63 of them, not starting or ending with '-')"
            )));
        }
    }
    Ok(())
}

fn san_type(san: &str) -> Result<rcgen::SanType, TlsError> {
    if let Some(ip) = parse_ip(san) {
        return Ok(rcgen::SanType::IpAddress(ip));
    }
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '*')
    };
    if san.len() > 253 || !san.split('.').all(valid_label) {
        return Err(TlsError::InvalidSan {
            san: san.to_owned(),
            reason: "it is not a DNS name".to_owned(),
        });
    }
    let ia5 = san
        .try_into()
        .map_err(|e: rcgen::Error| TlsError::InvalidSan {
            san: san.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(rcgen::SanType::DnsName(ia5))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn loopback_names_are_added_once_and_ips_normalised() {
        let given = [
            "203.0.113.7".to_owned(),
            "web1.example".to_owned(),
            "WEB1.example.".to_owned(),
            "127.0.0.1".to_owned(),
            "[2001:db8::0:1]".to_owned(),
            " ".to_owned(),
        ];
        assert_eq!(
            server_sans(&given),
            [
                "203.0.113.7",
                "web1.example",
                "127.0.0.1",
                "2001:db8::1",
                "localhost"
            ]
        );
    }

    #[test]
    fn user_given_sans_are_checked_strictly() {
        for good in [
            "203.0.113.7",
            "[2001:db8::1]",
            "web1.example.",
            "*.example.com",
            "a_b.example",
        ] {
            assert!(check_san(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "not a host",
            "-x.example",
            "x-.example",
            "a..b",
            "a.*.b",
            "bad_\u{1b}",
            "ü.example",
        ] {
            let err = check_san(bad).unwrap_err();
            assert!(matches!(err, TlsError::InvalidSan { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn a_name_with_spaces_is_not_a_san() {
        let err = san_type("not a host").unwrap_err();
        assert!(matches!(err, TlsError::InvalidSan { .. }), "{err}");
        assert!(err.to_string().contains("`not a host`"));
    }

    #[test]
    fn a_stored_ca_loads_again_and_keeps_issuing() {
        let ca =
            CertificateAuthority::generate("berth CA for t", KeyAlgorithm::EcdsaP256, 30).unwrap();
        let stored = ca.pem();
        let again = CertificateAuthority::from_pem(&stored.cert_pem, &stored.key_pem).unwrap();
        let client = again.issue_client("c", KeyAlgorithm::EcdsaP256, 5).unwrap();
        crate::verify_chain(&stored.cert_pem, &client.cert_pem).unwrap();
    }

    #[test]
    fn a_ca_with_another_cas_key_is_refused() {
        let a = CertificateAuthority::generate("A", KeyAlgorithm::EcdsaP256, 30)
            .unwrap()
            .pem();
        let b = CertificateAuthority::generate("B", KeyAlgorithm::EcdsaP256, 30)
            .unwrap()
            .pem();
        let err = CertificateAuthority::from_pem(&a.cert_pem, &b.key_pem).unwrap_err();
        assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
    }

    #[test]
    fn a_leaf_is_not_accepted_as_a_ca() {
        let ca = CertificateAuthority::generate("A", KeyAlgorithm::EcdsaP256, 30).unwrap();
        let leaf = ca.issue_client("c", KeyAlgorithm::EcdsaP256, 5).unwrap();
        let err = CertificateAuthority::from_pem(&leaf.cert_pem, &leaf.key_pem).unwrap_err();
        assert!(matches!(err, TlsError::NotCa { .. }), "{err}");
    }

    #[test]
    fn debug_output_hides_private_keys() {
        let ca = CertificateAuthority::generate("A", KeyAlgorithm::EcdsaP256, 30).unwrap();
        assert!(!format!("{ca:?}").contains("PRIVATE KEY"));
    }
}
