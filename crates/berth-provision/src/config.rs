//! The engine options a machine was created with. The binary stores this in
//! the machine's config.toml, so `berth provision` re-applies the same engine.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The TLS port berth puts the engine API on (Docker's registered port for TLS).
pub const DEFAULT_PORT: u16 = 2376;

/// How the engine is installed and started on a machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// Install the engine when the host has none (`false`: refuse such hosts).
    pub install: bool,
    /// A get.docker.com-style script to install with, instead of the distribution's docker.io.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_url: Option<String>,
    /// `--engine-opt` values as the user typed them: `name=value` or a bare `name`.
    pub opts: Vec<String>,
    /// `--engine-label` values (`key=value`).
    pub labels: Vec<String>,
    /// `--engine-insecure-registry` values.
    pub insecure_registries: Vec<String>,
    /// `--engine-registry-mirror` values.
    pub registry_mirrors: Vec<String>,
    /// `--engine-storage-driver`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_driver: Option<String>,
    /// `--engine-env` values: the engine's environment (proxies and the like).
    pub env: BTreeMap<String, String>,
    /// The TCP port of the TLS API.
    pub port: u16,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            install: true,
            install_url: None,
            opts: Vec::new(),
            labels: Vec::new(),
            insecure_registries: Vec::new(),
            registry_mirrors: Vec::new(),
            storage_driver: None,
            env: BTreeMap::new(),
            port: DEFAULT_PORT,
        }
    }
}

/// An engine option that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The option has no name, or a name dockerd could not have.
    #[error(
        "--engine-opt {opt:?} is not an engine option: give it as name=value or a bare name, e.g. --engine-opt log-level=warn"
    )]
    BadOpt {
        /// The option as given.
        opt: String,
    },
    /// The option would change the listeners or the TLS that berth manages.
    #[error(
        "--engine-opt {opt:?} would change how the engine listens or its TLS, which berth sets itself (-H fd://, -H tcp://0.0.0.0:PORT, --tlsverify and the certificate paths); leave it out"
    )]
    Reserved {
        /// The option as given.
        opt: String,
    },
    /// An `--engine-env` value without `=` or with an invalid variable name.
    #[error(
        "--engine-env {assignment:?} is not NAME=VALUE with NAME made of letters, digits and underscores (not starting with a digit)"
    )]
    BadEnv {
        /// The assignment as given.
        assignment: String,
    },
    /// A value holds a NUL byte or a line break where the engine's command line cannot carry one.
    #[error(
        "the engine option {value:?} contains a NUL byte or line break, which a command line cannot carry; remove it"
    )]
    ControlCharacter {
        /// The offending value.
        value: String,
    },
    /// An install script URL that is not https:// (or file:// for a script on the host).
    #[error(
        "--engine-install-url {url:?} is not an https:// URL: the script it names runs as root on the host, so berth fetches it only over TLS (or give file:///PATH for a script already on the host)"
    )]
    InsecureInstallUrl {
        /// The URL as given.
        url: String,
    },
    /// Port 0, or 2375, which is Docker's plain-HTTP port and must never be opened.
    #[error(
        "port {port} cannot be used for the engine's TLS API: 2375 is Docker's unencrypted port and 0 is no port; use 2376"
    )]
    BadPort {
        /// The port given.
        port: u16,
    },
}

/// dockerd flags that berth writes itself; an `--engine-opt` may not repeat them.
const RESERVED: &[&str] = &[
    "H",
    "host",
    "tls",
    "tlsverify",
    "tlscacert",
    "tlscert",
    "tlskey",
];

