//! Fleets on Swarm mode: berth machines become one cluster. Docker's engine does the clustering
//! (Raft among managers, its own mutual TLS between nodes, overlay networks, scheduling); berth
//! makes the machines, moves join tokens from a manager to the joining engines through the
//! engine API, checks what a join needs from the hosts (the managers' ports, IPVS), and makes
//! leaving and `rm` safe (drain, demote, leave, remove the node; no quorum lost by accident).
//!
//! Nothing about a cluster is kept in berth's store: every answer comes from the engines, so it
//! cannot go stale when someone runs `docker swarm` by hand.

mod certs_warning;
mod cluster;
mod confirm;
mod host;
mod init;
mod leave;
mod live_restore_off;
mod member;
mod nodes;
mod order;

use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

use crate::record::MachineRecord;
use berth_engine::Engine;

use crate::driver::Machines;
use crate::error::{Context as _, MachineError};
use crate::handle::MachineHandle;

pub use certs_warning::regenerate_certs_warning;
pub use cluster::{Cluster, JoinOutcome};
pub use host::MANAGER_TCP_PORTS;
pub use init::{InitOutcome, init};
pub use leave::{LeaveOutcome, leave, leave_before_remove, leave_with};
pub use member::{Membership, NodeState, Role, fill_cluster_ids, short_id};
pub use nodes::{NodeRow, nodes};
pub use order::{Departures, Turn, must_go_before, stages};

/// How long a read (`/info`, `/nodes`) may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a change (init, join, leave, node update) may take per stage: a join answers only
/// once the node has joined, and dockerd itself gives that 20 s.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A machine of the store with its engine client and what it says about its membership.
pub(crate) struct Node {
    pub machine: MachineHandle,
    pub engine: Engine,
    pub member: Membership,
}

impl Node {
    /// Loads `name` and asks its engine.
    pub(crate) fn open(machines: &Machines, name: &str) -> Result<Node, MachineError> {
        Node::open_within(machines, name, CHANGE_TIMEOUT)
    }

    /// [`Node::open`], with the engine's first answer bounded by `first` (later calls, which
    /// may change the cluster, keep the longer deadline).
    pub(crate) fn open_within(
        machines: &Machines,
        name: &str,
        first: Duration,
    ) -> Result<Node, MachineError> {
        let machine = machines.load(name)?;
        let engine = machine.engine(CHANGE_TIMEOUT)?;
        let info = berth_engine::block_on(async {
            tokio::time::timeout(first, engine.info())
                .await
                .unwrap_or_else(|_| {
                    Err(berth_engine::EngineError::Timeout {
                        address: engine.address().to_string(),
                        timeout: first,
                        stage: "asking about its swarm",
                    })
                })
        })
        .map_err(|e| {
            MachineError::with_source(
                format!("cannot ask the engine of '{name}' about its swarm; is it running (`berth start {name}`)?"),
                e,
            )
        })?;
        Ok(Node {
            machine,
            engine,
            member: Membership::from_info(&info),
        })
    }

    pub(crate) fn name(&self) -> &str {
        self.machine.name()
    }

    /// The node's record.
    pub(crate) fn record(&self) -> &MachineRecord {
        self.machine.record()
    }
}

/// The machine's own address, as the other nodes reach it: the host berth reaches it at (over
/// SSH, else its engine URL's), as an IP, since Swarm advertises only IPs or interface names.
/// A bridge's address inside the host (docker0) would be unreachable from the others.
pub(crate) fn machine_ip(record: &MachineRecord) -> Result<IpAddr, MachineError> {
    let host = match (&record.ssh, &record.url) {
        (Some(ssh), _) => ssh.host.as_str(),
        (None, Some(url)) => url.host(),
        (None, None) => {
            return Err(MachineError::msg(format!(
                "machine '{}' has no address recorded; `berth provision {}` finishes it",
                record.name, record.name
            )));
        }
    };
    if let Ok(ip) = host.parse() {
        return Ok(ip);
    }
    let mut addrs: Vec<IpAddr> = (host, 0)
        .to_socket_addrs()
        .with_context(|| {
            format!(
                "cannot resolve '{host}', the address of '{}'; give the address to advertise with --advertise-addr",
                record.name
            )
        })?
        .map(|a| a.ip())
        .collect();
    addrs.sort_by_key(|ip| !ip.is_ipv4());
    addrs.first().copied().with_context(|| {
        format!(
            "'{host}', the address of '{}', resolves to nothing; give the address to advertise with --advertise-addr",
            record.name
        )
    })
}

/// A join token. It opens the cluster to whoever has it, so it never shows in `Debug`, in a
/// message or in a file; it lives in memory for one command.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(token: String) -> Option<Secret> {
        (!token.is_empty()).then_some(Secret(token))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with the token cut out, for messages made from an engine's or a library's words.
    pub(crate) fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "<join token>")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<join token>")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_token_never_shows() {
        let token =
            "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx";
        let secret = Secret::new(token.into()).expect("a token");
        assert_eq!(format!("{secret:?}"), "<join token>");
        assert_eq!(
            secret.scrub(&format!("join with {token} failed")),
            "join with <join token> failed"
        );
        assert!(Secret::new(String::new()).is_none());
    }

    #[test]
    fn a_machine_advertises_the_address_berth_reaches_it_at() {
        let mut record = MachineRecord::new("a".try_into().unwrap(), "generic".try_into().unwrap());
        record.url = Some("tcp://10.1.2.3:2376".parse().unwrap());
        assert_eq!(
            machine_ip(&record).expect("an address").to_string(),
            "10.1.2.3"
        );
        record.ssh = Some(crate::record::SshSettings {
            host: "10.9.9.9".try_into().unwrap(),
            port: 22,
            user: "root".try_into().unwrap(),
            key_path: None,
        });
        assert_eq!(
            machine_ip(&record).expect("an address").to_string(),
            "10.9.9.9"
        );
        record.ssh = None;
        record.url = Some("tcp://[fd00::5]:2376".parse().unwrap());
        assert_eq!(
            machine_ip(&record).expect("an address").to_string(),
            "fd00::5"
        );
    }
}
