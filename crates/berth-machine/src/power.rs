//! `start`, `stop`, `restart`, `kill`: the driver's power switch, then (for start and restart)
//! a wait until the engine answers over TLS again. A generic machine's `restart` is a reboot
//! over SSH instead (`reboot.rs`).

use std::time::Duration;

use crate::record::MachineState;
use berth_plugin::Operation;

use crate::driver::Machines;
use crate::engine::{ENGINE_WAIT, wait_for_engine};
use crate::error::{Context as _, MachineError};
use crate::event::{Event, with_driver_progress};

/// Powers machine `name` as `op` says and records its new state. Blocking: run it on a
/// blocking thread of the runtime (the engine wait runs on the runtime).
pub fn power(
    machines: &Machines,
    name: &str,
    op: Operation,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let _lock = machines.store().lock(name, Duration::from_secs(30))?;
    let mut machine = machines.load(name)?;
    let driver = machines.open_driver(&machine.record().driver)?;
    if op == Operation::Restart && crate::reboot::reboots_over_ssh(machine.record()) {
        events(Event::Step("rebooting the host over SSH"));
        crate::reboot::reboot(&machine, events)?;
        events(Event::StepDone("rebooting the host over SSH"));
        events(Event::Step("waiting for the engine"));
        berth_engine::block_on(wait_for_engine(&machine, ENGINE_WAIT))?;
        events(Event::StepDone("waiting for the engine"));
        return Ok(());
    }
    if !driver.supports(op) {
        return Err(MachineError::msg(format!(
            "the {} driver cannot {} machines; power '{name}' through wherever the host runs",
            machine.record().driver,
            verb(op)
        )));
    }
    let m = machine.driver_ref();
    events(Event::Step(verb(op)));
    let result = with_driver_progress(events, |progress| match op {
        Operation::Start => Some(driver.start(&m, progress)),
        Operation::Stop => Some(driver.stop(&m, progress)),
        Operation::Restart => Some(driver.restart(&m, progress)),
        Operation::Kill => Some(driver.kill(&m, progress)),
        _ => None,
    })
    .ok_or_else(|| MachineError::msg(format!("{op:?} is not a power operation")))?;
    result.with_context(|| format!("cannot {} '{name}'", verb(op)))?;
    events(Event::StepDone(verb(op)));
    if matches!(op, Operation::Start | Operation::Restart) {
        events(Event::Step("waiting for the engine"));
        berth_engine::block_on(wait_for_engine(&machine, ENGINE_WAIT))?;
        events(Event::StepDone("waiting for the engine"));
        let record = machine.record_mut();
        if record.state != MachineState::Error {
            record.state = MachineState::Running;
        }
    } else {
        machine.record_mut().state = MachineState::Stopped;
    }
    machine.save()?;
    Ok(())
}

/// The operation as a verb ("start").
pub fn verb(op: Operation) -> &'static str {
    match op {
        Operation::Start => "start",
        Operation::Stop => "stop",
        Operation::Restart => "restart",
        Operation::Kill => "kill",
        _ => "change",
    }
}

/// The operation done ("started").
pub fn past_tense(op: Operation) -> &'static str {
    match op {
        Operation::Start => "started",
        Operation::Stop => "stopped",
        Operation::Restart => "restarted",
        Operation::Kill => "killed",
        _ => "done",
    }
}
