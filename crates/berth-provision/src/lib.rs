//! berth-provision
