//! [`MachineRecord`]: what `config.toml` holds about a machine — driver, addresses, state,
//! certificates' names and expiry — and how it is read and written.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The format version of `config.toml`; bumped when a change would confuse an older berth.
pub const RECORD_VERSION: u32 = 1;

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
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The private key; absent means the SSH agent or the user's default keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_path: Option<std::path::PathBuf>,
}

/// What berth knows about the machine's certificates without parsing them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsSettings {
    /// "ecdsa-p256" or "rsa-2048".
    #[serde(default)]
    pub algorithm: String,
    /// Extra names asked for with --tls-san, kept so that regenerate-certs keeps them.
    #[serde(default)]
    pub extra_sans: Vec<String>,
    /// Every SAN in the current server certificate.
    #[serde(default)]
    pub sans: Vec<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub server_not_after: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_not_after: Option<OffsetDateTime>,
}

/// One machine's `config.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineRecord {
    pub version: u32,
    pub name: String,
    pub driver: String,
    pub state: MachineState,
    /// The engine's URL as clients dial it, e.g. `tcp://203.0.113.7:2376`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshSettings>,
    /// The SHA-256 fingerprint of the host key pinned at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
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
    pub steps_done: Vec<String>,
    /// Engine options as given at create (owned by the provisioner, opaque here).
    #[serde(default)]
    pub engine: toml::Table,
    #[serde(default)]
    pub tls: TlsSettings,
    /// The driver's own data (opaque to berth).
    #[serde(default)]
    pub driver_data: toml::Table,
    /// The docker CLI context berth keeps for the machine.
    #[serde(default, skip_serializing_if = "ContextSettings::is_default")]
    pub context: ContextSettings,
}

/// The docker CLI context of a machine (`$DOCKER_CONFIG/contexts`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSettings {
    /// The context's name when it is not the machine's own (`--context-name`, or a machine
    /// name the docker CLI refuses as a context name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
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
    pub fn new(name: &str, driver: &str) -> Self {
        MachineRecord {
            version: RECORD_VERSION,
            name: name.to_owned(),
            driver: driver.to_owned(),
            state: MachineState::Creating,
            url: None,
            ssh: None,
            host_key: None,
            created_at: OffsetDateTime::now_utc(),
            provisioned_at: None,
            error: None,
            steps_done: Vec::new(),
            engine: toml::Table::new(),
            tls: TlsSettings::default(),
            driver_data: toml::Table::new(),
            context: ContextSettings::default(),
        }
    }

    /// The host part of the engine URL (what `berth ip` prints).
    pub fn engine_host(&self) -> Option<String> {
        self.engine_address().map(|a| a.host)
    }

    /// The engine's host and port from its URL (port 2376 where the URL names none).
    pub fn engine_address(&self) -> Option<berth_net::HostPort> {
        berth_net::HostPort::parse(self.url.as_deref()?, berth_net::DEFAULT_ENGINE_PORT).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_toml() {
        let mut record = MachineRecord::new("web1", "generic");
        record.url = Some("tcp://203.0.113.7:2376".into());
        record.ssh = Some(SshSettings {
            host: "203.0.113.7".into(),
            port: 22,
            user: "root".into(),
            key_path: None,
        });
        record
            .engine
            .insert("labels".into(), toml::Value::Array(vec!["a=b".into()]));
        let text = toml::to_string(&record).expect("serialize");
        let back: MachineRecord = toml::from_str(&text).expect("parse");
        assert_eq!(
            back,
            MachineRecord {
                created_at: back.created_at,
                ..record.clone()
            }
        );
        assert_eq!(
            back.created_at.unix_timestamp(),
            record.created_at.unix_timestamp()
        );
    }

    #[test]
    fn engine_host_handles_ipv4_ipv6_and_names() {
        let mut r = MachineRecord::new("a", "none");
        for (url, host) in [
            ("tcp://203.0.113.7:2376", "203.0.113.7"),
            ("tcp://[2001:db8::1]:2376", "2001:db8::1"),
            ("tcp://docker.example.com:2376", "docker.example.com"),
        ] {
            r.url = Some(url.into());
            assert_eq!(r.engine_host().as_deref(), Some(host));
        }
    }
}
