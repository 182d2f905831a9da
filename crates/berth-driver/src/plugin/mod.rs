//! The host side of the plugin protocol: a [`Driver`] that forwards every
//! call to a `berth-driver-<name>` process.
//!
//! The protocol is strictly one request at a time per process, which keeps
//! plugins a simple read-answer loop in any language. Concurrency (creating
//! five machines at once) comes from processes instead: a call borrows an
//! idle, activated process or starts a new one, and a process that
//! misbehaved is never reused.

mod checks;
mod discover;
mod process;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use discover::{PLUGIN_PREFIX, PluginSearch, validate_name};
pub use process::LogSink;
pub(crate) use process::printable;

use berth_plugin::DriverError;
use berth_plugin::protocol::{
    self, ActivateParams, ActivateResult, AddressResult, RpcError, codes,
};
use berth_plugin::{
    CreateRequest, Created, FlagSpec, GuestFile, MachineRef, MachineState, Operation, SshEndpoint,
    StartRequest,
};
use berth_plugin::{Driver, Interrupter};
use process::{CallError, PluginProcess, Waker};

/// The calls under way of one [`PluginDriver`], so that an interrupt can end them all. Once
/// fired it stays fired: berth is on its way out, and a call that starts later fails at once.
#[derive(Default)]
struct Interrupts {
    fired: AtomicBool,
    next: AtomicU64,
    busy: Mutex<Vec<(u64, Waker)>>,
}

impl Interrupts {
    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        if let Ok(busy) = self.busy.lock() {
            for (_, waker) in busy.iter() {
                waker.wake();
            }
        }
    }

    fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Registers a call; an interrupt that came first wakes it at once. Checked under the
    /// lock that `fire` takes, so no interrupt falls between the check and the registration.
    fn register(&self, waker: Option<Waker>) -> Option<u64> {
        let waker = waker?;
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let mut busy = self.busy.lock().ok()?;
        if self.fired() {
            waker.wake();
        }
        busy.push((id, waker));
        Some(id)
    }

    fn unregister(&self, id: Option<u64>) {
        if let (Some(id), Ok(mut busy)) = (id, self.busy.lock()) {
            busy.retain(|(i, _)| *i != id);
        }
    }

    /// The error for a call that was not started because berth was interrupted.
    fn refused(&self, plugin: &Path, method: &str) -> Option<DriverError> {
        self.fired().then(|| DriverError::PluginInterrupted {
            plugin: plugin.to_path_buf(),
            method: method.to_owned(),
            how: "it was not asked to start".to_owned(),
        })
    }
}

/// How long each call may take before berth kills the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// `Plugin.Activate`: a plugin answers it without doing any work.
    pub activate: Duration,
    /// `Driver.CreateFlags`.
    pub create_flags: Duration,
    /// `Driver.Create`: may download and boot an operating system.
    pub create: Duration,
    /// `Driver.Start`.
    pub start: Duration,
    /// `Driver.Stop`.
    pub stop: Duration,
    /// `Driver.Restart`.
    pub restart: Duration,
    /// `Driver.Kill`.
    pub kill: Duration,
    /// `Driver.Remove`.
    pub remove: Duration,
    /// `Driver.State`: `berth ls` waits on it for every machine.
    pub state: Duration,
    /// `Driver.Address`.
    pub address: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(60 * m);
        Self {
            activate: Duration::from_secs(10),
            create_flags: Duration::from_secs(10),
            create: min(30),
            start: min(5),
            stop: min(5),
            restart: min(10),
            kill: min(1),
            remove: min(10),
            state: Duration::from_secs(30),
            address: Duration::from_secs(30),
        }
    }
}

impl Deadlines {
    /// Every deadline set to `d` (tests use a short one).
    pub fn all(d: Duration) -> Self {
        Self {
            activate: d,
            create_flags: d,
            create: d,
            start: d,
            stop: d,
            restart: d,
            kill: d,
            remove: d,
            state: d,
            address: d,
        }
    }

    /// The deadline for one operation.
    pub fn for_operation(&self, op: Operation) -> Duration {
        match op {
            Operation::Create => self.create,
            Operation::Start => self.start,
            Operation::Stop => self.stop,
            Operation::Restart => self.restart,
            Operation::Kill => self.kill,
            Operation::Remove => self.remove,
            Operation::State => self.state,
            Operation::Address => self.address,
        }
    }
}

