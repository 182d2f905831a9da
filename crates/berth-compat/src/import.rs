//! `import`: a docker-machine store's machines brought into berth's store, so that
//! `eval "$(berth env NAME)"; docker ps` works at once with the certificates they already have.
//!
//! docker-machine 0.16.2 keeps `<storage path>/machines/<name>/config.json` (libmachine's
//! `host.Host`, read through [`crate::host::Host`]), beside the copies of the client
//! certificate and CA that `docker-machine env` points `DOCKER_CERT_PATH` at, the server's
//! certificate and the SSH key it copied; the CA and its key are shared by every machine in
//! `<storage path>/certs/`.
//!
//! Everything is copied, nothing moved or written there: the docker-machine store stays usable
//! by docker-machine. The shared CA's *key* is not copied: it signs certificates for every
//! machine of that store, and a copy in each berth machine's folder would spread the one secret
//! that opens them all. An imported machine can therefore keep its certificates but not sign new
//! ones from that CA; `regenerate-certs --client-certs` moves it onto a CA of its own
//! ([`berth_machine::foreign_ca_refusal`] says so wherever a signature is needed).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use berth_fs::{Beneath, ReadError};
use berth_machine::record::{self, MachineRecord, MachineState, SshSettings};
use berth_names::{DockerMachineFiles, MachineFiles};
use berth_net::{DEFAULT_ENGINE_PORT, HostPort, is_host};
use berth_provision::EngineConfig;
use berth_ssh::{HostKeyPolicy, Session};
use berth_store::{FileMode, Machine, Store};

use berth_machine::{
    Context as _, Event, MachineError, MachineHandle, Machines, check_context_free, sync_context,
};

use crate::host::Host;

/// How long import waits for the engine's answer (it only reports it).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The config.json version docker-machine 0.16 writes (older ones it migrates when it loads them).
const CONFIG_VERSION: i64 = 3;

/// The most a config.json may hold: docker-machine's are a few KB; a larger one is not its.
const CONFIG_LIMIT: u64 = 1 << 20;

/// The most a certificate, key or SSH key file may hold (an RSA 4096 key is about 3.3 KB).
const KEY_LIMIT: u64 = 64 << 10;

/// The name of the SSH key in the berth machine's folder, whatever the foreign store called
/// it: a name read from config.json never chooses which file of the new folder is written.
const SSH_KEY_FILE: &str = MachineFiles::IMPORTED_SSH_KEY;

/// Machine `name`'s folder relative to a docker-machine store's root.
fn machine_rel(name: &str) -> PathBuf {
    Path::new(DockerMachineFiles::MACHINES_DIR).join(name)
}

/// A docker-machine store: the folder that holds `machines/` and `certs/`.
///
/// It is somebody else's folder: every file is read beneath it without following links
/// ([`berth_fs::Beneath`]), as a regular file of bounded size. The absolute paths its
/// config.json files record are read only when the user said so
/// ([`DockerMachineStore::trusting_recorded_paths`]).
#[derive(Debug, Clone)]
pub struct DockerMachineStore {
    root: PathBuf,
    dir: Arc<Beneath>,
    trust_recorded_paths: bool,
}

/// What berth made of one docker-machine machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportedAs {
    /// A generic machine: berth reaches its host over SSH with the key docker-machine kept.
    Generic,
    /// A `none` machine with only its engine URL (docker-machine's `none` driver).
    None,
    /// A machine of another docker-machine driver, kept with its driver's name and its `Driver`
    /// object: berth runs that docker-machine driver for start, stop and rm (docs/drivers.md).
    Driver {
        /// The docker-machine driver's name (`virtualbox`, `amazonec2`, …): berth runs
        /// `docker-machine-driver-NAME` for it.
        driver: String,
    },
}

/// The outcome of importing one machine.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The machine's name, the same in both stores.
    pub name: String,
    /// Which kind of berth machine it became.
    pub as_: ImportedAs,
    /// The engine URL berth recorded.
    pub url: String,
    /// The engine's version when it answered at import with the imported certificates.
    pub engine: Option<String>,
}

/// A file read from the foreign store (or, when trusted, from a path it recorded).
#[derive(Debug)]
struct Found {
    bytes: Vec<u8>,
    /// Where it was read, for messages.
    path: PathBuf,
}

impl Found {
    fn text(&self) -> Result<&str, MachineError> {
        std::str::from_utf8(&self.bytes).map_err(|_| {
            MachineError::msg(format!(
                "{} is not text, so it is not a PEM file docker-machine wrote; remove it from the store or fix it, then import again",
                self.path.display()
            ))
        })
    }
}

