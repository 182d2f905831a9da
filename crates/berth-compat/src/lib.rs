//! berth-compat: docker-machine 0.16.2's world, kept apart from berth's own. Its model of a
//! machine (`config.json`, [`host`]), the import of its stores ([`import`]), the sentences and
//! formats it printed ([`output`]: Go's tabwriter and durations) and its Go templates
//! ([`template`]).
//!
//! It sits above the lifecycle (`berth-machine`), which never needs it, and below the binary.

pub mod host;
mod import;
pub mod output;
pub mod template;

pub use import::{DockerMachineStore, Imported, ImportedAs, import};
