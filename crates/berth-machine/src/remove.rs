//! `rm` of one machine: the driver removes the host it made, then the store forgets it.

use std::time::Duration;

use crate::record::{MachineRecord, MachineState};

use crate::contexts;
use crate::driver::{Machines, machine_ref};
use crate::error::MachineError;
use crate::event::{Event, with_driver_progress};
use crate::swarm::Departures;

/// What was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// The host and berth's record.
    Everything,
    /// Only berth's record: the driver made no host (`generic`, `none`), so the host was left
    /// as it is.
    RecordOnly,
}

/// Removes machine `name`. With `force`, a driver failure or an unreadable record is a warning
/// and the record goes anyway. Blocking: run it on a blocking thread.
pub fn remove(
    machines: &Machines,
    name: &str,
    force: bool,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<Removed, MachineError> {
    remove_with(machines, name, force, &Departures::alone(name), events)
}

/// [`remove`] of one of several machines of one command: a swarm node leaves its cluster in its
/// turn ([`Departures`]: workers first, managers after them, the last manager last), and its
/// host goes as soon as it has left.
pub fn remove_with(
    machines: &Machines,
    name: &str,
    force: bool,
    departures: &Departures,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<Removed, MachineError> {
    // Whatever happens below, nobody waits for this machine's leave past this call.
    struct Gone<'a>(&'a Departures, &'a str);
    impl Drop for Gone<'_> {
        fn drop(&mut self) {
            self.0.skip(self.1);
        }
    }
    let _gone = Gone(departures, name);
    let store = machines.store();
    let machine = store.machine(name)?;
    let lock = store.lock(name, Duration::from_secs(10))?;
    let removed = match machine.load() {
        Ok(record) => {
            leave_swarm(machines, name, force, departures, events)?;
            remove_host(machines, &machine, &record, force, events)?;
            contexts::remove(machines, name, &record.context, events)?;
            if record.capabilities().owns_host {
                Removed::Everything
            } else {
                Removed::RecordOnly
            }
        }
        Err(err) if force => {
            events(Event::Warn(&format!(
                "removing '{name}' although its record is unreadable: {err}"
            )));
            contexts::remove(machines, name, &Default::default(), events)?;
            Removed::Everything
        }
        Err(err) => {
            return Err(MachineError::with_source(
                format!("cannot read machine '{name}'; `berth rm -f {name}` removes it anyway"),
                err,
            ));
        }
    };
    store.remove(machine, &lock)?;
    Ok(removed)
}

/// A swarm node leaves its cluster before it goes, so that the cluster does not keep a node
/// that will never come back (nor lose its quorum unasked). With `force`, a failed leave is a
/// warning.
fn leave_swarm(
    machines: &Machines,
    name: &str,
    force: bool,
    departures: &Departures,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    match crate::swarm::leave_before_remove(machines, name, force, departures, events) {
        Ok(_) => Ok(()),
        Err(err) if force => {
            events(Event::Warn(&format!(
                "'{name}' could not leave its swarm ({}); removing it anyway",
                err.full_message()
            )));
            Ok(())
        }
        Err(err) => Err(MachineError::with_source(
            format!("nothing was removed: '{name}' is a swarm node that cannot leave its cluster"),
            err,
        )),
    }
}

/// Asks the driver to remove the host it made, when it made one (the generic and none drivers
/// make nothing: their capabilities say so).
fn remove_host(
    machines: &Machines,
    machine: &berth_store::Machine,
    record: &MachineRecord,
    force: bool,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    if !record.capabilities().owns_host {
        return Ok(());
    }
    // A create whose driver failed (crashed, hung, refused) or was interrupted returned no
    // data. The driver is still asked (it may find what it made by the machine's name), but a
    // broken plugin must not keep the record from going.
    events(Event::Step("removing the host"));
    let never_created = record.driver_data.is_empty()
        && matches!(record.state, MachineState::Error | MachineState::Creating);
    let result = (|| -> Result<(), MachineError> {
        let driver = machines.open_driver(&record.driver)?;
        let m = machine_ref(machine, record);
        with_driver_progress(&mut *events, |progress| driver.remove(&m, progress))?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            events(Event::StepDone("removing the host"));
            Ok(())
        }
        Err(err) if force || never_created => {
            events(Event::Warn(&format!(
                "the {} driver could not remove the host of '{}' ({}); removing berth's record anyway",
                record.driver,
                record.name,
                err.full_message()
            )));
            Ok(())
        }
        Err(err) => Err(MachineError::with_source(
            format!(
                "the {} driver could not remove the host of '{}'; nothing was removed. `berth rm -f {}` removes berth's record anyway",
                record.driver, record.name, record.name
            ),
            err,
        )),
    }
}
