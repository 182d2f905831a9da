//! berth-engine: the Docker engine's API, through bollard on tokio, over mutual TLS with the
//! machine's client certificate — trusting the machine's own CA and nothing else.
//!
//! bollard's own TLS constructor (`connect_with_ssl`) adds the system's roots to the trust
//! store, so a certificate from any public CA would pass for the engine. berth gives bollard a
//! transport of its own instead ([`transport`]): a TCP connection to the first address that
//! answers, a rustls handshake whose only root is the machine's CA, and HTTP/1.1 through hyper,
//! which reads each answer by its length and keeps the connection for the next request — one
//! connection per probe, no wait for the engine to close it.
//!
//! Errors ([`EngineError`]) tell apart what a user fixes differently: nothing listening, no
//! answer, the engine refusing our client certificate, the engine's certificate not matching
//! the CA or the address, and an engine that answers but not as an engine should.

pub mod audit;
mod capped;
mod client;
mod error;
mod transport;

/// bollard's API models (swarm, nodes, containers), re-exported so callers use the same version.
pub use bollard::models;
pub use capped::MAX_ANSWER;
pub use client::{
    ClientTls, Engine, EngineVersion, RunningContainer, SwarmJoin, TlsConfig, block_on,
};
pub use error::EngineError;
