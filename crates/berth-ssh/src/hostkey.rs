//! Host-key trust: fingerprints as `ssh-keygen -lf` prints them, and the
//! per-machine known_hosts file checked or extended according to the policy.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};
use ssh2::{CheckResult, HostKeyType, KnownHostFileKind};

use crate::error::SshError;
use crate::target::{HostKeyPolicy, Target};

/// `SHA256:<base64 without padding>` of a public key blob, as OpenSSH prints it.
pub fn fingerprint_of_key(key_blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(Sha256::digest(key_blob))
    )
}

/// The OpenSSH algorithm name written before the key in known_hosts.
fn key_type_name(kind: HostKeyType) -> Option<&'static str> {
    match kind {
        HostKeyType::Rsa => Some("ssh-rsa"),
        HostKeyType::Dss => Some("ssh-dss"),
        HostKeyType::Ecdsa256 => Some("ecdsa-sha2-nistp256"),
        HostKeyType::Ecdsa384 => Some("ecdsa-sha2-nistp384"),
        HostKeyType::Ecdsa521 => Some("ecdsa-sha2-nistp521"),
        HostKeyType::Ed25519 => Some("ssh-ed25519"),
        HostKeyType::Unknown => None,
    }
}

/// One known_hosts line for `name`.
fn known_hosts_line(name: &str, key: &[u8], kind: HostKeyType) -> Option<String> {
    key_type_name(kind).map(|t| format!("{name} {t} {}\n", STANDARD.encode(key)))
}

/// Applies `target.policy` to the key the host offered.
pub(crate) fn verify(
    session: &ssh2::Session,
    target: &Target,
    key: &[u8],
    kind: HostKeyType,
) -> Result<(), SshError> {
    let addr = target.addr();
    let path = &target.known_hosts;
    let got = fingerprint_of_key(key);
    let kh_err = |detail: String| SshError::KnownHosts {
        addr: addr.clone(),
        path: path.clone(),
        detail,
    };
    let mut known = session.known_hosts().map_err(|e| kh_err(e.to_string()))?;
    if path.exists() {
        known
            .read_file(path, KnownHostFileKind::OpenSSH)
            .map_err(|e| kh_err(format!("it could not be parsed: {e}")))?;
    }
    match known.check_port(&target.host, target.port, key) {
        CheckResult::Match => return Ok(()),
        CheckResult::Mismatch => {
            let expected = recorded_fingerprints(&known, &target.known_hosts_name())
                .unwrap_or_else(|| "a different key".to_string());
            return Err(SshError::HostKeyMismatch {
                addr,
                known_hosts: path.clone(),
                expected,
                got,
            });
        }
        CheckResult::Failure => return Err(kh_err("libssh2 could not check the host key".into())),
        CheckResult::NotFound => {}
    }
    match &target.policy {
        HostKeyPolicy::Strict => {
            return Err(SshError::HostKeyUnknown {
                addr,
                known_hosts: path.clone(),
                got,
            });
        }
        HostKeyPolicy::Fingerprint(expected) if expected.trim() != got => {
            return Err(SshError::FingerprintMismatch {
                addr,
                expected: expected.clone(),
                got,
            });
        }
        HostKeyPolicy::Pin | HostKeyPolicy::Fingerprint(_) => {}
    }
    let line = known_hosts_line(&target.known_hosts_name(), key, kind)
        .ok_or_else(|| kh_err("the host offered a key of an unknown type".into()))?;
    append(path, &line).map_err(|e| kh_err(e.to_string()))
}

/// Fingerprints of every key recorded for `name` (plain names only; hashed entries have no name).
fn recorded_fingerprints(known: &ssh2::KnownHosts, name: &str) -> Option<String> {
    let hosts = known.hosts().ok()?;
    let prints: Vec<String> = hosts
        .iter()
        .filter(|h| h.name().is_some_and(|n| n.split(',').any(|n| n == name)))
        .filter_map(|h| STANDARD.decode(h.key()).ok())
        .map(|blob| fingerprint_of_key(&blob))
        .collect();
    (!prints.is_empty()).then(|| prints.join(", "))
}

/// Appends one line, creating the file 0600 (and its folder 0700) so the user's other lines stay as they are.
fn append(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(line.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_matches_ssh_keygen() {
        // `ssh-keygen -lf` printed this fingerprint for this public key.
        let blob = STANDARD
            .decode("AAAAC3NzaC1lZDI1NTE5AAAAIEM8ZmuaLY3gNvUDiul1a4atqXI+la73VNEWIHpfam5o")
            .expect("valid base64");
        assert_eq!(
            fingerprint_of_key(&blob),
            "SHA256:Xc+/IVpbv+ENHFJmqf8OD3TW+lmH4lE0dV+7j82otms"
        );
    }

    #[test]
    fn line_has_openssh_shape() {
        let line =
            known_hosts_line("[10.0.0.1]:2222", b"abc", HostKeyType::Ed25519).expect("known type");
        assert_eq!(line, "[10.0.0.1]:2222 ssh-ed25519 YWJj\n");
        assert!(known_hosts_line("h", b"abc", HostKeyType::Unknown).is_none());
    }
}
