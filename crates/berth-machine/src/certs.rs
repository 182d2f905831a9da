//! The certificate policy: a machine's certificates in its folder: made at create, reused by `provision` while they
//! still fit, renewed by `regenerate-certs`.

use crate::record::{MachineRecord, TlsSettings};
use berth_engine::ClientTls;
use berth_names::MachineFiles;
use berth_store::{FileMode, Machine};
use berth_tls::{
    CA_VALIDITY_DAYS, CertificateAuthority, KeyAlgorithm, LEAF_VALIDITY_DAYS, PemPair,
};

use crate::error::{Context as _, MachineError};

/// A server certificate this close to expiry is renewed by `provision`.
const RENEW_WITHIN_DAYS: i64 = 30;

/// What to do with the existing certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// Keep what fits (same CA, a server certificate covering every name); make what is missing.
    KeepIfValid,
    /// A new server certificate, same CA and client certificate.
    Server,
    /// A new CA, server and client certificate: every client certificate made before stops
    /// working, which is how a leaked one is revoked (as docker-machine's `--client-certs`).
    Everything,
}

/// What [`ensure`] left in the folder.
#[derive(Debug)]
pub(crate) struct Ensured {
    /// The PEMs the engine needs.
    pub(crate) server: berth_provision::ServerCerts,
    /// Whether the client certificate was made anew (with a new CA, or because the old one no
    /// longer fitted): a client TLS configuration built before no longer opens the engine.
    pub(crate) new_client: bool,
}

/// The server certificate (and CA) for `sans`, written into the machine's folder.
/// Returns the PEMs the engine needs and updates the record's TLS section.
pub(crate) fn ensure(
    machine: &Machine,
    tls: &mut TlsSettings,
    sans: &[String],
    renewal: Renewal,
) -> Result<Ensured, MachineError> {
    let algo: KeyAlgorithm = tls.algorithm;

    if renewal == Renewal::Everything {
        for file in [MachineFiles::CA_CERT, MachineFiles::CA_KEY] {
            let _ = std::fs::remove_file(machine.path(file));
        }
    }
    let ca = match (
        machine.read_file(MachineFiles::CA_CERT),
        machine.read_file(MachineFiles::CA_KEY),
    ) {
        (Ok(cert), Ok(key)) => Authority::Own(Box::new(
            CertificateAuthority::from_pem(&cert, &key).with_context(|| {
                format!("the CA in {} cannot be loaded", machine.dir().display())
            })?,
        )),
        // An imported machine: docker-machine's shared CA, whose key stayed in its store.
        (Ok(cert), Err(_)) => Authority::Foreign(cert),
        _ => {
            let ca = CertificateAuthority::generate(
                &format!("berth CA for {}", machine.name()),
                algo,
                CA_VALIDITY_DAYS,
            )?;
            let pem = ca.pem();
            machine.write_file(
                MachineFiles::CA_KEY,
                pem.key_pem.as_bytes(),
                FileMode::Secret,
            )?;
            machine.write_file(
                MachineFiles::CA_CERT,
                pem.cert_pem.as_bytes(),
                FileMode::Public,
            )?;
            // A new CA invalidates whatever leaf certificates were there.
            for file in [
                MachineFiles::SERVER_CERT,
                MachineFiles::SERVER_KEY,
                MachineFiles::CLIENT_CERT,
                MachineFiles::CLIENT_KEY,
            ] {
                let _ = std::fs::remove_file(machine.path(file));
            }
            Authority::Own(Box::new(ca))
        }
    };
    let ca_pem = ca.cert_pem();

    // docker-machine's server certificates name the address and localhost, not the host's
    // name: on its CA, which cannot sign a new one, the address (the first SAN) must do.
    let needed = match &ca {
        Authority::Foreign(_) => &sans[..sans.len().min(1)],
        Authority::Own(_) => sans,
    };
    let existing_server = read_pair(machine, MachineFiles::SERVER_CERT, MachineFiles::SERVER_KEY);
    // A kept key that is not its certificate's would be uploaded to the host under the
    // certificate's name (a hostile store's trick); on berth's own CA a new pair replaces it.
    if let (Some(pair), Authority::Foreign(_)) = (&existing_server, &ca)
        && !pair_matches(pair)
    {
        return Err(MachineError::msg(format!(
            "server-key.pem in {} does not belong to server.pem, so berth will not upload them; `berth regenerate-certs --client-certs {}` gives the machine a CA and certificates of its own",
            machine.dir().display(),
            machine.name()
        )));
    }
    let server = match existing_server {
        Some(pair) if renewal == Renewal::KeepIfValid && server_fits(&ca_pem, &pair, needed) => {
            pair
        }
        _ => {
            let pair = ca
                .signer(machine)?
                .issue_server(sans, algo, LEAF_VALIDITY_DAYS)?;
            machine.write_file(
                MachineFiles::SERVER_KEY,
                pair.key_pem.as_bytes(),
                FileMode::Secret,
            )?;
            machine.write_file(
                MachineFiles::SERVER_CERT,
                pair.cert_pem.as_bytes(),
                FileMode::Public,
            )?;
            pair
        }
    };

    let mut new_client = false;
    let client = match read_pair(machine, MachineFiles::CLIENT_CERT, MachineFiles::CLIENT_KEY) {
        Some(pair)
            if berth_tls::verify_chain(&ca_pem, &pair.cert_pem).is_ok() && pair_matches(&pair) =>
        {
            pair
        }
        _ => {
            new_client = true;
            let pair = ca.signer(machine)?.issue_client(
                &format!("berth client for {}", machine.name()),
                algo,
                LEAF_VALIDITY_DAYS,
            )?;
            machine.write_file(
                MachineFiles::CLIENT_KEY,
                pair.key_pem.as_bytes(),
                FileMode::Secret,
            )?;
            machine.write_file(
                MachineFiles::CLIENT_CERT,
                pair.cert_pem.as_bytes(),
                FileMode::Public,
            )?;
            pair
        }
    };

    let server_info = berth_tls::inspect(&server.cert_pem)?;
    tls.sans = server_info.sans;
    tls.server_not_after = Some(server_info.not_after);
    tls.client_not_after = Some(berth_tls::inspect(&client.cert_pem)?.not_after);
    Ok(Ensured {
        server: berth_provision::ServerCerts {
            ca_pem,
            cert_pem: server.cert_pem,
            key_pem: server.key_pem,
        },
        new_client,
    })
}

