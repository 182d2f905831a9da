//! docker-machine 0.16.2's view of a machine: the `config.json` it keeps per machine
//! (libmachine's `host.Host`), field for field and in its order.
//!
//! berth shows its own machines in this shape where docker-machine's users expect it
//! (`inspect` as docker-machine, and every `inspect -f` template, so that `{{.Driver.IPAddress}}`
//! keeps working), and reads docker-machine's stores through it for `berth import`.

use std::path::Path;

use berth_provision::EngineConfig;
use berth_store::{Machine, MachineRecord};
use serde::{Deserialize, Serialize};

/// libmachine's `host.Host`, as `config.json` holds it (ConfigVersion 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Host {
    #[serde(default)]
    pub config_version: i64,
    /// The driver's own struct; its fields depend on the driver.
    #[serde(default)]
    pub driver: DriverData,
    #[serde(default)]
    pub driver_name: String,
    #[serde(default)]
    pub host_options: HostOptions,
    #[serde(default)]
    pub name: String,
}

/// The driver part of `config.json`: docker-machine's BaseDriver fields, which every driver
/// embeds, then the generic driver's (`EnginePort`, `SSHKey`) or the none driver's (`URL`).
/// Other drivers' fields are kept as they were.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DriverData {
    #[serde(rename = "IPAddress", default)]
    pub ip_address: String,
    #[serde(rename = "MachineName", default)]
    pub machine_name: String,
    #[serde(rename = "SSHUser", default)]
    pub ssh_user: String,
    #[serde(rename = "SSHPort", default)]
    pub ssh_port: i64,
    #[serde(rename = "SSHKeyPath", default)]
    pub ssh_key_path: String,
    #[serde(rename = "StorePath", default)]
    pub store_path: String,
    #[serde(rename = "SwarmMaster", default)]
    pub swarm_master: bool,
    #[serde(rename = "SwarmHost", default)]
    pub swarm_host: String,
    #[serde(rename = "SwarmDiscovery", default)]
    pub swarm_discovery: String,
    /// generic: the engine's port.
    #[serde(
        rename = "EnginePort",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub engine_port: Option<i64>,
    /// generic: the key the user gave (SSHKeyPath is docker-machine's copy of it).
    #[serde(rename = "SSHKey", default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<String>,
    /// none: the engine's URL.
    #[serde(rename = "URL", default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Any other driver's own fields (virtualbox's CPU, amazonec2's region, …).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// libmachine's `host.Options`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostOptions {
    #[serde(default)]
    pub driver: String,
    #[serde(default)]
    pub memory: i64,
    #[serde(default)]
    pub disk: i64,
    #[serde(default)]
    pub engine_options: EngineOptions,
    #[serde(default)]
    pub swarm_options: SwarmOptions,
    #[serde(default)]
    pub auth_options: AuthOptions,
}

/// libmachine's `engine.Options`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EngineOptions {
    #[serde(default)]
    pub arbitrary_flags: Vec<String>,
    #[serde(default)]
    pub dns: Option<Vec<String>>,
    #[serde(default)]
    pub graph_dir: String,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub ipv6: bool,
    #[serde(default)]
    pub insecure_registry: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub log_level: String,
    #[serde(default)]
    pub storage_driver: String,
    #[serde(default)]
    pub selinux_enabled: bool,
    #[serde(default)]
    pub tls_verify: bool,
    #[serde(default)]
    pub registry_mirror: Vec<String>,
    #[serde(rename = "InstallURL", default)]
    pub install_url: String,
}

/// libmachine's `swarm.Options` (classic Swarm, which berth does not set up).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SwarmOptions {
    #[serde(default)]
    pub is_swarm: bool,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub discovery: String,
    #[serde(default)]
    pub agent: bool,
    #[serde(default)]
    pub master: bool,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub strategy: String,
    #[serde(default)]
    pub heartbeat: i64,
    /// A float in Go; kept as the number it was (`0`, not `0.0`).
    #[serde(default = "zero")]
    pub overcommit: serde_json::Value,
    #[serde(default)]
    pub arbitrary_flags: Vec<String>,
    #[serde(default)]
    pub arbitrary_join_flags: Vec<String>,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub is_experimental: bool,
}

