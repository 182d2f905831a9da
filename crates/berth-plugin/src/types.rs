//! The values that pass between berth and a driver.
//!
//! They are plain data with serde derives because the same shapes travel over
//! the plugin protocol: what a built-in driver returns in memory is exactly what
//! a plugin writes as JSON (docs/plugins.md shows each one).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where and as whom berth reaches a machine over SSH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshEndpoint {
    /// Address or DNS name of the host.
    pub host: String,
    /// TCP port of its SSH server.
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    /// The user berth logs in as.
    #[serde(default = "default_ssh_user")]
    pub user: String,
    /// Private key to log in with; `None` means the key berth made for the
    /// machine (or the SSH agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_path: Option<PathBuf>,
}

fn default_ssh_port() -> u16 {
    22
}

fn default_ssh_user() -> String {
    "root".to_owned()
}

/// What a driver knows about a machine's power state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MachineState {
    /// Up and reachable.
    Running,
    /// Powered off or not reachable where it should be.
    Stopped,
    /// Booting.
    Starting,
    /// Shutting down.
    Stopping,
    /// Frozen by its hypervisor.
    Paused,
    /// The driver found the machine in a broken state.
    Error,
    /// The driver has no such machine (anymore).
    NotFound,
    /// The driver cannot tell.
    Unknown,
}

impl MachineState {
    /// The name used on the wire and in `berth ls`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "Running",
            Self::Stopped => "Stopped",
            Self::Starting => "Starting",
            Self::Stopping => "Stopping",
            Self::Paused => "Paused",
            Self::Error => "Error",
            Self::NotFound => "NotFound",
            Self::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for MachineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of a create flag's value, so that berth can parse the command
/// line before the driver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// Any text: a JSON string.
    String,
    /// A whole number: a JSON integer.
    Int,
    /// A switch: a JSON boolean (`--flag` alone means true).
    Bool,
    /// A flag that may be repeated: a JSON array of strings.
    StringList,
}

/// One `berth create -d DRIVER` flag that a driver declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagSpec {
    /// The long name without dashes, prefixed with the driver's name by
    /// convention: `nspawn-release` is given as `--nspawn-release`.
    pub name: String,
    /// One line for `--help`.
    pub help: String,
    /// The value used when the flag is not given, as the user would type it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// How berth parses the value.
    pub kind: FlagKind,
    /// The environment variable that sets the flag, when the driver names its own
    /// (docker-machine's drivers do: `--amazonec2-access-key` reads `AWS_ACCESS_KEY_ID`);
    /// otherwise berth derives one ([`FlagSpec::env_var`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl FlagSpec {
    /// A flag declaration; `default` is what `--help` shows.
    pub fn new(name: &str, kind: FlagKind, help: &str, default: Option<&str>) -> Self {
        Self {
            name: name.to_owned(),
            help: help.to_owned(),
            default: default.map(str::to_owned),
            kind,
            env: None,
        }
    }

    /// The environment variable that sets this flag of driver `driver` when the command line
    /// does not: the flag's name in upper case with dashes as underscores, as docker-machine
    /// named them (`generic-ip-address` → `GENERIC_IP_ADDRESS`).
    ///
    /// A flag that does not start with the driver's name gets the driver's name in front
    /// (`url` of `none` → `NONE_URL`): otherwise a flag called `path` or `home` would read
    /// `PATH` or `HOME`, variables every process has for other reasons.
    pub fn env_var(&self, driver: &str) -> String {
        if let Some(env) = self.env.as_ref().filter(|e| !e.is_empty()) {
            return env.clone();
        }
        let prefixed = self
            .name
            .strip_prefix(driver)
            .is_some_and(|rest| rest.starts_with('-'));
        let full = if prefixed {
            self.name.clone()
        } else {
            format!("{driver}-{}", self.name)
        };
        full.to_ascii_uppercase().replace('-', "_")
    }
}

/// Everything a driver needs to make (or reach) a machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateRequest {
    /// The machine's name as the user gave it.
    pub machine: String,
    /// The machine's folder in berth's storage; the driver may keep files here.
    pub machine_dir: PathBuf,
    /// Flag values by flag name (no dashes), typed after each flag's kind.
    /// Flags the user did not give may be absent: apply the default then.
    #[serde(default)]
    pub flags: BTreeMap<String, serde_json::Value>,
    /// Reserved for an OpenSSH public key berth would make for the machine. berth makes
    /// none and sends none today: a driver that makes hosts makes its own key and returns
    /// its path as [`SshEndpoint::key_path`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_public_key: Option<String>,
    /// docker-machine's shared create flags that were given (`engine-opt`, `tls-san`, …), by
    /// its names, for docker-machine's Go drivers, whose `SetConfigFromFlags` gets them as
    /// `commands/create.go` sends them. Not sent to berth's own plugins.
    #[serde(skip)]
    pub machine_flags: BTreeMap<String, serde_json::Value>,
    /// berth can hand the engine's files (certificates, drop-in) to the driver before the
    /// machine first boots. A driver that can write them into the guest's root makes the
    /// machine without booting it and answers [`Created::boot_pending`]; berth then calls
    /// [`Driver::start_with_files`](crate::Driver::start_with_files). Others ignore it and
    /// boot as always (older plugins never see a field they do not know).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preboot: bool,
}

