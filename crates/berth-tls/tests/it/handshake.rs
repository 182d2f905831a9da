//! Real TLS handshakes over 127.0.0.1: machine B's engine (played by a
//! rustls server with B's server certificate, requiring clients signed by
//! B's CA) admits B's client and nobody else.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use berth_tls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use berth_tls::{PemPair, client_config, crypto_provider, server_config};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

use berth_testkit::{OneShotServer, engine, machines};

/// Connects, handshakes, sends GET /_ping and reads the whole answer.
/// The error is rustls's, wherever it surfaced (with TLS 1.3 a rejected
/// client certificate shows only on the first read).
fn ping(addr: SocketAddr, config: Arc<ClientConfig>) -> Result<String, String> {
    let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let name = ServerName::IpAddress(addr.ip().into());
    let conn = ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut tls = StreamOwned::new(conn, tcp);
    tls.write_all(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    Ok(answer)
}

fn b_server(connections: usize) -> OneShotServer {
    let b = &machines().b;
    OneShotServer::spawn(
        "127.0.0.1",
        server_config(&b.ca.cert_pem, &b.server).unwrap(),
        connections,
        engine,
    )
}

#[test]
fn b_engine_accepts_b_client() {
    let b = &machines().b;
    let server = b_server(1);
    let answer = ping(
        server.addr,
        client_config(&b.ca.cert_pem, &b.client).unwrap(),
    )
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("OK"), "{answer}");
    assert_eq!(server.outcomes(), [Ok("/_ping".to_owned())]);
}

#[test]
fn b_engine_rejects_a_client() {
    let m = machines();
    let server = b_server(1);
    // The client trusts B's engine; only its own certificate is A's.
    let config = client_config(&m.b.ca.cert_pem, &m.a.client).unwrap();
    let err = ping(server.addr, config).unwrap_err();
    assert!(err.contains("received fatal alert"), "client saw: {err}");
    let outcomes = server.outcomes();
    let server_err = outcomes[0].as_ref().unwrap_err();
    assert!(
        server_err.contains("UnknownIssuer"),
        "server saw: {server_err}"
    );
}

#[test]
fn b_engine_rejects_a_client_without_certificate() {
    let b = &machines().b;
    let server = b_server(1);
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(b.ca.cert_pem.as_bytes()).unwrap())
        .unwrap();
    let config = ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let err = ping(server.addr, Arc::new(config)).unwrap_err();
    assert!(err.contains("received fatal alert"), "client saw: {err}");
    let outcomes = server.outcomes();
    let server_err = outcomes[0].as_ref().unwrap_err();
    assert!(
        server_err.contains(&rustls::Error::NoCertificatesPresented.to_string()),
        "server saw: {server_err}"
    );
}

#[test]
fn a_client_does_not_trust_b_engine() {
    let m = machines();
    let server = b_server(1);
    // A's own set: its CA did not sign B's server certificate.
    let err = ping(
        server.addr,
        client_config(&m.a.ca.cert_pem, &m.a.client).unwrap(),
    )
    .unwrap_err();
    assert!(err.contains("UnknownIssuer"), "client saw: {err}");
    assert!(server.outcomes()[0].is_err());
}

#[test]
fn rsa_machine_handshakes_with_tls12_and_tls13() {
    let set = &machines().b_rsa;
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let server = OneShotServer::spawn(
            "127.0.0.1",
            server_config(&set.ca.cert_pem, &set.server).unwrap(),
            1,
            engine,
        );
        let config = pinned_version(&set.ca.cert_pem, &set.client, version);
        let answer = ping(server.addr, config).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(server.outcomes(), [Ok("/_ping".to_owned())]);
    }
}

/// A client like `client_config` but speaking only one TLS version.
fn pinned_version(
    ca_pem: &str,
    client: &PemPair,
    version: &'static rustls::SupportedProtocolVersion,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let chain = vec![CertificateDer::from_pem_slice(client.cert_pem.as_bytes()).unwrap()];
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(client.key_pem.as_bytes()).unwrap();
    Arc::new(
        ClientConfig::builder_with_provider(crypto_provider())
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .unwrap(),
    )
}