impl Default for SwarmOptions {
    /// What docker-machine 0.16.2 wrote for a machine made without `--swarm`.
    fn default() -> Self {
        SwarmOptions {
            is_swarm: false,
            address: String::new(),
            discovery: String::new(),
            agent: false,
            master: false,
            host: "tcp://0.0.0.0:3376".into(),
            image: "swarm:latest".into(),
            strategy: "spread".into(),
            heartbeat: 0,
            overcommit: zero(),
            arbitrary_flags: Vec::new(),
            arbitrary_join_flags: Vec::new(),
            env: None,
            is_experimental: false,
        }
    }
}

/// libmachine's `auth.Options`: where the certificates are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthOptions {
    #[serde(default)]
    pub cert_dir: String,
    #[serde(default)]
    pub ca_cert_path: String,
    #[serde(default)]
    pub ca_private_key_path: String,
    #[serde(default)]
    pub ca_cert_remote_path: String,
    #[serde(default)]
    pub server_cert_path: String,
    #[serde(default)]
    pub server_key_path: String,
    #[serde(default)]
    pub client_key_path: String,
    #[serde(default)]
    pub server_cert_remote_path: String,
    #[serde(default)]
    pub server_key_remote_path: String,
    #[serde(default)]
    pub client_cert_path: String,
    #[serde(rename = "ServerCertSANs", default)]
    pub server_cert_sans: Vec<String>,
    #[serde(default)]
    pub store_path: String,
}

