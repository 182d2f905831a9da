//! `import`: a docker-machine store's machines brought into berth's store, so that
//! `eval "$(berth env NAME)"; docker ps` works at once with the certificates they already have.
//!
//! docker-machine 0.16.2 keeps `<storage path>/machines/<name>/config.json` (libmachine's
//! `host.Host`, read through [`crate::docker_machine::Host`]), beside the copies of the client
//! certificate and CA that `docker-machine env` points `DOCKER_CERT_PATH` at, the server's
//! certificate and the SSH key it copied; the CA and its key are shared by every machine in
//! `<storage path>/certs/`.
//!
//! Everything is copied, nothing moved or written there: the docker-machine store stays usable
//! by docker-machine. The shared CA's *key* is not copied: it signs certificates for every
//! machine of that store, and a copy in each berth machine's folder would spread the one secret
//! that opens them all. An imported machine can therefore keep its certificates but not sign new
//! ones from that CA; `regenerate-certs --client-certs` moves it onto a CA of its own
//! ([`crate::certs::foreign_ca_refusal`] says so wherever a signature is needed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_net::{DEFAULT_ENGINE_PORT, HostPort};
use berth_provision::EngineConfig;
use berth_ssh::{HostKeyPolicy, Session};
use berth_store::{FileMode, Machine, MachineRecord, MachineState, SshSettings, Store};

use crate::docker_machine::Host;
use crate::driver::{Machines, json_to_toml};
use crate::error::{Context as _, MachineError};
use crate::event::Event;
use crate::provisioning::target;

/// How long import waits for the engine's answer (it only reports it).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The config.json version docker-machine 0.16 writes (older ones it migrates when it loads them).
const CONFIG_VERSION: i64 = 3;

/// A docker-machine store: the folder that holds `machines/` and `certs/`.
#[derive(Debug, Clone)]
pub struct DockerMachineStore {
    root: PathBuf,
}

/// What berth made of one docker-machine machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportedAs {
    /// A generic machine: berth reaches its host over SSH with the key docker-machine kept.
    Generic,
    /// A `none` machine with only its engine URL (docker-machine's `none` driver).
    None { driver: String },
    /// A machine of another docker-machine driver, kept with its driver's name and its `Driver`
    /// object: berth runs that docker-machine driver for start, stop and rm (docs/drivers.md).
    Driver { driver: String },
}

/// The outcome of importing one machine.
#[derive(Debug, Clone)]
pub struct Imported {
    pub name: String,
    pub as_: ImportedAs,
    /// The engine URL berth recorded.
    pub url: String,
    /// The engine's version when it answered at import with the imported certificates.
    pub engine: Option<String>,
}

