//! Key algorithms berth offers, and making keys for them.
//!
//! ECDSA P-256 is the default: dockerd (Go crypto/tls) and every Docker client
//! accept it, and it is fast to make. RSA 2048 is there for old clients that
//! know nothing else. rcgen's `ring` backend cannot *generate* RSA keys, so
//! those come from the `rsa` crate and are handed to rcgen as PKCS#8.

use std::fmt;
use std::str::FromStr;

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};

use crate::TlsError;

/// The kind of key (and signature) of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum KeyAlgorithm {
    /// ECDSA on the NIST P-256 curve, signed with SHA-256.
    #[default]
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    /// RSA with a 2048-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    #[serde(rename = "rsa-2048")]
    Rsa2048,
}

impl KeyAlgorithm {
    /// Every algorithm, in the order a help text lists them.
    pub const ALL: [KeyAlgorithm; 2] = [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048];

    /// The name used on the command line and in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::Rsa2048 => "rsa-2048",
        }
    }

    /// Makes a fresh key pair of this kind.
    pub(crate) fn generate(self) -> Result<KeyPair, TlsError> {
        let failed = |reason: String| TlsError::KeyGeneration {
            algorithm: self,
            reason,
        };
        match self {
            KeyAlgorithm::EcdsaP256 => {
                KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| failed(e.to_string()))
            }
            KeyAlgorithm::Rsa2048 => {
                let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                    .map_err(|e| failed(e.to_string()))?;
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| failed(e.to_string()))?;
                KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &PKCS_RSA_SHA256)
                    .map_err(|e| failed(e.to_string()))
            }
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = TlsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|algo| algo.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| TlsError::UnknownAlgorithm {
                given: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_round_trip_through_from_str_display_and_serde() {
        for algo in KeyAlgorithm::ALL {
            assert_eq!(algo.to_string().parse::<KeyAlgorithm>().unwrap(), algo);
            let json = serde_json::to_string(&algo).unwrap();
            assert_eq!(json, format!("\"{algo}\""));
            assert_eq!(serde_json::from_str::<KeyAlgorithm>(&json).unwrap(), algo);
        }
        assert_eq!(
            "RSA-2048".parse::<KeyAlgorithm>().unwrap(),
            KeyAlgorithm::Rsa2048
        );
    }

    #[test]
    fn default_is_ecdsa_p256() {
        assert_eq!(KeyAlgorithm::default(), KeyAlgorithm::EcdsaP256);
    }

    #[test]
    fn unknown_name_says_what_is_accepted() {
        let err = "ed25519".parse::<KeyAlgorithm>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("ed25519") && msg.contains("ecdsa-p256") && msg.contains("rsa-2048"));
    }

    #[test]
    fn generated_keys_are_unencrypted_pkcs8() {
        for algo in KeyAlgorithm::ALL {
            let pem = algo.generate().unwrap().serialize_pem();
            assert!(
                pem.starts_with("-----BEGIN PRIVATE KEY-----"),
                "{algo}: {pem}"
            );
        }
    }
}
