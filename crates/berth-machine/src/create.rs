//! `create` of one machine: a record first (so that an interrupted create is something `rm`
//! can remove), the driver makes or reaches the host, then the provisioner.

use std::collections::BTreeMap;

use berth_plugin::{CreateRequest, Driver};
use berth_provision::EngineConfig;
use berth_ssh::HostKeyPolicy;
use berth_tls::KeyAlgorithm;

use crate::certs::Renewal;
use crate::contexts;
use crate::driver::Machines;
use crate::error::MachineError;
use crate::event::{Event, with_driver_progress};
use crate::handle::MachineHandle;
use crate::provisioning::{self, Options};
use crate::record::{
    ContextSettings, DriverData, DriverName, EngineUrl, Host, KeyPath, MachineName, MachineRecord,
    MachineState, SshSettings, SshUser,
};

/// Everything a create needs besides the machine's name.
#[derive(Debug, Clone)]
pub struct CreateSpec {
    /// The driver's flags (name without dashes → value).
    pub flags: BTreeMap<String, serde_json::Value>,
    /// The engine's options.
    pub engine: EngineConfig,
    /// The key algorithm of the machine's certificates.
    pub algorithm: KeyAlgorithm,
    /// Names and addresses the server certificate names besides the host's own.
    pub tls_sans: Vec<String>,
    /// How the host key is checked on first contact (default: pinned as found).
    pub host_key: Option<HostKeyPolicy>,
    /// The machine's docker context: its name when not the machine's, or none at all.
    pub context: ContextSettings,
}