impl DockerMachineStore {
    /// The store at `root` (docker-machine's `-s`/`MACHINE_STORAGE_PATH`, `~/.docker/machine`
    /// by default); refused when it has no `machines/` folder.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, MachineError> {
        let root = root.into();
        if !root.join("machines").is_dir() {
            return Err(MachineError::msg(format!(
                "{} is not a docker-machine store: it has no machines/ folder; give the folder docker-machine keeps its machines in with --from (docker-machine's -s or MACHINE_STORAGE_PATH, ~/.docker/machine by default)",
                root.display()
            )));
        }
        Ok(DockerMachineStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn machine_dir(&self, name: &str) -> PathBuf {
        self.root.join("machines").join(name)
    }

    /// The names of its machines (folders with a config.json), sorted.
    pub fn names(&self) -> Result<Vec<String>, MachineError> {
        let dir = self.root.join("machines");
        let entries = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read the docker-machine store {}", dir.display()))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().join("config.json").is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Refuses a berth store that is this docker-machine store's own `machines/` folder
    /// (`MACHINE_STORAGE_PATH` moves berth's store there too): importing would write berth's
    /// files into docker-machine's machine folders.
    pub fn check_apart_from(&self, berth: &Store) -> Result<(), MachineError> {
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        };
        if same(&self.root.join("machines"), berth.root()) {
            return Err(MachineError::msg(format!(
                "berth's store is docker-machine's own machines folder ({}), so importing would write into docker-machine's store; give berth a store of its own, e.g. `BERTH_STORAGE_PATH=~/.docker/machines berth import --from {}` (or --storage-path)",
                berth.root().display(),
                self.root.display()
            )));
        }
        Ok(())
    }

    /// A file of machine `name`: its own copy first (what `docker-machine env` uses), then the
    /// shared `certs/` folder, then the absolute path config.json recorded.
    fn find(&self, name: &str, file: &str, recorded: &str) -> Option<PathBuf> {
        [
            self.machine_dir(name).join(file),
            self.root.join("certs").join(file),
            PathBuf::from(recorded),
        ]
        .into_iter()
        .find(|p| !p.as_os_str().is_empty() && p.is_file())
    }
}

fn read(path: &Path) -> Result<String, MachineError> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Imports machine `name` of `source` into `machines`' store. Nothing is left in berth's store
/// when it fails; nothing in `source` is ever written.
pub fn import(
    machines: &Machines,
    source: &DockerMachineStore,
    name: &str,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<Imported, MachineError> {
    source.check_apart_from(machines.store())?;
    events(Event::Step("reading docker-machine's record"));
    let dir = source.machine_dir(name);
    let config = dir.join("config.json");
    if !config.is_file() {
        return Err(MachineError::msg(format!(
            "docker-machine has no machine '{name}' in {}; `berth import --from {}` without names imports every machine there",
            source.root.join("machines").display(),
            source.root.display()
        )));
    }
    let host: Host = serde_json::from_str(&read(&config)?)
        .with_context(|| format!("{} is not a docker-machine config.json", config.display()))?;
    if host.config_version < CONFIG_VERSION {
        return Err(MachineError::msg(format!(
            "{} is of an old docker-machine (ConfigVersion {}); run `docker-machine ls` once with docker-machine 0.16, which migrates it, then import again",
            config.display(),
            host.config_version
        )));
    }
    let plan = Plan::of(&host, name)?;
    let auth = &host.host_options.auth_options;
    let ca = source
        .find(name, "ca.pem", &auth.ca_cert_path)
        .with_context(|| format!("docker-machine's CA certificate of '{name}' is missing"))?;
    let cert = source
        .find(name, "cert.pem", &auth.client_cert_path)
        .with_context(|| format!("docker-machine's client certificate of '{name}' is missing"))?;
    let key = source
        .find(name, "key.pem", &auth.client_key_path)
        .with_context(|| format!("docker-machine's client key of '{name}' is missing"))?;
    let (ca_pem, cert_pem, key_pem) = (read(&ca)?, read(&cert)?, read(&key)?);
    berth_tls::verify_chain(&ca_pem, &cert_pem).with_context(|| {
        format!(
            "the client certificate {} is not signed by the CA {}; docker-machine could not have used them together",
            cert.display(),
            ca.display()
        )
    })?;
    events(Event::StepDone("reading docker-machine's record"));

    events(Event::Step("copying the certificates"));
    let mut record = MachineRecord::new(name, plan.driver());
    record.url = Some(plan.url.clone());
    record.state = MachineState::Running;
    record.tls.extra_sans = auth.server_cert_sans.clone();
    record.tls.client_not_after = Some(berth_tls::inspect(&cert_pem)?.not_after);
    record.engine =
        toml::Table::try_from(&plan.engine).context("cannot record the imported engine options")?;
    // A docker context of that name that berth did not make refuses the import first.
    crate::contexts::check_free(machines, name, &record.context)?;
    let (machine, lock) = machines.store().create_machine(&record)?;
    let result = fill(
        &machine,
        &mut record,
        source,
        &host,
        &plan,
        [&ca_pem, &cert_pem, &key_pem],
        events,
    );
    if let Err(err) = result {
        // Nothing half-imported stays behind: import again once the cause is fixed.
        let _ = machines.store().remove(machine, &lock);
        return Err(err);
    }
    machine.save(&record)?;
    // The imported machine is a docker context too, with the certificates it came with.
    if let Err(err) = crate::contexts::sync(machines, &machine, &mut record, events) {
        events(Event::Warn(&format!(
            "imported, but its docker context could not be made: {}",
            err.full_message()
        )));
    }
    machine.save(&record)?;
    drop(lock);

    events(Event::Step("asking the engine"));
    let engine = match berth_engine::block_on(crate::engine::probe(
        &machine,
        &record,
        PROBE_TIMEOUT,
    )) {
        Ok(version) => {
            events(Event::StepDone("asking the engine"));
            Some(version.version)
        }
        Err(err) => {
            events(Event::Warn(&format!(
                "imported, but its engine at {} did not answer with docker-machine's certificates: {}",
                plan.url,
                err.full_message()
            )));
            None
        }
    };
    if let ImportedAs::Driver { driver } = &plan.as_
        && let Some(wanted) = machines.go_driver_missing(driver)
    {
        events(Event::Warn(&format!(
            "the {driver} driver is not installed: '{name}' works over its engine URL {}, and start, stop and rm need {wanted}",
            plan.url
        )));
    }
    Ok(Imported {
        name: name.to_owned(),
        as_: plan.as_,
        url: plan.url,
        engine,
    })
}

/// The machine's files and SSH endpoint, into its new berth folder.
fn fill(
    machine: &Machine,
    record: &mut MachineRecord,
    source: &DockerMachineStore,
    host: &Host,
    plan: &Plan,
    [ca_pem, cert_pem, key_pem]: [&String; 3],
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let name = machine.name().to_owned();
    machine.write_file("ca.pem", ca_pem.as_bytes(), FileMode::Public)?;
    machine.write_file("cert.pem", cert_pem.as_bytes(), FileMode::Public)?;
    machine.write_file("key.pem", key_pem.as_bytes(), FileMode::Secret)?;
    let auth = &host.host_options.auth_options;
    let server = source.find(&name, "server.pem", &auth.server_cert_path);
    let server_key = source.find(&name, "server-key.pem", &auth.server_key_path);
    if let (Some(server), Some(server_key)) = (server, server_key) {
        let server_pem = read(&server)?;
        machine.write_file("server.pem", server_pem.as_bytes(), FileMode::Public)?;
        machine.write_file(
            "server-key.pem",
            read(&server_key)?.as_bytes(),
            FileMode::Secret,
        )?;
        if let Ok(info) = berth_tls::inspect(&server_pem) {
            record.tls.sans = info.sans;
            record.tls.server_not_after = Some(info.not_after);
        }
    }
    events(Event::StepDone("copying the certificates"));

    match &plan.as_ {
        ImportedAs::None { .. } => {
            record.driver_data = json_to_toml(&serde_json::json!({ "url": plan.url }))?;
        }
        ImportedAs::Generic | ImportedAs::Driver { .. } => {
            let d = &host.driver;
            let key_path = copy_ssh_key(machine, source, host)?;
            let ssh = SshSettings {
                host: d.ip_address.clone(),
                port: u16::try_from(d.ssh_port)
                    .ok()
                    .filter(|p| *p != 0)
                    .unwrap_or(22),
                user: if d.ssh_user.is_empty() {
                    "root".to_owned()
                } else {
                    d.ssh_user.clone()
                },
                key_path: key_path.clone(),
            };
            record.driver_data = if let ImportedAs::Driver { .. } = &plan.as_ {
                // The driver's own object, as docker-machine hands it back (SetConfigRaw).
                let object = serde_json::to_value(d).context("cannot read the driver's config")?;
                json_to_toml(&berth_driver::gomachine::data_from_config(&object))?
            } else {
                json_to_toml(&serde_json::json!({
                    "ip_address": ssh.host,
                    "ssh_user": ssh.user,
                    "ssh_port": ssh.port,
                    "ssh_key": key_path,
                }))?
            };
            record.ssh = Some(ssh);
            // docker-machine never checked host keys (its #534): pin the key now, so that
            // every later `ssh` and `provision` checks it.
            events(Event::Step("pinning the host key"));
            match target(machine, record, Some(HostKeyPolicy::Pin))
                .and_then(|t| Session::connect(&t).map_err(MachineError::from))
            {
                Ok(session) => {
                    record.host_key = Some(session.host_key_fingerprint());
                    events(Event::StepDone("pinning the host key"));
                }
                Err(err) => events(Event::Warn(&format!(
                    "could not log in to pin the host key ({}); the first `berth provision {name}` or `berth ssh --native-ssh {name}` pins it",
                    err.full_message()
                ))),
            }
        }
    }
    Ok(())
}

/// docker-machine's copy of the SSH key (`SSHKeyPath`, `machines/<name>/id_rsa`) copied into
/// berth's folder; else the key the user gave (`SSHKey`) where it is; else none (the agent).
fn copy_ssh_key(
    machine: &Machine,
    source: &DockerMachineStore,
    host: &Host,
) -> Result<Option<PathBuf>, MachineError> {
    let d = &host.driver;
    let recorded = PathBuf::from(&d.ssh_key_path);
    let file_name = recorded
        .file_name()
        .and_then(|f| f.to_str())
        .filter(|f| !f.is_empty())
        .unwrap_or("id_rsa")
        .to_owned();
    let copy = [
        source.machine_dir(machine.name()).join(&file_name),
        recorded,
    ]
    .into_iter()
    .find(|p| !p.as_os_str().is_empty() && p.is_file());
    if let Some(from) = copy {
        let key = std::fs::read(&from)
            .with_context(|| format!("cannot read the SSH key {}", from.display()))?;
        machine.write_file(&file_name, &key, FileMode::Secret)?;
        let public = from.with_file_name(format!("{file_name}.pub"));
        if let Ok(bytes) = std::fs::read(&public) {
            machine.write_file(&format!("{file_name}.pub"), &bytes, FileMode::Public)?;
        }
        return Ok(Some(machine.path(&file_name)));
    }
    Ok(d.ssh_key
        .as_deref()
        .filter(|k| !k.is_empty() && Path::new(k).is_file())
        .map(PathBuf::from))
}

/// What a docker-machine record becomes in berth.
#[derive(Debug)]
struct Plan {
    as_: ImportedAs,
    url: String,
    engine: EngineConfig,
}

impl Plan {
    fn of(host: &Host, name: &str) -> Result<Plan, MachineError> {
        let d = &host.driver;
        let engine = engine_config(host);
        let (as_, url) = match host.driver_name.as_str() {
            "generic" => {
                if d.ip_address.is_empty() {
                    return Err(MachineError::msg(format!(
                        "docker-machine's record of '{name}' has no IPAddress; fix its config.json or create the machine again with berth"
                    )));
                }
                let url = HostPort::new(d.ip_address.clone(), engine.port).engine_url();
                (ImportedAs::Generic, url)
            }
            "none" => {
                let url = d.url.clone().filter(|u| !u.is_empty()).with_context(|| {
                    format!("docker-machine's record of '{name}' (none driver) has no URL")
                })?;
                (
                    ImportedAs::None {
                        driver: "none".into(),
                    },
                    url,
                )
            }
            other => {
                if d.ip_address.is_empty() {
                    return Err(MachineError::msg(format!(
                        "docker-machine's record of '{name}' ({other} driver) has no IPAddress, so berth cannot tell where its engine is; start it with `docker-machine start {name}` (which records the address) and import again"
                    )));
                }
                let url = HostPort::new(d.ip_address.clone(), DEFAULT_ENGINE_PORT).engine_url();
                (
                    ImportedAs::Driver {
                        driver: other.to_owned(),
                    },
                    url,
                )
            }
        };
        let mut engine = engine;
        if let Ok(address) = HostPort::parse(&url, DEFAULT_ENGINE_PORT) {
            engine.port = address.port;
        }
        Ok(Plan { as_, url, engine })
    }

    fn driver(&self) -> &str {
        match &self.as_ {
            ImportedAs::Generic => "generic",
            ImportedAs::None { .. } => "none",
            ImportedAs::Driver { driver } => driver,
        }
    }
}

/// docker-machine's engine options as berth's. Its default install script (get.docker.com)
/// is not kept: berth installs the distribution's package unless told otherwise, and the
/// engine is there already.
fn engine_config(host: &Host) -> EngineConfig {
    let o = &host.host_options.engine_options;
    let port = host
        .driver
        .engine_port
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .unwrap_or(DEFAULT_ENGINE_PORT);
    EngineConfig {
        install: true,
        install_url: Some(o.install_url.clone())
            .filter(|u| !u.is_empty() && u != "https://get.docker.com"),
        opts: o
            .arbitrary_flags
            .iter()
            .filter(|f| berth_provision::engine_opt_flag(f).is_ok())
            .cloned()
            .collect(),
        labels: o.labels.clone(),
        insecure_registries: o.insecure_registry.clone(),
        registry_mirrors: o.registry_mirror.clone(),
        storage_driver: Some(o.storage_driver.clone()).filter(|s| !s.is_empty()),
        env: o
            .env
            .iter()
            .filter_map(|e| berth_provision::parse_env(e).ok())
            .collect(),
        port,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn host(driver: &str, extra: serde_json::Value) -> Host {
        let mut value = serde_json::json!({
            "ConfigVersion": 3,
            "Driver": {"IPAddress": "203.0.113.7", "MachineName": "m", "SSHUser": "root", "SSHPort": 22},
            "DriverName": driver,
            "HostOptions": {"EngineOptions": {"Labels": ["a=b"], "ArbitraryFlags": ["log-level=warn", "tlsverify"], "InstallURL": "https://get.docker.com", "Env": ["HTTP_PROXY=http://p:3128"]}},
            "Name": "m"
        });
        if let (Some(d), serde_json::Value::Object(extra)) =
            (value["Driver"].as_object_mut(), extra)
        {
            d.extend(extra);
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn generic_keeps_its_engine_port_others_become_none_with_their_url() {
        let plan = Plan::of(
            &host("generic", serde_json::json!({"EnginePort": 2377})),
            "m",
        )
        .unwrap();
        assert_eq!(plan.as_, ImportedAs::Generic);
        assert_eq!(plan.url, "tcp://203.0.113.7:2377");
        assert_eq!(plan.engine.port, 2377);
        assert_eq!(plan.engine.labels, vec!["a=b"]);
        // dockerd flags berth sets itself are left out; the default install script is not kept.
        assert_eq!(plan.engine.opts, vec!["log-level=warn"]);
        assert_eq!(plan.engine.install_url, None);
        assert_eq!(plan.engine.env["HTTP_PROXY"], "http://p:3128");

        // Issue 19: a machine of any other driver keeps its driver (it used to become `none`).
        let plan = Plan::of(&host("virtualbox", serde_json::json!({"CPU": 2})), "m").unwrap();
        assert_eq!(
            plan.as_,
            ImportedAs::Driver {
                driver: "virtualbox".into()
            }
        );
        assert_eq!(plan.driver(), "virtualbox");
        assert_eq!(plan.url, "tcp://203.0.113.7:2376");

        let plan = Plan::of(
            &host(
                "none",
                serde_json::json!({"URL": "tcp://198.51.100.2:2380"}),
            ),
            "m",
        )
        .unwrap();
        assert_eq!(plan.url, "tcp://198.51.100.2:2380");
        assert_eq!(plan.engine.port, 2380);
    }

    #[test]
    fn a_machine_without_an_address_is_refused_with_what_to_do() {
        let err = Plan::of(
            &host("amazonec2", serde_json::json!({"IPAddress": ""})),
            "m",
        )
        .unwrap_err();
        assert!(err.to_string().contains("docker-machine start m"), "{err}");
    }

    #[test]
    fn a_berth_store_inside_the_docker_machine_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("machines")).unwrap();
        let source = DockerMachineStore::open(dir.path()).unwrap();
        let err = source
            .check_apart_from(&Store::new(dir.path().join("machines")))
            .unwrap_err();
        assert!(err.to_string().contains("BERTH_STORAGE_PATH"), "{err}");
        source
            .check_apart_from(&Store::new(dir.path().join("berth")))
            .unwrap();
        assert!(DockerMachineStore::open(dir.path().join("nothing")).is_err());
    }
}
