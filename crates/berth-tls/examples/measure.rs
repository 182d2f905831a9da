//! How long certificate sets and engine probes take, for sizing timeouts and
//! progress steps: `cargo run -p berth-tls --example measure`.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use berth_tls::{KeyAlgorithm, generate_machine_certificates, verify_chain};

fn main() {
    for algo in KeyAlgorithm::ALL {
        let runs = 5;
        let started = Instant::now();
        for i in 0..runs {
            let set =
                generate_machine_certificates(&format!("m{i}"), &["192.0.2.1".to_owned()], algo)
                    .expect("certificate set");
            verify_chain(&set.ca.cert_pem, &set.server.cert_pem).expect("chain");
        }
        let each: Duration = started.elapsed() / runs;
        println!("{algo}: one machine's set (CA, server, client) in {each:?} on average of {runs}");
    }
}
