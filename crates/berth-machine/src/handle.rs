//! [`MachineHandle`]: one machine as an operation holds it — its folder, its record as read
//! once, and the client TLS configuration of its engine, built at most once — so that what an
//! operation needs (the engine, the SSH target, the driver's view) comes from one value instead
//! of a folder and a record passed side by side and certificates read again at every step.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use berth_engine::{Engine, TlsConfig};
use berth_names::MachineFiles;
use berth_plugin::MachineRef;
use berth_ssh::{Auth, HostKeyPolicy, Target};
use berth_store::Machine;

use crate::certs::client_tls;
use crate::error::{Context as _, MachineError};
use crate::record::MachineRecord;

/// A machine of the store: its folder, its record, and the client TLS configuration for its
/// engine. [`crate::Machines::load`] makes one from the store (the one place a record is read);
/// create and import make one from the record they have just written ([`MachineHandle::new`]).
///
/// The TLS configuration is built from the folder's CA and client certificate at the first
/// [`MachineHandle::engine`] and kept for every later one: the files do not change under an
/// operation unless berth itself renews them, and then it drops what it built
/// (`ClientTlsCell::forget`). A machine without certificates yet (mid-create, or the none driver's)
/// still loads; only asking for its engine fails, with a sentence.
#[derive(Debug)]
pub struct MachineHandle {
    folder: Machine,
    record: MachineRecord,
    client_tls: ClientTlsCell,
}

/// The client TLS configuration of one machine, built at the first engine call. A lock, not a
/// `OnceLock`: a renewal in the middle of provisioning empties it while the readiness poll
/// beside it holds a shared borrow.
#[derive(Debug, Default)]
pub(crate) struct ClientTlsCell {
    kept: Mutex<Option<TlsConfig>>,
    /// How many times the configuration was built, for the tests that it is built once.
    #[cfg(test)]
    builds: std::sync::atomic::AtomicUsize,
}

