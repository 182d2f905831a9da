//! berth-machine: the machine lifecycle as a library. Create, provision, regenerate
//! certificates, power, remove and ask for status — each an orchestration over the store
//! (`berth-store`), a driver (`berth-driver`), the provisioner over SSH (`berth-provision`), the
//! certificates (`berth-tls`) and the engine's API (`berth-engine`).
//!
//! Nothing here prints: every step, detail and warning is an [`Event`] for the caller to show,
//! and every failure a [`MachineError`] whose message says what happened and what to do. The
//! binary holds only the command line, the output and the progress display.

#[cfg(test)]
mod bookkeeping_tests;
mod certs;
mod contexts;
mod create;
mod driver;
mod engine;
mod error;
mod event;
mod handle;
mod interrupt;
mod live_restore;
mod power;
mod preboot;
mod provisioning;
mod reboot;
pub mod record;
mod remove;
mod status;
pub mod swarm;
mod upgrade;

pub use certs::{
    Expiry, Renewal, WARN_WITHIN_DAYS, client_tls, expiry_warning, foreign_ca_refusal,
    has_foreign_ca,
};
pub use contexts::{
    active_machine, check_free as check_context_free, context_name, own_context,
    sync as sync_context, unset_current, use_machine,
};
pub use create::{CreateSpec, create};
pub use driver::Machines;
pub use engine::{ENGINE_WAIT, probe, wait_for_engine};
pub use error::{Context, MachineError};
pub use event::Event;
pub use handle::MachineHandle;
pub use interrupt::{HookGuard, Interrupt};
pub use live_restore::{
    LIVE_RESTORE_OFF_OPT, LIVE_RESTORE_OPT, is_live_restore_opt, restart_risk,
    restart_risk_if_answering,
};
pub use power::{past_tense, power, verb};
pub use provisioning::{Options, provision, reprovision};
pub use reboot::REBOOT_WAIT;
pub use record::{ContextSettings, MachineRecord, MachineState, SshSettings, TlsSettings};
pub use remove::{Removed, remove, remove_with};
pub use status::{Live, LiveState, live_state, live_states};
pub use upgrade::{Upgraded, open_session, upgrade};