/// How the engine sits in a machine's root that is made but not booted yet: what berth needs
/// to render the drop-in that provisioning would render there once it can look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestEngine {
    /// Where dockerd is in the guest (Debian's docker.io: `/usr/sbin/dockerd`).
    pub dockerd_path: String,
    /// Whether the guest has docker.socket (the engine then gets `-H fd://`).
    #[serde(default)]
    pub socket_activated: bool,
}

/// A file berth asks a driver to put into a machine's root before it boots.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestFile {
    /// The absolute path in the guest, e.g. `/etc/docker/server.pem`.
    pub path: String,
    /// Its permission bits, e.g. `0o600` (owner root).
    pub mode: u32,
    /// Its bytes, as text (certificates, keys and unit files are text).
    pub contents: String,
}

impl GuestFile {
    /// A file for `path` with `mode` and `contents`.
    pub fn new(path: &str, mode: u32, contents: impl Into<String>) -> Self {
        GuestFile {
            path: path.to_owned(),
            mode,
            contents: contents.into(),
        }
    }
}

/// Leaves the contents out: one of these files is the engine's private key.
impl fmt::Debug for GuestFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestFile")
            .field("path", &self.path)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("bytes", &self.contents.len())
            .finish()
    }
}

/// `Driver.Start`'s parameters on the wire: the machine, and the files to write into its root
/// first (absent, or empty, for a plain start — which is all an older berth sends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRequest {
    /// The machine.
    #[serde(flatten)]
    pub machine: MachineRef,
    /// Files for the guest's root, written before it boots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<GuestFile>,
}

/// What a driver reports after creating a machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    /// How to reach the host for provisioning; `None` for drivers (like
    /// `none`) whose engine is already set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshEndpoint>,
    /// The engine's URL when the driver knows it already (`none`); berth
    /// otherwise builds `tcp://HOST:2376` after provisioning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_url: Option<String>,
    /// The TCP port the engine's TLS API should listen on, when the driver was told one
    /// (generic's `--generic-engine-port`, as docker-machine's); berth's `2376` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_port: Option<u16>,
    /// The driver's own record of the machine. berth stores it untouched in
    /// config.toml and hands it back in every later call, so a driver needs
    /// no storage of its own.
    #[serde(default)]
    pub data: serde_json::Value,
    /// Set when the driver made the machine but did not boot it, because the request said
    /// [`CreateRequest::preboot`]: how the engine sits in its root. berth then writes the
    /// engine's files through [`Driver::start_with_files`](crate::Driver::start_with_files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_pending: Option<GuestEngine>,
}

/// A machine that exists, as berth hands it to a driver after create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineRef {
    /// The machine's name.
    pub name: String,
    /// The machine's folder in berth's storage.
    pub machine_dir: PathBuf,
    /// Exactly the `data` the driver returned from create.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// What berth may do with a driver's machines beyond calling its operations: asked of the
/// driver (and kept in the machine's record, so that a machine whose driver is missing is still
/// described), never read from the driver's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Capabilities {
    /// The driver made the host, so `rm` asks it to delete the host; when false (`generic`,
    /// `none`) `rm` forgets the machine and leaves the host as it is.
    pub owns_host: bool,
    /// berth reaches the host over SSH (to provision it, `ssh`, `scp`, `upgrade`); `none`
    /// records only an engine URL.
    pub has_ssh: bool,
    /// `restart` is a reboot over SSH done by berth, with the pinned host key (the driver has
    /// no power switch of its own: `generic`).
    pub reboots_over_ssh: bool,
}

impl Capabilities {
    /// What a driver that makes its hosts can do: it owns them, berth reaches them over SSH
    /// when the driver can say where (`Address`), and the driver powers them itself.
    pub fn of_host_maker(has_ssh: bool) -> Self {
        Capabilities {
            owns_host: true,
            has_ssh,
            reboots_over_ssh: false,
        }
    }
}