/// The CA that signs a machine's certificates.
enum Authority {
    /// The machine's own, with its key.
    Own(Box<CertificateAuthority>),
    /// A CA whose key berth does not have (docker-machine's shared one, after `import`): its
    /// certificates are used as they are, and nothing new can be signed.
    Foreign(String),
}

impl Authority {
    fn cert_pem(&self) -> String {
        match self {
            Authority::Own(ca) => ca.pem().cert_pem,
            Authority::Foreign(pem) => pem.clone(),
        }
    }

    fn signer(&self, machine: &Machine) -> Result<&CertificateAuthority, MachineError> {
        match self {
            Authority::Own(ca) => Ok(ca),
            Authority::Foreign(_) => Err(foreign_ca_refusal(machine.name())),
        }
    }
}

/// Whether the machine's certificates come from a CA whose key berth does not hold (an
/// imported docker-machine machine), so that only `--client-certs` can renew them.
pub fn has_foreign_ca(machine: &Machine) -> bool {
    machine.path(MachineFiles::CA_CERT).is_file() && !machine.path(MachineFiles::CA_KEY).exists()
}

/// Why berth cannot sign a new certificate for a machine on docker-machine's shared CA, and
/// the way out. The shared CA's key is deliberately not copied at import: it would put the
/// key that opens every docker-machine machine into each berth machine's folder.
pub fn foreign_ca_refusal(name: &str) -> MachineError {
    MachineError::msg(format!(
        "machine '{name}' was imported from docker-machine and still uses docker-machine's shared CA, whose key berth does not copy (it signs certificates for every machine of that store), so berth cannot sign a new server certificate with it; `berth regenerate-certs --client-certs {name}` moves it onto a CA of its own (its old client certificate then stops working)"
    ))
}

/// The CA and client certificate, as a client presents them.
pub fn client_tls(machine: &Machine) -> Result<ClientTls, MachineError> {
    let ca_pem = machine.read_file(MachineFiles::CA_CERT)?;
    let client = read_pair(machine, MachineFiles::CLIENT_CERT, MachineFiles::CLIENT_KEY)
        .with_context(|| format!("machine '{}' has no client certificate; `berth regenerate-certs --client-certs {}` makes one", machine.name(), machine.name()))?;
    Ok(ClientTls { ca_pem, client })
}

fn read_pair(machine: &Machine, cert: &str, key: &str) -> Option<PemPair> {
    Some(PemPair {
        cert_pem: machine.read_file(cert).ok()?,
        key_pem: machine.read_file(key).ok()?,
    })
}

