//! `none`: an engine that is already set up and listening. berth only records
//! its URL, so `berth env` can point the docker CLI at it.

use berth_net::{AddrError, HostPort};
use serde::{Deserialize, Serialize};

use crate::probe::{PROBE_TIMEOUT, tcp_state};
use berth_plugin::Driver;
use berth_plugin::DriverError;
use berth_plugin::{
    Capabilities, CreateRequest, Created, FlagKind, FlagSpec, MachineRef, MachineState, Operation,
    SshEndpoint,
};

const NAME: &str = "none";
const URL: &str = "url";

/// The driver for engines berth neither made nor provisions.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoneDriver;

#[derive(Debug, Serialize, Deserialize)]
struct NoneData {
    url: String,
}

/// Reads `tcp://HOST:PORT` (HOST may be `[v6]`), docker's own DOCKER_HOST syntax, with the one
/// address parser berth has ([`HostPort::parse`]); this driver also wants the scheme and the
/// port written out, and nothing after them.
fn parse_engine_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("tcp://")
        .ok_or_else(|| format!("{url:?} does not start with tcp://"))?
        .trim_end_matches('/');
    if rest.contains('/') {
        return Err(format!("{url:?} has a path; write tcp://HOST:PORT"));
    }
    // Port 0 stands for "none given", which HostPort::parse never returns for a written port.
    let address = HostPort::parse(url, 0).map_err(|e| match e {
        AddrError::BadPort { .. } => format!("the port in {url:?} is not a TCP port (1 to 65535)"),
        _ => format!("{url:?} has no usable host"),
    })?;
    if address.port == 0 {
        return Err(format!("{url:?} has no port; write tcp://HOST:2376"));
    }
    if address.host.contains(['/', '@', ' ']) {
        return Err(format!("{url:?} has no usable host"));
    }
    Ok((address.host, address.port))
}

fn no_power(op: Operation) -> DriverError {
    DriverError::Unsupported {
        driver: NAME.to_owned(),
        operation: op,
        reason: "berth only knows this engine's URL; manage its host by its own means.".to_owned(),
    }
}

impl NoneData {
    fn from_ref(m: &MachineRef) -> Result<Self, DriverError> {
        serde_json::from_value(m.data.clone()).map_err(|e| DriverError::InvalidData {
            driver: NAME.to_owned(),
            machine: m.name.clone(),
            reason: e.to_string(),
        })
    }
}

impl Driver for NoneDriver {
    fn name(&self) -> &str {
        NAME
    }

    fn supports(&self, op: Operation) -> bool {
        matches!(op, Operation::Create | Operation::Remove | Operation::State)
    }

    /// Only an engine URL: no host berth made, no SSH, no power.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            owns_host: false,
            has_ssh: false,
            reboots_over_ssh: false,
        }
    }

    fn create_flags(&self) -> Result<Vec<FlagSpec>, DriverError> {
        Ok(vec![FlagSpec::new(
            URL,
            FlagKind::String,
            "URL of an engine that is already set up, like tcp://203.0.113.7:2376 (required)",
            None,
        )])
    }

    fn create(&self, req: &CreateRequest, progress: &dyn Fn(&str)) -> Result<Created, DriverError> {
        let url = req
            .string_flag(NAME, URL)?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| DriverError::InvalidFlag {
                driver: NAME.to_owned(),
                flag: URL.to_owned(),
                reason: "it is required: give the engine's URL, like tcp://203.0.113.7:2376"
                    .to_owned(),
            })?;
        parse_engine_url(&url).map_err(|reason| DriverError::InvalidFlag {
            driver: NAME.to_owned(),
            flag: URL.to_owned(),
            reason,
        })?;
        progress(&format!("Recording the engine at {url}"));
        Ok(Created {
            ssh: None,
            engine_url: Some(url.clone()),
            engine_port: None,
            boot_pending: None,
            data: serde_json::json!({ "url": url }),
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

    fn remove(&self, _: &MachineRef, _: &dyn Fn(&str)) -> Result<(), DriverError> {
        Ok(())
    }

    /// Whether the engine's port accepts connections.
    fn state(&self, m: &MachineRef) -> Result<MachineState, DriverError> {
        let d = NoneData::from_ref(m)?;
        let (host, port) = parse_engine_url(&d.url).map_err(|reason| DriverError::InvalidData {
            driver: NAME.to_owned(),
            machine: m.name.clone(),
            reason,
        })?;
        Ok(tcp_state(&host, port, PROBE_TIMEOUT))
    }

    fn ssh_endpoint(&self, m: &MachineRef) -> Result<SshEndpoint, DriverError> {
        Err(DriverError::Unsupported {
            driver: NAME.to_owned(),
            operation: Operation::Address,
            reason: crate::no_ssh_access(&m.name, NAME, "log in to it"),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use berth_plugin::no_progress;
    use serde_json::json;
    use std::net::TcpListener;

    #[test]
    fn parses_docker_host_urls() {
        assert_eq!(
            parse_engine_url("tcp://1.2.3.4:2376").unwrap(),
            ("1.2.3.4".into(), 2376)
        );
        assert_eq!(
            parse_engine_url("tcp://[::1]:2376/").unwrap(),
            ("::1".into(), 2376)
        );
        assert_eq!(
            parse_engine_url("tcp://h.example:1").unwrap(),
            ("h.example".into(), 1)
        );
        for bad in [
            "http://h:1",
            "tcp://h",
            "tcp://:2376",
            "tcp://h:0",
            "tcp://h:x",
        ] {
            assert!(parse_engine_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn create_records_url_and_state_probes_it() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("tcp://127.0.0.1:{}", l.local_addr().unwrap().port());
        let req = CreateRequest {
            machine: "e".into(),
            machine_dir: "/tmp/e".into(),
            flags: [(URL.to_owned(), json!(url))].into(),
            ssh_public_key: None,
            preboot: false,
            machine_flags: Default::default(),
        };
        let c = NoneDriver.create(&req, &no_progress).unwrap();
        assert_eq!(c.engine_url.as_deref(), Some(url.as_str()));
        assert!(c.ssh.is_none());
        let m = MachineRef {
            name: "e".into(),
            machine_dir: "/tmp/e".into(),
            data: c.data,
        };
        assert_eq!(NoneDriver.state(&m).unwrap(), MachineState::Running);
        assert!(matches!(
            NoneDriver.ssh_endpoint(&m).unwrap_err(),
            DriverError::Unsupported { .. }
        ));
    }

    #[test]
    fn create_refuses_a_bad_url_saying_why() {
        let req = CreateRequest {
            machine: "e".into(),
            machine_dir: "/tmp/e".into(),
            flags: [(URL.to_owned(), json!("unix:///var/run/docker.sock"))].into(),
            ssh_public_key: None,
            preboot: false,
            machine_flags: Default::default(),
        };
        let e = NoneDriver
            .create(&req, &no_progress)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--url") && e.contains("tcp://"), "{e}");
    }
}
