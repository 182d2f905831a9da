//! docker-machine's Go driver plugins as a [`Driver`]: what `docker-machine` does with a
//! driver, berth does through the same calls (`commands/create.go`, `libmachine/host`).
//!
//! - create: `SetConfigRaw({MachineName, StorePath})`, `GetCreateFlags`, `SetConfigFromFlags`
//!   with every flag's value or default plus the shared flags create.go sends, `PreCreateCheck`,
//!   `Create`, `GetConfigRaw`, then where SSH is (`GetSSHHostname`, `GetSSHPort`,
//!   `GetSSHUsername`, `GetSSHKeyPath`) and the engine's port (`GetURL`).
//! - every later call: `SetConfigRaw` with the config kept in the record, then the call.
//!
//! The driver's config is kept in the record as the JSON text `GetConfigRaw` gave
//! ([`CONFIG_KEY`]), untouched, since it is the driver's to read; it holds the driver's
//! credentials (access keys, tokens), so berth never prints it.
//!
//! `StorePath` is where the driver keeps its files: `StorePath/machines/NAME/`. For a store
//! laid out as docker-machine's (`…/machines/NAME`) that is the machine's folder itself, so
//! the files sit where docker-machine would put them; elsewhere it is a folder inside the
//! machine's folder ([`DRIVER_STORE`]). Either way `berth rm` removes them with the machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use berth_gorpc::{GoFlag, GoFlagKind, GoPlugin, GoRpcError, GoState, GoValue, LaunchOptions};
use berth_net::is_host;
use serde_json::Value;

use crate::plugin::printable;
use berth_plugin::DriverError;
use berth_plugin::{
    CreateRequest, Created, FlagKind, FlagSpec, MachineRef, MachineState, Operation, SshEndpoint,
};
use berth_plugin::{Driver, Interrupter};

/// The key of the driver data that holds the driver's config (`GetConfigRaw`'s JSON, as text).
pub const CONFIG_KEY: &str = "docker_machine_config";
/// The field of libmachine's `BaseDriver` that says where the driver keeps its files.
const STORE_PATH_KEY: &str = "StorePath";
/// The folder inside a machine's folder that is the driver's `StorePath` when the store is not
/// laid out as docker-machine's.
pub const DRIVER_STORE: &str = "driver-store";

/// The shared flags `commands/create.go` defines, with the defaults it sends when they are not
/// given (string and bool flags; its list flags are sent only when given).
const SHARED_DEFAULTS: [(&str, SharedDefault); 10] = [
    (
        "engine-install-url",
        SharedDefault::Text("https://get.docker.com"),
    ),
    ("engine-storage-driver", SharedDefault::Text("")),
    ("swarm", SharedDefault::Switch),
    ("swarm-image", SharedDefault::Text("swarm:latest")),
    ("swarm-master", SharedDefault::Switch),
    ("swarm-discovery", SharedDefault::Text("")),
    ("swarm-strategy", SharedDefault::Text("spread")),
    ("swarm-host", SharedDefault::Text("tcp://0.0.0.0:3376")),
    ("swarm-addr", SharedDefault::Text("")),
    ("swarm-experimental", SharedDefault::Switch),
];

enum SharedDefault {
    Text(&'static str),
    Switch,
}

/// A docker-machine driver binary, started on first use and kept for the driver's lifetime.
pub struct GoDriver {
    name: String,
    path: PathBuf,
    options: LaunchOptions,
    session: Mutex<Option<GoPlugin>>,
    flags: Mutex<Option<Vec<GoFlag>>>,
    interrupted: Arc<AtomicBool>,
    live: Arc<Mutex<Option<berth_gorpc::GoInterrupter>>>,
}

impl std::fmt::Debug for GoDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoDriver")
            .field("name", &self.name)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How berth runs Go plugins: their text escaped as the JSON plugins' is, their output to
/// berth's log (`--debug` shows it).
pub fn launch_options() -> LaunchOptions {
    LaunchOptions {
        escape: printable,
        sink: Arc::new(|driver, stream, line| {
            tracing::debug!(target: "berth_driver::plugin", driver, ?stream, "{line}");
        }),
        ..LaunchOptions::default()
    }
}

impl GoDriver {
    /// Starts the binary at `path` as driver `name` and handshakes, so that a binary that is
    /// not a docker-machine driver is refused before any work.
    pub fn open(name: &str, path: &Path, options: LaunchOptions) -> Result<Self, DriverError> {
        let driver = Self {
            name: name.to_owned(),
            path: path.to_path_buf(),
            options,
            session: Mutex::new(None),
            flags: Mutex::new(None),
            interrupted: Arc::new(AtomicBool::new(false)),
            live: Arc::new(Mutex::new(None)),
        };
        driver.with_plugin(|_| Ok(()))?;
        Ok(driver)
    }

