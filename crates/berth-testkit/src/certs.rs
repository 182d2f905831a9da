//! Certificate fixtures: machine certificate sets made once per test binary, and the client
//! files a Docker client reads.

use std::path::Path;
use std::sync::OnceLock;

use berth_names::DockerTlsFiles;
use berth_tls::{KeyAlgorithm, MachineCertificates, generate_machine_certificates};

/// Three machines' certificate sets, made once for the whole test binary
/// (RSA keys take a while to make).
pub struct Machines {
    /// Machine A (ECDSA P-256), for 192.0.2.10 and `192.0.2.10.example.test`.
    pub a: MachineCertificates,
    /// Machine B (ECDSA P-256), for 192.0.2.11 and `192.0.2.11.example.test`.
    pub b: MachineCertificates,
    /// Machine B with RSA 2048 keys, for 192.0.2.12 and `192.0.2.12.example.test`.
    pub b_rsa: MachineCertificates,
}

/// The shared [`Machines`], made on first use.
pub fn machines() -> &'static Machines {
    static MACHINES: OnceLock<Machines> = OnceLock::new();
    MACHINES.get_or_init(|| {
        let sans = |ip: &str| vec![ip.to_owned(), format!("{ip}.example.test")];
        Machines {
            a: generate_machine_certificates("a", &sans("192.0.2.10"), KeyAlgorithm::EcdsaP256)
                .expect("machine A's certificates"),
            b: generate_machine_certificates("b", &sans("192.0.2.11"), KeyAlgorithm::EcdsaP256)
                .expect("machine B's certificates"),
            b_rsa: generate_machine_certificates(
                "b-rsa",
                &sans("192.0.2.12"),
                KeyAlgorithm::Rsa2048,
            )
            .expect("machine B's RSA certificates"),
        }
    })
}

/// A fresh certificate set for a machine on 127.0.0.1 (ECDSA P-256, fast to make).
pub fn loopback_machine(name: &str) -> MachineCertificates {
    generate_machine_certificates(name, &["127.0.0.1".to_owned()], KeyAlgorithm::EcdsaP256)
        .expect("loopback machine certificates")
}

/// Writes `set`'s CA and client certificate and key into `dir` under the names the Docker
/// client looks for (`ca.pem`, `cert.pem`, `key.pem`).
pub fn write_client_files(dir: &Path, set: &MachineCertificates) {
    std::fs::write(dir.join(DockerTlsFiles::CA), &set.ca.cert_pem).unwrap();
    std::fs::write(dir.join(DockerTlsFiles::CERT), &set.client.cert_pem).unwrap();
    std::fs::write(dir.join(DockerTlsFiles::KEY), &set.client.key_pem).unwrap();
}
