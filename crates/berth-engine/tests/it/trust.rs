//! Trust is the machine's own CA and nothing else: a server certificate from any other CA is
//! refused — also when that CA is in the system's trust store, which bollard's own TLS
//! constructor (`connect_with_ssl`) would have added (see shared/crates.md).

use std::process::Command;
use std::time::Duration;

use berth_engine::{ClientTls, Engine, EngineError};
use berth_net::HostPort;
use berth_tls::{KeyAlgorithm, PemPair, generate_machine_certificates, server_config};

use berth_testkit::{TestServer, engine, machines};

/// Set in the child process that runs with the foreign CA as the system's trust store.
const CHILD: &str = "BERTH_ENGINE_TRUST_CHILD";

#[test]
fn a_server_certificate_from_a_ca_in_the_system_store_is_refused() {
    let Some(dir) = std::env::var_os(CHILD) else {
        // The parent: make a foreign CA the whole system trust store (OpenSSL's and
        // rustls-native-certs' variables) for a child run of this very test.
        let dir = tempfile::tempdir().unwrap();
        let foreign = generate_machine_certificates(
            "foreign",
            &["127.0.0.1".to_owned()],
            KeyAlgorithm::EcdsaP256,
        )
        .unwrap();
        let bundle = dir.path().join("system-roots.pem");
        std::fs::write(&bundle, &foreign.ca.cert_pem).unwrap();
        std::fs::write(dir.path().join("server.pem"), &foreign.server.cert_pem).unwrap();
        std::fs::write(dir.path().join("server-key.pem"), &foreign.server.key_pem).unwrap();
        let empty = dir.path().join("certs");
        std::fs::create_dir(&empty).unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "trust::a_server_certificate_from_a_ca_in_the_system_store_is_refused",
                "--nocapture",
            ])
            .env(CHILD, dir.path())
            .env("SSL_CERT_FILE", &bundle)
            .env("SSL_CERT_DIR", &empty)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child run failed:\n{text}");
        assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
        return;
    };
    // The child: the engine presents a certificate of the "system" CA; berth trusts only B's.
    let dir = std::path::PathBuf::from(dir);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let foreign_server = PemPair {
        cert_pem: read("server.pem"),
        key_pem: read("server-key.pem"),
    };
    let server = TestServer::spawn(
        "127.0.0.1",
        server_config(&read("system-roots.pem"), &foreign_server).unwrap(),
        1,
        engine,
    );
    let b = &machines().b;
    let tls = ClientTls {
        ca_pem: b.ca.cert_pem.clone(),
        client: b.client.clone(),
    };
    let err = berth_engine::block_on(async {
        Engine::new(
            HostPort::new("127.0.0.1", server.addr.port()),
            &tls,
            Duration::from_secs(10),
        )?
        .probe()
        .await
    })
    .unwrap_err();
    assert!(
        matches!(err, EngineError::ServerCertUntrusted { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("not signed by this machine's CA"),
        "{err}"
    );
    drop(server);
}
