//! berth-net: the small network pieces that several berth crates need and that must behave the
//! same everywhere — a host and port written the way users write them (IPv6 in brackets in one
//! place), the engine URL `tcp://HOST:PORT`, "resolve and connect to the first address that
//! answers" (blocking for ssh2 and drivers, async for the engine client), the one rule for what
//! is a host berth may hand to OpenSSH, and the backoff used between polls of something that
//! gives no signal when it is ready.

mod addr;
mod backoff;
mod connect;
mod host;

pub use addr::{AddrError, DEFAULT_ENGINE_PORT, HostPort};
pub use backoff::Backoff;
#[cfg(feature = "async")]
pub use connect::connect_first_async;
pub use connect::{ConnectError, connect_first};
pub use host::is_host;