/// Creates machine `name` with `driver`. On failure the machine is kept in state Error (the
/// error says how to finish or remove it), except when the driver refused a flag: then it made
/// nothing and the record goes too, so that fixing the command line and running it again works.
///
/// When `machines.interrupt()` comes, the driver's call under way is ended (a plugin is told to
/// stop) or the provisioning stops at its step; the machine is kept in state Error naming the
/// step and the error is [`MachineError::Interrupted`].
pub fn create(
    machines: &Machines,
    driver: &dyn Driver,
    name: &str,
    spec: &CreateSpec,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    // Refused before the store or the driver is touched; the binary checks these too, but a
    // library caller must not get a host made for a name or SAN that cannot be used.
    berth_store::validate_new_name(name)?;
    for san in &spec.tls_sans {
        berth_tls::check_san(san)
            .map_err(|e| MachineError::with_source(format!("cannot create '{name}'"), e))?;
    }
    let store = machines.store();
    // A context of that name that berth did not make refuses the create before anything is made.
    contexts::check_free(machines, name, &spec.context)?;
    let interrupt = machines.interrupt();
    let step = format!("creating the host ({} driver)", driver.name());
    if interrupt.is_triggered() {
        return Err(MachineError::Interrupted {
            machine: name.to_owned(),
            step,
            next: "nothing was made; run the create again".to_owned(),
        });
    }
    let mut record = MachineRecord::new(MachineName::new(name)?, DriverName::new(driver.name())?);
    record.context = spec.context.clone();
    record.capabilities = Some(driver.capabilities());
    record.engine = spec.engine.clone();
    record.tls.algorithm = spec.algorithm;
    record.tls.extra_sans = spec.tls_sans.clone();
    let (machine, lock) = store.create_machine(name, &record)?;

    events(Event::Step(&step));
    let request = CreateRequest {
        machine: name.to_owned(),
        machine_dir: machine.dir().to_path_buf(),
        flags: spec.flags.clone(),
        ssh_public_key: None,
        // A driver that can take the engine's files before the first boot does so (below).
        preboot: true,
        machine_flags: docker_machine_flags(spec),
    };
    let stop_driver = driver
        .interrupter()
        .map(|stop| interrupt.on_trigger(move || stop()));
    let created = with_driver_progress(events, |progress| driver.create(&request, progress));
    drop(stop_driver);
    let created = match created {
        Ok(created) => created,
        // Whatever the driver says after an interrupt (a plugin stopped mid-call, a crash), the
        // user stopped it: say so, and keep the record for `rm`, which asks the driver to remove
        // what it made (drivers find their machine by name when no data came back).
        Err(err) if interrupt.is_triggered() => {
            tracing::debug!(machine = name, error = %err, "the driver stopped on the interrupt");
            record.state = MachineState::Error;
            record.error = Some(provisioning::interrupted_note(&step));
            machine.save(&record)?;
            return Err(MachineError::Interrupted {
                machine: name.to_owned(),
                step,
                next: format!(
                    "it is kept in state Error; `berth rm {name}` removes what the driver made, then run the create again"
                ),
            });
        }
        Err(err @ berth_plugin::DriverError::InvalidFlag { .. }) => {
            store.remove(machine, &lock)?;
            return Err(MachineError::InvalidFlag(err));
        }
        Err(err) => {
            record.state = MachineState::Error;
            record.error = Some(format!(
                "the {} driver could not create the host: {err}",
                driver.name()
            ));
            machine.save(&record)?;
            return Err(MachineError::with_source(
                format!(
                    "the {} driver could not create '{name}'; `berth rm {name}` cleans up what is left",
                    driver.name()
                ),
                err,
            ));
        }
    };
    // What the driver answered is checked before it is recorded: its data must be an object,
    // and an address berth would hand to OpenSSH or the docker CLI must be one.
    let answer = (|| -> Result<_, crate::record::FieldError> {
        let data = DriverData::from_driver(created.data)?;
        let ssh = match created.ssh {
            Some(ssh) => Some(SshSettings {
                host: Host::new(ssh.host)?,
                port: ssh.port,
                user: SshUser::new(ssh.user)?,
                key_path: ssh.key_path.map(KeyPath::new).transpose()?,
            }),
            None => None,
        };
        let url = created
            .engine_url
            .as_deref()
            .map(EngineUrl::parse)
            .transpose()?;
        Ok((data, ssh, url))
    })();
    let (data, ssh, url) = match answer {
        Ok(answer) => answer,
        Err(err) => {
            record.state = MachineState::Error;
            record.error = Some(format!(
                "the {} driver answered something berth cannot use: {err}",
                driver.name()
            ));
            machine.save(&record)?;
            return Err(MachineError::with_source(
                format!(
                    "the {} driver answered something berth cannot use for '{name}'; `berth rm {name}` cleans up what is left",
                    driver.name()
                ),
                err,
            ));
        }
    };
    record.driver_data = data;
    if let Some(port) = created.engine_port {
        // The driver was told the engine's port (generic's --generic-engine-port).
        record.engine.port = port;
        if let Err(err) = record.engine.validate() {
            record.engine.port = spec.engine.port;
            record.state = MachineState::Error;
            record.error = Some(err.to_string());
            machine.save(&record)?;
            return Err(MachineError::with_source(
                format!(
                    "the {} driver asked for engine port {port}, which berth cannot use; `berth rm {name}` cleans up what is left",
                    driver.name()
                ),
                err,
            ));
        }
    }
    record.ssh = ssh;
    events(Event::StepDone(&step));
    if record.ssh.is_none() {
        // The `none` driver: an engine that is already set up; berth only records it.
        record.url = url;
        record.state = MachineState::Running;
        let mut machine = MachineHandle::new(machine, record);
        contexts::sync(machines, &mut machine, events)?;
        machine.save()?;
        return Ok(());
    }
    machine.save(&record)?;
    if let Some(guest) = &created.boot_pending {
        boot_with_engine_files(driver, &machine, &mut record, guest, interrupt, events)?;
    }
    // From here on the machine is one value: its engine's TLS configuration is built once
    // for the readiness poll and whatever asks the engine after it.
    let mut machine = MachineHandle::new(machine, record);

    let options = Options {
        renewal: Renewal::KeepIfValid,
        install_engine: spec.engine.install,
    };
    provisioning::provision(
        &mut machine,
        spec.host_key.clone(),
        options,
        interrupt,
        events,
    )
    .map_err(|err| {
        if err.is_interrupted() {
            return err;
        }
        // The cause (which step failed and what the host said) before the what-to-do hint.
        MachineError::msg(format!(
            "{}\n  machine '{name}' is kept in state Error: `berth provision {name}` finishes it, `berth rm {name}` removes it",
            err.causes().join("\n  caused by: ")
        ))
    })?;
    contexts::sync(machines, &mut machine, events)?;
    machine.save()?;
    Ok(())
}

