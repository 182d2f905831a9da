//! What a berth driver plugin links: the [`Driver`] trait, the values that pass between berth
//! and a driver, the JSON-RPC protocol's wire shapes ([`protocol`]) and the SDK that serves a
//! driver on stdin/stdout ([`sdk`]). docs/plugins.md specifies the protocol.
//!
//! The host side (starting plugin processes, the built-in drivers, docker-machine's Go
//! plugins) lives in `berth-driver`, which depends on this crate; the protocol types are
//! here, once, so that the host and the SDK cannot drift apart.

mod driver;
mod error;
mod flag_values;
pub mod protocol;
pub mod sdk;
mod types;

pub use driver::{Driver, Interrupter, no_progress};
pub use error::DriverError;
pub use types::{
    Capabilities, CreateRequest, Created, FlagKind, FlagSpec, GuestEngine, GuestFile, MachineRef,
    MachineState, Operation, SshEndpoint, StartRequest,
};
