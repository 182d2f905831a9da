//! The checked values a machine record is made of. Each is a newtype that can only be built
//! through its check (`#[serde(try_from = "String")]`), so a record whose name, driver, SSH user,
//! host or engine URL could be read by a shell or by OpenSSH as something else fails to load,
//! with a sentence naming the field, and no command has to remember to check.
//!
//! A record on disk is not trusted: it may be hand-edited, planted, imported from another
//! store, or written by a driver gone wrong (docs/security.md).

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use berth_net::{DEFAULT_ENGINE_PORT, HostPort};
use serde::{Deserialize, Serialize};

/// A value that fails the check of the record field it is meant for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {value:?} {why}")]
pub struct FieldError {
    /// The field as the record spells it (`ssh.user`).
    pub field: &'static str,
    /// The value as found (printed escaped: it may hold control characters).
    pub value: String,
    /// Why it is refused, as the end of a sentence.
    pub why: String,
}

impl FieldError {
    fn new(field: &'static str, value: &str, why: impl Into<String>) -> Self {
        FieldError {
            field,
            value: value.to_owned(),
            why: why.into(),
        }
    }
}

/// The string newtypes share their accessors; each has its own check.
macro_rules! checked_string {
    ($(#[$doc:meta])* $ty:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Checks `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, FieldError> {
                let value = value.into();
                $check(&value)?;
                Ok($ty(value))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, FieldError> {
                $ty::new(value)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = FieldError;
            fn try_from(value: &str) -> Result<Self, FieldError> {
                $ty::new(value)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.0
            }
        }

        impl Deref for $ty {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $ty {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

checked_string!(
    /// A machine's name: docker-machine's rule ([`berth_store::NAME_RULE`]), so that it can be
    /// a folder name, a hostname and part of a certificate.
    MachineName,
    check_machine_name
);

checked_string!(
    /// A driver's name: `[a-z][a-z0-9-]*`, what can become a plugin's file name
    /// (`berth-driver-NAME`) without escaping the folder it is looked for in.
    DriverName,
    check_driver_name
);

checked_string!(
    /// The user berth logs in as: a POSIX user name (the portable filename characters, not
    /// starting with '-'), so that it is never read as an option nor splits `user@host`.
    SshUser,
    check_ssh_user
);

checked_string!(
    /// A host berth connects to: an IP address literal (IPv6 without brackets) or a DNS name
    /// (labels of letters, digits, '-' and '_', none starting with '-').
    Host,
    check_ssh_host
);

checked_string!(
    /// The name of a docker CLI context (the docker CLI's own rule).
    ContextName,
    check_context_name
);

fn check_machine_name(value: &str) -> Result<(), FieldError> {
    berth_store::validate_name(value).map_err(|_| {
        FieldError::new(
            "name",
            value,
            format!("is not a machine name ({})", berth_store::NAME_RULE),
        )
    })
}

fn check_driver_name(value: &str) -> Result<(), FieldError> {
    berth_driver::plugin::validate_name(value).map_err(|_| {
        FieldError::new(
            "driver",
            value,
            "is not a driver name (lowercase letters, digits and '-', starting with a letter)",
        )
    })
}

/// What `useradd` and POSIX's portable user names allow, at Linux's login-name limit.
fn check_ssh_user(value: &str) -> Result<(), FieldError> {
    if value.starts_with('-') {
        return Err(FieldError::new("ssh.user", value, OPTION_LIKE));
    }
    let ok = !value.is_empty()
        && value.len() <= 256
        && !value.starts_with('-')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "ssh.user",
            value,
            "is not a POSIX user name (letters, digits, '.', '_' and '-', not starting with '-')",
        ))
    }
}

/// Why a value that starts with '-' is refused, as the end of a sentence.
const OPTION_LIKE: &str = "starts with '-' and would be read as an option by OpenSSH";

fn check_ssh_host(value: &str) -> Result<(), FieldError> {
    if value.starts_with('-') {
        return Err(FieldError::new("ssh.host", value, OPTION_LIKE));
    }
    check_host(value).map_err(|why| FieldError::new("ssh.host", value, why))
}

fn check_context_name(value: &str) -> Result<(), FieldError> {
    berth_context::validate_name(value).map_err(|_| {
        FieldError::new(
            "context.name",
            value,
            format!(
                "is not a docker context name ({})",
                berth_context::NAME_RULE
            ),
        )
    })
}

/// Why `host` is not a host ([`berth_net::is_host`]), as the end of a sentence.
fn check_host(host: &str) -> Result<(), &'static str> {
    if berth_net::is_host(host) {
        Ok(())
    } else {
        Err("is neither an IP address nor a DNS name")
    }
}

/// The engine's address as clients dial it, written `tcp://HOST:PORT` (IPv6 in brackets): the
/// only shape the docker CLI's `DOCKER_HOST` and berth's engine client take. The host passes
/// the same check as [`Host`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EngineUrl(HostPort);

impl EngineUrl {
    /// Reads `tcp://HOST:PORT` (a trailing `/` is allowed; a URL without a port, as an
    /// imported docker-machine record may hold, means 2376).
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let refuse = |why: &str| FieldError::new("url", text, why);
        let rest = text
            .strip_prefix("tcp://")
            .ok_or_else(|| refuse("is not a tcp://HOST:PORT URL"))?;
        if rest.trim_end_matches('/').contains('/') {
            return Err(refuse("has a path; an engine URL is tcp://HOST:PORT"));
        }
        let address =
            HostPort::parse(text, DEFAULT_ENGINE_PORT).map_err(|e| refuse(&e.to_string()))?;
        EngineUrl::new(address)
            .map_err(|_| refuse("names a host that is neither an IP address nor a DNS name"))
    }

    /// The URL of the engine at `address`, whose host must pass [`Host`]'s check.
    pub fn new(address: HostPort) -> Result<Self, FieldError> {
        check_host(&address.host).map_err(|why| FieldError::new("url", &address.host, why))?;
        Ok(EngineUrl(address))
    }

    /// The engine's host and port.
    pub fn address(&self) -> &HostPort {
        &self.0
    }

    /// The engine's host (what `berth ip` prints).
    pub fn host(&self) -> &str {
        &self.0.host
    }
}