impl ClientTlsCell {
    /// The configuration: built from `folder`'s files the first time, the same one afterwards
    /// (a clone shares it).
    pub(crate) fn get(&self, folder: &Machine) -> Result<TlsConfig, MachineError> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(config) = kept.as_ref() {
            return Ok(config.clone());
        }
        let config = TlsConfig::new(&client_tls(folder)?)?;
        #[cfg(test)]
        self.builds
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(kept.insert(config).clone())
    }

    /// Drops the configuration built before: the CA or the client certificate in the folder
    /// was just made anew, and the next engine call must present the new one.
    pub(crate) fn forget(&self) {
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl MachineHandle {
    /// The handle of a machine whose record the caller has (create and import, which have just
    /// written it). A record read from the store comes through [`crate::Machines::load`], which
    /// also refuses one that names another machine than its folder.
    pub fn new(folder: Machine, record: MachineRecord) -> Self {
        MachineHandle {
            folder,
            record,
            client_tls: ClientTlsCell::default(),
        }
    }

    /// The machine's name (its folder's, which its record names too).
    pub fn name(&self) -> &str {
        self.folder.name()
    }

    /// The machine's folder in the store.
    pub fn folder(&self) -> &Machine {
        &self.folder
    }

    /// The machine's record, as loaded and as this operation has changed it since.
    pub fn record(&self) -> &MachineRecord {
        &self.record
    }

    /// The record, to change; [`MachineHandle::save`] writes it.
    pub fn record_mut(&mut self) -> &mut MachineRecord {
        &mut self.record
    }

    /// The folder and the record to change beside it (a step that writes files into the folder
    /// and notes them in the record).
    pub fn parts_mut(&mut self) -> (&Machine, &mut MachineRecord) {
        (&self.folder, &mut self.record)
    }

    /// Writes the record into the folder (atomically, as the store does).
    pub fn save(&self) -> Result<(), MachineError> {
        Ok(self.folder.save(&self.record)?)
    }

    /// The engine client for the recorded URL with the machine's own CA and client
    /// certificate, every stage bounded by `timeout`. Nothing is sent until its first call.
    pub fn engine(&self, timeout: Duration) -> Result<Engine, MachineError> {
        // The address first: a machine mid-create has neither, and the missing URL is what
        // says where it stands.
        let address = crate::engine::address(&self.record)?;
        Ok(Engine::with_config(
            address.clone(),
            &self.client_tls()?,
            timeout,
        )?)
    }

    /// The client TLS configuration, built once (see [`ClientTlsCell`]).
    pub(crate) fn client_tls(&self) -> Result<TlsConfig, MachineError> {
        self.client_tls.get(&self.folder)
    }

    /// The folder, the record to change and the TLS configuration apart, for a step that
    /// changes the record while it dials the engine (provisioning).
    pub(crate) fn split_mut(&mut self) -> (&Machine, &mut MachineRecord, &ClientTlsCell) {
        (&self.folder, &mut self.record, &self.client_tls)
    }

    /// The SSH target of the machine: its recorded host, port, user and key, its folder's
    /// `known_hosts`, and the pinned key that must match unless `policy` says otherwise.
    pub fn ssh_target(&self, policy: Option<HostKeyPolicy>) -> Result<Target, MachineError> {
        let record = &self.record;
        let ssh = record.ssh.as_ref().with_context(|| {
            format!(
                "machine '{}' has no SSH address recorded (state {})",
                record.name, record.state
            )
        })?;
        let auth = ssh
            .key_path
            .clone()
            .map_or(Auth::Default, |key| Auth::KeyFile(key.into()));
        let mut target = Target::new(
            ssh.host.to_string(),
            ssh.user.to_string(),
            auth,
            self.folder.path(MachineFiles::KNOWN_HOSTS),
        );
        target.port = ssh.port;
        target.policy = policy.unwrap_or(if record.host_key.is_some() {
            HostKeyPolicy::Strict
        } else {
            HostKeyPolicy::Pin
        });
        Ok(target)
    }

    /// What a driver needs to act on the machine.
    pub fn driver_ref(&self) -> MachineRef {
        crate::driver::machine_ref(&self.folder, &self.record)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::Machines;
    use crate::record::{MachineName, MachineState, TlsSettings};

    /// A store with machine `web1` recorded with `url`, and its certificates made as a create
    /// makes them.
    fn machine_with_certs(url: Option<&str>) -> (tempfile::TempDir, Machines) {
        let dir = tempfile::tempdir().unwrap();
        let machines = Machines::new(berth_store::Store::new(dir.path().join("machines")));
        let mut record = MachineRecord::new(
            MachineName::new("web1").unwrap(),
            "generic".try_into().unwrap(),
        );
        record.state = MachineState::Running;
        record.url = url.map(|u| u.parse().unwrap());
        let (machine, _lock) = machines.store().create_machine("web1", &record).unwrap();
        crate::certs::ensure(
            &machine,
            &mut TlsSettings::default(),
            &["127.0.0.1".to_owned()],
            crate::certs::Renewal::KeepIfValid,
        )
        .unwrap();
        (dir, machines)
    }

    fn remove_client_files(handle: &MachineHandle) {
        for file in [
            MachineFiles::CA_CERT,
            MachineFiles::CLIENT_CERT,
            MachineFiles::CLIENT_KEY,
        ] {
            std::fs::remove_file(handle.folder().path(file)).unwrap();
        }
    }

    #[test]
    fn the_client_tls_configuration_is_built_once_per_handle() {
        let (_dir, machines) = machine_with_certs(Some("tcp://127.0.0.1:2376"));
        let handle = machines.load("web1").unwrap();
        assert_eq!(
            handle.client_tls.builds.load(Ordering::SeqCst),
            0,
            "not before it is needed"
        );
        handle.engine(Duration::from_secs(1)).unwrap();
        // The files are gone: a second engine that read them again would fail.
        remove_client_files(&handle);
        handle.engine(Duration::from_secs(5)).unwrap();
        handle.engine(Duration::from_secs(5)).unwrap();
        assert_eq!(handle.client_tls.builds.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn renewed_certificates_are_read_again() {
        let (_dir, machines) = machine_with_certs(Some("tcp://127.0.0.1:2376"));
        let handle = machines.load("web1").unwrap();
        handle.engine(Duration::from_secs(1)).unwrap();
        remove_client_files(&handle);
        handle.client_tls.forget();
        let Err(err) = handle.engine(Duration::from_secs(1)) else {
            panic!("an engine client without its files");
        };
        assert!(
            err.full_message().contains("ca.pem"),
            "{}",
            err.full_message()
        );
    }

    #[test]
    fn a_machine_without_an_engine_url_loads_and_says_so_when_asked_for_its_engine() {
        let dir = tempfile::tempdir().unwrap();
        let machines = Machines::new(berth_store::Store::new(dir.path().join("machines")));
        // Mid-create: the record is written, the driver has not answered, no certificates.
        let record = MachineRecord::new(
            MachineName::new("half").unwrap(),
            "generic".try_into().unwrap(),
        );
        machines.store().create_machine("half", &record).unwrap();
        let handle = machines.load("half").unwrap();
        assert_eq!(handle.name(), "half");
        assert_eq!(handle.record().state, MachineState::Creating);
        let Err(err) = handle.engine(Duration::from_secs(1)) else {
            panic!("an engine client without a URL");
        };
        assert_eq!(
            err.to_string(),
            "machine 'half' has no engine URL yet (state Creating); `berth provision half` finishes it"
        );
        assert_eq!(handle.client_tls.builds.load(Ordering::SeqCst), 0);
    }
}
