//! `generic`: a host that already exists and answers SSH. berth makes
//! nothing, so it can only observe the host, never power it off or on; `restart` is a reboot
//! over SSH, which berth-machine does itself (it holds the pinned host key).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::probe::{PROBE_TIMEOUT, tcp_state};
use berth_plugin::Driver;
use berth_plugin::DriverError;
use berth_plugin::{
    Capabilities, CreateRequest, Created, FlagKind, FlagSpec, MachineRef, MachineState, Operation,
    SshEndpoint,
};

const NAME: &str = "generic";
const IP: &str = "generic-ip-address";
const USER: &str = "generic-ssh-user";
const PORT: &str = "generic-ssh-port";
const KEY: &str = "generic-ssh-key";
const ENGINE_PORT: &str = "generic-engine-port";

/// The driver for hosts that berth did not make.
#[derive(Debug, Default, Clone, Copy)]
pub struct GenericDriver;

/// What `generic` keeps in the machine's record: the endpoint as the user gave it.
#[derive(Debug, Serialize, Deserialize)]
struct GenericData {
    ip_address: String,
    ssh_user: String,
    ssh_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ssh_key: Option<PathBuf>,
    /// `--generic-engine-port` when given (absent: 2376).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    engine_port: Option<u16>,
}

impl GenericData {
    fn from_ref(m: &MachineRef) -> Result<Self, DriverError> {
        serde_json::from_value(m.data.clone()).map_err(|e| DriverError::InvalidData {
            driver: NAME.to_owned(),
            machine: m.name.clone(),
            reason: e.to_string(),
        })
    }

    fn endpoint(&self) -> SshEndpoint {
        SshEndpoint {
            host: self.ip_address.clone(),
            port: self.ssh_port,
            user: self.ssh_user.clone(),
            key_path: self.ssh_key.clone(),
        }
    }
}

fn no_power(op: Operation) -> DriverError {
    DriverError::Unsupported {
        driver: NAME.to_owned(),
        operation: op,
        reason: "berth did not make this host, so it has no power switch for it: once off, \
                 nothing berth does could turn it on again. `berth restart NAME` reboots it over \
                 SSH; to stop or start it, use the host's own console or provider."
            .to_owned(),
    }
}

fn invalid(flag: &str, reason: impl Into<String>) -> DriverError {
    DriverError::InvalidFlag {
        driver: NAME.to_owned(),
        flag: flag.to_owned(),
        reason: reason.into(),
    }
}

impl Driver for GenericDriver {
    fn name(&self) -> &str {
        NAME
    }

    fn supports(&self, op: Operation) -> bool {
        matches!(
            op,
            Operation::Create | Operation::Remove | Operation::State | Operation::Address
        )
    }

