//! berth-driver