/// Turns one `--engine-opt` value into a dockerd flag: `name=value` becomes
/// `--name=value`, a bare `name` becomes `--name`. Leading dashes are accepted
/// (`--engine-opt --debug`), as docker-machine users sometimes type them.
pub fn engine_opt_flag(opt: &str) -> Result<String, ConfigError> {
    let trimmed = opt.trim_start_matches('-');
    let (name, value) = match trimmed.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (trimmed, None),
    };
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if !valid_name {
        return Err(ConfigError::BadOpt {
            opt: opt.to_owned(),
        });
    }
    if RESERVED.contains(&name) {
        return Err(ConfigError::Reserved {
            opt: opt.to_owned(),
        });
    }
    if let Some(value) = value {
        no_control(value)?;
    }
    Ok(match value {
        Some(value) => format!("--{name}={value}"),
        None => format!("--{name}"),
    })
}

/// Splits an `--engine-env` value `NAME=VALUE` (the value may hold anything,
/// spaces and quotes included).
pub fn parse_env(assignment: &str) -> Result<(String, String), ConfigError> {
    let bad = || ConfigError::BadEnv {
        assignment: assignment.to_owned(),
    };
    let (name, value) = assignment.split_once('=').ok_or_else(bad)?;
    if !valid_env_name(name) {
        return Err(bad());
    }
    Ok((name.to_owned(), value.to_owned()))
}

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn no_control(value: &str) -> Result<(), ConfigError> {
    if value.contains(['\0', '\n', '\r']) {
        return Err(ConfigError::ControlCharacter {
            value: value.to_owned(),
        });
    }
    Ok(())
}