impl TryFrom<String> for EngineUrl {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, FieldError> {
        EngineUrl::parse(&value)
    }
}

impl std::str::FromStr for EngineUrl {
    type Err = FieldError;
    fn from_str(value: &str) -> Result<Self, FieldError> {
        EngineUrl::parse(value)
    }
}

impl From<EngineUrl> for String {
    fn from(value: EngineUrl) -> String {
        value.to_string()
    }
}

/// `tcp://HOST:PORT`.
impl fmt::Display for EngineUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tcp://{}", self.0)
    }
}

impl PartialEq<str> for EngineUrl {
    fn eq(&self, other: &str) -> bool {
        EngineUrl::parse(other).is_ok_and(|o| o == *self)
    }
}

/// A path berth hands to OpenSSH (`-i PATH`, an `IdentityFile` line): valid UTF-8 without
/// control characters, so that it cannot end one ssh_config line and start another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PathBuf", into = "PathBuf")]
pub struct KeyPath(PathBuf);

impl KeyPath {
    /// Checks `path`.
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, FieldError> {
        let path = path.into();
        let text = path.to_str().ok_or_else(|| {
            FieldError::new(
                "ssh.key_path",
                &path.to_string_lossy(),
                "is not valid UTF-8",
            )
        })?;
        if text.is_empty() || text.chars().any(char::is_control) {
            return Err(FieldError::new(
                "ssh.key_path",
                text,
                "is empty or holds a control character",
            ));
        }
        Ok(KeyPath(path))
    }

    /// The path.
    pub fn as_path(&self) -> &Path {
        &self.0
    }
}

impl TryFrom<PathBuf> for KeyPath {
    type Error = FieldError;
    fn try_from(value: PathBuf) -> Result<Self, FieldError> {
        KeyPath::new(value)
    }
}

impl From<KeyPath> for PathBuf {
    fn from(value: KeyPath) -> PathBuf {
        value.0
    }
}

