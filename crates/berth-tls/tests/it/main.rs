//! Integration tests of berth-tls: certificate sets, real TLS handshakes over
//! loopback against a small HTTPS server thread.
//! One test binary with a module per topic keeps link time down.

#![allow(clippy::unwrap_used)]

mod certificates;
mod handshake;