    /// The binary that serves the driver.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the running plugin, starting one when there is none; a plugin that broke is
    /// dropped (killed) so that the next call starts afresh.
    fn with_plugin<T>(
        &self,
        f: impl FnOnce(&GoPlugin) -> Result<T, GoRpcError>,
    ) -> Result<T, DriverError> {
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(go_error(GoRpcError::Interrupted {
                driver: self.name.clone(),
                method: "the next call".to_owned(),
            }));
        }
        let mut session = self.session.lock().map_err(|_| DriverError::Failed {
            driver: self.name.clone(),
            operation: "reach".to_owned(),
            message: "an earlier call panicked".to_owned(),
        })?;
        if session.is_none() {
            let plugin =
                GoPlugin::launch(&self.name, &self.path, self.options.clone()).map_err(go_error)?;
            if let Ok(mut live) = self.live.lock() {
                *live = Some(plugin.interrupter());
            }
            if self.interrupted.load(Ordering::SeqCst) {
                plugin.interrupter().interrupt();
            }
            *session = Some(plugin);
        }
        let Some(plugin) = session.as_ref() else {
            return Err(DriverError::Failed {
                driver: self.name.clone(),
                operation: "reach".to_owned(),
                message: "the plugin is not running".to_owned(),
            });
        };
        let out = f(plugin);
        if let Err(e) = &out
            && e.remote_message().is_none()
        {
            *session = None;
        }
        out.map_err(go_error)
    }

    fn go_flags(&self) -> Result<Vec<GoFlag>, DriverError> {
        if let Some(flags) = self.flags.lock().ok().and_then(|f| f.clone()) {
            return Ok(flags);
        }
        let flags = self.with_plugin(|p| p.get_create_flags())?;
        if let Ok(mut cache) = self.flags.lock() {
            *cache = Some(flags.clone());
        }
        Ok(flags)
    }

    /// The config handed back before a call on an existing machine.
    fn config_of(&self, m: &MachineRef) -> Result<Vec<u8>, DriverError> {
        match m.data.get(CONFIG_KEY) {
            Some(Value::String(text)) => Ok(text.clone().into_bytes()),
            // A machine whose create failed before the driver answered: the bare config, so
            // that Remove can still find what the driver made by the machine's name.
            None => base_config(&m.name, &m.machine_dir),
            Some(_) => Err(DriverError::InvalidData {
                driver: self.name.clone(),
                machine: m.name.clone(),
                reason: format!("{CONFIG_KEY} is not the driver's JSON text"),
            }),
        }
    }

    /// A call on an existing machine: its config first, then `f`; a refusal in the driver's
    /// own words becomes "The NAME driver failed to OP the machine: …".
    fn machine_call<T>(
        &self,
        m: &MachineRef,
        what: &str,
        f: impl FnOnce(&GoPlugin) -> Result<T, GoRpcError>,
    ) -> Result<T, DriverError> {
        let config = self.config_of(m)?;
        self.with_plugin(|p| {
            p.set_config_raw(&config)?;
            f(p)
        })
        .map_err(|e| self.refused(e, what))
    }

    fn refused(&self, e: DriverError, what: &str) -> DriverError {
        let DriverError::Go(boxed) = e else {
            return e;
        };
        match boxed.downcast::<GoRpcError>() {
            Ok(remote) => match *remote {
                GoRpcError::Remote { message, .. } => DriverError::Failed {
                    driver: self.name.clone(),
                    operation: what.to_owned(),
                    message,
                },
                other => go_error(other),
            },
            Err(other) => DriverError::Go(other),
        }
    }