/// The things berth can ask a driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Make or reach a new machine.
    Create,
    /// Power a stopped machine on.
    Start,
    /// Shut a machine down in an orderly way.
    Stop,
    /// Stop, then start.
    Restart,
    /// Power a machine off at once.
    Kill,
    /// Delete the machine and everything the driver made for it.
    Remove,
    /// Report the machine's state.
    State,
    /// Report where to reach the machine over SSH.
    Address,
}

impl Operation {
    /// Every operation, in lifecycle order.
    pub const ALL: [Operation; 8] = [
        Self::Create,
        Self::Start,
        Self::Stop,
        Self::Restart,
        Self::Kill,
        Self::Remove,
        Self::State,
        Self::Address,
    ];

    /// The lower-case word used in messages and in the handshake's list.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Kill => "kill",
            Self::Remove => "remove",
            Self::State => "state",
            Self::Address => "address",
        }
    }

    /// The JSON-RPC method that carries this operation to a plugin.
    pub fn method(self) -> &'static str {
        match self {
            Self::Create => "Driver.Create",
            Self::Start => "Driver.Start",
            Self::Stop => "Driver.Stop",
            Self::Restart => "Driver.Restart",
            Self::Kill => "Driver.Kill",
            Self::Remove => "Driver.Remove",
            Self::State => "Driver.State",
            Self::Address => "Driver.Address",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn req(flags: serde_json::Value) -> CreateRequest {
        CreateRequest {
            machine: "m".into(),
            machine_dir: "/tmp/m".into(),
            flags: serde_json::from_value(flags).unwrap(),
            ssh_public_key: None,
            preboot: false,
            machine_flags: Default::default(),
        }
    }

    /// The plugin guide once promised a key berth makes (`id_ed25519`, sent as
    /// `ssh_public_key`); berth makes none and sends none. The guide must say what the code does.
    #[test]
    fn the_plugin_guide_promises_no_ssh_key_that_berth_does_not_make() {
        let guide = include_str!("../../../docs/plugins.md");
        for claim in [
            "the key berth made",
            "key berth made for this machine",
            "\"ssh_public_key\":\"ssh-",
        ] {
            assert!(
                !guide.contains(claim),
                "docs/plugins.md still says {claim:?}"
            );
        }
        assert!(guide.contains("berth makes no SSH key"));
        // What berth sends at create (berth-machine passes `ssh_public_key: None`).
        let sent = serde_json::to_value(req(json!({}))).unwrap();
        assert!(sent.get("ssh_public_key").is_none(), "{sent}");
    }

    #[test]
    fn state_display_and_wire_names_agree() {
        for s in [MachineState::Running, MachineState::NotFound] {
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.to_string()));
        }
    }

    #[test]
    fn ssh_endpoint_defaults_port_and_user() {
        let e: SshEndpoint = serde_json::from_value(json!({"host": "h"})).unwrap();
        assert_eq!((e.port, e.user.as_str(), e.key_path), (22, "root", None));
    }

    #[test]
    fn flag_accessors_accept_shell_text_and_reject_wrong_types() {
        let r = req(json!({"a": "7", "b": 8, "c": "true", "d": ["x", "y"], "e": 1.5}));
        assert_eq!(r.int_flag("t", "a").unwrap(), Some(7));
        assert_eq!(r.int_flag("t", "b").unwrap(), Some(8));
        assert_eq!(r.bool_flag("t", "c").unwrap(), Some(true));
        assert_eq!(r.string_list_flag("t", "d").unwrap(), vec!["x", "y"]);
        assert_eq!(r.string_flag("t", "zz").unwrap(), None);
        let err = r.int_flag("t", "e").unwrap_err().to_string();
        assert!(err.contains("--e") && err.contains("1.5"), "{err}");
        assert!(r.string_flag("t", "b").is_err());
    }

    #[test]
    fn env_twins_are_named_after_the_flag_and_always_carry_the_driver() {
        let flag = |name| FlagSpec::new(name, FlagKind::String, "", None);
        assert_eq!(
            flag("generic-ip-address").env_var("generic"),
            "GENERIC_IP_ADDRESS"
        );
        assert_eq!(flag("nspawn-subnet").env_var("nspawn"), "NSPAWN_SUBNET");
        assert_eq!(flag("url").env_var("none"), "NONE_URL");
        assert_eq!(flag("path").env_var("my-cloud"), "MY_CLOUD_PATH");
        // A name that merely starts with the driver's letters is not prefixed by it.
        assert_eq!(flag("nonesuch").env_var("none"), "NONE_NONESUCH");
    }

    #[test]
    fn operations_map_to_methods() {
        assert_eq!(Operation::Address.method(), "Driver.Address");
        assert_eq!(
            serde_json::to_value(Operation::Restart).unwrap(),
            json!("restart")
        );
    }
}
