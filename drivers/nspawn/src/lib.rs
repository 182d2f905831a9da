//! berth-nspawn
