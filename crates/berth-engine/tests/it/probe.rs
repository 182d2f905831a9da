//! `Engine::probe` against a loopback HTTPS server thread playing the engine:
//! it reads the version on one connection, and each way of failing has its own error.

use std::net::TcpListener;
use std::time::Duration;

use berth_engine::{ClientTls, Engine, EngineError, EngineVersion};
use berth_net::HostPort;
use berth_tls::{PemPair, server_config};

use berth_testkit::{Responder, TestServer, engine, machines};

const TIMEOUT: Duration = Duration::from_secs(10);

/// One probe, from blocking code, as `berth ls` and the provisioner make it.
fn probe_engine(
    host: &str,
    port: u16,
    ca_pem: &str,
    client: &PemPair,
    timeout: Duration,
) -> Result<EngineVersion, EngineError> {
    let tls = ClientTls {
        ca_pem: ca_pem.to_owned(),
        client: client.clone(),
    };
    berth_engine::block_on(async {
        Engine::new(HostPort::new(host, port), &tls, timeout)?
            .probe()
            .await
    })
}

fn b_engine(ip: &str, connections: usize, respond: Responder) -> TestServer {
    let b = &machines().b;
    TestServer::spawn(
        ip,
        server_config(&b.ca.cert_pem, &b.server).unwrap(),
        connections,
        respond,
    )
}

fn expected_version() -> EngineVersion {
    EngineVersion {
        version: "20.10.24+dfsg1".to_owned(),
        api_version: "1.41".to_owned(),
        os: "linux".to_owned(),
        arch: "amd64".to_owned(),
    }
}

