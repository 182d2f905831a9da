//! The one trait that built-in drivers, plugin adapters and SDK-built plugins
//! all implement, so that the rest of berth never asks which kind it holds.

use crate::error::DriverError;
use crate::types::{
    Capabilities, CreateRequest, Created, FlagSpec, GuestFile, MachineRef, MachineState, Operation,
    SshEndpoint,
};

/// Makes, powers and removes machines, and tells where they are.
///
/// Calls block until the work is done; berth runs them on its own threads.
/// `progress` receives short human sentences ("Booting the machine") while a
/// long call works.
pub trait Driver: Send + Sync {
    /// The driver's name, as given to `berth create -d NAME`.
    fn name(&self) -> &str;

    /// Whether the driver can do `op` at all. berth asks before calling so it
    /// can say "cannot" without starting anything.
    fn supports(&self, op: Operation) -> bool;

    /// What berth may do with this driver's machines besides its operations (see
    /// [`Capabilities`]). The default is a driver that makes its hosts and powers them, with
    /// SSH where it can tell the address; drivers that only reach a host override it.
    fn capabilities(&self) -> Capabilities {
        Capabilities::of_host_maker(self.supports(Operation::Address))
    }

    /// The flags `berth create -d NAME` accepts for this driver.
    fn create_flags(&self) -> Result<Vec<FlagSpec>, DriverError>;

    /// Make (or reach) the machine and say how to get to it.
    fn create(&self, req: &CreateRequest, progress: &dyn Fn(&str)) -> Result<Created, DriverError>;

    /// Power the machine on.
    fn start(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError>;

    /// Boot a machine that `create` made without booting it (it answered
    /// [`Created::boot_pending`]), with `files` written into its root first. berth calls it
    /// only after such an answer. The default boots without the files; provisioning then
    /// writes them over SSH, as on any host, and restarts the engine.
    fn start_with_files(
        &self,
        m: &MachineRef,
        files: &[GuestFile],
        progress: &dyn Fn(&str),
    ) -> Result<(), DriverError> {
        let _ = files;
        self.start(m, progress)
    }
    /// Shut the machine down in an orderly way.
    fn stop(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError>;

    /// Stop, then start. Drivers with a faster way override this.
    fn restart(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.stop(m, progress)?;
        self.start(m, progress)
    }

    /// Power the machine off at once.
    fn kill(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError>;

    /// Delete the machine and everything the driver made for it. Removing a
    /// machine that is already gone succeeds, so that `berth rm` can always
    /// finish.
    fn remove(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError>;

    /// The machine's state as the driver sees it now.
    fn state(&self, m: &MachineRef) -> Result<MachineState, DriverError>;

    /// Where to reach the machine over SSH now (an address can change after a
    /// restart).
    fn ssh_endpoint(&self, m: &MachineRef) -> Result<SshEndpoint, DriverError>;

    /// A handle that ends this driver's calls under way, from another thread, when berth is
    /// interrupted (Ctrl-C): each returns an error soon instead of running to its end, and
    /// every later call fails at once. `None` (the default) for drivers whose calls are short
    /// and own no process to stop.
    fn interrupter(&self) -> Option<Interrupter> {
        None
    }
}

/// Ends a driver's calls under way; see [`Driver::interrupter`]. Calling it again does nothing more.
pub type Interrupter = std::sync::Arc<dyn Fn() + Send + Sync>;

/// A progress callback that drops every message, for callers that show none.
pub fn no_progress(_: &str) {}

/// A boxed driver is a driver, so `open_driver`'s result can go wherever a
/// driver is expected (`sdk::serve` included).
impl<T: Driver + ?Sized> Driver for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn supports(&self, op: Operation) -> bool {
        (**self).supports(op)
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn create_flags(&self) -> Result<Vec<FlagSpec>, DriverError> {
        (**self).create_flags()
    }
    fn create(&self, req: &CreateRequest, progress: &dyn Fn(&str)) -> Result<Created, DriverError> {
        (**self).create(req, progress)
    }
    fn start(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        (**self).start(m, progress)
    }
    fn start_with_files(
        &self,
        m: &MachineRef,
        files: &[GuestFile],
        progress: &dyn Fn(&str),
    ) -> Result<(), DriverError> {
        (**self).start_with_files(m, files, progress)
    }
    fn stop(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        (**self).stop(m, progress)
    }
    fn restart(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        (**self).restart(m, progress)
    }
    fn kill(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        (**self).kill(m, progress)
    }
    fn remove(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        (**self).remove(m, progress)
    }
    fn state(&self, m: &MachineRef) -> Result<MachineState, DriverError> {
        (**self).state(m)
    }
    fn ssh_endpoint(&self, m: &MachineRef) -> Result<SshEndpoint, DriverError> {
        (**self).ssh_endpoint(m)
    }
    fn interrupter(&self) -> Option<Interrupter> {
        (**self).interrupter()
    }
}