impl Deref for KeyPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for KeyPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// A driver's own data about a machine: one JSON object, kept as it came (minus nulls, which
/// `config.toml` cannot hold and which a driver reads as absent) and handed back before every
/// call. berth never looks inside.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DriverData(serde_json::Map<String, serde_json::Value>);

impl DriverData {
    /// What a driver returned: an object (its nulls dropped, also inside arrays), or nothing
    /// (`null`). Anything else is refused.
    pub fn from_driver(value: serde_json::Value) -> Result<Self, FieldError> {
        fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
            use serde_json::Value;
            match v {
                Value::Object(map) => Value::Object(
                    map.into_iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k, strip_nulls(v)))
                        .collect(),
                ),
                Value::Array(items) => Value::Array(
                    items
                        .into_iter()
                        .filter(|v| !v.is_null())
                        .map(strip_nulls)
                        .collect(),
                ),
                other => other,
            }
        }
        match strip_nulls(value) {
            serde_json::Value::Null => Ok(DriverData::default()),
            serde_json::Value::Object(map) => Ok(DriverData(map)),
            other => Err(FieldError::new(
                "driver_data",
                &other.to_string(),
                "is not a JSON object (a driver's data must be one)",
            )),
        }
    }

    /// Whether the driver returned nothing (its create failed or never ran).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The object as a driver receives it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(self.0.clone())
    }

    /// The object.
    pub fn as_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn users_and_hosts_that_openssh_or_a_shell_could_misread_are_refused() {
        for bad in ["", "-oProxyCommand=x", "a b", "a@b", "a\nb", "a;b", "$(id)"] {
            let err = SshUser::new(bad).unwrap_err();
            assert_eq!(err.field, "ssh.user", "{bad:?}");
        }
        for good in ["root", "ubuntu", "core.user", "_svc", "a-b"] {
            SshUser::new(good).unwrap();
        }
        for bad in [
            "",
            "-oProxyCommand=x",
            "host\nProxyCommand x",
            "a b",
            "a..b",
            "user@h",
            "h:22",
            "[::1]",
            "$(id)",
        ] {
            let err = Host::new(bad).unwrap_err();
            assert!(err.to_string().starts_with("ssh.host "), "{err}");
        }
        for good in [
            "203.0.113.7",
            "2001:db8::1",
            "docker.example.com",
            "h",
            "a_b.example.",
        ] {
            Host::new(good).unwrap();
        }
    }

    #[test]
    fn engine_urls_are_tcp_host_port_with_a_checked_host() {
        let url = EngineUrl::parse("tcp://[2001:db8::1]:2377/").unwrap();
        assert_eq!(url.to_string(), "tcp://[2001:db8::1]:2377");
        assert_eq!(url.host(), "2001:db8::1");
        assert_eq!(
            EngineUrl::parse("tcp://h.example").unwrap().address().port,
            2376
        );
        for bad in [
            "unix:///var/run/docker.sock",
            "203.0.113.7:2376",
            "tcp://-oProxy:2376",
            "tcp://a b:2376",
            "tcp://h:2376/x",
            "tcp://h:0",
            "tcp://`id`:2376",
        ] {
            let err = EngineUrl::parse(bad).unwrap_err();
            assert_eq!(err.field, "url", "{bad}");
        }
    }

    #[test]
    fn driver_data_drops_nulls_and_refuses_non_objects() {
        let data = DriverData::from_driver(serde_json::json!({
            "a": 1, "gone": null, "nested": {"x": null, "y": [1, null, 2]}
        }))
        .unwrap();
        assert_eq!(
            data.to_json(),
            serde_json::json!({"a": 1, "nested": {"y": [1, 2]}})
        );
        assert!(
            DriverData::from_driver(serde_json::Value::Null)
                .unwrap()
                .is_empty()
        );
        assert!(DriverData::from_driver(serde_json::json!([1])).is_err());
    }

    #[test]
    fn key_paths_with_control_characters_are_refused() {
        KeyPath::new("/home/u/.ssh/id_ed25519").unwrap();
        assert!(KeyPath::new("/tmp/k\nProxyCommand x").is_err());
        assert!(KeyPath::new("").is_err());
    }
}
