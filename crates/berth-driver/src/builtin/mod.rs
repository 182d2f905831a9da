//! The drivers compiled into berth.

mod generic;
mod none;
#[cfg(test)]
mod served_by_sdk;

pub use generic::GenericDriver;
pub use none::NoneDriver;

use berth_plugin::Driver;

/// The names of the built-in drivers, as `-d` takes them.
pub const BUILTIN_NAMES: [&str; 2] = ["generic", "none"];

/// The built-in driver called `name`, if there is one.
pub fn builtin(name: &str) -> Option<Box<dyn Driver>> {
    match name {
        "generic" => Some(Box::new(GenericDriver)),
        "none" => Some(Box::new(NoneDriver)),
        _ => None,
    }
}