    /// Every value `SetConfigFromFlags` gets, as docker-machine's `getDriverOpts` builds it:
    /// each driver flag's default (`false` for bools), the shared flags, then what was given.
    fn flag_values(
        &self,
        flags: &[GoFlag],
        req: &CreateRequest,
    ) -> Result<BTreeMap<String, GoValue>, DriverError> {
        let mut values = BTreeMap::new();
        for flag in flags {
            values.insert(flag.name.clone(), flag.default.clone());
        }
        values.insert("driver".to_owned(), GoValue::String(self.name.clone()));
        for (name, default) in SHARED_DEFAULTS {
            let value = match default {
                SharedDefault::Text(t) => GoValue::String(t.to_owned()),
                SharedDefault::Switch => GoValue::Bool(false),
            };
            values.insert(name.to_owned(), value);
        }
        for (name, value) in &req.machine_flags {
            let kind = match value {
                Value::Bool(_) => GoFlagKind::Bool,
                Value::Array(_) => GoFlagKind::StringSlice,
                Value::Number(_) => GoFlagKind::Int,
                _ => GoFlagKind::String,
            };
            values.insert(name.clone(), self.to_go(name, kind, value)?);
        }
        for flag in flags {
            if let Some(value) = req.flags.get(&flag.name) {
                values.insert(flag.name.clone(), self.to_go(&flag.name, flag.kind, value)?);
            }
        }
        Ok(values)
    }

    fn to_go(&self, name: &str, kind: GoFlagKind, value: &Value) -> Result<GoValue, DriverError> {
        let bad = |what: &str| DriverError::InvalidFlag {
            driver: self.name.clone(),
            flag: name.to_owned(),
            reason: format!("{value} is not {what}"),
        };
        Ok(match kind {
            GoFlagKind::String => match value {
                Value::String(s) => GoValue::String(s.clone()),
                Value::Number(n) => GoValue::String(n.to_string()),
                Value::Bool(b) => GoValue::String(b.to_string()),
                _ => return Err(bad("text")),
            },
            GoFlagKind::Int => match value {
                Value::Number(n) => GoValue::Int(n.as_i64().ok_or_else(|| bad("a whole number"))?),
                Value::String(s) => {
                    GoValue::Int(s.trim().parse().map_err(|_| bad("a whole number"))?)
                }
                _ => return Err(bad("a whole number")),
            },
            GoFlagKind::Bool => match value {
                Value::Bool(b) => GoValue::Bool(*b),
                Value::String(s) => GoValue::Bool(match s.to_ascii_lowercase().as_str() {
                    "1" | "t" | "true" | "y" | "yes" | "on" => true,
                    "0" | "f" | "false" | "n" | "no" | "off" | "" => false,
                    _ => return Err(bad("true or false")),
                }),
                _ => return Err(bad("true or false")),
            },
            GoFlagKind::StringSlice => match value {
                Value::Array(items) => GoValue::StringSlice(
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned))
                        .collect::<Option<_>>()
                        .ok_or_else(|| bad("a list of strings"))?,
                ),
                Value::String(s) => GoValue::StringSlice(vec![s.clone()]),
                _ => return Err(bad("a list of strings")),
            },
        })
    }

    /// Where to reach the machine over SSH, from the driver's getters, checked: a plugin's
    /// answer goes into an SSH connection and an ssh_config, so it must be a host name or an
    /// address, a user name and a path, nothing else.
    fn ssh_of(&self, p: &GoPlugin) -> Result<SshEndpoint, GoRpcError> {
        let host = p.get_ssh_hostname()?;
        let port = p.get_ssh_port()?;
        let user = p.get_ssh_username()?;
        let key = p.get_ssh_key_path()?;
        let bad = |detail: String| GoRpcError::Malformed {
            driver: self.name.clone(),
            method: "GetSSHHostname".to_owned(),
            detail,
        };
        if !is_host(&host) {
            return Err(bad(format!(
                "its SSH host {:?} is neither an IP address nor a DNS name",
                printable(&host)
            )));
        }
        let port = match port {
            0 => 22,
            p => {
                u16::try_from(p).map_err(|_| bad(format!("its SSH port {p} is not a TCP port")))?
            }
        };
        let user = if user.is_empty() {
            "root".to_owned()
        } else {
            user
        };
        if !is_user(&user) {
            return Err(bad(format!(
                "its SSH user {:?} is not a user name",
                printable(&user)
            )));
        }
        let key_path = if key.is_empty() {
            None
        } else if key.starts_with('/') && !key.chars().any(char::is_control) {
            Some(PathBuf::from(key))
        } else {
            return Err(bad(format!(
                "its SSH key path {:?} is not an absolute path",
                printable(&key)
            )));
        };
        Ok(SshEndpoint {
            host,
            port,
            user,
            key_path,
        })
    }
}

/// The config docker-machine's create starts a driver from (`drivers.BaseDriver`).
fn base_config(machine: &str, machine_dir: &Path) -> Result<Vec<u8>, DriverError> {
    let store = store_path(machine_dir);
    serde_json::to_vec(&serde_json::json!({
        "MachineName": machine,
        STORE_PATH_KEY: store.to_string_lossy(),
    }))
    .map_err(|e| DriverError::Failed {
        driver: String::new(),
        operation: "prepare".to_owned(),
        message: e.to_string(),
    })
}

