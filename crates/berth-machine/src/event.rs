//! What a lifecycle operation reports while it works, for the caller to show (a progress line
//! per machine on a terminal, plain lines in logs, `--debug` traces).

/// One thing that happened during an operation on one machine.
#[derive(Debug)]
pub enum Event<'a> {
    /// A step begins ("creating the host (nspawn driver)").
    Step(&'a str),
    /// The step under way finished.
    StepDone(&'a str),
    /// A line of detail (a driver's progress, the installer's output).
    Detail(&'a str),
    /// Something only `--debug` shows.
    Debug(&'a str),
    /// Something the user should read even when all goes well.
    Warn(&'a str),
    /// What the provisioner reports (its steps and every remote command).
    Provision(berth_provision::Event<'a>),
}

/// Runs a driver call whose progress callback (`&dyn Fn(&str)`, shared) must reach `events`
/// (a unique borrow) as [`Event::Detail`]s. A message arriving while the sink is busy (a driver
/// reporting from inside its own callback) is dropped rather than panicking.
pub(crate) fn with_driver_progress<T>(
    events: &mut dyn FnMut(Event<'_>),
    call: impl FnOnce(&dyn Fn(&str)) -> T,
) -> T {
    let sink = std::cell::RefCell::new(events);
    call(&|message: &str| {
        if let Ok(mut events) = sink.try_borrow_mut() {
            events(Event::Detail(message));
        }
    })
}
