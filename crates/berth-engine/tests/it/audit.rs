//! `berth audit`'s verdict on a mutual-TLS engine whose refusal of a client without a
//! certificate never arrives as an alert (the connection just ends): the server's
//! CertificateRequest is what says that a client certificate is required.

use std::net::TcpListener;
use std::time::Duration;

use berth_engine::audit::{Verdict, probe};
use berth_net::HostPort;
use berth_tls::rustls::ServerConnection;
use berth_tls::server_config;

use berth_testkit::machines;

/// A mutual-TLS server that, when the client sends no certificate, closes the connection
/// without sending its alert; plain HTTP gets the connection closed too.
fn silent_mutual_tls_server(connections: usize) -> (u16, std::thread::JoinHandle<()>) {
    let b = &machines().b;
    let config = server_config(&b.ca.cert_pem, &b.server).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut tcp, _)) = listener.accept() else {
                return;
            };
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut conn = ServerConnection::new(config.clone()).unwrap();
            loop {
                while conn.wants_write() {
                    if conn.write_tls(&mut tcp).is_err() {
                        break;
                    }
                }
                match conn.read_tls(&mut tcp) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                // The refusal: dropped here unsent, with the connection.
                if conn.process_new_packets().is_err() {
                    break;
                }
            }
        }
    });
    (port, thread)
}

#[tokio::test]
async fn a_server_that_asked_for_a_client_certificate_is_mutual_tls_even_without_its_alert() {
    // One connection for the plain-HTTP probe, one for the TLS probe.
    let (port, server) = silent_mutual_tls_server(2);
    let verdict = probe(&HostPort::new("127.0.0.1", port), Duration::from_secs(5)).await;
    assert!(
        matches!(verdict, Verdict::ClientCertificateRequired { .. }),
        "{verdict:?}"
    );
    server.join().unwrap();
}
