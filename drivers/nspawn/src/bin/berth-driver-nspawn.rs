//! `berth-driver-nspawn`: berth's plugin for local Debian machines in systemd-nspawn.
//! berth finds it beside its own executable (or in the store's plugins/, or on PATH) and
//! speaks the protocol of docs/plugins.md with it.

fn main() -> std::process::ExitCode {
    berth_plugin::sdk::serve(berth_nspawn::plugin::NspawnDriver)
}