impl EngineConfig {
    /// Checks every option before anything touches the host, so a typo fails
    /// the create at once instead of leaving an engine that will not start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.port == 0 || self.port == 2375 {
            return Err(ConfigError::BadPort { port: self.port });
        }
        self.dockerd_flags()?;
        if let Some(url) = &self.install_url {
            // A script fetched over plain HTTP runs as root with whatever anyone on the path
            // put in it; curl follows redirects, so https is also required of every hop
            // (install.sh passes --proto '=https,file').
            let scheme_ok = ["https://", "file://"].iter().any(|s| {
                url.get(..s.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(s))
            });
            if !scheme_ok || url.chars().any(char::is_control) || url.contains(' ') {
                return Err(ConfigError::InsecureInstallUrl { url: url.clone() });
            }
        }
        for name in self.env.keys() {
            if !valid_env_name(name) {
                return Err(ConfigError::BadEnv {
                    assignment: name.clone(),
                });
            }
        }
        for value in self.env.values() {
            // Environment= can carry line breaks (as \n), but NUL cannot be in an environment.
            if value.contains('\0') {
                return Err(ConfigError::ControlCharacter {
                    value: value.clone(),
                });
            }
        }
        Ok(())
    }

    /// The dockerd flags for the engine options, in a stable order: labels,
    /// insecure registries, registry mirrors, storage driver, then `--engine-opt`s.
    pub fn dockerd_flags(&self) -> Result<Vec<String>, ConfigError> {
        let mut flags = Vec::new();
        let lists: [(&str, &Vec<String>); 3] = [
            ("label", &self.labels),
            ("insecure-registry", &self.insecure_registries),
            ("registry-mirror", &self.registry_mirrors),
        ];
        for (flag, values) in lists {
            for value in values {
                no_control(value)?;
                flags.push(format!("--{flag}={value}"));
            }
        }
        if let Some(driver) = &self.storage_driver {
            no_control(driver)?;
            flags.push(format!("--storage-driver={driver}"));
        }
        for opt in &self.opts {
            flags.push(engine_opt_flag(opt)?);
        }
        Ok(flags)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn opts_map_to_flags() {
        assert_eq!(
            engine_opt_flag("log-level=warn").unwrap(),
            "--log-level=warn"
        );
        assert_eq!(engine_opt_flag("debug").unwrap(), "--debug");
        assert_eq!(engine_opt_flag("--debug").unwrap(), "--debug");
        assert_eq!(
            engine_opt_flag("default-ulimit=nofile=1024:2048").unwrap(),
            "--default-ulimit=nofile=1024:2048"
        );
        assert_eq!(engine_opt_flag("dns=").unwrap(), "--dns=");
    }

    #[test]
    fn bad_and_reserved_opts_are_refused() {
        assert!(matches!(
            engine_opt_flag("=x"),
            Err(ConfigError::BadOpt { .. })
        ));
        assert!(matches!(
            engine_opt_flag("a b=c"),
            Err(ConfigError::BadOpt { .. })
        ));
        // Regression guard: an engine-opt must never open a plain listener on 2375.
        for opt in [
            "host=tcp://0.0.0.0:2375",
            "H=unix:///x",
            "tlsverify=false",
            "--tlskey=/k",
        ] {
            let err = engine_opt_flag(opt).unwrap_err();
            assert!(matches!(err, ConfigError::Reserved { .. }), "{opt}");
            assert!(err.to_string().contains("berth sets itself"));
        }
    }

    #[test]
    fn env_assignments_keep_their_value_whole() {
        assert_eq!(
            parse_env(r#"GREETING=hello "big" world=yes"#).unwrap(),
            ("GREETING".to_owned(), r#"hello "big" world=yes"#.to_owned())
        );
        assert_eq!(
            parse_env("EMPTY=").unwrap(),
            ("EMPTY".into(), String::new())
        );
        assert!(parse_env("NOVALUE").is_err());
        assert!(parse_env("1X=a").is_err());
        assert!(parse_env("A-B=a").is_err());
    }

    #[test]
    fn flags_come_in_a_stable_order() {
        let config = EngineConfig {
            opts: vec!["log-level=warn".into()],
            labels: vec!["env=prod".into(), "team=a b".into()],
            insecure_registries: vec!["reg.local:5000".into()],
            registry_mirrors: vec!["https://mirror.local".into()],
            storage_driver: Some("overlay2".into()),
            ..EngineConfig::default()
        };
        assert_eq!(
            config.dockerd_flags().unwrap(),
            [
                "--label=env=prod",
                "--label=team=a b",
                "--insecure-registry=reg.local:5000",
                "--registry-mirror=https://mirror.local",
                "--storage-driver=overlay2",
                "--log-level=warn",
            ]
        );
    }

    #[test]
    fn validate_refuses_plain_port_and_line_breaks() {
        let config = EngineConfig {
            port: 2375,
            ..EngineConfig::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::BadPort { port: 2375 }));
        let config = EngineConfig {
            labels: vec!["a=b\nExecStartPre=/bin/evil".into()],
            ..EngineConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(ConfigError::ControlCharacter { .. })
        ));
        assert_eq!(EngineConfig::default().validate(), Ok(()));
    }

    #[test]
    fn validate_takes_only_https_or_file_install_urls() {
        let with = |url: &str| EngineConfig {
            install_url: Some(url.to_owned()),
            ..EngineConfig::default()
        };
        for url in [
            "https://get.docker.com",
            "HTTPS://get.docker.com/",
            "file:///srv/install.sh",
        ] {
            assert_eq!(with(url).validate(), Ok(()), "{url}");
        }
        for url in [
            "http://get.docker.com",
            "ftp://mirror/install.sh",
            "get.docker.com",
            "",
            "https://x/\nrm -rf /",
        ] {
            assert!(with(url).validate().is_err(), "{url:?} was accepted");
        }
    }

    #[test]
    fn round_trips_through_toml_with_defaults_for_missing_fields() {
        let mut config = EngineConfig {
            labels: vec!["a=b".into()],
            ..EngineConfig::default()
        };
        config
            .env
            .insert("HTTP_PROXY".into(), "http://p:3128".into());
        let text = toml::to_string(&config).unwrap();
        assert_eq!(toml::from_str::<EngineConfig>(&text).unwrap(), config);
        let sparse: EngineConfig = toml::from_str("labels = [\"x=y\"]").unwrap();
        assert_eq!(sparse.port, 2376);
        assert!(sparse.install);
    }
}