/// The driver made the machine without booting it: the engine's files go into its root and the
/// driver boots it (see [`crate::preboot`]). A failure keeps the machine in state Error, as a
/// failed driver create does, for `berth rm` to remove or `berth start` and `berth provision`
/// to finish.
fn boot_with_engine_files(
    driver: &dyn Driver,
    machine: &berth_store::Machine,
    record: &mut MachineRecord,
    guest: &berth_plugin::GuestEngine,
    interrupt: &crate::interrupt::Interrupt,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let name = record.name.clone();
    let step = "booting with the engine's certificates and drop-in in place";
    events(Event::Step(step));
    let address = record
        .ssh
        .as_ref()
        .map(|ssh| ssh.host.to_string())
        .unwrap_or_default();
    let booted = crate::preboot::files(machine, record, guest, &address).and_then(|files| {
        machine.save(record)?;
        let machine_ref = crate::driver::machine_ref(machine, record);
        let _stop_driver = driver
            .interrupter()
            .map(|stop| interrupt.on_trigger(move || stop()));
        with_driver_progress(events, |progress| {
            driver.start_with_files(&machine_ref, &files, progress)
        })
        .map_err(|err| {
            MachineError::with_source(
                format!("the {} driver could not boot '{name}'", driver.name()),
                err,
            )
        })
    });
    if let Err(err) = booted {
        record.state = MachineState::Error;
        if interrupt.is_triggered() {
            record.error = Some(provisioning::interrupted_note(step));
            machine.save(record)?;
            return Err(MachineError::Interrupted {
                machine: name.to_string(),
                step: step.to_owned(),
                next: format!(
                    "it is kept in state Error; `berth rm {name}` removes what the driver made, then run the create again"
                ),
            });
        }
        record.error = Some(err.full_message());
        machine.save(record)?;
        return Err(MachineError::msg(format!(
            "{}\n  machine '{name}' is kept in state Error: `berth rm {name}` removes it",
            err.causes().join("\n  caused by: ")
        )));
    }
    events(Event::StepDone(step));
    Ok(())
}

/// docker-machine's shared create flags that this create was given, under docker-machine's
/// names and as `commands/create.go` sends them to a Go driver (its list flags only when set).
fn docker_machine_flags(spec: &CreateSpec) -> BTreeMap<String, serde_json::Value> {
    use serde_json::json;
    let mut flags = BTreeMap::new();
    let engine = &spec.engine;
    if let Some(url) = &engine.install_url {
        flags.insert("engine-install-url".to_owned(), json!(url));
    }
    if let Some(driver) = &engine.storage_driver {
        flags.insert("engine-storage-driver".to_owned(), json!(driver));
    }
    let env: Vec<String> = engine.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for (name, values) in [
        ("engine-opt", &engine.opts),
        ("engine-label", &engine.labels),
        ("engine-insecure-registry", &engine.insecure_registries),
        ("engine-registry-mirror", &engine.registry_mirrors),
        ("engine-env", &env),
        ("tls-san", &spec.tls_sans),
    ] {
        if !values.is_empty() {
            flags.insert(name.to_owned(), json!(values));
        }
    }
    flags
}
