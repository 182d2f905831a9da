//! [`GoPlugin`]: one running docker-machine driver plugin and the calls of libmachine's
//! `RPCServerDriver` (`libmachine/drivers/rpc/server_driver.go`), typed.
//!
//! After the handshake, `GetVersion` must answer 1 (docker-machine 0.16's API); a server that
//! does not know the service `RPCServerDriver` is retried as `RpcServerDriver`, the name of API
//! version 0, as docker-machine's client does. A thread sends `Heartbeat` every 5 s — the
//! plugin exits after 10 s without one — and `Close` ends the session.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gobwire::{Dynamic, Encode, Interface, Value};

use crate::conn::{Broken, CallErr, Conn};
use crate::error::GoRpcError;
use crate::launch::{self, LineSink, Process, Stream};
use crate::messages::{self, Empty, GoFlag, GoValue};

/// The plugin API version of docker-machine 0.16 (`libmachine/version`, `APIVersion`).
pub const API_VERSION: i64 = 1;
/// The service name of API version 1, and the one of version 0.
const SERVICE_V1: &str = "RPCServerDriver";
const SERVICE_V0: &str = "RpcServerDriver";
/// docker-machine's heartbeat interval (`client_driver.go`); plugins exit after 10 s without.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// The most text berth keeps of one error message from the driver.
const MAX_REMOTE_ERROR: usize = 4096;

/// How long each kind of call may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoDeadlines {
    /// Printing the address (docker-machine waits 10 s), and the CONNECT exchange.
    pub start: Duration,
    /// Calls that only read or set the driver's config (`GetVersion`, `SetConfigRaw`,
    /// `GetCreateFlags`, the getters, `Heartbeat`).
    pub quick: Duration,
    /// `GetState` and `PreCreateCheck`, which may ask a cloud.
    pub state: Duration,
    /// `Create`: may boot a machine in a cloud.
    pub create: Duration,
    /// `Start`, `Stop`, `Restart`, `Kill`, `Remove`.
    pub power: Duration,
    /// How long the plugin may take to exit after `Close` before it is killed.
    pub close: Duration,
}

impl Default for GoDeadlines {
    fn default() -> Self {
        Self {
            start: Duration::from_secs(10),
            quick: Duration::from_secs(30),
            state: Duration::from_secs(120),
            create: Duration::from_secs(30 * 60),
            power: Duration::from_secs(10 * 60),
            close: Duration::from_secs(3),
        }
    }
}

impl GoDeadlines {
    /// Every deadline set to `d` (tests use a short one).
    pub fn all(d: Duration) -> Self {
        Self {
            start: d,
            quick: d,
            state: d,
            create: d,
            power: d,
            close: d,
        }
    }
}

/// How a plugin is run.
#[derive(Clone)]
pub struct LaunchOptions {
    /// Per-call deadlines.
    pub deadlines: GoDeadlines,
    /// Makes the plugin's text safe to print (control characters escaped); applied to every
    /// line and message before it is shown or kept.
    pub escape: fn(&str) -> String,
    /// Where output lines go that no call with progress is waiting for.
    pub sink: LineSink,
    /// How often a heartbeat goes out.
    pub heartbeat: Duration,
}

impl std::fmt::Debug for LaunchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaunchOptions")
            .field("deadlines", &self.deadlines)
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self {
            deadlines: GoDeadlines::default(),
            escape: |s| s.escape_debug().to_string(),
            sink: Arc::new(|driver, stream, line| match stream {
                Stream::Stdout => tracing::info!(target: "berth_gorpc", driver, "{line}"),
                Stream::Stderr => tracing::debug!(target: "berth_gorpc", driver, "{line}"),
            }),
            heartbeat: HEARTBEAT_INTERVAL,
        }
    }
}

