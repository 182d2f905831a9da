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
