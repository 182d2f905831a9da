//! The host side of docker-machine's Go driver plugins, so that every docker-machine driver
//! binary works with berth unchanged.
//!
//! The contract is docker-machine 0.16.2's: [`locate`] finds the binary
//! (`libmachine/drivers/plugin/localbinary`), [`GoPlugin::launch`] starts it with
//! `MACHINE_PLUGIN_TOKEN=42`, reads the loopback address it prints, opens Go's net/rpc over HTTP
//! CONNECT and checks `GetVersion`; then every `RPCServerDriver` call is a method of
//! [`GoPlugin`], with gob (the `gobwire` crate) as the encoding. Everything the plugin sends is
//! bounded in size and time, and its text is escaped before anyone sees it.
//!
//! This crate knows the protocol only; berth-driver turns a plugin into a `Driver`.

mod conn;
mod error;
mod frame;
mod launch;
pub mod locate;
mod messages;
mod plugin;

pub use error::GoRpcError;
pub use frame::{MAX_MESSAGE, MAX_MESSAGES_PER_VALUE};
pub use launch::{LineSink, MAX_LINE, MAX_LINES, PLUGIN_TOKEN, Stream};
pub use locate::{CORE_DRIVERS, GoSearch};
pub use messages::{GoFlag, GoFlagKind, GoValue};
pub use plugin::{
    API_VERSION, GoDeadlines, GoInterrupter, GoPlugin, GoState, HEARTBEAT_INTERVAL, LaunchOptions,
};