/// A driver's state as libmachine reports it (`libmachine/state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoState {
    /// `state.None` (0): the driver cannot tell.
    None,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Saved (suspended to disk).
    Saved,
    /// Stopped.
    Stopped,
    /// Stopping.
    Stopping,
    /// Starting.
    Starting,
    /// Error.
    Error,
    /// Timeout.
    Timeout,
}

impl GoState {
    fn from_int(i: i64) -> Option<Self> {
        Some(match i {
            0 => Self::None,
            1 => Self::Running,
            2 => Self::Paused,
            3 => Self::Saved,
            4 => Self::Stopped,
            5 => Self::Stopping,
            6 => Self::Starting,
            7 => Self::Error,
            8 => Self::Timeout,
            _ => return None,
        })
    }
}

/// A running plugin, handshaken, with its heartbeat going.
pub struct GoPlugin {
    driver: String,
    path: PathBuf,
    conn: Arc<Conn>,
    process: Arc<Mutex<Process>>,
    service: &'static str,
    options: LaunchOptions,
    heartbeat: Option<Sender<()>>,
    closed: bool,
}

impl std::fmt::Debug for GoPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoPlugin")
            .field("driver", &self.driver)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Ends a plugin's calls under way from another thread (Ctrl-C): each returns
/// [`GoRpcError::Interrupted`] and the plugin is killed.
#[derive(Clone)]
pub struct GoInterrupter {
    conn: Arc<Conn>,
    process: Arc<Mutex<Process>>,
}

impl GoInterrupter {
    /// Ends the calls and the plugin.
    pub fn interrupt(&self) {
        self.conn.interrupt();
        if let Ok(mut p) = self.process.lock() {
            p.kill();
        }
        self.conn.shut();
    }
}

impl GoPlugin {
    /// Starts the binary at `path` as driver `driver`, connects, and checks the API version.
    pub fn launch(driver: &str, path: &Path, options: LaunchOptions) -> Result<Self, GoRpcError> {
        let progress = Arc::new(Mutex::new(None));
        let (process, addr) = launch::start(
            driver,
            path,
            options.deadlines.start,
            options.escape,
            &options.sink,
            Arc::clone(&progress),
        )?;
        let process = Arc::new(Mutex::new(process));
        let conn = match Conn::open(addr, options.deadlines.start, progress) {
            Ok(conn) => Arc::new(conn),
            Err(detail) => {
                if let Ok(mut p) = process.lock() {
                    p.kill();
                }
                return Err(GoRpcError::Handshake {
                    driver: driver.to_owned(),
                    detail: (options.escape)(&detail),
                });
            }
        };
        let mut plugin = Self {
            driver: driver.to_owned(),
            path: path.to_path_buf(),
            conn,
            process,
            service: SERVICE_V1,
            options,
            heartbeat: None,
            closed: false,
        };
        let version = match plugin.get_version() {
            Ok(v) => v,
            Err(GoRpcError::Remote { .. }) => {
                plugin.service = SERVICE_V0;
                plugin.get_version()?
            }
            Err(e) => return Err(e),
        };
        if version != API_VERSION {
            return Err(GoRpcError::Version {
                driver: plugin.driver.clone(),
                found: version,
                supported: API_VERSION,
            });
        }
        plugin.start_heartbeat();
        Ok(plugin)
    }

    /// The driver's name.
    pub fn driver(&self) -> &str {
        &self.driver
    }

    /// The binary that serves it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What ends this plugin's calls from another thread.
    pub fn interrupter(&self) -> GoInterrupter {
        GoInterrupter {
            conn: Arc::clone(&self.conn),
            process: Arc::clone(&self.process),
        }
    }