/// How berth runs plugins.
#[derive(Clone)]
pub struct PluginOptions {
    /// Per-call deadlines.
    pub deadlines: Deadlines,
    /// How long a plugin may take to exit after its stdin closes, and to
    /// report its exit status after a crash, before it is killed.
    pub grace: Duration,
    /// Receives each stderr line as `(driver name, line)`. The default logs
    /// it at debug level through `tracing`, which `berth --debug` shows.
    pub log: LogSink,
}

impl Default for PluginOptions {
    fn default() -> Self {
        Self {
            deadlines: Deadlines::default(),
            grace: Duration::from_secs(5),
            log: Arc::new(
                |driver, line| tracing::debug!(target: "berth_driver::plugin", driver, "{line}"),
            ),
        }
    }
}

impl std::fmt::Debug for PluginOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginOptions")
            .field("deadlines", &self.deadlines)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// A driver implemented by a plugin executable.
pub struct PluginDriver {
    path: PathBuf,
    name: String,
    activation: ActivateResult,
    options: PluginOptions,
    idle: Mutex<Vec<PluginProcess>>,
    interrupts: Arc<Interrupts>,
    /// When the first process was started, until the first `Driver.CreateFlags` takes it:
    /// starting a plugin to list its flags is one step to the user, with one deadline for the
    /// handshake and the listing together (two in a row let a slow plugin cost twice as long).
    launched: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for PluginDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginDriver")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("activation", &self.activation)
            .finish_non_exhaustive()
    }
}

impl PluginDriver {
    /// Start the plugin at `path` and complete the handshake, so that a
    /// plugin of the wrong version or kind is refused before any work.
    pub fn launch(path: &Path, options: PluginOptions) -> Result<Self, DriverError> {
        let name = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(|f| f.strip_prefix(PLUGIN_PREFIX))
            .unwrap_or("plugin")
            .to_owned();
        let interrupts = Arc::new(Interrupts::default());
        let launched = Instant::now();
        let (process, activation) = activate(path, &name, &options, &interrupts)?;
        if activation.name != name {
            tracing::debug!(plugin = %path.display(), announced = activation.name, "plugin calls itself by another name");
        }
        Ok(Self {
            path: path.to_path_buf(),
            name,
            activation,
            options,
            idle: Mutex::new(vec![process]),
            interrupts,
            launched: Mutex::new(Some(launched)),
        })
    }

    /// The plugin executable's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the plugin said in its handshake.
    pub fn activation(&self) -> &ActivateResult {
        &self.activation
    }

    /// Run `method` on an idle process (or a fresh one) and decode its result.
    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &Value,
        deadline: Duration,
        progress: &dyn Fn(&str),
    ) -> Result<T, CallFailure> {
        if let Some(e) = self.interrupts.refused(&self.path, method) {
            return Err(CallFailure::Driver(e));
        }
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let mut process = match idle {
            Some(p) => p,
            None => {
                activate(&self.path, &self.name, &self.options, &self.interrupts)
                    .map_err(CallFailure::Driver)?
                    .0
            }
        };
        let registered = self.interrupts.register(process.waker());
        let outcome = process.call(method, params, deadline, progress);
        self.interrupts.unregister(registered);
        match outcome {
            Ok(result) => {
                self.park(process);
                serde_json::from_value(result).map_err(|e| {
                    CallFailure::Driver(DriverError::PluginBadResult {
                        plugin: self.path.clone(),
                        method: method.to_owned(),
                        detail: e.to_string(),
                    })
                })
            }
            Err(CallError::Rpc(e)) => {
                self.park(process);
                Err(CallFailure::Rpc(e))
            }
            // The process is dropped here: it already was killed or exited.
            Err(CallError::Fatal(e)) => Err(CallFailure::Driver(e)),
        }
    }

    fn park(&self, process: PluginProcess) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(process);
        }
    }

    /// A lifecycle call on an existing machine.
    fn machine_call<T: DeserializeOwned>(
        &self,
        op: Operation,
        m: &MachineRef,
        progress: &dyn Fn(&str),
    ) -> Result<T, DriverError> {
        let params = serde_json::to_value(m).map_err(|e| self.encode_error(op.method(), &e))?;
        self.call(
            op.method(),
            &params,
            self.options.deadlines.for_operation(op),
            progress,
        )
        .map_err(|f| self.failure(f, op.as_str(), Some(op), &m.name))
    }

    fn bad_result(&self, method: &str, detail: String) -> DriverError {
        DriverError::PluginBadResult {
            plugin: self.path.clone(),
            method: method.to_owned(),
            detail,
        }
    }

    fn encode_error(&self, method: &str, e: &serde_json::Error) -> DriverError {
        DriverError::PluginIo {
            plugin: self.path.clone(),
            method: method.to_owned(),
            source: std::io::Error::other(format!("berth could not encode the request: {e}")),
        }
    }

    /// Turn a plugin's JSON-RPC error into the matching [`DriverError`].
    fn failure(
        &self,
        f: CallFailure,
        what: &str,
        op: Option<Operation>,
        machine: &str,
    ) -> DriverError {
        let e = match f {
            CallFailure::Driver(e) => return e,
            CallFailure::Rpc(e) => e,
        };
        let driver = self.name.clone();
        match (e.code, op) {
            (codes::UNSUPPORTED | codes::METHOD_NOT_FOUND, Some(operation)) => {
                DriverError::Unsupported {
                    driver,
                    operation,
                    reason: e.message,
                }
            }
            (codes::NOT_FOUND, _) => DriverError::MachineNotFound {
                driver,
                machine: machine.to_owned(),
                detail: e.message,
            },
            (codes::INVALID_FLAG, _) => DriverError::InvalidFlag {
                driver,
                flag: e
                    .data
                    .as_ref()
                    .and_then(|d| d.get("flag"))
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned(),
                reason: e.message,
            },
            (codes::INVALID_DATA, _) => DriverError::InvalidData {
                driver,
                machine: machine.to_owned(),
                reason: e.message,
            },
            (codes::DRIVER_FAILED, _) => DriverError::Failed {
                driver,
                operation: what.to_owned(),
                message: e.message,
            },
            (code, _) => DriverError::Failed {
                driver,
                operation: what.to_owned(),
                message: format!("{} (plugin error code {code})", e.message),
            },
        }
    }
}

