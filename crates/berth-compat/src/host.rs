//! docker-machine 0.16.2's view of a machine: the `config.json` it keeps per machine
//! (libmachine's `host.Host`), field for field and in its order.
//!
//! berth shows its own machines in this shape where docker-machine's users expect it
//! (`inspect` as docker-machine, and every `inspect -f` template, so that `{{.Driver.IPAddress}}`
//! keeps working), and reads docker-machine's stores through it for `berth import`.

use std::path::Path;

use berth_machine::MachineHandle;
use berth_names::MachineFiles;
use serde::{Deserialize, Serialize};

/// libmachine's `host.Host`, as `config.json` holds it (ConfigVersion 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Host {
    /// The format's version; docker-machine 0.16.2 writes 3 and migrates older files when it
    /// loads them.
    #[serde(default)]
    pub config_version: i64,
    /// The driver's own struct; its fields depend on the driver.
    #[serde(default)]
    pub driver: DriverData,
    /// The driver that made the machine (`generic`, `none`, `virtualbox`, a plugin's name).
    #[serde(default)]
    pub driver_name: String,
    /// How the engine, classic Swarm and the certificates were set up.
    #[serde(default)]
    pub host_options: HostOptions,
    /// The machine's name, which is also its folder's name under `machines/`.
    #[serde(default)]
    pub name: String,
}

/// The driver part of `config.json`: docker-machine's BaseDriver fields, which every driver
/// embeds, then the generic driver's (`EnginePort`, `SSHKey`) or the none driver's (`URL`).
/// Other drivers' fields are kept as they were.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DriverData {
    /// The address the host is reached at, for SSH and for the engine.
    #[serde(rename = "IPAddress", default)]
    pub ip_address: String,
    /// The machine's name again, as the driver knows it.
    #[serde(rename = "MachineName", default)]
    pub machine_name: String,
    /// The user docker-machine logs in to the host as.
    #[serde(rename = "SSHUser", default)]
    pub ssh_user: String,
    /// The port of the host's SSH server.
    #[serde(rename = "SSHPort", default)]
    pub ssh_port: i64,
    /// The private key docker-machine logs in with (its copy in the machine's folder).
    #[serde(rename = "SSHKeyPath", default)]
    pub ssh_key_path: String,
    /// The storage root (`MACHINE_STORAGE_PATH`), the folder above `machines/`.
    #[serde(rename = "StorePath", default)]
    pub store_path: String,
    /// Whether the machine is a classic Swarm manager (the driver's copy of
    /// `SwarmOptions::master`).
    #[serde(rename = "SwarmMaster", default)]
    pub swarm_master: bool,
    /// The classic Swarm manager's listen address, as the driver keeps it.
    #[serde(rename = "SwarmHost", default)]
    pub swarm_host: String,
    /// The classic Swarm discovery URL, as the driver keeps it.
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
    /// Left empty by docker-machine 0.16.2; `Host::driver_name` is the one that counts.
    #[serde(default)]
    pub driver: String,
    /// A legacy VM size in MB; 0.16.2 writes 0 and each driver keeps its own sizes.
    #[serde(default)]
    pub memory: i64,
    /// A legacy disk size in MB; 0.16.2 writes 0 and each driver keeps its own sizes.
    #[serde(default)]
    pub disk: i64,
    /// How the engine was installed and configured (`create --engine-*`).
    #[serde(default)]
    pub engine_options: EngineOptions,
    /// Classic Swarm's settings (`create --swarm-*`).
    #[serde(default)]
    pub swarm_options: SwarmOptions,
    /// Where the certificates are, on this computer and on the host.
    #[serde(default)]
    pub auth_options: AuthOptions,
}

/// libmachine's `engine.Options`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EngineOptions {
    /// `--engine-opt` values: extra dockerd flags, as `flag=value` without the leading `--`.
    #[serde(default)]
    pub arbitrary_flags: Vec<String>,
    /// DNS servers the engine hands its containers; null when none were set.
    #[serde(default)]
    pub dns: Option<Vec<String>>,
    /// The engine's data root (dockerd's old `--graph`); empty means the engine's default.
    #[serde(default)]
    pub graph_dir: String,
    /// `--engine-env` values, `NAME=value`, set in the engine's environment.
    #[serde(default)]
    pub env: Vec<String>,
    /// Whether the engine runs with `--ipv6`.
    #[serde(default)]
    pub ipv6: bool,
    /// `--engine-insecure-registry` values: registries the engine talks to without checking TLS.
    #[serde(default)]
    pub insecure_registry: Vec<String>,
    /// `--engine-label` values, `key=value`, set on the engine.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The engine's log level; empty means the engine's default.
    #[serde(default)]
    pub log_level: String,
    /// `--engine-storage-driver`; empty lets the engine choose.
    #[serde(default)]
    pub storage_driver: String,
    /// Whether the engine runs with `--selinux-enabled`.
    #[serde(default)]
    pub selinux_enabled: bool,
    /// Whether the engine demands a client certificate; always true for a provisioned machine.
    #[serde(default)]
    pub tls_verify: bool,
    /// `--engine-registry-mirror` values: mirrors the engine pulls through.
    #[serde(default)]
    pub registry_mirror: Vec<String>,
    /// `--engine-install-url`: the script that installs the engine (get.docker.com by default).
    #[serde(rename = "InstallURL", default)]
    pub install_url: String,
}