/// Whether the key of a kept pair is its certificate's own (an unreadable one is not).
fn pair_matches(pair: &PemPair) -> bool {
    berth_tls::key_matches_certificate(&pair.key_pem, &pair.cert_pem).unwrap_or(false)
}

/// Whether a server certificate can stay: signed by this CA, valid for a while yet, and naming
/// every address and name the host has now (an address change is docker-machine's #531).
fn server_fits(ca_pem: &str, pair: &PemPair, sans: &[String]) -> bool {
    pair_matches(pair)
        && berth_tls::verify_chain(ca_pem, &pair.cert_pem).is_ok()
        && berth_tls::days_until_expiry(&pair.cert_pem).is_ok_and(|d| d > RENEW_WITHIN_DAYS)
        && sans
            .iter()
            .all(|san| berth_tls::covers(&pair.cert_pem, san).unwrap_or(false))
}

/// When a machine's certificates expire, read from the files in its folder (not the record:
/// the files are what clients and the engine use). None where a file is missing or unreadable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expiry {
    /// The machine's CA; when it expires, every certificate it signed stops working with it.
    pub ca: Option<time::OffsetDateTime>,
    /// The engine's certificate.
    pub server: Option<time::OffsetDateTime>,
    /// The client certificate the docker CLI presents.
    pub client: Option<time::OffsetDateTime>,
}

impl Expiry {
    /// The expiry of `machine`'s CA, server and client certificates.
    pub fn of(machine: &Machine) -> Expiry {
        let not_after = |file: &str| {
            let pem = machine.read_file(file).ok()?;
            Some(berth_tls::inspect(&pem).ok()?.not_after)
        };
        Expiry {
            ca: not_after(MachineFiles::CA_CERT),
            server: not_after(MachineFiles::SERVER_CERT),
            client: not_after(MachineFiles::CLIENT_CERT),
        }
    }

    /// The soonest of the three.
    pub fn soonest(&self) -> Option<time::OffsetDateTime> {
        [self.ca, self.server, self.client]
            .into_iter()
            .flatten()
            .min()
    }

    /// A sentence when one of them has expired or expires within [`WARN_WITHIN_DAYS`]; the
    /// same words as `ls` for the server and client certificate.
    pub fn warning(&self, name: &str, now: time::OffsetDateTime) -> Option<String> {
        let leaf = leaf_warning(name, self.server, self.client, now);
        let ca_days = self.ca.map(|t| (t - now).whole_days());
        let leaf_days = [self.server, self.client]
            .into_iter()
            .flatten()
            .map(|t| (t - now).whole_days())
            .min();
        match ca_days {
            Some(d) if d <= WARN_WITHIN_DAYS && leaf_days.is_none_or(|l| d <= l) => {
                Some(if d < 0 {
                    format!(
                        "the CA of '{name}' expired {} days ago; `berth regenerate-certs --client-certs {name}` makes a new one",
                        -d
                    )
                } else {
                    format!(
                        "the CA of '{name}' expires in {d} days; `berth regenerate-certs --client-certs {name}` makes a new one"
                    )
                })
            }
            _ => leaf,
        }
    }
}

/// Warn this long before a certificate expires (docker-machine's certificates expired silently
/// after 1080 days: #4397, #4400, #4553).
pub const WARN_WITHIN_DAYS: i64 = 30;

/// A sentence about the machine's certificates when one has expired or expires soon.
pub fn expiry_warning(record: &MachineRecord, now: time::OffsetDateTime) -> Option<String> {
    leaf_warning(
        &record.name,
        record.tls.server_not_after,
        record.tls.client_not_after,
        now,
    )
}