enum CallFailure {
    Rpc(RpcError),
    Driver(DriverError),
}

/// Start a process and check its handshake.
fn activate(
    path: &Path,
    name: &str,
    options: &PluginOptions,
    interrupts: &Interrupts,
) -> Result<(PluginProcess, ActivateResult), DriverError> {
    if let Some(e) = interrupts.refused(path, protocol::ACTIVATE) {
        return Err(e);
    }
    let mut process = PluginProcess::spawn(path, name, Arc::clone(&options.log), options.grace)?;
    let params = serde_json::to_value(ActivateParams {
        protocol_version: protocol::PROTOCOL_VERSION,
        berth_version: env!("CARGO_PKG_VERSION").to_owned(),
    })
    .unwrap_or(Value::Null);
    let registered = interrupts.register(process.waker());
    let outcome = process.call(
        protocol::ACTIVATE,
        &params,
        options.deadlines.activate,
        &|_| {},
    );
    interrupts.unregister(registered);
    let raw = match outcome {
        Ok(raw) => raw,
        Err(CallError::Fatal(e)) => return Err(e),
        Err(CallError::Rpc(e)) => {
            return Err(DriverError::PluginGarbage {
                plugin: path.to_path_buf(),
                method: protocol::ACTIVATE.to_owned(),
                detail: format!("it refused the handshake: {} (code {})", e.message, e.code),
            });
        }
    };
    // The version is checked before the rest of the shape: a future protocol
    // may change that shape, and "wrong version" is the useful message then.
    match raw.get("protocol_version").and_then(Value::as_u64) {
        Some(protocol::PROTOCOL_VERSION) => {}
        Some(found) => {
            return Err(DriverError::PluginVersion {
                plugin: path.to_path_buf(),
                found,
                supported: protocol::PROTOCOL_VERSION,
            });
        }
        None => {
            return Err(DriverError::PluginBadResult {
                plugin: path.to_path_buf(),
                method: protocol::ACTIVATE.to_owned(),
                detail: "protocol_version is missing or not a whole number".to_owned(),
            });
        }
    }
    let activation: ActivateResult =
        serde_json::from_value(raw).map_err(|e| DriverError::PluginBadResult {
            plugin: path.to_path_buf(),
            method: protocol::ACTIVATE.to_owned(),
            detail: e.to_string(),
        })?;
    if !activation
        .implements
        .iter()
        .any(|i| i == protocol::DRIVER_INTERFACE)
    {
        return Err(DriverError::PluginNotADriver {
            plugin: path.to_path_buf(),
            implements: activation.implements,
        });
    }
    Ok((process, activation))
}

