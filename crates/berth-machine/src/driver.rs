//! The store and the drivers together: [`Machines`] is what every lifecycle operation starts
//! from, and the glue between a record and what a driver needs to act on it.

use berth_driver::{Driver, MachineRef, PluginOptions, PluginSearch};
use berth_store::{Machine, MachineRecord, Store};

use crate::error::{Context as _, MachineError};
use crate::interrupt::Interrupt;

/// A store and where its drivers are found.
#[derive(Debug, Clone)]
pub struct Machines {
    store: Store,
    search: PluginSearch,
    docker: Option<berth_context::DockerConfig>,
    interrupt: Interrupt,
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

    /// The machine `name` with its record, or a sentence naming it.
    pub fn load(&self, name: &str) -> Result<(Machine, MachineRecord), MachineError> {
        let machine = self.store.machine(name)?;
        let record = machine
            .load()
            .with_context(|| format!("cannot read machine '{name}'"))?;
        Ok((machine, record))
    }

    /// The driver `name`: built in, or a plugin.
    pub fn open_driver(&self, name: &str) -> Result<Box<dyn Driver>, MachineError> {
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
    pub fn driver_state(&self, record: &MachineRecord) -> berth_driver::MachineState {
        self.ask_state(record).unwrap_or_else(|e| {
            tracing::debug!(machine = %record.name, error = %e, "the driver could not say the state");
            berth_driver::MachineState::Unknown
        })
    }

    /// The machine's state as its driver sees it, or why the driver could not say (it is
    /// missing, broken, crashed, or answered something that is not a state), so that `ls` and
    /// `status` can show the reason beside `Unknown` rather than a bare `Unknown`.
    pub fn ask_state(
        &self,
        record: &MachineRecord,
    ) -> Result<berth_driver::MachineState, MachineError> {
        let ask = || -> Result<berth_driver::MachineState, MachineError> {
            let machine = self.store.machine(&record.name)?;
            let driver = self.open_driver(&record.driver)?;
            Ok(driver.state(&machine_ref(&machine, record)?)?)
        };
        ask().with_context(|| format!("the {} driver could not say the state", record.driver))
    }
}

/// What a driver needs to act on an existing machine.
pub fn machine_ref(machine: &Machine, record: &MachineRecord) -> Result<MachineRef, MachineError> {
    Ok(MachineRef {
        name: record.name.clone(),
        machine_dir: machine.dir().to_path_buf(),
        data: serde_json::to_value(&record.driver_data).context("cannot read the driver's data")?,
    })
}

/// A driver's data (JSON) as the record keeps it (TOML, which has no null: nulls are dropped).
pub fn json_to_toml(value: &serde_json::Value) -> Result<toml::Table, MachineError> {
    fn strip_nulls(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), strip_nulls(v)))
                    .collect(),
            ),
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(strip_nulls).collect())
            }
            other => other.clone(),
        }
    }
    match strip_nulls(value) {
        serde_json::Value::Null => Ok(toml::Table::new()),
        stripped @ serde_json::Value::Object(_) => {
            toml::Table::try_from(stripped).context("the driver's data cannot be stored")
        }
        other => Err(MachineError::msg(format!(
            "the driver returned data that is not an object: {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn driver_data_drops_nulls_and_refuses_non_objects() {
        let table =
            json_to_toml(&serde_json::json!({"a": 1, "b": null, "c": {"d": null}})).unwrap();
        assert_eq!(table.len(), 2);
        assert!(table.get("b").is_none());
        assert!(json_to_toml(&serde_json::Value::Null).unwrap().is_empty());
        assert!(json_to_toml(&serde_json::json!([1])).is_err());
    }
}