impl DockerMachineStore {
    /// The store at `root` (docker-machine's `-s`/`MACHINE_STORAGE_PATH`, `~/.docker/machine`
    /// by default); refused when it has no `machines/` folder.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, MachineError> {
        let root = root.into();
        let not_a_store = || {
            MachineError::msg(format!(
                "{} is not a docker-machine store: it has no machines/ folder; give the folder docker-machine keeps its machines in with --from (docker-machine's -s or MACHINE_STORAGE_PATH, ~/.docker/machine by default)",
                root.display()
            ))
        };
        let dir = Beneath::open(&root).map_err(|_| not_a_store())?;
        match dir.folder(DockerMachineFiles::MACHINES_DIR) {
            Ok(_) => {}
            Err(ReadError::Absent | ReadError::NotFolder(_)) => return Err(not_a_store()),
            Err(e) => {
                return Err(MachineError::msg(format!(
                    "cannot read {}: {e}; berth reads a docker-machine store only inside the folder given, without following links: give the folder the link points to with --from",
                    root.join(DockerMachineFiles::MACHINES_DIR).display()
                )));
            }
        }
        Ok(DockerMachineStore {
            root,
            dir: Arc::new(dir),
            trust_recorded_paths: false,
        })
    }

    /// Whether the absolute paths config.json records (`CaCertPath`, `ServerKeyPath`,
    /// `SSHKeyPath`, `SSHKey`, …) may be read where they lie outside the store, when the
    /// store has no copy of its own (`--trust-recorded-paths`). Each one read is named in the
    /// machine's warnings. Off by default: a store someone handed over could name any file
    /// of this computer, and import would copy it into berth's folder and on to a host.
    pub fn trusting_recorded_paths(mut self, trust: bool) -> Self {
        self.trust_recorded_paths = trust;
        self
    }

    /// The store's folder, as given to [`DockerMachineStore::open`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn machine_dir(&self, name: &str) -> PathBuf {
        self.root.join(machine_rel(name))
    }

    /// The names of its machines (folders with a config.json), sorted. A name that is not
    /// valid UTF-8 is shown with replacement characters and then refused by the name check.
    pub fn names(&self) -> Result<Vec<String>, MachineError> {
        let dir = self.root.join(DockerMachineFiles::MACHINES_DIR);
        let cannot = |e: ReadError| {
            MachineError::msg(format!(
                "cannot read the docker-machine store {}: {e}",
                dir.display()
            ))
        };
        let machines = self
            .dir
            .folder(DockerMachineFiles::MACHINES_DIR)
            .map_err(cannot)?;
        let mut names: Vec<String> = machines
            .names()
            .map_err(cannot)?
            .into_iter()
            .filter(|n| {
                let config = Path::new(n).join(DockerMachineFiles::CONFIG);
                machines
                    .kind(&config)
                    .is_ok_and(|k| k == berth_fs::Kind::Regular)
            })
            .map(|n| n.to_string_lossy().into_owned())
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
        if same(
            &self.root.join(DockerMachineFiles::MACHINES_DIR),
            berth.root(),
        ) {
            return Err(MachineError::msg(format!(
                "berth's store is docker-machine's own machines folder ({}), so importing would write into docker-machine's store; give berth a store of its own, e.g. `BERTH_STORAGE_PATH=~/.docker/machines berth import --from {}` (or --storage-path)",
                berth.root().display(),
                self.root.display()
            )));
        }
        Ok(())
    }

    /// The file `rel` beneath the store: `None` when it is not there; refused with a sentence
    /// when it is a link, a FIFO, a device, a folder or too large.
    fn read_beneath(
        &self,
        name: &str,
        rel: &Path,
        limit: u64,
        what: &str,
    ) -> Result<Option<Found>, MachineError> {
        let path = self.root.join(rel);
        match self.dir.read(rel, limit) {
            Ok(bytes) => Ok(Some(Found { bytes, path })),
            Err(ReadError::Absent) => Ok(None),
            Err(e) => Err(MachineError::msg(format!(
                "refusing to import '{name}': docker-machine's {what} {} cannot be read safely ({e}); berth reads only regular files inside the store, without following links: replace it with the file itself, or remove the machine's folder from the store",
                path.display()
            ))),
        }
    }

    /// A file of machine `name`: its own copy first (what `docker-machine env` uses), then the
    /// shared `certs/` folder, then the path config.json recorded where it lies inside the
    /// store; a recorded path outside the store only when trusted, and then named in a warning.
    fn find(
        &self,
        name: &str,
        file: &str,
        recorded: &str,
        what: &str,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Option<Found>, MachineError> {
        for rel in [
            machine_rel(name).join(file),
            Path::new(DockerMachineFiles::CERTS_DIR).join(file),
        ] {
            if let Some(found) = self.read_beneath(name, &rel, KEY_LIMIT, what)? {
                return Ok(Some(found));
            }
        }
        self.recorded(name, recorded, what, events)
    }

    /// The file at a path config.json recorded: beneath the store when it points inside it,
    /// else only with [`DockerMachineStore::trusting_recorded_paths`].
    fn recorded(
        &self,
        name: &str,
        recorded: &str,
        what: &str,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Option<Found>, MachineError> {
        if recorded.is_empty() {
            return Ok(None);
        }
        let recorded = Path::new(recorded);
        let inside = [
            self.root.clone(),
            self.root.canonicalize().unwrap_or_default(),
        ]
        .into_iter()
        .find_map(|root| recorded.strip_prefix(&root).ok().map(Path::to_path_buf));
        if let Some(rel) = inside.filter(|r| !r.as_os_str().is_empty()) {
            return self.read_beneath(name, &rel, KEY_LIMIT, what);
        }
        if !self.trust_recorded_paths {
            events(Event::Warn(&format!(
                "its config.json names {} as its {what}, outside docker-machine's store; berth did not read it (a store can name any file of this computer): copy the file into {} or import with --trust-recorded-paths",
                recorded.display(),
                self.machine_dir(name).display()
            )));
            return Ok(None);
        }
        match berth_fs::read_path(recorded, KEY_LIMIT) {
            Ok(bytes) => {
                events(Event::Warn(&format!(
                    "read its {what} from {}, outside docker-machine's store, as its config.json records (--trust-recorded-paths)",
                    recorded.display()
                )));
                Ok(Some(Found {
                    bytes,
                    path: recorded.to_path_buf(),
                }))
            }
            Err(ReadError::Absent) => Ok(None),
            Err(e) => Err(MachineError::msg(format!(
                "refusing to import '{name}': its config.json names {} as its {what}, and {e}",
                recorded.display()
            ))),
        }
    }
}

/// A required file: found, or the import is refused with what is missing.
fn required(found: Option<Found>, name: &str, what: &str) -> Result<Found, MachineError> {
    found.with_context(|| format!("docker-machine's {what} of '{name}' is missing"))
}

/// Refuses a key that is not its certificate's: a store pairing some other key (the user's SSH
/// key, another machine's server key) with a certificate would get it copied and uploaded.
fn check_pair(name: &str, cert: &Found, key: &Found, what: &str) -> Result<(), MachineError> {
    let matches = berth_tls::key_matches_certificate(key.text()?, cert.text()?).with_context(
        || {
            format!(
                "refusing to import '{name}': {} and {} are not a {what} certificate and key berth can read",
                cert.path.display(),
                key.path.display()
            )
        },
    )?;
    if !matches {
        return Err(MachineError::msg(format!(
            "refusing to import '{name}': the {what} key {} does not belong to the certificate {}, so docker-machine could not have used them together; fix or remove them in the store, then import again",
            key.path.display(),
            cert.path.display()
        )));
    }
    Ok(())
}

/// Everything read from the foreign store for one machine, checked, before anything is written.
struct Files {
    ca: String,
    cert: String,
    key: String,
    /// server.pem and server-key.pem, when the store has both.
    server: Option<(String, String)>,
    /// The SSH key (and its .pub) to copy into the berth folder.
    ssh_key: Option<(Vec<u8>, Option<Vec<u8>>)>,
    /// The key the user gave docker-machine, used where it is (only when trusted).
    ssh_key_elsewhere: Option<PathBuf>,
}

/// Imports machine `name` of `source` into `machines`' store. Nothing is left in berth's store
/// when it fails; nothing in `source` is ever written; every value and file is checked before
/// anything is written.
pub fn import(
    machines: &Machines,
    source: &DockerMachineStore,
    name: &str,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<Imported, MachineError> {
    source.check_apart_from(machines.store())?;
    events(Event::Step("reading docker-machine's record"));
    let config = source.machine_dir(name).join(DockerMachineFiles::CONFIG);
    // The folder's name becomes berth's folder, the hostname in messages and the context.
    berth_store::validate_new_name(name).map_err(|e| {
        MachineError::msg(format!(
            "refusing to import {:?} from {}: the machine's folder name is not a valid machine name ({e})",
            name,
            source.root.join(DockerMachineFiles::MACHINES_DIR).display()
        ))
    })?;
    let text = source
        .read_beneath(
            name,
            &machine_rel(name).join(DockerMachineFiles::CONFIG),
            CONFIG_LIMIT,
            "record",
        )?
        .with_context(|| {
            format!(
                "docker-machine has no machine '{name}' in {}; `berth import --from {}` without names imports every machine there",
                source.root.join(DockerMachineFiles::MACHINES_DIR).display(),
                source.root.display()
            )
        })?;
    let host: Host = serde_json::from_slice(&text.bytes)
        .with_context(|| format!("{} is not a docker-machine config.json", config.display()))?;
    if host.config_version < CONFIG_VERSION {
        return Err(MachineError::msg(format!(
            "{} is of an old docker-machine (ConfigVersion {}); run `docker-machine ls` once with docker-machine 0.16, which migrates it, then import again",
            config.display(),
            host.config_version
        )));
    }
    let plan = Plan::of(&host, name, &config)?;
    let files = read_files(source, &host, &plan, name, events)?;
    events(Event::StepDone("reading docker-machine's record"));
    if let Some(summary) = engine_summary(&plan.engine) {
        events(Event::Warn(&format!(
            "its docker-machine engine settings came along and are applied at the next `berth provision {name}`: {summary}"
        )));
    }

    events(Event::Step("copying the certificates"));
    let mut record = MachineRecord::new(
        record::MachineName::new(name)?,
        record::DriverName::new(plan.driver())?,
    );
    record.url = Some(record::EngineUrl::parse(&plan.url)?);
    record.capabilities = berth_driver::builtin::builtin(plan.driver()).map(|d| d.capabilities());
    record.state = MachineState::Running;
    record.tls.extra_sans = host.host_options.auth_options.server_cert_sans.clone();
    record.tls.client_not_after = Some(berth_tls::inspect(&files.cert)?.not_after);
    record.engine = plan.engine.clone();
    // A docker context of that name that berth did not make refuses the import first.
    check_context_free(machines, name, &record.context)?;
    let (machine, lock) = machines.store().create_machine(name, &record)?;
    let mut machine = MachineHandle::new(machine, record);
    let result = fill(&mut machine, &plan, &files, events);
    if let Err(err) = result {
        // Nothing half-imported stays behind: import again once the cause is fixed.
        let _ = machines.store().remove(machine.folder().clone(), &lock);
        return Err(err);
    }
    machine.save()?;
    // The imported machine is a docker context too, with the certificates it came with.
    if let Err(err) = sync_context(machines, &mut machine, events) {
        events(Event::Warn(&format!(
            "imported, but its docker context could not be made: {}",
            err.full_message()
        )));
    }
    machine.save()?;
    drop(lock);

    events(Event::Step("asking the engine"));
    let engine = match berth_engine::block_on(berth_machine::probe(&machine, PROBE_TIMEOUT)) {
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

/// Reads and checks every file the machine needs: the CA, the client pair (signed by the CA,
/// key matching), the server pair if there is one (the same checks), and the SSH key.
fn read_files(
    source: &DockerMachineStore,
    host: &Host,
    plan: &Plan,
    name: &str,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<Files, MachineError> {
    let auth = &host.host_options.auth_options;
    let ca = required(
        source.find(
            name,
            MachineFiles::CA_CERT,
            &auth.ca_cert_path,
            "CA certificate",
            events,
        )?,
        name,
        "CA certificate",
    )?;
    let cert = required(
        source.find(
            name,
            MachineFiles::CLIENT_CERT,
            &auth.client_cert_path,
            "client certificate",
            events,
        )?,
        name,
        "client certificate",
    )?;
    let key = required(
        source.find(
            name,
            MachineFiles::CLIENT_KEY,
            &auth.client_key_path,
            "client key",
            events,
        )?,
        name,
        "client key",
    )?;
    berth_tls::verify_chain(ca.text()?, cert.text()?).with_context(|| {
        format!(
            "the client certificate {} is not signed by the CA {}; docker-machine could not have used them together",
            cert.path.display(),
            ca.path.display()
        )
    })?;
    check_pair(name, &cert, &key, "client")?;
    let server = source.find(
        name,
        MachineFiles::SERVER_CERT,
        &auth.server_cert_path,
        "server certificate",
        events,
    )?;
    let server_key = source.find(
        name,
        MachineFiles::SERVER_KEY,
        &auth.server_key_path,
        "server key",
        events,
    )?;
    let server = match (server, server_key) {
        (Some(server), Some(server_key)) => {
            berth_tls::verify_chain(ca.text()?, server.text()?).with_context(|| {
                format!(
                    "refusing to import '{name}': the server certificate {} is not signed by the CA {}",
                    server.path.display(),
                    ca.path.display()
                )
            })?;
            check_pair(name, &server, &server_key, "server")?;
            Some((server.text()?.to_owned(), server_key.text()?.to_owned()))
        }
        _ => None,
    };
    let (ssh_key, ssh_key_elsewhere) = match plan.as_ {
        ImportedAs::Generic | ImportedAs::Driver { .. } => {
            read_ssh_key(source, host, name, events)?
        }
        ImportedAs::None => (None, None),
    };
    Ok(Files {
        ca: ca.text()?.to_owned(),
        cert: cert.text()?.to_owned(),
        key: key.text()?.to_owned(),
        server,
        ssh_key,
        ssh_key_elsewhere,
    })
}

/// docker-machine's copy of the SSH key: the machine folder's file of `SSHKeyPath`'s name
/// (`id_rsa`), else `SSHKeyPath` itself; else the key the user gave (`SSHKey`), used where it
/// is. Outside the store only when trusted. None: the SSH agent.
#[allow(clippy::type_complexity)]
fn read_ssh_key(
    source: &DockerMachineStore,
    host: &Host,
    name: &str,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(Option<(Vec<u8>, Option<Vec<u8>>)>, Option<PathBuf>), MachineError> {
    let d = &host.driver;
    // Only the last name of the recorded path is looked up, in the machine's own folder.
    let file_name = Path::new(&d.ssh_key_path)
        .file_name()
        .and_then(|f| f.to_str())
        .filter(|f| !f.is_empty())
        .unwrap_or(DockerMachineFiles::SSH_KEY)
        .to_owned();
    let rel = machine_rel(name).join(&file_name);
    let key = match source.read_beneath(name, &rel, KEY_LIMIT, "SSH key")? {
        Some(found) => Some(found),
        None => source.recorded(name, &d.ssh_key_path, "SSH key", events)?,
    };
    if let Some(key) = key {
        let public_rel = machine_rel(name).join(format!("{file_name}.pub"));
        let public = source
            .read_beneath(name, &public_rel, KEY_LIMIT, "SSH public key")?
            .map(|f| f.bytes);
        return Ok((Some((key.bytes, public)), None));
    }
    let Some(user_key) = d.ssh_key.as_deref().filter(|k| !k.is_empty()) else {
        return Ok((None, None));
    };
    if !source.trust_recorded_paths {
        events(Event::Warn(&format!(
            "its config.json names {user_key} as its SSH key, outside docker-machine's store; berth does not use it (a store can name any file of this computer): berth logs in with the SSH agent, or import with --trust-recorded-paths"
        )));
        return Ok((None, None));
    }
    // Checked now as it will be used: a regular file of bounded size.
    match berth_fs::read_path(Path::new(user_key), KEY_LIMIT) {
        Ok(_) => {
            events(Event::Warn(&format!(
                "uses the SSH key {user_key} where it is, outside docker-machine's store, as its config.json records (--trust-recorded-paths)"
            )));
            Ok((None, Some(PathBuf::from(user_key))))
        }
        Err(ReadError::Absent) => Ok((None, None)),
        Err(e) => Err(MachineError::msg(format!(
            "refusing to import '{name}': its config.json names {user_key} as its SSH key, and {e}"
        ))),
    }
}

/// The engine settings that came from the foreign store, in one line for the user to read
/// (environment values are left out: they hold proxy passwords). None when there are none.
fn engine_summary(engine: &EngineConfig) -> Option<String> {
    let mut parts = Vec::new();
    let list = |label: &str, values: &[String]| {
        (!values.is_empty()).then(|| format!("{label} {}", values.join(", ")))
    };
    parts.extend(list("--engine-label", &engine.labels));
    parts.extend(list("--engine-opt", &engine.opts));
    parts.extend(list(
        "--engine-insecure-registry",
        &engine.insecure_registries,
    ));
    parts.extend(list("--engine-registry-mirror", &engine.registry_mirrors));
    if let Some(driver) = &engine.storage_driver {
        parts.push(format!("--engine-storage-driver {driver}"));
    }
    if !engine.env.is_empty() {
        let names: Vec<&str> = engine.env.keys().map(String::as_str).collect();
        parts.push(format!(
            "--engine-env {} (values not shown)",
            names.join(", ")
        ));
    }
    if let Some(url) = &engine.install_url {
        parts.push(format!("install URL {url}"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The machine's files and SSH endpoint, into its new berth folder. Only writes what
/// [`read_files`] checked, under fixed names.
fn fill(
    handle: &mut MachineHandle,
    plan: &Plan,
    files: &Files,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let name = handle.name().to_owned();
    let (machine, record) = handle.parts_mut();
    machine.write_file(MachineFiles::CA_CERT, files.ca.as_bytes(), FileMode::Public)?;
    machine.write_file(
        MachineFiles::CLIENT_CERT,
        files.cert.as_bytes(),
        FileMode::Public,
    )?;
    machine.write_file(
        MachineFiles::CLIENT_KEY,
        files.key.as_bytes(),
        FileMode::Secret,
    )?;
    if let Some((server_pem, server_key)) = &files.server {
        machine.write_file(
            MachineFiles::SERVER_CERT,
            server_pem.as_bytes(),
            FileMode::Public,
        )?;
        machine.write_file(
            MachineFiles::SERVER_KEY,
            server_key.as_bytes(),
            FileMode::Secret,
        )?;
        if let Ok(info) = berth_tls::inspect(server_pem) {
            record.tls.sans = info.sans;
            record.tls.server_not_after = Some(info.not_after);
        }
    }
    events(Event::StepDone("copying the certificates"));

    match &plan.as_ {
        ImportedAs::None => {
            record.driver_data =
                record::DriverData::from_driver(serde_json::json!({ "url": plan.url }))?;
        }
        ImportedAs::Generic | ImportedAs::Driver { .. } => {
            let key_path = match &files.ssh_key {
                Some((key, public)) => {
                    machine.write_file(SSH_KEY_FILE, key, FileMode::Secret)?;
                    if let Some(public) = public {
                        machine.write_file(
                            &format!("{SSH_KEY_FILE}.pub"),
                            public,
                            FileMode::Public,
                        )?;
                    }
                    Some(machine.path(SSH_KEY_FILE))
                }
                None => files.ssh_key_elsewhere.clone(),
            };
            let ssh = plan
                .ssh
                .clone()
                .context("a generic machine without an SSH endpoint; this is a bug in berth")?;
            let ssh = SshSettings {
                host: record::Host::new(ssh.0)?,
                port: ssh.1,
                user: record::SshUser::new(ssh.2)?,
                key_path: key_path.clone().map(record::KeyPath::new).transpose()?,
            };
            record.driver_data = match &plan.driver_object {
                // The driver's own object, as docker-machine hands it back (SetConfigRaw), but
                // pointed at berth's copies: the driver writes and deletes its files under
                // StorePath and at SSHKeyPath, and the docker-machine store is never touched.
                Some(object) => record::DriverData::from_driver(
                    berth_driver::gomachine::data_from_config(&driver_object_for_berth(
                        object,
                        machine,
                        key_path.as_deref().filter(|_| files.ssh_key.is_some()),
                    )),
                )?,
                None => record::DriverData::from_driver(serde_json::json!({
                    "ip_address": ssh.host,
                    "ssh_user": ssh.user,
                    "ssh_port": ssh.port,
                    "ssh_key": key_path,
                }))?,
            };
            record.ssh = Some(ssh);
            // docker-machine never checked host keys (its #534): pin the key now, so that
            // every later `ssh` and `provision` checks it.
            events(Event::Step("pinning the host key"));
            match handle
                .ssh_target(Some(HostKeyPolicy::Pin))
                .and_then(|t| Session::connect(&t).map_err(MachineError::from))
            {
                Ok(session) => {
                    handle.record_mut().host_key = Some(session.host_key_fingerprint());
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

/// A docker-machine driver's `Driver` object with the two paths libmachine's `BaseDriver` keeps
/// (`StorePath`, `SSHKeyPath`) moved from the docker-machine store to berth's machine folder:
/// the driver's files are then berth's copies, and its `Remove` deletes nothing of the store
/// the user imported from. Without a copied key the key path is left empty.
fn driver_object_for_berth(
    object: &serde_json::Value,
    machine: &Machine,
    copied_key: Option<&Path>,
) -> serde_json::Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        let store = berth_driver::gomachine::store_path(machine.dir());
        map.insert(
            "StorePath".to_owned(),
            serde_json::json!(store.to_string_lossy()),
        );
        map.insert(
            "SSHKeyPath".to_owned(),
            serde_json::json!(copied_key.map(|p| p.to_string_lossy()).unwrap_or_default()),
        );
    }
    object
}

/// What a docker-machine record becomes in berth.
#[derive(Debug)]
struct Plan {
    as_: ImportedAs,
    url: String,
    engine: EngineConfig,
    /// A generic machine's SSH host, port and user, parsed (also a docker-machine driver's).
    ssh: Option<(String, u16, String)>,
    /// A docker-machine driver's `Driver` object, handed back to that driver (SetConfigRaw).
    driver_object: Option<serde_json::Value>,
}

/// The refusal of one field of a foreign config.json, naming the field, the file and the value
/// (quoted, so a newline or a control character shows as what it is).
fn refusal(name: &str, file: &Path, field: &str, value: &str, what: &str) -> MachineError {
    MachineError::msg(format!(
        "refusing to import '{name}': {field} in {} is {value:?}, which is not {what}; fix it in that config.json or create the machine again with berth",
        file.display()
    ))
}

/// A POSIX user name (the portable set: letters, digits, '.', '_', '-', not starting with
/// '-'), at most 32 characters as Linux allows.
fn is_user_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 32
        && !text.starts_with('-')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// An engine URL as docker-machine's none driver records it: exactly `tcp://HOST:PORT`
/// (one trailing `/` allowed), with a host [`is_host`] accepts and a port.
fn parse_engine_url(text: &str) -> Option<HostPort> {
    let rest = text.strip_prefix("tcp://")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    // Port 0 stands for "none given": the URL must name one.
    let address = HostPort::parse(rest, 0).ok().filter(|a| a.port != 0)?;
    is_host(&address.host).then_some(address)
}

/// A port from config.json: 0 means docker-machine left it unset (`default`); 1–65535 is one.
fn parse_port(value: i64, default: u16) -> Option<u16> {
    match value {
        0 => Some(default),
        p => u16::try_from(p).ok().filter(|p| *p != 0),
    }
}

impl Plan {
    /// The plan for the record `host` of machine `name`, read from `file`: every value berth
    /// keeps is parsed here, and a value that is not what docker-machine writes is refused
    /// with the field and the file named, before anything is written.
    fn of(host: &Host, name: &str, file: &Path) -> Result<Plan, MachineError> {
        let d = &host.driver;
        let refuse = |field: &str, value: &str, what: &str| refusal(name, file, field, value, what);
        let engine_port = match d.engine_port {
            None => DEFAULT_ENGINE_PORT,
            Some(p) => parse_port(p, DEFAULT_ENGINE_PORT).ok_or_else(|| {
                refuse(
                    "Driver.EnginePort",
                    &p.to_string(),
                    "a port from 1 to 65535",
                )
            })?,
        };
        let mut engine = engine_config(host, engine_port);
        let address = |missing: String| -> Result<String, MachineError> {
            if d.ip_address.is_empty() {
                return Err(MachineError::msg(missing));
            }
            if !is_host(&d.ip_address) {
                return Err(refuse(
                    "Driver.IPAddress",
                    &d.ip_address,
                    "an IP address or a DNS name",
                ));
            }
            Ok(d.ip_address.clone())
        };
        let ssh_port_and_user = || -> Result<(u16, String), MachineError> {
            let port = parse_port(d.ssh_port, 22).ok_or_else(|| {
                refuse(
                    "Driver.SSHPort",
                    &d.ssh_port.to_string(),
                    "a port from 1 to 65535",
                )
            })?;
            let user = if d.ssh_user.is_empty() {
                "root".to_owned()
            } else if is_user_name(&d.ssh_user) {
                d.ssh_user.clone()
            } else {
                return Err(refuse("Driver.SSHUser", &d.ssh_user, "a POSIX user name"));
            };
            Ok((port, user))
        };
        let mut driver_object = None;
        let (as_, url, ssh) = match host.driver_name.as_str() {
            "generic" => {
                let ip = address(format!(
                    "docker-machine's record of '{name}' has no IPAddress; fix its config.json or create the machine again with berth"
                ))?;
                let (port, user) = ssh_port_and_user()?;
                let url = HostPort::new(ip.clone(), engine.port).engine_url();
                (ImportedAs::Generic, url, Some((ip, port, user)))
            }
            "none" => {
                let given = d.url.clone().filter(|u| !u.is_empty()).with_context(|| {
                    format!("docker-machine's record of '{name}' (none driver) has no URL")
                })?;
                let address = parse_engine_url(&given)
                    .ok_or_else(|| refuse("Driver.URL", &given, "an engine URL tcp://HOST:PORT"))?;
                engine.port = address.port;
                (ImportedAs::None, address.engine_url(), None)
            }
            other => {
                let ip = address(format!(
                    "docker-machine's record of '{name}' ({other} driver) has no IPAddress, so berth cannot tell where its engine is; start it with `docker-machine start {name}` (which records the address) and import again"
                ))?;
                let (port, user) = ssh_port_and_user()?;
                let url = HostPort::new(ip.clone(), DEFAULT_ENGINE_PORT).engine_url();
                driver_object =
                    Some(serde_json::to_value(d).context("cannot read the driver's config")?);
                (
                    ImportedAs::Driver {
                        driver: other.to_owned(),
                    },
                    url,
                    Some((ip, port, user)),
                )
            }
        };
        engine.validate().map_err(|e| {
            MachineError::msg(format!(
                "refusing to import '{name}': HostOptions.EngineOptions in {} cannot be applied: {e}",
                file.display()
            ))
        })?;
        Ok(Plan {
            as_,
            url,
            engine,
            ssh,
            driver_object,
        })
    }

    fn driver(&self) -> &str {
        match &self.as_ {
            ImportedAs::Generic => "generic",
            ImportedAs::None => "none",
            ImportedAs::Driver { driver } => driver,
        }
    }
}

/// docker-machine's engine options as berth's. Its default install script (get.docker.com)
/// is not kept: berth installs the distribution's package unless told otherwise, and the
/// engine is there already.
fn engine_config(host: &Host, port: u16) -> EngineConfig {
    let o = &host.host_options.engine_options;
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
            Path::new("config.json"),
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
        let plan = Plan::of(
            &host("virtualbox", serde_json::json!({"CPU": 2})),
            "m",
            Path::new("c"),
        )
        .unwrap();
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
            Path::new("c"),
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
            Path::new("c"),
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

    #[test]
    fn hosts_users_and_urls_are_parsed_at_the_door() {
        for good in [
            "203.0.113.7",
            "2001:db8::1",
            "web1.example.com",
            "web1",
            "host.",
            // The record's rule, one for every caller (berth_net::is_host): a label may end in
            // '-' and hold '_', so a store that loads in berth imports the same way.
            "web-.example.com",
            "host_name",
        ] {
            assert!(is_host(good), "{good}");
        }
        for bad in [
            "203.0.113.7\nProxyCommand touch /tmp/x",
            "-oProxyCommand=x",
            "a b",
            "`id`",
            "$(id)",
            "",
            "a..b",
        ] {
            assert!(!is_host(bad), "{bad:?}");
        }
        for good in ["root", "docker", "ubuntu", "a.b_c-d"] {
            assert!(is_user_name(good), "{good}");
        }
        for bad in [
            "-oProxyCommand",
            "root\n",
            "a b",
            "r`id`",
            "",
            &"u".repeat(33),
        ] {
            assert!(!is_user_name(bad), "{bad:?}");
        }
        assert_eq!(
            parse_engine_url("tcp://198.51.100.2:2380").map(|a| a.engine_url()),
            Some("tcp://198.51.100.2:2380".into())
        );
        assert!(parse_engine_url("tcp://[2001:db8::1]:2376/").is_some());
        for bad in [
            "tcp://198.51.100.2:2376`touch /tmp/x`",
            "tcp://198.51.100.2",
            "http://198.51.100.2:2376",
            "tcp://198.51.100.2:2376/x",
            "tcp://a b:2376",
            "tcp://198.51.100.2:2376\n",
        ] {
            assert!(parse_engine_url(bad).is_none(), "{bad:?}");
        }
        assert_eq!(parse_port(0, 22), Some(22));
        assert_eq!(parse_port(2222, 22), Some(2222));
        assert_eq!(parse_port(-1, 22), None);
        assert_eq!(parse_port(65536, 22), None);
    }

    #[test]
    fn hostile_fields_are_refused_naming_the_field_and_the_file() {
        let file = Path::new("/s/machines/m/config.json");
        let cases = [
            (
                "generic",
                serde_json::json!({"IPAddress": "203.0.113.7\nProxyCommand touch /tmp/pwned"}),
                "Driver.IPAddress",
            ),
            (
                "none",
                serde_json::json!({"URL": "tcp://198.51.100.2:2376`touch /tmp/pwned`"}),
                "Driver.URL",
            ),
            (
                "generic",
                serde_json::json!({"SSHUser": "-oProxyCommand=touch /tmp/pwned"}),
                "Driver.SSHUser",
            ),
            (
                "generic",
                serde_json::json!({"SSHPort": 70000}),
                "Driver.SSHPort",
            ),
            (
                "generic",
                serde_json::json!({"EnginePort": -1}),
                "Driver.EnginePort",
            ),
            (
                "virtualbox",
                serde_json::json!({"IPAddress": "a b"}),
                "Driver.IPAddress",
            ),
        ];
        for (driver, extra, field) in cases {
            let err = Plan::of(&host(driver, extra), "m", file)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(field) && err.contains("/s/machines/m/config.json"),
                "{err}"
            );
            // The value is quoted: a newline shows as \n, not as a line of its own.
            assert!(!err.contains('\n'), "{err}");
        }
        // An install URL over plain HTTP would run a stranger's script as root.
        let mut h = host("generic", serde_json::json!({}));
        h.host_options.engine_options.install_url = "http://evil.example/install.sh".into();
        let err = Plan::of(&h, "m", file).unwrap_err().to_string();
        assert!(err.contains("HostOptions.EngineOptions"), "{err}");
    }

    #[test]
    fn engine_settings_are_summed_up_without_env_values() {
        let plan = Plan::of(&host("generic", serde_json::json!({})), "m", Path::new("c")).unwrap();
        let summary = engine_summary(&plan.engine).unwrap();
        assert!(summary.contains("--engine-label a=b"), "{summary}");
        assert!(summary.contains("--engine-opt log-level=warn"), "{summary}");
        assert!(
            summary.contains("HTTP_PROXY") && !summary.contains("p:3128"),
            "{summary}"
        );
        assert_eq!(engine_summary(&EngineConfig::default()), None);
    }

    /// A docker-machine store with machine `m` on one CA, as docker-machine lays it out, and
    /// beside it a "home" holding a key the store must not reach.
    struct Fixture {
        dir: tempfile::TempDir,
        ca: berth_tls::CertificateAuthority,
        client: berth_tls::PemPair,
        server: berth_tls::PemPair,
    }

    impl Fixture {
        fn new() -> Fixture {
            use berth_tls::{CertificateAuthority, KeyAlgorithm};
            let dir = tempfile::tempdir().unwrap();
            let algo = KeyAlgorithm::EcdsaP256;
            let ca = CertificateAuthority::generate("ca", algo, 100).unwrap();
            let client = ca.issue_client("c", algo, 100).unwrap();
            let server = ca.issue_server(&["203.0.113.7".into()], algo, 100).unwrap();
            let f = Fixture {
                dir,
                ca,
                client,
                server,
            };
            let m = f.machine();
            std::fs::create_dir_all(&m).unwrap();
            std::fs::create_dir_all(f.home()).unwrap();
            std::fs::write(m.join("ca.pem"), f.ca.pem().cert_pem).unwrap();
            std::fs::write(m.join("cert.pem"), &f.client.cert_pem).unwrap();
            std::fs::write(m.join("key.pem"), &f.client.key_pem).unwrap();
            std::fs::write(m.join("server.pem"), &f.server.cert_pem).unwrap();
            std::fs::write(m.join("server-key.pem"), &f.server.key_pem).unwrap();
            std::fs::write(m.join("id_rsa"), "ssh key\n").unwrap();
            // The user's own secret, outside the store: a real key, so that only the
            // confinement (not a parse error) keeps it out.
            std::fs::write(f.home().join("id_ed25519"), f.ca.pem().key_pem).unwrap();
            f
        }
        fn store(&self) -> PathBuf {
            self.dir.path().join("store")
        }
        fn machine(&self) -> PathBuf {
            self.store().join("machines/m")
        }
        fn home(&self) -> PathBuf {
            self.dir.path().join("home")
        }
        fn source(&self, trust: bool) -> DockerMachineStore {
            DockerMachineStore::open(self.store())
                .unwrap()
                .trusting_recorded_paths(trust)
        }
        /// Reads machine `m` as import does; the warnings it gave.
        fn read(&self, trust: bool, h: &Host) -> (Result<Files, MachineError>, Vec<String>) {
            let plan = Plan::of(h, "m", Path::new("config.json")).unwrap();
            let mut warnings = Vec::new();
            let files = read_files(&self.source(trust), h, &plan, "m", &mut |e| {
                if let Event::Warn(w) = e {
                    warnings.push(w.to_owned());
                }
            });
            (files, warnings)
        }
    }

    fn read_err(f: &Fixture, h: &Host) -> String {
        match f.read(false, h).0 {
            Ok(_) => panic!("the hostile store was read"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_well_formed_store_is_read_whole() {
        let f = Fixture::new();
        let (files, warnings) = f.read(false, &host("generic", serde_json::json!({})));
        let files = files.unwrap();
        assert_eq!(files.key, f.client.key_pem);
        assert_eq!(files.server.unwrap().1, f.server.key_pem);
        assert_eq!(files.ssh_key.unwrap().0, b"ssh key\n");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(f.source(false).names().unwrap(), Vec::<String>::new());
        std::fs::write(f.machine().join("config.json"), "{}").unwrap();
        assert_eq!(f.source(false).names().unwrap(), vec!["m"]);
    }

    #[test]
    fn absolute_paths_outside_the_store_are_read_only_when_trusted() {
        let f = Fixture::new();
        std::fs::remove_file(f.machine().join("server-key.pem")).unwrap();
        let stolen = f.home().join("id_ed25519");
        let mut h = host("generic", serde_json::json!({}));
        h.host_options.auth_options.server_key_path = stolen.display().to_string();
        // Not read: no server pair is kept, and the warning names the path.
        let (files, warnings) = f.read(false, &h);
        assert!(files.unwrap().server.is_none());
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&stolen.display().to_string())
                    && w.contains("--trust-recorded-paths")),
            "{warnings:?}"
        );
        // Trusted, it is read and named, and then refused: it is not the server's key.
        let (files, warnings) = f.read(true, &h);
        let err = files.err().unwrap().to_string();
        assert!(err.contains("does not belong"), "{err}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&stolen.display().to_string())),
            "{warnings:?}"
        );
        // A required file only outside the store: missing, not read.
        std::fs::remove_file(f.machine().join("ca.pem")).unwrap();
        std::fs::write(f.home().join("ca.pem"), f.ca.pem().cert_pem).unwrap();
        h.host_options.auth_options.ca_cert_path = f.home().join("ca.pem").display().to_string();
        let err = read_err(&f, &h);
        assert!(err.contains("CA certificate of 'm' is missing"), "{err}");
        // The user's SSH key (SSHKey) outside the store: not used unless trusted.
        std::fs::remove_file(f.machine().join("id_rsa")).unwrap();
        let mut h = host(
            "generic",
            serde_json::json!({"SSHKey": stolen.display().to_string()}),
        );
        h.host_options.auth_options.ca_cert_path = String::new();
        std::fs::write(f.machine().join("ca.pem"), f.ca.pem().cert_pem).unwrap();
        let (files, _) = f.read(false, &h);
        let files = files.unwrap();
        assert!(files.ssh_key.is_none() && files.ssh_key_elsewhere.is_none());
        let (files, _) = f.read(true, &h);
        assert_eq!(files.unwrap().ssh_key_elsewhere, Some(stolen));
    }

    #[test]
    fn a_symlink_inside_the_store_is_refused() {
        use std::os::unix::fs::symlink;
        let f = Fixture::new();
        let h = host("generic", serde_json::json!({}));
        for (file, target) in [
            ("server-key.pem", f.home().join("id_ed25519")),
            // Even one that stays inside the store.
            ("key.pem", f.store().join("machines/m/server-key.pem")),
        ] {
            let at = f.machine().join(file);
            let kept = std::fs::read(&at).unwrap();
            std::fs::remove_file(&at).unwrap();
            symlink(&target, &at).unwrap();
            let err = read_err(&f, &h);
            assert!(err.contains("symbolic link") && err.contains(file), "{err}");
            std::fs::remove_file(&at).unwrap();
            std::fs::write(&at, kept).unwrap();
        }
        // A linked SSH key and a linked machine folder as well.
        std::fs::remove_file(f.machine().join("id_rsa")).unwrap();
        symlink(f.home().join("id_ed25519"), f.machine().join("id_rsa")).unwrap();
        assert!(read_err(&f, &h).contains("symbolic link"));
        let linked = f.store().join("machines/evil");
        symlink(f.home(), &linked).unwrap();
        assert!(
            !f.source(false)
                .names()
                .unwrap()
                .contains(&"evil".to_owned())
        );
    }

    #[test]
    fn a_fifo_is_refused_without_waiting() {
        let f = Fixture::new();
        let at = f.machine().join("server.pem");
        std::fs::remove_file(&at).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &at,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        // No writer ever opens it: a blocking read would hang this test.
        let err = read_err(&f, &host("generic", serde_json::json!({})));
        assert!(err.contains("FIFO") && err.contains("server.pem"), "{err}");
    }

    #[test]
    fn a_huge_file_is_refused() {
        let f = Fixture::new();
        let mut big = f.client.cert_pem.clone().into_bytes();
        big.resize(usize::try_from(KEY_LIMIT).unwrap() + 1, b'\n');
        std::fs::write(f.machine().join("cert.pem"), big).unwrap();
        let err = read_err(&f, &host("generic", serde_json::json!({})));
        assert!(
            err.contains("larger than") && err.contains("cert.pem"),
            "{err}"
        );
        // A trusted recorded path to a device is refused too (never read to its end).
        let f = Fixture::new();
        std::fs::remove_file(f.machine().join("server-key.pem")).unwrap();
        let mut h = host("generic", serde_json::json!({}));
        h.host_options.auth_options.server_key_path = "/dev/zero".into();
        let err = f.read(true, &h).0.err().unwrap().to_string();
        assert!(err.contains("character device"), "{err}");
    }

    #[test]
    fn a_key_that_is_not_its_certificates_is_refused() {
        let f = Fixture::new();
        let h = host("generic", serde_json::json!({}));
        std::fs::write(f.machine().join("server-key.pem"), &f.client.key_pem).unwrap();
        let err = read_err(&f, &h);
        assert!(
            err.contains("server key") && err.contains("does not belong"),
            "{err}"
        );
        let f = Fixture::new();
        std::fs::write(f.machine().join("key.pem"), &f.server.key_pem).unwrap();
        let err = read_err(&f, &h);
        assert!(
            err.contains("client key") && err.contains("does not belong"),
            "{err}"
        );
    }

    /// Regression: the imported driver config kept the docker-machine store's paths, and the
    /// driver's Remove (run by `berth rm`) deleted its key copy in that store.
    #[test]
    fn a_go_driver_config_points_at_berth_s_folder_not_the_imported_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("machines"));
        let (machine, _lock) = store
            .create_machine("gt1", &serde_json::json!({ "version": 1 }))
            .unwrap();
        let object = serde_json::json!({
            "MachineName": "gt1",
            "StorePath": "/home/u/.docker/machine",
            "SSHKeyPath": "/home/u/.docker/machine/machines/gt1/id_rsa",
            "SSHKey": "/home/u/.ssh/id_ed25519",
            "Token": "t",
        });
        let copied = machine.path(SSH_KEY_FILE);
        let moved = driver_object_for_berth(&object, &machine, Some(&copied));
        assert_eq!(
            moved["StorePath"],
            serde_json::json!(dir.path().to_string_lossy())
        );
        assert_eq!(
            moved["SSHKeyPath"],
            serde_json::json!(copied.to_string_lossy())
        );
        assert_eq!(moved["SSHKey"], object["SSHKey"]);
        assert_eq!(moved["Token"], object["Token"]);
        let without_key = driver_object_for_berth(&object, &machine, None);
        assert_eq!(without_key["SSHKeyPath"], serde_json::json!(""));
    }
}