    /// berth did not make the host (rm leaves it), logs in over SSH, and restarts it by a
    /// reboot over SSH, since nothing here could power it on again.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            owns_host: false,
            has_ssh: true,
            reboots_over_ssh: true,
        }
    }

    fn create_flags(&self) -> Result<Vec<FlagSpec>, DriverError> {
        Ok(vec![
            FlagSpec::new(
                IP,
                FlagKind::String,
                "IP address or DNS name of the host (required)",
                None,
            ),
            FlagSpec::new(
                USER,
                FlagKind::String,
                "User to log in as over SSH; not root means commands run through `sudo -n`",
                Some("root"),
            ),
            FlagSpec::new(
                PORT,
                FlagKind::Int,
                "Port of the host's SSH server",
                Some("22"),
            ),
            FlagSpec::new(
                KEY,
                FlagKind::String,
                "Private key that logs in to the host (default: the SSH agent, else ~/.ssh/id_*)",
                None,
            ),
            FlagSpec::new(
                ENGINE_PORT,
                FlagKind::Int,
                "Port the engine's TLS API listens on",
                Some("2376"),
            ),
        ])
    }

    fn create(&self, req: &CreateRequest, progress: &dyn Fn(&str)) -> Result<Created, DriverError> {
        let ip_address = req
            .string_flag(NAME, IP)?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(IP, "it is required: give the address of the host to use"))?;
        let ssh_user = req
            .string_flag(NAME, USER)?
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "root".to_owned());
        // `berth ssh` hands both to OpenSSH, which reads a word starting with '-' as an option.
        for (flag, value) in [(IP, &ip_address), (USER, &ssh_user)] {
            if value.starts_with('-') {
                return Err(invalid(
                    flag,
                    format!("{value:?} starts with '-', which no host or user name does"),
                ));
            }
        }
        let port = req.int_flag(NAME, PORT)?.unwrap_or(22);
        let ssh_port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| invalid(PORT, format!("{port} is not a TCP port (1 to 65535)")))?;
        let ssh_key = req
            .string_flag(NAME, KEY)?
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        if let Some(key) = &ssh_key {
            // Checked here so that a typo fails before any connection attempt.
            std::fs::metadata(key).map_err(|e| {
                invalid(
                    KEY,
                    format!("cannot read the key file {}: {e}", key.display()),
                )
            })?;
        }
        let engine_port = match req.int_flag(NAME, ENGINE_PORT)? {
            None => None,
            Some(port) => Some(
                u16::try_from(port)
                    .ok()
                    .filter(|p| *p != 0 && *p != 2375)
                    .ok_or_else(|| {
                        invalid(
                            ENGINE_PORT,
                            format!(
                                "{port} is not a port the engine can use (1 to 65535; not 2375, Docker's port without TLS)"
                            ),
                        )
                    })?,
            ),
        };
        let data = GenericData {
            ip_address,
            ssh_user,
            ssh_port,
            ssh_key,
            engine_port,
        };
        progress(&format!(
            "Using the existing host {}@{}:{}",
            data.ssh_user, data.ip_address, data.ssh_port
        ));
        Ok(Created {
            ssh: Some(data.endpoint()),
            engine_url: None,
            engine_port,
            boot_pending: None,
            data: serde_json::to_value(&data).map_err(|e| DriverError::Failed {
                driver: NAME.to_owned(),
                operation: "create".to_owned(),
                message: format!("could not record the host's endpoint: {e}"),
            })?,
        })
    }

    fn start(&self, _: &MachineRef, _: &dyn Fn(&str)) -> Result<(), DriverError> {
        Err(no_power(Operation::Start))
    }

    fn stop(&self, _: &MachineRef, _: &dyn Fn(&str)) -> Result<(), DriverError> {
        Err(no_power(Operation::Stop))
    }

    fn restart(&self, _: &MachineRef, _: &dyn Fn(&str)) -> Result<(), DriverError> {
        Err(no_power(Operation::Restart))
    }

    fn kill(&self, _: &MachineRef, _: &dyn Fn(&str)) -> Result<(), DriverError> {
        Err(no_power(Operation::Kill))
    }

    /// The host itself stays as it is; berth forgets it.
    fn remove(&self, _: &MachineRef, _: &dyn Fn(&str)) -> Result<(), DriverError> {
        Ok(())
    }

    fn state(&self, m: &MachineRef) -> Result<MachineState, DriverError> {
        let d = GenericData::from_ref(m)?;
        Ok(tcp_state(&d.ip_address, d.ssh_port, PROBE_TIMEOUT))
    }

    fn ssh_endpoint(&self, m: &MachineRef) -> Result<SshEndpoint, DriverError> {
        Ok(GenericData::from_ref(m)?.endpoint())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use berth_plugin::no_progress;
    use serde_json::json;
    use std::net::TcpListener;

    fn req(flags: serde_json::Value) -> CreateRequest {
        CreateRequest {
            machine: "web1".into(),
            machine_dir: "/tmp/web1".into(),
            flags: serde_json::from_value(flags).unwrap(),
            ssh_public_key: None,
            preboot: false,
            machine_flags: Default::default(),
        }
    }

    #[test]
    fn create_records_endpoint_with_defaults() {
        let c = GenericDriver
            .create(&req(json!({IP: "127.0.0.1"})), &no_progress)
            .unwrap();
        let ssh = c.ssh.unwrap();
        assert_eq!(
            (ssh.host.as_str(), ssh.port, ssh.user.as_str()),
            ("127.0.0.1", 22, "root")
        );
        assert_eq!(c.data["ssh_port"], 22);
        assert_eq!(c.engine_port, None);
    }

    #[test]
    fn the_engine_port_is_passed_on_and_checked() {
        let c = GenericDriver
            .create(&req(json!({IP: "h", ENGINE_PORT: "2377"})), &no_progress)
            .unwrap();
        assert_eq!(c.engine_port, Some(2377));
        assert_eq!(c.data["engine_port"], 2377);
        for bad in [0, 2375, 70000] {
            let e = GenericDriver
                .create(&req(json!({IP: "h", ENGINE_PORT: bad})), &no_progress)
                .unwrap_err();
            assert!(e.to_string().contains("--generic-engine-port"), "{e}");
        }
    }

    #[test]
    fn create_refuses_missing_address_bad_port_and_missing_key() {
        let e = GenericDriver
            .create(&req(json!({})), &no_progress)
            .unwrap_err();
        assert!(e.to_string().contains("--generic-ip-address"), "{e}");
        let e = GenericDriver
            .create(&req(json!({IP: "h", PORT: 70000})), &no_progress)
            .unwrap_err();
        assert!(e.to_string().contains("70000"), "{e}");
        let e = GenericDriver
            .create(
                &req(json!({IP: "h", KEY: "/nonexistent/key"})),
                &no_progress,
            )
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/key"), "{e}");
    }

    #[test]
    fn create_refuses_a_user_or_address_that_openssh_would_read_as_an_option() {
        for flags in [
            json!({IP: "-oProxyCommand=touch /tmp/x"}),
            json!({IP: "h", USER: "-oProxyCommand=touch /tmp/x"}),
        ] {
            let e = GenericDriver.create(&req(flags), &no_progress).unwrap_err();
            assert!(e.to_string().contains("starts with '-'"), "{e}");
        }
    }

    #[test]
    fn state_follows_the_ssh_port_and_power_is_unsupported() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let c = GenericDriver
            .create(&req(json!({IP: "127.0.0.1", PORT: port})), &no_progress)
            .unwrap();
        let m = MachineRef {
            name: "web1".into(),
            machine_dir: "/tmp/web1".into(),
            data: c.data,
        };
        assert_eq!(GenericDriver.state(&m).unwrap(), MachineState::Running);
        drop(l);
        assert_eq!(GenericDriver.state(&m).unwrap(), MachineState::Stopped);
        let e = GenericDriver.stop(&m, &no_progress).unwrap_err();
        assert!(matches!(e, DriverError::Unsupported { .. }));
        assert!(e.to_string().contains("cannot stop"), "{e}");
        assert!(!GenericDriver.supports(Operation::Start));
        GenericDriver.remove(&m, &no_progress).unwrap();
    }

    #[test]
    fn corrupt_data_is_reported_with_the_machine_name() {
        let m = MachineRef {
            name: "web1".into(),
            machine_dir: "/x".into(),
            data: json!({}),
        };
        let e = GenericDriver.ssh_endpoint(&m).unwrap_err().to_string();
        assert!(e.contains("web1") && e.contains("ip_address"), "{e}");
    }
}