fn zero() -> serde_json::Value {
    serde_json::Value::from(0)
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A berth machine as docker-machine would have recorded it. Each machine has its own CA in
/// berth, so `CertDir` and the CA paths point into the machine's own folder, not a shared one.
pub fn host_of(machine: &Machine, record: &MachineRecord) -> Host {
    let dir = machine.dir();
    let file = |name: &str| path_text(&machine.path(name));
    let engine: EngineConfig = record.engine.clone().try_into().unwrap_or_default();
    let ssh = record.ssh.as_ref();
    let ip = ssh
        .map(|s| s.host.clone())
        .or_else(|| record.engine_host())
        .unwrap_or_default();
    // docker-machine's StorePath is the folder above `machines/` (MACHINE_STORAGE_PATH).
    let store_root = dir
        .parent()
        .and_then(Path::parent)
        .map(path_text)
        .unwrap_or_default();
    let mut driver = DriverData {
        ip_address: ip,
        machine_name: record.name.clone(),
        ssh_user: ssh.map(|s| s.user.clone()).unwrap_or_default(),
        ssh_port: ssh.map_or(0, |s| i64::from(s.port)),
        ssh_key_path: ssh
            .and_then(|s| s.key_path.as_deref())
            .map(path_text)
            .unwrap_or_default(),
        store_path: store_root,
        swarm_master: false,
        swarm_host: String::new(),
        swarm_discovery: String::new(),
        engine_port: None,
        ssh_key: None,
        url: None,
        other: serde_json::Map::new(),
    };
    match record.driver.as_str() {
        "generic" => {
            driver.engine_port = Some(i64::from(engine.port));
            driver.ssh_key = Some(driver.ssh_key_path.clone());
        }
        "none" => driver.url = Some(record.url.clone().unwrap_or_default()),
        _ => {
            // A plugin's own data, as it keeps it, beside the common fields.
            if let Ok(serde_json::Value::Object(data)) = serde_json::to_value(&record.driver_data) {
                // A docker-machine driver's config holds its credentials: never shown.
                for (k, v) in data
                    .into_iter()
                    .filter(|(k, _)| k != berth_driver::gomachine::CONFIG_KEY)
                {
                    driver.other.entry(k).or_insert(v);
                }
            }
        }
    }
    let mut env: Vec<String> = engine.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    env.sort();
    Host {
        config_version: 3,
        driver,
        driver_name: record.driver.clone(),
        host_options: HostOptions {
            driver: String::new(),
            memory: 0,
            disk: 0,
            engine_options: EngineOptions {
                arbitrary_flags: engine.opts.clone(),
                dns: None,
                graph_dir: String::new(),
                env,
                ipv6: false,
                insecure_registry: engine.insecure_registries.clone(),
                labels: engine.labels.clone(),
                log_level: String::new(),
                storage_driver: engine.storage_driver.clone().unwrap_or_default(),
                selinux_enabled: false,
                tls_verify: true,
                registry_mirror: engine.registry_mirrors.clone(),
                install_url: engine.install_url.clone().unwrap_or_default(),
            },
            swarm_options: SwarmOptions::default(),
            auth_options: AuthOptions {
                cert_dir: path_text(dir),
                ca_cert_path: file("ca.pem"),
                ca_private_key_path: file("ca-key.pem"),
                ca_cert_remote_path: String::new(),
                server_cert_path: file("server.pem"),
                server_key_path: file("server-key.pem"),
                client_key_path: file("key.pem"),
                server_cert_remote_path: String::new(),
                server_key_remote_path: String::new(),
                client_cert_path: file("cert.pem"),
                server_cert_sans: record.tls.extra_sans.clone(),
                store_path: path_text(dir),
            },
        },
        name: record.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A config.json as docker-machine 0.16.2 writes it for a generic machine.
    const GENERIC: &str = r#"{
    "ConfigVersion": 3,
    "Driver": {
        "IPAddress": "203.0.113.7",
        "MachineName": "web1",
        "SSHUser": "root",
        "SSHPort": 22,
        "SSHKeyPath": "/home/u/.docker/machine/machines/web1/id_rsa",
        "StorePath": "/home/u/.docker/machine",
        "SwarmMaster": false,
        "SwarmHost": "",
        "SwarmDiscovery": "",
        "EnginePort": 2376,
        "SSHKey": "/home/u/.ssh/id_rsa"
    },
    "DriverName": "generic",
    "HostOptions": {
        "Driver": "",
        "Memory": 0,
        "Disk": 0,
        "EngineOptions": {
            "ArbitraryFlags": [],
            "Dns": null,
            "GraphDir": "",
            "Env": [],
            "Ipv6": false,
            "InsecureRegistry": [],
            "Labels": [],
            "LogLevel": "",
            "StorageDriver": "",
            "SelinuxEnabled": false,
            "TlsVerify": true,
            "RegistryMirror": [],
            "InstallURL": "https://get.docker.com"
        },
        "SwarmOptions": {
            "IsSwarm": false,
            "Address": "",
            "Discovery": "",
            "Agent": false,
            "Master": false,
            "Host": "tcp://0.0.0.0:3376",
            "Image": "swarm:latest",
            "Strategy": "spread",
            "Heartbeat": 0,
            "Overcommit": 0,
            "ArbitraryFlags": [],
            "ArbitraryJoinFlags": [],
            "Env": null,
            "IsExperimental": false
        },
        "AuthOptions": {
            "CertDir": "/home/u/.docker/machine/certs",
            "CaCertPath": "/home/u/.docker/machine/certs/ca.pem",
            "CaPrivateKeyPath": "/home/u/.docker/machine/certs/ca-key.pem",
            "CaCertRemotePath": "",
            "ServerCertPath": "/home/u/.docker/machine/machines/web1/server.pem",
            "ServerKeyPath": "/home/u/.docker/machine/machines/web1/server-key.pem",
            "ClientKeyPath": "/home/u/.docker/machine/certs/key.pem",
            "ServerCertRemotePath": "",
            "ServerKeyRemotePath": "",
            "ClientCertPath": "/home/u/.docker/machine/certs/cert.pem",
            "ServerCertSANs": [],
            "StorePath": "/home/u/.docker/machine/machines/web1"
        }
    },
    "Name": "web1"
}"#;

    #[test]
    fn a_docker_machine_config_reads_and_writes_back_in_its_own_order() {
        let host: Host = serde_json::from_str(GENERIC).unwrap();
        assert_eq!(host.driver.ip_address, "203.0.113.7");
        assert_eq!(host.driver.engine_port, Some(2376));
        assert_eq!(
            host.host_options.engine_options.install_url,
            "https://get.docker.com"
        );
        let back = serde_json::to_value(&host).unwrap();
        let original: serde_json::Value = serde_json::from_str(GENERIC).unwrap();
        assert_eq!(back, original);
        // Field order as docker-machine prints it (Go marshals struct fields in order).
        let text = serde_json::to_string(&host).unwrap();
        let order = [
            "\"IPAddress\"",
            "\"SSHKeyPath\"",
            "\"SwarmDiscovery\"",
            "\"EnginePort\"",
            "\"SSHKey\"",
        ];
        let at: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn other_drivers_keep_their_fields() {
        let text = GENERIC.replace("\"EnginePort\": 2376,", "\"CPU\": 2,");
        let host: Host = serde_json::from_str(&text).unwrap();
        assert_eq!(host.driver.other.get("CPU"), Some(&serde_json::json!(2)));
    }
}
