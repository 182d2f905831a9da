//! The store and the drivers together: [`Machines`] is what every lifecycle operation starts
//! from, and the glue between a record and what a driver needs to act on it.

use berth_driver::{PluginOptions, PluginSearch};
use berth_names::MachineFiles;
use berth_plugin::{Driver, MachineRef};
use berth_store::{Machine, MachineEntry, Store};

use crate::error::{Context as _, MachineError};
use crate::handle::MachineHandle;
use crate::interrupt::Interrupt;
use crate::record::MachineRecord;

/// A store and where its drivers are found.
#[derive(Debug, Clone)]
pub struct Machines {
    store: Store,
    search: PluginSearch,
    docker: Option<berth_context::DockerConfig>,
    interrupt: Interrupt,
    /// Unit tests' stand-in for every driver opened by name.
    #[cfg(test)]
    pub(crate) fake_driver: Option<FakeOpener>,
}

/// Opens the fake driver of a unit test.
#[cfg(test)]
#[derive(Clone)]
pub(crate) struct FakeOpener(pub(crate) std::sync::Arc<dyn Fn() -> Box<dyn Driver> + Send + Sync>);

#[cfg(test)]
impl std::fmt::Debug for FakeOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeOpener")
    }
}

impl Machines {
    /// The machines of `store`; plugins are looked for in its `plugins/`, beside berth, on PATH.
    pub fn new(store: Store) -> Self {
        let search = PluginSearch::from_env(store.root());
        Machines {
            store,
            search,
            docker: None,
            interrupt: Interrupt::new(),
            #[cfg(test)]
            fake_driver: None,
        }
    }

    /// The same machines, each also kept as a context in the docker CLI's folder `docker`
    /// (made at create and provision, updated with the certificates, removed at rm).
    pub fn with_docker_config(mut self, docker: berth_context::DockerConfig) -> Self {
        self.docker = Some(docker);
        self
    }

    /// The docker CLI's folder, when contexts are kept.
    pub fn docker_config(&self) -> Option<&berth_context::DockerConfig> {
        self.docker.as_ref()
    }

    /// The request to stop that every operation on these machines checks (the binary triggers
    /// it on Ctrl-C; clones share it).
    pub fn interrupt(&self) -> &Interrupt {
        &self.interrupt
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The machine `name` with its record, or a sentence naming it. A record that names
    /// another machine than its folder does (copied or planted there) is refused: everything
    /// berth does with it would be done in the other machine's name. The engine's TLS
    /// configuration is not read here: a machine without certificates yet loads too.
    pub fn load(&self, name: &str) -> Result<MachineHandle, MachineError> {
        let machine = self.store.machine(name)?;
        let record =
            load_record(&machine).with_context(|| format!("cannot read machine '{name}'"))?;
        Ok(MachineHandle::new(machine, record))
    }

    /// Every machine of the store with its record (or why it could not be read).
    pub fn list(&self) -> Result<Vec<MachineEntry<MachineRecord>>, MachineError> {
        Ok(self.store.list()?)
    }

    /// The driver `name`: built in, or a plugin.
    pub fn open_driver(&self, name: &str) -> Result<Box<dyn Driver>, MachineError> {
        #[cfg(test)]
        if let Some(fake) = &self.fake_driver {
            return Ok((fake.0)());
        }
        Ok(berth_driver::open_driver(
            name,
            &self.search,
            PluginOptions::default(),
        )?)
    }

    /// What to install for docker-machine driver `name` when neither berth nor a
    /// docker-machine driver binary serves it; `None` when something does.
    pub fn go_driver_missing(&self, name: &str) -> Option<String> {
        if berth_driver::builtin::builtin(name).is_some()
            || self.search.find(name).is_ok()
            || self.search.go_search().find(name).is_some()
        {
            return None;
        }
        Some(berth_driver::gomachine::wanted(name))
    }

    /// The machine's state as its driver sees it; Unknown when the driver cannot be asked
    /// (why is logged: [`Machines::ask_state`] gives it to callers that show it).
    pub fn driver_state(&self, record: &MachineRecord) -> berth_plugin::MachineState {
        self.ask_state(record).unwrap_or_else(|e| {
            tracing::debug!(machine = %record.name, error = %e, "the driver could not say the state");
            berth_plugin::MachineState::Unknown
        })
    }

    /// The machine's state as its driver sees it, or why the driver could not say (it is
    /// missing, broken, crashed, or answered something that is not a state), so that `ls` and
    /// `status` can show the reason beside `Unknown` rather than a bare `Unknown`.
    pub fn ask_state(
        &self,
        record: &MachineRecord,
    ) -> Result<berth_plugin::MachineState, MachineError> {
        let ask = || -> Result<berth_plugin::MachineState, MachineError> {
            let machine = self.store.machine(&record.name)?;
            let driver = self.open_driver(&record.driver)?;
            Ok(driver.state(&machine_ref(&machine, record))?)
        };
        ask().with_context(|| format!("the {} driver could not say the state", record.driver))
    }
}

/// Reads the record of `machine`, refusing one that names another machine.
pub(crate) fn load_record(machine: &Machine) -> Result<MachineRecord, MachineError> {
    let record: MachineRecord = machine.load()?;
    if record.name != machine.name() {
        return Err(MachineError::msg(format!(
            "the record {} names machine '{}', not '{}' whose folder it is in; it was copied or planted there. Fix its name, or remove the machine with `berth rm -f {}`",
            machine.path(MachineFiles::RECORD).display(),
            record.name,
            machine.name(),
            machine.name()
        )));
    }
    Ok(record)
}

/// What a driver needs to act on an existing machine ([`MachineHandle::driver_ref`] for a
/// loaded one).
pub(crate) fn machine_ref(machine: &Machine, record: &MachineRecord) -> MachineRef {
    MachineRef {
        name: record.name.to_string(),
        machine_dir: machine.dir().to_path_buf(),
        data: record.driver_data.to_json(),
    }
}
