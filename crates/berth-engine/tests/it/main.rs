//! Integration tests of berth-engine: the engine client against a loopback HTTPS server thread
//! playing the engine. One test binary with a module per topic keeps link time down.

#![allow(clippy::unwrap_used)]

mod audit;
mod probe;
mod trust;
