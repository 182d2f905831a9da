//! [`MachineRecord`]: what `config.toml` holds about a machine — driver, addresses, state,
//! engine options, certificates' names and expiry — as typed values.
//!
//! Every field is parsed into its domain type when the record is read (engine address,
//! engine options, key algorithm, steps, the driver's data) so that nothing above re-parses a
//! string, and every value that reaches a shell or OpenSSH is checked by construction
//! ([`fields`]): a record that fails a check does not load, and the error names the field and
//! the file. The store (`berth-store`) only reads and writes it, atomically and under a lock.

mod fields;

use berth_plugin::Capabilities;
use berth_provision::{EngineConfig, Step};
use berth_tls::KeyAlgorithm;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

pub use berth_store::RECORD_VERSION;
pub use fields::{
    ContextName, DriverData, DriverName, EngineUrl, FieldError, Host, KeyPath, MachineName, SshUser,
};

/// What berth last knew about a machine. The live state comes from the driver and the engine;
/// this is what berth itself did, so that a failed command can be finished or cleaned up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MachineState {
    /// A create is under way (or died before it could record anything else).
    #[default]
    Creating,
    /// Provisioned and, as far as berth knows, running.
    Running,
    /// Stopped by berth.
    Stopped,
    /// A command failed part-way; `error` says where. `berth provision` finishes it.
    Error,
}

impl std::fmt::Display for MachineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MachineState::Creating => "Creating",
            MachineState::Running => "Running",
            MachineState::Stopped => "Stopped",
            MachineState::Error => "Error",
        })
    }
}

/// How berth reaches the machine over SSH.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshSettings {
    /// The host's address as SSH dials it (an IP or DNS name).
    pub host: Host,
    /// The port of the host's SSH server.
    pub port: u16,
    /// The user berth logs in as; provisioning needs root or passwordless sudo.
    pub user: SshUser,
    /// The private key; absent means the SSH agent or the user's default keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_path: Option<KeyPath>,
}

/// What berth knows about the machine's certificates without parsing them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsSettings {
    /// The kind of key of the machine's certificates. Records that name none (`""`, as an
    /// import or an early create left it) mean the default, which is what they were made with.
    #[serde(default, deserialize_with = "algorithm_or_default")]
    pub algorithm: KeyAlgorithm,
    /// Extra names asked for with --tls-san, kept so that regenerate-certs keeps them.
    #[serde(default)]
    pub extra_sans: Vec<String>,
    /// Every SAN in the current server certificate.
    #[serde(default)]
    pub sans: Vec<String>,
    /// When the server certificate expires, noted when it was made (the file itself is what
    /// counts).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub server_not_after: Option<OffsetDateTime>,
    /// When the client certificate expires, noted when it was made (the file itself is what
    /// counts).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_not_after: Option<OffsetDateTime>,
}

/// `""` (no algorithm recorded) is the default one; anything else must be a known name.
fn algorithm_or_default<'de, D: Deserializer<'de>>(d: D) -> Result<KeyAlgorithm, D::Error> {
    let text = String::deserialize(d)?;
    if text.is_empty() {
        return Ok(KeyAlgorithm::default());
    }
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "tls.algorithm {text:?} is not a key algorithm berth knows (ecdsa-p256, rsa-2048)"
        ))
    })
}

/// One machine's `config.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineRecord {
    /// The record's format version ([`RECORD_VERSION`]), so an older berth refuses a newer record.
    pub version: u32,
    /// The machine's name, also its folder's name.
    pub name: MachineName,
    /// The driver that made the host and is asked to start, stop and remove it.
    pub driver: DriverName,
    /// Where the machine's lifecycle stands, as berth last left it (not the host's live state).
    pub state: MachineState,
    /// The engine's URL as clients dial it, e.g. `tcp://203.0.113.7:2376`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<EngineUrl>,
    /// How to reach the host over SSH; absent where there is no SSH (the `none` driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshSettings>,
    /// The SHA-256 fingerprint of the host key pinned at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    /// When the create began.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When provisioning last finished successfully; absent until it has.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub provisioned_at: Option<OffsetDateTime>,
    /// The last failure, with its step; cleared by a successful provision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Provisioning steps that completed, so a later `provision` knows what was done.
    #[serde(default)]
    pub steps_done: Vec<Step>,
    /// Engine options as given at create (and as the driver or an import changed them).
    #[serde(default)]
    pub engine: EngineConfig,
    /// What berth keeps about the machine's certificates.
    #[serde(default)]
    pub tls: TlsSettings,
    /// The driver's own data (opaque to berth), handed back before every driver call.
    #[serde(default)]
    pub driver_data: DriverData,
    /// The docker CLI context berth keeps for the machine.
    #[serde(default, skip_serializing_if = "ContextSettings::is_default")]
    pub context: ContextSettings,
    /// What the driver can do, asked of it at create or import and kept, so that the machine
    /// is described even where its driver's binary is missing. Records of berth 0.1 have none:
    /// see [`MachineRecord::capabilities`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
}

/// The docker CLI context of a machine (`$DOCKER_CONFIG/contexts`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSettings {
    /// The context's name when it is not the machine's own (`--context-name`, or a machine
    /// name the docker CLI refuses as a context name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ContextName>,
    /// `create --no-context`: berth makes no context for this machine.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

impl ContextSettings {
    fn is_default(&self) -> bool {
        *self == ContextSettings::default()
    }
}

impl MachineRecord {
    /// A record for a machine whose create has just begun.
    pub fn new(name: MachineName, driver: DriverName) -> Self {
        MachineRecord {
            version: RECORD_VERSION,
            name,
            driver,
            state: MachineState::Creating,
            url: None,
            ssh: None,
            host_key: None,
            created_at: OffsetDateTime::now_utc(),
            provisioned_at: None,
            error: None,
            steps_done: Vec::new(),
            engine: EngineConfig::default(),
            tls: TlsSettings::default(),
            driver_data: DriverData::default(),
            context: ContextSettings::default(),
            capabilities: None,
        }
    }

    /// What the machine's driver can do: as recorded; for a record of berth 0.1, what the
    /// built-in driver of that name says, else a driver that makes and powers its hosts (what
    /// every other driver of berth 0.1 was).
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities.unwrap_or_else(|| {
            berth_driver::builtin::builtin(&self.driver).map_or_else(
                || Capabilities::of_host_maker(true),
                |driver| driver.capabilities(),
            )
        })
    }

    /// The host part of the engine URL (what `berth ip` prints).
    pub fn engine_host(&self) -> Option<&str> {
        self.url.as_ref().map(EngineUrl::host)
    }

    /// The engine's host and port.
    pub fn engine_address(&self) -> Option<&berth_net::HostPort> {
        self.url.as_ref().map(EngineUrl::address)
    }
}

#[cfg(test)]
mod tests;