/// libmachine's `swarm.Options` (classic Swarm, which berth does not set up).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SwarmOptions {
    /// Whether the machine takes part in classic Swarm (`--swarm`).
    #[serde(default)]
    pub is_swarm: bool,
    /// `--swarm-addr`: the address the Swarm agent advertises.
    #[serde(default)]
    pub address: String,
    /// `--swarm-discovery`: the discovery service the cluster meets through.
    #[serde(default)]
    pub discovery: String,
    /// Whether a Swarm agent runs on the machine.
    #[serde(default)]
    pub agent: bool,
    /// `--swarm-master`: whether the machine runs the Swarm manager.
    #[serde(default)]
    pub master: bool,
    /// `--swarm-host`: the manager's listen address.
    #[serde(default)]
    pub host: String,
    /// `--swarm-image`: the image the Swarm containers run.
    #[serde(default)]
    pub image: String,
    /// `--swarm-strategy`: how the manager places containers.
    #[serde(default)]
    pub strategy: String,
    /// The agent's heartbeat period in seconds; 0 means Swarm's default.
    #[serde(default)]
    pub heartbeat: i64,
    /// A float in Go; kept as the number it was (`0`, not `0.0`).
    #[serde(default = "zero")]
    pub overcommit: serde_json::Value,
    /// `--swarm-opt` values: extra flags for the manager.
    #[serde(default)]
    pub arbitrary_flags: Vec<String>,
    /// `--swarm-join-opt` values: extra flags for the agent's join.
    #[serde(default)]
    pub arbitrary_join_flags: Vec<String>,
    /// Environment for the Swarm containers; null when none was set.
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// `--swarm-experimental`: whether Swarm's experimental features are on.
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
    /// The folder of the client certificates: docker-machine's shared `certs/`, a berth
    /// machine's own folder.
    #[serde(default)]
    pub cert_dir: String,
    /// The CA certificate that signed the engine's and the client's certificates.
    #[serde(default)]
    pub ca_cert_path: String,
    /// The CA's private key, which signs a new server certificate at `regenerate-certs`.
    #[serde(default)]
    pub ca_private_key_path: String,
    /// Where the CA certificate goes on the host; empty means the default under /etc/docker.
    #[serde(default)]
    pub ca_cert_remote_path: String,
    /// This computer's copy of the engine's certificate.
    #[serde(default)]
    pub server_cert_path: String,
    /// This computer's copy of the engine's private key.
    #[serde(default)]
    pub server_key_path: String,
    /// The client's private key (`key.pem` in `DOCKER_CERT_PATH`).
    #[serde(default)]
    pub client_key_path: String,
    /// Where the engine's certificate goes on the host; empty means the default under /etc/docker.
    #[serde(default)]
    pub server_cert_remote_path: String,
    /// Where the engine's private key goes on the host; empty means the default under /etc/docker.
    #[serde(default)]
    pub server_key_remote_path: String,
    /// The client's certificate (`cert.pem` in `DOCKER_CERT_PATH`).
    #[serde(default)]
    pub client_cert_path: String,
    /// `--tls-san` values: extra names and addresses the engine's certificate is valid for.
    #[serde(rename = "ServerCertSANs", default)]
    pub server_cert_sans: Vec<String>,
    /// The machine's own folder.
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
pub fn host_of(handle: &MachineHandle) -> Host {
    let (machine, record) = (handle.folder(), handle.record());
    let dir = machine.dir();
    let file = |name: &str| path_text(&machine.path(name));
    let engine = &record.engine;
    let ssh = record.ssh.as_ref();
    let ip = ssh
        .map(|s| s.host.to_string())
        .or_else(|| record.engine_host().map(str::to_owned))
        .unwrap_or_default();
    // docker-machine's StorePath is the folder above `machines/` (MACHINE_STORAGE_PATH).
    let store_root = dir
        .parent()
        .and_then(Path::parent)
        .map(path_text)
        .unwrap_or_default();
    let mut driver = DriverData {
        ip_address: ip,
        machine_name: record.name.to_string(),
        ssh_user: ssh.map(|s| s.user.to_string()).unwrap_or_default(),
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
        "none" => {
            driver.url = Some(
                record
                    .url
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            )
        }
        _ => {
            // A plugin's own data, as it keeps it, beside the common fields.
            // A docker-machine driver's config holds its credentials: never shown.
            for (k, v) in record
                .driver_data
                .as_map()
                .iter()
                .filter(|(k, _)| k.as_str() != berth_driver::gomachine::CONFIG_KEY)
            {
                driver.other.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    let mut env: Vec<String> = engine.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    env.sort();
    Host {
        config_version: 3,
        driver,
        driver_name: record.driver.to_string(),
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
                ca_cert_path: file(MachineFiles::CA_CERT),
                ca_private_key_path: file(MachineFiles::CA_KEY),
                ca_cert_remote_path: String::new(),
                server_cert_path: file(MachineFiles::SERVER_CERT),
                server_key_path: file(MachineFiles::SERVER_KEY),
                client_key_path: file(MachineFiles::CLIENT_KEY),
                server_cert_remote_path: String::new(),
                server_key_remote_path: String::new(),
                client_cert_path: file(MachineFiles::CLIENT_CERT),
                server_cert_sans: record.tls.extra_sans.clone(),
                store_path: path_text(dir),
            },
        },
        name: record.name.to_string(),
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