/// The `StorePath` under which the driver's `machines/NAME/` is the machine's folder, or a
/// folder inside it; see the module's doc.
pub fn store_path(machine_dir: &Path) -> PathBuf {
    let parent = machine_dir.parent();
    match (parent, parent.and_then(Path::parent)) {
        (Some(p), Some(grand)) if p.file_name().is_some_and(|n| n == "machines") => {
            grand.to_path_buf()
        }
        _ => machine_dir.join(DRIVER_STORE),
    }
}

/// The driver data for a machine whose driver config is `config` (GetConfigRaw's JSON, or the
/// `Driver` object of a docker-machine config.json being imported).
pub fn data_from_config(config: &Value) -> Value {
    serde_json::json!({ CONFIG_KEY: config.to_string() })
}

/// What to install so that docker-machine driver `name` is found.
pub fn wanted(name: &str) -> String {
    berth_gorpc::GoSearch::wanted(name)
}

fn is_user(user: &str) -> bool {
    user.len() <= 64
        && !user.starts_with('-')
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn to_state(s: GoState) -> MachineState {
    match s {
        GoState::Running => MachineState::Running,
        GoState::Paused => MachineState::Paused,
        GoState::Saved | GoState::Stopped => MachineState::Stopped,
        GoState::Stopping => MachineState::Stopping,
        GoState::Starting => MachineState::Starting,
        GoState::Error => MachineState::Error,
        GoState::None | GoState::Timeout => MachineState::Unknown,
    }
}

/// A Go flag as berth's create flag: its own EnvVar is its environment twin, its default shown.
fn to_spec(flag: &GoFlag) -> FlagSpec {
    let mut help = printable(&flag.usage);
    let (kind, default) = match &flag.default {
        GoValue::String(s) => (FlagKind::String, Some(s.clone()).filter(|s| !s.is_empty())),
        GoValue::Int(i) => (FlagKind::Int, Some(i.to_string())),
        GoValue::Bool(_) => (FlagKind::Bool, None),
        // One item is a default clap can hold as it is; several are only shown (berth's list
        // defaults are one value each, and Go sends its own default when none is given).
        GoValue::StringSlice(items) => match items.as_slice() {
            [one] => (FlagKind::StringList, Some(one.clone())),
            [] => (FlagKind::StringList, None),
            several => {
                help.push_str(&format!(" [default: {}]", printable(&several.join(", "))));
                (FlagKind::StringList, None)
            }
        },
    };
    let mut spec = FlagSpec::new(&flag.name, kind, &help, default.as_deref());
    spec.env = Some(flag.env_var.clone()).filter(|e| !e.is_empty());
    spec
}

impl Driver for GoDriver {
    fn name(&self) -> &str {
        &self.name
    }

    /// libmachine's Driver interface has every operation; a driver that cannot do one says so
    /// in its own words when asked.
    fn supports(&self, _op: Operation) -> bool {
        true
    }

    fn create_flags(&self) -> Result<Vec<FlagSpec>, DriverError> {
        Ok(self.go_flags()?.iter().map(to_spec).collect())
    }

    fn create(&self, req: &CreateRequest, progress: &dyn Fn(&str)) -> Result<Created, DriverError> {
        let flags = self.go_flags()?;
        let values = self.flag_values(&flags, req)?;
        let config = base_config(&req.machine, &req.machine_dir)?;
        let store = store_path(&req.machine_dir);
        if store.starts_with(&req.machine_dir) {
            std::fs::create_dir_all(store.join("machines").join(&req.machine)).map_err(|e| {
                DriverError::Failed {
                    driver: self.name.clone(),
                    operation: "prepare".to_owned(),
                    message: format!("cannot make {}: {e}", store.display()),
                }
            })?;
        }
        self.with_plugin(|p| {
            p.set_config_raw(&config)?;
            p.set_config_from_flags(&values)?;
            progress("Running the driver's pre-create checks");
            p.pre_create_check(progress)?;
            progress("Creating the machine");
            p.create(progress)?;
            let raw = p.get_config_raw()?;
            let parsed: Value =
                serde_json::from_slice(&raw).map_err(|e| GoRpcError::Malformed {
                    driver: self.name.clone(),
                    method: "GetConfigRaw".to_owned(),
                    detail: format!("its config is not JSON ({e})"),
                })?;
            if !parsed.is_object() {
                return Err(GoRpcError::Malformed {
                    driver: self.name.clone(),
                    method: "GetConfigRaw".to_owned(),
                    detail: "its config is not a JSON object".to_owned(),
                });
            }
            let ssh = self.ssh_of(p)?;
            // docker-machine's provisioner takes the engine's port from the driver's URL.
            let engine_port = p
                .get_url()
                .ok()
                .and_then(|u| berth_net::HostPort::parse(&u, 2376).ok())
                .map(|hp| hp.port)
                .filter(|port| *port != 2376);
            Ok(Created {
                ssh: Some(ssh),
                engine_url: None,
                engine_port,
                data: data_from_config(&parsed),
                boot_pending: None,
            })
        })
        .map_err(|e| self.refused(e, "create"))
    }

    fn start(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.machine_call(m, "start", |p| p.start(progress))
    }

    fn stop(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.machine_call(m, "stop", |p| p.stop_machine(progress))
    }

    fn restart(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.machine_call(m, "restart", |p| p.restart(progress))
    }

    fn kill(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.machine_call(m, "kill", |p| p.kill(progress))
    }

    fn remove(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.machine_call(m, "remove", |p| p.remove(progress))
    }

    fn state(&self, m: &MachineRef) -> Result<MachineState, DriverError> {
        self.machine_call(m, "tell the state of", |p| p.get_state())
            .map(to_state)
    }

    fn ssh_endpoint(&self, m: &MachineRef) -> Result<SshEndpoint, DriverError> {
        self.machine_call(m, "tell the address of", |p| self.ssh_of(p))
    }

    fn interrupter(&self) -> Option<Interrupter> {
        let interrupted = Arc::clone(&self.interrupted);
        let live = Arc::clone(&self.live);
        Some(Arc::new(move || {
            interrupted.store(true, Ordering::SeqCst);
            if let Some(i) = live.lock().ok().and_then(|l| l.clone()) {
                i.interrupt();
            }
        }))
    }
}

/// A Go plugin's error as a driver error. [`DriverError::Go`] holds it boxed, because the
/// driver contract (berth-plugin) does not link the Go plugin support; [`GoDriver`] downcasts
/// it back where it needs the kind.
fn go_error(e: GoRpcError) -> DriverError {
    DriverError::Go(Box::new(e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_driver_files_land_in_the_machine_folder() {
        assert_eq!(
            store_path(Path::new("/home/u/.docker/machines/web1")),
            Path::new("/home/u/.docker")
        );
        assert_eq!(
            store_path(Path::new("/srv/berth/web1")),
            Path::new("/srv/berth/web1/driver-store")
        );
    }

    #[test]
    fn go_flags_keep_their_own_environment_variable() {
        let flag = GoFlag {
            kind: GoFlagKind::String,
            name: "amazonec2-access-key".into(),
            usage: "AWS Access Key\x1b[2J".into(),
            env_var: "AWS_ACCESS_KEY_ID".into(),
            default: GoValue::String(String::new()),
        };
        let spec = to_spec(&flag);
        assert_eq!(spec.env_var("amazonec2"), "AWS_ACCESS_KEY_ID");
        assert_eq!(spec.default, None);
        assert!(!spec.help.contains('\x1b'), "{}", spec.help);
        let port = GoFlag {
            kind: GoFlagKind::Int,
            name: "generic-ssh-port".into(),
            usage: String::new(),
            env_var: String::new(),
            default: GoValue::Int(22),
        };
        let spec = to_spec(&port);
        assert_eq!(spec.default.as_deref(), Some("22"));
        // No EnvVar of its own: berth's derived name.
        assert_eq!(spec.env_var("generic"), "GENERIC_SSH_PORT");
    }

    #[test]
    fn hosts_and_users_from_a_plugin_are_checked() {
        for good in ["203.0.113.7", "::1", "web1.example.com", "ip-10-0-0-1"] {
            assert!(is_host(good), "{good}");
        }
        for bad in [
            "",
            "-oProxyCommand=x",
            "a b",
            "h\nProxyCommand x",
            "a..b",
            "x;y",
        ] {
            assert!(!is_host(bad), "{bad}");
        }
        assert!(is_user("ubuntu") && is_user("docker-user"));
        assert!(!is_user("-l") && !is_user("a b") && !is_user("r\n"));
    }

    #[test]
    fn the_config_is_kept_as_the_drivers_own_text() {
        let config =
            serde_json::json!({"AccessKey": "AKIA", "Nil": null, "Big": 18446744073709551615u64});
        let data = data_from_config(&config);
        let text = data[CONFIG_KEY].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Value>(text).unwrap(), config);
    }
}
