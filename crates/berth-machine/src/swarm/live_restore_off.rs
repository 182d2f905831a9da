//! Swarm mode refuses an engine with live-restore (`docker swarm init` and `join` fail with
//! "--live-restore daemon configuration is incompatible with swarm mode"), and berth turns
//! live-restore on in its drop-in so that certificate renewals keep containers running. A
//! machine about to become a swarm node therefore gets `live-restore=false` in its recorded
//! engine options (so every later provisioning keeps it off) and is provisioned again, which
//! restarts its engine. That restart would stop running containers, so a machine that runs any
//! is refused with what to do instead of having them stopped without asking.

use std::time::Duration;

use crate::certs::Renewal;
use crate::driver::Machines;
use crate::error::MachineError;
use crate::event::Event;
use crate::live_restore::{LIVE_RESTORE_OFF_OPT, is_live_restore_opt};
use crate::provisioning::{Options, reprovision};

/// Makes sure machine `name`'s engine runs without live-restore. Blocking (provisions over SSH).
pub(super) fn ensure_off(
    machines: &Machines,
    name: &str,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let machine = machines.load(name)?;
    let (enabled, running) = berth_engine::block_on(async {
        let engine = machine.engine(Duration::from_secs(10))?;
        let info = engine.info().await?;
        let enabled = info.live_restore_enabled.unwrap_or(false);
        let running = if enabled {
            engine.running().await?
        } else {
            Vec::new()
        };
        Ok::<_, MachineError>((enabled, running))
    })?;
    if !enabled {
        return Ok(());
    }
    if !running.is_empty() {
        return Err(MachineError::msg(format!(
            "'{name}' runs its engine with live-restore, which Swarm mode refuses; turning it off restarts the engine, and that would stop its {} running container(s). Stop them first (eval \"$(berth env {name})\"; docker ps), then run the command again; nothing was changed",
            running.len()
        )));
    }
    let step = "turning live-restore off (Swarm mode refuses it)";
    events(Event::Step(step));
    {
        let _lock = machines.store().lock(name, Duration::from_secs(30))?;
        let mut machine = machines.load(name)?;
        let opts = &mut machine.record_mut().engine.opts;
        opts.retain(|o| !is_live_restore_opt(o));
        opts.push(LIVE_RESTORE_OFF_OPT.to_owned());
        machine.save()?;
    }
    reprovision(
        machines,
        name,
        Options {
            renewal: Renewal::KeepIfValid,
            install_engine: false,
        },
        &[],
        events,
    )
    .map_err(|e| {
        MachineError::with_source(
            format!("turning live-restore off on '{name}' for Swarm mode failed"),
            e,
        )
    })?;
    events(Event::StepDone(step));
    Ok(())
}