impl Driver for PluginDriver {
    fn name(&self) -> &str {
        &self.name
    }

    fn supports(&self, op: Operation) -> bool {
        match &self.activation.capabilities.operations {
            None => true,
            Some(ops) => ops.contains(&op),
        }
    }

    fn create_flags(&self) -> Result<Vec<FlagSpec>, DriverError> {
        let budget = self.options.deadlines.create_flags;
        let launched = self.launched.lock().ok().and_then(|mut l| l.take());
        let deadline = launched.map_or(budget, |at| budget.saturating_sub(at.elapsed()));
        let raw: Value = self
            .call(
                protocol::CREATE_FLAGS,
                &Value::Object(Default::default()),
                deadline,
                &|_| {},
            )
            .map_err(|f| match self.failure(f, "list the flags of", None, "") {
                DriverError::PluginTimedOut {
                    plugin,
                    method,
                    stderr_tail,
                    ..
                } if launched.is_some() => DriverError::PluginTimedOut {
                    plugin,
                    method: format!("{} and {method}", protocol::ACTIVATE),
                    deadline: budget,
                    stderr_tail,
                },
                e => e,
            })?;
        checks::flags(raw).map_err(|detail| self.bad_result(protocol::CREATE_FLAGS, detail))
    }

    fn create(&self, req: &CreateRequest, progress: &dyn Fn(&str)) -> Result<Created, DriverError> {
        let op = Operation::Create;
        let params = serde_json::to_value(req).map_err(|e| self.encode_error(op.method(), &e))?;
        let created: Created = self
            .call(
                op.method(),
                &params,
                self.options.deadlines.create,
                progress,
            )
            .map_err(|f| self.failure(f, op.as_str(), Some(op), &req.machine))?;
        // docs/plugins.md: a create answers where to reach the host (`ssh`) or, for an engine
        // that is already set up, its `engine_url`. With neither, berth would record a Running
        // machine that nothing can reach.
        if created.ssh.is_none() && created.engine_url.is_none() {
            return Err(self.bad_result(op.method(), "it has neither `ssh` (where to reach the host) nor `engine_url` (an engine already set up); one of them is required".to_owned()));
        }
        checks::data(&created.data).map_err(|detail| self.bad_result(op.method(), detail))?;
        Ok(created)
    }

    fn start(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.machine_call::<Value>(Operation::Start, m, progress)
            .map(drop)
    }

    /// `Driver.Start` with the files in its parameters. Sent only to a plugin that answered
    /// `boot_pending` to this create, so it knows the field.
    fn start_with_files(
        &self,
        m: &MachineRef,
        files: &[GuestFile],
        progress: &dyn Fn(&str),
    ) -> Result<(), DriverError> {
        let op = Operation::Start;
        let request = StartRequest {
            machine: m.clone(),
            files: files.to_vec(),
        };
        let params =
            serde_json::to_value(&request).map_err(|e| self.encode_error(op.method(), &e))?;
        self.call::<Value>(
            op.method(),
            &params,
            self.options.deadlines.for_operation(op),
            progress,
        )
        .map(drop)
        .map_err(|f| self.failure(f, op.as_str(), Some(op), &m.name))
    }

    fn stop(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.machine_call::<Value>(Operation::Stop, m, progress)
            .map(drop)
    }

    fn restart(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.machine_call::<Value>(Operation::Restart, m, progress)
            .map(drop)
    }

    fn kill(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.machine_call::<Value>(Operation::Kill, m, progress)
            .map(drop)
    }

    fn remove(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.machine_call::<Value>(Operation::Remove, m, progress)
            .map(drop)
    }

    fn state(&self, m: &MachineRef) -> Result<MachineState, DriverError> {
        let raw: Value = self.machine_call(Operation::State, m, &|_| {})?;
        checks::state(&raw).map_err(|detail| self.bad_result(Operation::State.method(), detail))
    }

    fn ssh_endpoint(&self, m: &MachineRef) -> Result<SshEndpoint, DriverError> {
        self.machine_call::<AddressResult>(Operation::Address, m, &|_| {})
            .map(|r| r.ssh)
    }

    fn interrupter(&self) -> Option<Interrupter> {
        let interrupts = Arc::clone(&self.interrupts);
        Some(Arc::new(move || interrupts.fire()))
    }
}
