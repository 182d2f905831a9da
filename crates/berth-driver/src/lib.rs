//! berth's drivers: the [`Driver`] trait, the built-in `generic` and `none`
//! drivers, the host side of the plugin protocol ([`plugin`]) and the SDK for
//! writing plugins ([`sdk`]). docs/plugins.md specifies the protocol.

pub mod builtin;
mod driver;
mod error;
mod flag_values;
pub mod plugin;
pub mod probe;
pub mod protocol;
pub mod sdk;
mod types;

pub use driver::{Driver, Interrupter, no_progress};
pub use error::DriverError;
pub use plugin::{Deadlines, PluginDriver, PluginOptions, PluginSearch};
pub use types::{
    Capabilities, CreateRequest, Created, FlagKind, FlagSpec, GuestEngine, GuestFile, MachineRef,
    MachineState, Operation, SshEndpoint, StartRequest,
};

/// The driver called `name`: a built-in one, else the first plugin
/// executable `search` finds (started and handshaken now). The error for an
/// unknown name lists where it looked and the built-in names.
pub fn open_driver(
    name: &str,
    search: &PluginSearch,
    options: PluginOptions,
) -> Result<Box<dyn Driver>, DriverError> {
    if let Some(driver) = builtin::builtin(name) {
        return Ok(driver);
    }
    let path = search.find(name)?;
    Ok(Box::new(PluginDriver::launch(&path, options)?))
}