/// The sentence of [`expiry_warning`] for the server and client certificates' expiry.
fn leaf_warning(
    name: &str,
    server: Option<time::OffsetDateTime>,
    client: Option<time::OffsetDateTime>,
    now: time::OffsetDateTime,
) -> Option<String> {
    let soonest = [("server", server), ("client", client)]
        .into_iter()
        .filter_map(|(which, not_after)| not_after.map(|t| (which, (t - now).whole_days())))
        .min_by_key(|(_, days)| *days)?;
    let (which, days) = soonest;
    match days {
        d if d < 0 => Some(format!(
            "the {which} certificate of '{name}' expired {} days ago; `berth regenerate-certs {name}` renews it",
            -d
        )),
        d if d <= WARN_WITHIN_DAYS => Some(format!(
            "the {which} certificate of '{name}' expires in {d} days; `berth regenerate-certs {name}` renews it"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::Duration;

    #[test]
    fn warns_only_close_to_expiry() {
        let now = time::OffsetDateTime::now_utc();
        let mut record =
            MachineRecord::new("web1".try_into().unwrap(), "generic".try_into().unwrap());
        assert_eq!(expiry_warning(&record, now), None);
        record.tls.server_not_after = Some(now + Duration::days(400));
        record.tls.client_not_after = Some(now + Duration::days(10));
        let warning = expiry_warning(&record, now).expect("client expires soon");
        assert!(
            warning.contains("client certificate of 'web1' expires in"),
            "{warning}"
        );
        record.tls.client_not_after = Some(now - Duration::days(3));
        assert!(
            expiry_warning(&record, now)
                .expect("expired")
                .contains("expired 3 days ago")
        );
        record.tls.client_not_after = Some(now + Duration::days(400));
        assert_eq!(expiry_warning(&record, now), None);
    }

    /// A machine folder holding `ca` (with its key when `own`), a client pair and a server
    /// pair whose key is another certificate's.
    fn machine_with_swapped_server_key(own: bool) -> (tempfile::TempDir, Machine, MachineRecord) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = berth_store::Store::new(dir.path().join("machines"));
        let record = MachineRecord::new(
            crate::record::MachineName::new("web1").expect("name"),
            crate::record::DriverName::new("generic").expect("driver"),
        );
        let (machine, _lock) = store.create_machine("web1", &record).expect("machine");
        let algo = KeyAlgorithm::EcdsaP256;
        let ca = CertificateAuthority::generate("ca", algo, 100).expect("ca");
        let server = ca
            .issue_server(&["203.0.113.7".into()], algo, 100)
            .expect("server");
        let client = ca.issue_client("c", algo, 100).expect("client");
        let write = |f: &str, t: &str| machine.write_file(f, t.as_bytes(), FileMode::Secret);
        write(MachineFiles::CA_CERT, &ca.pem().cert_pem).expect(MachineFiles::CA_CERT);
        if own {
            write(MachineFiles::CA_KEY, &ca.pem().key_pem).expect(MachineFiles::CA_KEY);
        }
        write(MachineFiles::CLIENT_CERT, &client.cert_pem).expect(MachineFiles::CLIENT_CERT);
        write(MachineFiles::CLIENT_KEY, &client.key_pem).expect(MachineFiles::CLIENT_KEY);
        write(MachineFiles::SERVER_CERT, &server.cert_pem).expect(MachineFiles::SERVER_CERT);
        // The client's key where the server's should be.
        write(MachineFiles::SERVER_KEY, &client.key_pem).expect(MachineFiles::SERVER_KEY);
        (dir, machine, record)
    }

    #[test]
    fn a_new_client_certificate_is_reported_so_an_engine_client_built_before_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = berth_store::Store::new(dir.path().join("machines"));
        let mut record = MachineRecord::new(
            crate::record::MachineName::new("web1").expect("name"),
            crate::record::DriverName::new("generic").expect("driver"),
        );
        let (machine, _lock) = store.create_machine("web1", &record).expect("machine");
        let sans = ["203.0.113.7".to_owned()];
        let mut made = |renewal| {
            ensure(&machine, &mut record.tls, &sans, renewal)
                .expect("certificates")
                .new_client
        };
        assert!(made(Renewal::KeepIfValid), "the first ones are new");
        assert!(!made(Renewal::KeepIfValid), "kept ones are not");
        assert!(
            !made(Renewal::Server),
            "a new server certificate keeps the client's"
        );
        assert!(
            made(Renewal::Everything),
            "a new CA makes a new client certificate"
        );
    }

    #[test]
    fn a_kept_server_key_that_is_not_its_certificates_is_never_reused() {
        // On a foreign CA nothing new can be signed: refused, and nothing is handed on.
        let (_dir, machine, mut record) = machine_with_swapped_server_key(false);
        let err = ensure(
            &machine,
            &mut record.tls,
            &["203.0.113.7".into()],
            Renewal::KeepIfValid,
        )
        .expect_err("a mismatched server pair must not be reused");
        assert!(err.to_string().contains("does not belong"), "{err}");
        // On its own CA, a new pair replaces it.
        let (_dir, machine, mut record) = machine_with_swapped_server_key(true);
        let certs = ensure(
            &machine,
            &mut record.tls,
            &["203.0.113.7".into()],
            Renewal::KeepIfValid,
        )
        .expect("a new server pair")
        .server;
        assert!(berth_tls::key_matches_certificate(&certs.key_pem, &certs.cert_pem).expect("pem"));
    }
}
