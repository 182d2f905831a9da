//! berth's side of its drivers: the built-in `generic` and `none` drivers, the host side of
//! the plugin protocol ([`plugin`]: finding, starting and talking to plugin processes) and
//! docker-machine's own Go driver plugins ([`gomachine`]; docs/drivers.md). The
//! [`Driver`](berth_plugin::Driver) trait, its values, the protocol's wire types and the SDK a
//! plugin author links are in `berth-plugin`; docs/plugins.md specifies the protocol.

pub mod builtin;
pub mod gomachine;
mod no_ssh;
pub mod plugin;
pub mod probe;

use berth_plugin::{Driver, DriverError};

pub use gomachine::GoDriver;
pub use no_ssh::no_ssh_access;
pub use plugin::{Deadlines, PluginDriver, PluginOptions, PluginSearch};

/// The driver called `name`: a built-in one, else the first plugin
/// executable `search` finds (started and handshaken now), else a docker-machine driver:
/// `docker-machine-driver-NAME`, or for docker-machine's core drivers its own binary. The
/// error for an unknown name lists where it looked and the built-in names.
pub fn open_driver(
    name: &str,
    search: &PluginSearch,
    options: PluginOptions,
) -> Result<Box<dyn Driver>, DriverError> {
    if let Some(driver) = builtin::builtin(name) {
        return Ok(driver);
    }
    let missing = match search.find(name) {
        Ok(path) => return Ok(Box::new(PluginDriver::launch(&path, options)?)),
        Err(e @ DriverError::UnknownDriver { .. }) => e,
        Err(e) => return Err(e),
    };
    match search.go_search().find(name) {
        Some(path) => Ok(Box::new(gomachine::GoDriver::open(
            name,
            &path,
            gomachine::launch_options(),
        )?)),
        None => Err(missing),
    }
}