#[test]
fn probe_reads_the_engine_version() {
    let b = &machines().b;
    let server = b_engine("127.0.0.1", 1, engine);
    let version = probe_engine(
        "127.0.0.1",
        server.addr.port(),
        &b.ca.cert_pem,
        &b.client,
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(version, expected_version());
    assert_eq!(
        server.outcomes(),
        [Ok(vec!["/_ping".to_owned(), "/version".to_owned()])],
        "one connection carries both requests"
    );
}

#[test]
fn probe_by_dns_name_checks_the_dns_san() {
    let b = &machines().b;
    let server = b_engine("127.0.0.1", 1, engine);
    let version = probe_engine(
        "localhost",
        server.addr.port(),
        &b.ca.cert_pem,
        &b.client,
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(version, expected_version());
    server.outcomes();
}

#[test]
fn probe_of_an_rsa_machine() {
    let set = &machines().b_rsa;
    let server = TestServer::spawn(
        "127.0.0.1",
        server_config(&set.ca.cert_pem, &set.server).unwrap(),
        1,
        engine,
    );
    let version = probe_engine(
        "127.0.0.1",
        server.addr.port(),
        &set.ca.cert_pem,
        &set.client,
        TIMEOUT,
    )
    .unwrap();
    assert_eq!(version, expected_version());
    server.outcomes();
}

#[test]
fn probe_with_a_client_cert_says_the_engine_rejected_it() {
    let m = machines();
    let server = b_engine("127.0.0.1", 1, engine);
    let port = server.addr.port();
    let err = probe_engine("127.0.0.1", port, &m.b.ca.cert_pem, &m.a.client, TIMEOUT).unwrap_err();
    assert!(
        matches!(err, EngineError::ClientCertRejected { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.contains("rejected our client certificate"), "{msg}");
    assert!(server.outcomes()[0].is_err());
}

#[test]
fn probe_with_the_wrong_ca_says_the_engine_is_not_trusted() {
    let m = machines();
    let server = b_engine("127.0.0.1", 1, engine);
    let err = probe_engine(
        "127.0.0.1",
        server.addr.port(),
        &m.a.ca.cert_pem,
        &m.a.client,
        TIMEOUT,
    )
    .unwrap_err();
    assert!(
        matches!(err, EngineError::ServerCertUntrusted { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("not signed by this machine's CA"),
        "{err}"
    );
    server.outcomes();
}

#[test]
fn probe_of_an_address_missing_from_the_sans_says_so() {
    let b = &machines().b;
    // 127.0.0.2 is loopback too, but B's certificate names only 127.0.0.1.
    let server = b_engine("127.0.0.2", 1, engine);
    let err = probe_engine(
        "127.0.0.2",
        server.addr.port(),
        &b.ca.cert_pem,
        &b.client,
        TIMEOUT,
    )
    .unwrap_err();
    assert!(
        matches!(err, EngineError::ServerCertUntrusted { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("not valid for `127.0.0.2`"),
        "{err}"
    );
    server.outcomes();
}

#[test]
fn probe_of_a_closed_port_says_connection_refused() {
    let b = &machines().b;
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = probe_engine("127.0.0.1", port, &b.ca.cert_pem, &b.client, TIMEOUT).unwrap_err();
    assert!(
        matches!(err, EngineError::ConnectionRefused { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn probe_of_a_silent_server_times_out() {
    let b = &machines().b;
    // The kernel completes the TCP handshake from the backlog; nobody ever speaks TLS.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let err = probe_engine("127.0.0.1", port, &b.ca.cert_pem, &b.client, timeout).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(
            err,
            EngineError::Timeout {
                stage: "in the TLS handshake",
                ..
            }
        ),
        "{err:?}"
    );
    drop(listener);
}

#[test]
fn probe_reports_an_http_error_with_the_engine_words() {
    let b = &machines().b;
    let server = b_engine("127.0.0.1", 1, |path| match path {
        "/_ping" => (200, "OK".to_owned()),
        _ => (500, r#"{"message":"engine is shutting down"}"#.to_owned()),
    });
    let err = probe_engine(
        "127.0.0.1",
        server.addr.port(),
        &b.ca.cert_pem,
        &b.client,
        TIMEOUT,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::HttpStatus {
                status: 500,
                what: "GET /version",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("engine is shutting down"), "{err}");
    server.outcomes();
}

#[test]
fn probe_reports_bad_json() {
    let b = &machines().b;
    let server = b_engine("127.0.0.1", 1, |path| match path {
        "/_ping" => (200, "OK".to_owned()),
        _ => (200, r#"{"Version": 20}"#.to_owned()),
    });
    let err = probe_engine(
        "127.0.0.1",
        server.addr.port(),
        &b.ca.cert_pem,
        &b.client,
        TIMEOUT,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::BadJson {
                what: "GET /version",
                ..
            }
        ),
        "{err:?}"
    );
    server.outcomes();
}

#[test]
fn probe_of_a_port_that_does_not_speak_tls() {
    let b = &machines().b;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            .unwrap();
        // Read what the client sends until it gives up, so the close is orderly.
        let mut sink = Vec::new();
        let _ = tcp.read_to_end(&mut sink);
    });
    let err = probe_engine("127.0.0.1", port, &b.ca.cert_pem, &b.client, TIMEOUT).unwrap_err();
    assert!(matches!(err, EngineError::Handshake { .. }), "{err:?}");
    thread.join().unwrap();
}

/// Answers `/version` with a body past [`berth_engine::MAX_ANSWER`].
fn huge_version(path: &str) -> (u16, String) {
    match path {
        "/version" => (
            200,
            format!(
                "{{\"Version\":\"{}\"}}",
                "x".repeat(berth_engine::MAX_ANSWER + 1024)
            ),
        ),
        other => engine(other),
    }
}

/// Regression: an answer was read whole, whatever its size.
#[test]
fn an_answer_larger_than_the_cap_is_refused_not_read_whole() {
    let b = &machines().b;
    let server = b_engine("127.0.0.1", 1, huge_version);
    let port = server.addr.port();
    let err = probe_engine("127.0.0.1", port, &b.ca.cert_pem, &b.client, TIMEOUT).unwrap_err();
    assert!(matches!(err, EngineError::AnswerTooLarge { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.contains("larger than"), "{msg}");
    // The server's write fails once berth stops reading; that is its business.
    let _ = server.outcomes();
}