    fn start_heartbeat(&mut self) {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let conn = Arc::clone(&self.conn);
        let method = format!("{}.Heartbeat", self.service);
        let every = self.options.heartbeat;
        let deadline = self.options.deadlines.quick;
        let driver = self.driver.clone();
        let started = std::thread::Builder::new()
            .name(format!("go-plugin-heartbeat-{}", self.driver))
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stop_rx.recv_timeout(every) {
                    if let Err(e) = conn.call(&method, &Empty {}, deadline, None) {
                        tracing::debug!(driver, error = ?e, "the heartbeat failed; the next call will say why");
                        return;
                    }
                }
            });
        if started.is_ok() {
            self.heartbeat = Some(stop_tx);
        }
    }

    /// One call of `RPCServerDriver.NAME`, its failures turned into [`GoRpcError`]s.
    fn call(
        &self,
        name: &str,
        args: &dyn Encode,
        deadline: Duration,
        progress: Option<&dyn Fn(&str)>,
    ) -> Result<Dynamic, GoRpcError> {
        let method = format!("{}.{name}", self.service);
        self.conn
            .call(&method, args, deadline, progress)
            .map_err(|e| self.failure(name, deadline, e))
    }

    fn failure(&self, method: &str, deadline: Duration, e: CallErr) -> GoRpcError {
        let driver = self.driver.clone();
        let method = method.to_owned();
        let escape = self.options.escape;
        match e {
            CallErr::Remote(message) => GoRpcError::Remote {
                driver,
                method,
                message: escape(&crate::conn::cut_to(&message, MAX_REMOTE_ERROR)),
            },
            CallErr::Interrupted => GoRpcError::Interrupted { driver, method },
            CallErr::TimedOut => {
                let tail = self.stop();
                GoRpcError::TimedOut {
                    driver,
                    method,
                    deadline,
                    stderr_tail: tail,
                }
            }
            CallErr::Broken(Broken::Malformed(detail)) => {
                self.stop();
                GoRpcError::Malformed {
                    driver,
                    method,
                    detail: escape(&detail),
                }
            }
            CallErr::Broken(Broken::Closed) => {
                let (status, tail) = self.exit_status("it closed the connection");
                GoRpcError::Exited {
                    driver,
                    method,
                    status,
                    stderr_tail: tail,
                }
            }
            CallErr::Broken(Broken::Io(e)) => {
                let (status, tail) = self.exit_status(&format!("reading its answer failed ({e})"));
                GoRpcError::Exited {
                    driver,
                    method,
                    status,
                    stderr_tail: tail,
                }
            }
            CallErr::Io(e) => {
                let (status, tail) = self.exit_status(&format!("sending the request failed ({e})"));
                GoRpcError::Exited {
                    driver,
                    method,
                    status,
                    stderr_tail: tail,
                }
            }
            CallErr::Encode(detail) => GoRpcError::Io {
                driver,
                method,
                source: std::io::Error::other(format!(
                    "berth could not encode the request: {detail}"
                )),
            },
        }
    }

    /// Kills the plugin; its last stderr lines.
    fn stop(&self) -> Vec<String> {
        self.conn.shut();
        match self.process.lock() {
            Ok(mut p) => {
                p.kill();
                p.tail()
            }
            Err(_) => Vec::new(),
        }
    }

    /// After the connection closed: how the plugin ended (killed when it lingers).
    fn exit_status(&self, what: &str) -> (String, Vec<String>) {
        self.conn.shut();
        let Ok(mut p) = self.process.lock() else {
            return ("its state is unknown".to_owned(), Vec::new());
        };
        let status = match p.wait_exit(self.options.deadlines.close) {
            Some(status) => launch::describe(status),
            None => {
                p.kill();
                format!("{what} but it kept running, so berth stopped it")
            }
        };
        (status, p.tail())
    }

    fn malformed(&self, method: &str, detail: String) -> GoRpcError {
        self.stop();
        GoRpcError::Malformed {
            driver: self.driver.clone(),
            method: method.to_owned(),
            detail,
        }
    }

    fn int_call(&self, name: &str, deadline: Duration) -> Result<i64, GoRpcError> {
        match self.call(name, &Empty {}, deadline, None)?.value {
            Value::Int(i) => Ok(i),
            other => Err(self.malformed(
                name,
                format!("it answered {} instead of a number", kind(&other)),
            )),
        }
    }

    fn string_call(&self, name: &str) -> Result<String, GoRpcError> {
        match self
            .call(name, &Empty {}, self.options.deadlines.quick, None)?
            .value
        {
            Value::String(s) => Ok(s),
            other => Err(self.malformed(
                name,
                format!("it answered {} instead of a string", kind(&other)),
            )),
        }
    }

    fn unit_call(
        &self,
        name: &str,
        deadline: Duration,
        progress: Option<&dyn Fn(&str)>,
    ) -> Result<(), GoRpcError> {
        self.call(name, &Empty {}, deadline, progress).map(drop)
    }

    /// `GetVersion`.
    pub fn get_version(&self) -> Result<i64, GoRpcError> {
        self.int_call("GetVersion", self.options.deadlines.quick)
    }

    /// `SetConfigRaw`: the driver's JSON config, as `GetConfigRaw` gave it (or a bare
    /// `{"MachineName":…,"StorePath":…}` before create).
    pub fn set_config_raw(&self, json: &[u8]) -> Result<(), GoRpcError> {
        self.call(
            "SetConfigRaw",
            &json.to_vec(),
            self.options.deadlines.quick,
            None,
        )
        .map(drop)
    }

    /// `GetConfigRaw`: the driver's JSON config (it holds its secrets).
    pub fn get_config_raw(&self) -> Result<Vec<u8>, GoRpcError> {
        match self
            .call(
                "GetConfigRaw",
                &Empty {},
                self.options.deadlines.quick,
                None,
            )?
            .value
        {
            Value::Bytes(b) => Ok(b),
            other => Err(self.malformed(
                "GetConfigRaw",
                format!("it answered {} instead of bytes", kind(&other)),
            )),
        }
    }

    /// `GetCreateFlags`.
    pub fn get_create_flags(&self) -> Result<Vec<GoFlag>, GoRpcError> {
        let name = "GetCreateFlags";
        let body = self.call(name, &Empty {}, self.options.deadlines.quick, None)?;
        let items = match body.value {
            Value::Slice(items) => items,
            other => {
                return Err(self.malformed(
                    name,
                    format!("it answered {} instead of a list", kind(&other)),
                ));
            }
        };
        let items: Vec<Option<Interface>> = items
            .into_iter()
            .map(|v| match v {
                Value::Interface(i) => Ok(i.map(|b| *b)),
                other => Err(format!(
                    "a list element that is {}, not a flag",
                    kind(&other)
                )),
            })
            .collect::<Result<_, _>>()
            .map_err(|d| self.malformed(name, d))?;
        messages::flags(items).map_err(|d| self.malformed(name, (self.options.escape)(&d)))
    }

    /// `SetConfigFromFlags` with docker-machine's `RPCFlags`.
    pub fn set_config_from_flags(
        &self,
        values: &BTreeMap<String, GoValue>,
    ) -> Result<(), GoRpcError> {
        let name = "SetConfigFromFlags";
        let args = messages::rpc_flags(values).map_err(|detail| GoRpcError::Io {
            driver: self.driver.clone(),
            method: name.to_owned(),
            source: std::io::Error::other(format!("berth could not encode the flags: {detail}")),
        })?;
        self.call(name, &args, self.options.deadlines.quick, None)
            .map(drop)
    }

    /// `DriverName`.
    pub fn driver_name(&self) -> Result<String, GoRpcError> {
        self.string_call("DriverName")
    }
    /// `GetMachineName`.
    pub fn get_machine_name(&self) -> Result<String, GoRpcError> {
        self.string_call("GetMachineName")
    }
    /// `GetURL`: the engine's URL as the driver sees it.
    pub fn get_url(&self) -> Result<String, GoRpcError> {
        self.string_call("GetURL")
    }
    /// `GetIP`.
    pub fn get_ip(&self) -> Result<String, GoRpcError> {
        self.string_call("GetIP")
    }
    /// `GetSSHHostname`.
    pub fn get_ssh_hostname(&self) -> Result<String, GoRpcError> {
        self.string_call("GetSSHHostname")
    }
    /// `GetSSHKeyPath`.
    pub fn get_ssh_key_path(&self) -> Result<String, GoRpcError> {
        self.string_call("GetSSHKeyPath")
    }
    /// `GetSSHUsername`.
    pub fn get_ssh_username(&self) -> Result<String, GoRpcError> {
        self.string_call("GetSSHUsername")
    }
    /// `GetSSHPort`.
    pub fn get_ssh_port(&self) -> Result<i64, GoRpcError> {
        self.int_call("GetSSHPort", self.options.deadlines.quick)
    }
    /// `GetState`.
    pub fn get_state(&self) -> Result<GoState, GoRpcError> {
        let i = self.int_call("GetState", self.options.deadlines.state)?;
        GoState::from_int(i).ok_or_else(|| {
            self.malformed(
                "GetState",
                format!("it answered state {i}, which libmachine does not have"),
            )
        })
    }
    /// `PreCreateCheck`.
    pub fn pre_create_check(&self, progress: &dyn Fn(&str)) -> Result<(), GoRpcError> {
        self.unit_call(
            "PreCreateCheck",
            self.options.deadlines.state,
            Some(progress),
        )
    }
    /// `Create`.
    pub fn create(&self, progress: &dyn Fn(&str)) -> Result<(), GoRpcError> {
        self.unit_call("Create", self.options.deadlines.create, Some(progress))
    }
    /// `Start`.
    pub fn start(&self, progress: &dyn Fn(&str)) -> Result<(), GoRpcError> {
        self.unit_call("Start", self.options.deadlines.power, Some(progress))
    }
    /// `Stop`.
    pub fn stop_machine(&self, progress: &dyn Fn(&str)) -> Result<(), GoRpcError> {
        self.unit_call("Stop", self.options.deadlines.power, Some(progress))
    }
    /// `Restart`.
    pub fn restart(&self, progress: &dyn Fn(&str)) -> Result<(), GoRpcError> {
        self.unit_call("Restart", self.options.deadlines.power, Some(progress))
    }
    /// `Kill`.
    pub fn kill(&self, progress: &dyn Fn(&str)) -> Result<(), GoRpcError> {
        self.unit_call("Kill", self.options.deadlines.power, Some(progress))
    }
    /// `Remove`.
    pub fn remove(&self, progress: &dyn Fn(&str)) -> Result<(), GoRpcError> {
        self.unit_call("Remove", self.options.deadlines.power, Some(progress))
    }

    /// Ends the session: `Close`, then the plugin has [`GoDeadlines::close`] to exit before it
    /// is killed. Dropping a plugin does the same.
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.heartbeat = None;
        let method = format!("{}.Close", self.service);
        // Go's plugin server exits as soon as Close reaches it, often before it writes the
        // answer: berth waits for the process, not for the answer.
        let _ = self.conn.send_only(&method, &Empty {});
        if let Ok(mut p) = self.process.lock()
            && p.wait_exit(self.options.deadlines.close).is_none()
        {
            tracing::debug!(
                driver = self.driver,
                "the plugin did not exit after Close; killing it"
            );
            p.kill();
        }
        self.conn.shut();
    }
}

impl Drop for GoPlugin {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "a bool",
        Value::Int(_) | Value::Uint(_) => "a number",
        Value::Float(_) | Value::Complex(..) => "a float",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "a string",
        Value::Interface(_) => "an interface",
        Value::Slice(_) | Value::Array(_) => "a list",
        Value::Map(_) => "a map",
        Value::Struct(_) => "a struct",
        Value::Marshaled(_) => "marshaled bytes",
    }
}
