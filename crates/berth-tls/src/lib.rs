//! berth-tls
