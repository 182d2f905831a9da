//! `swarm ls`: a cluster's nodes as a manager lists them, each with the berth machine it is
//! (berth sets every host's hostname to the machine's name), and finding a manager among the
//! store's machines when none is named.

use std::time::Duration;

use berth_engine::models::{Node as EngineNode, NodeSpecRoleEnum};
use serde::Serialize;

use crate::driver::Machines;
use crate::error::MachineError;
use crate::handle::MachineHandle;

use super::member::Membership;
use super::{Node, READ_TIMEOUT};

/// How long each machine may take to answer while a manager is looked for.
const FIND_TIMEOUT: Duration = Duration::from_secs(5);

/// One node of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeRow {
    /// The berth machine it is (empty for a node berth does not manage).
    pub machine: String,
    /// Its hostname.
    pub hostname: String,
    /// Its node ID.
    pub id: String,
    /// `manager` or `worker`.
    pub role: String,
    /// `active`, `pause` or `drain`.
    pub availability: String,
    /// `ready`, `down`, `disconnected` or `unknown`.
    pub state: String,
    /// For managers: `leader`, `reachable` or `unreachable`.
    pub manager_status: String,
    /// The address it reports.
    pub address: String,
    /// Its engine's version.
    pub engine: String,
}

/// The nodes of the cluster that `manager` manages, or (without a name) of the first manager
/// among the store's machines. Returns the manager's name too.
pub fn nodes(
    machines: &Machines,
    manager: Option<&str>,
) -> Result<(String, Vec<NodeRow>), MachineError> {
    let node = match manager {
        Some(name) => {
            let node = Node::open(machines, name)?;
            if !node.member.is_manager() {
                return Err(MachineError::msg(format!(
                    "'{name}' is not a manager of a swarm, and only managers list the nodes; name a manager, or leave the name out and berth looks for one"
                )));
            }
            node
        }
        None => berth_engine::block_on(find_manager(machines, &|_| true, &[]))?.ok_or_else(|| {
            MachineError::msg(
                "no machine of berth's answers as a swarm manager; `berth swarm init NAME` makes one, or name a manager",
            )
        })?,
    };
    let listed = berth_engine::block_on(node.engine.nodes())?;
    let names: Vec<String> = machines
        .list()?
        .into_iter()
        .map(|entry| entry.name)
        .collect();
    let mut rows: Vec<NodeRow> = listed.iter().map(|n| row(n, &names)).collect();
    rows.sort_by(|a, b| {
        (a.role != "manager", &a.hostname).cmp(&(b.role != "manager", &b.hostname))
    });
    Ok((node.name().to_owned(), rows))
}

fn row(node: &EngineNode, machine_names: &[String]) -> NodeRow {
    let spec = node.spec.clone().unwrap_or_default();
    let description = node.description.clone().unwrap_or_default();
    let status = node.status.clone().unwrap_or_default();
    let hostname = description.hostname.unwrap_or_default();
    let manager_status = node
        .manager_status
        .as_ref()
        .map(|m| {
            if m.leader == Some(true) {
                "leader".to_owned()
            } else {
                m.reachability.map(|r| r.to_string()).unwrap_or_default()
            }
        })
        .unwrap_or_default();
    NodeRow {
        machine: machine_names
            .iter()
            .find(|n| **n == hostname)
            .cloned()
            .unwrap_or_default(),
        id: node.id.clone().unwrap_or_default(),
        role: spec
            .role
            .map(|r| r.to_string())
            .unwrap_or_else(|| NodeSpecRoleEnum::WORKER.to_string()),
        availability: spec.availability.map(|a| a.to_string()).unwrap_or_default(),
        state: status.state.map(|s| s.to_string()).unwrap_or_default(),
        manager_status,
        address: status.addr.unwrap_or_default(),
        engine: description
            .engine
            .and_then(|e| e.engine_version)
            .unwrap_or_default(),
        hostname,
    }
}

/// The first machine of the store (other than those in `exclude`) whose engine answers as an
/// active manager for which `wanted` holds; all are asked at once.
pub(crate) async fn find_manager(
    machines: &Machines,
    wanted: &(dyn Fn(&Membership) -> bool + Sync),
    exclude: &[&str],
) -> Result<Option<Node>, MachineError> {
    let records: Vec<_> = machines
        .list()?
        .into_iter()
        .filter_map(|entry| entry.record.ok())
        .filter(|r| r.url.is_some() && !exclude.contains(&r.name.as_str()))
        .collect();
    let asks = records.into_iter().map(|record| async move {
        let machine = MachineHandle::new(machines.store().machine(&record.name).ok()?, record);
        let engine = machine.engine(FIND_TIMEOUT).ok()?;
        let info = engine.info().await.ok()?;
        let member = Membership::from_info(&info);
        if !member.is_manager() {
            return None;
        }
        // The store's engines are asked with a short deadline; the one found is kept for the
        // calls to come, which may take longer (on the TLS configuration built for the first).
        let engine = machine.engine(READ_TIMEOUT).ok()?;
        Some(Node {
            machine,
            engine,
            member,
        })
    });
    let found = futures::future::join_all(asks).await;
    let mut managers: Vec<Node> = found.into_iter().flatten().collect();
    managers.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(managers.into_iter().find(|n| wanted(&n.member)))
}
