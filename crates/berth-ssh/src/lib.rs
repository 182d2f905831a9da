//! berth-ssh
