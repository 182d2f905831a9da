//! What a machine's engine says about its own place in a cluster (`GET /info`, `.Swarm`), as
//! `ls` shows it and as every swarm command decides from.

use berth_engine::models::{LocalNodeState, SystemInfo};
use serde::Serialize;

/// How a node takes part, as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Not in a cluster.
    Inactive,
    /// Joining, or cut off from its managers and trying again.
    Pending,
    /// A member.
    Active,
    /// The engine's swarm component failed (its words are in `error`).
    Error,
    /// An autolocked manager waiting for its unlock key after a restart.
    Locked,
}

/// A node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs tasks.
    Worker,
    /// Runs tasks and takes part in the Raft store that holds the cluster's state.
    Manager,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Worker => "worker",
            Role::Manager => "manager",
        })
    }
}

/// A machine's membership, read from its engine's `/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    /// Whether and how it takes part.
    pub state: NodeState,
    /// Its node ID (empty when inactive).
    pub node_id: String,
    /// The address it advertises to the cluster.
    pub node_addr: String,
    /// Manager or worker (worker when inactive).
    pub role: Role,
    /// The cluster's ID. Only managers know it; for a worker `ls` fills it in from a manager
    /// among berth's machines whose node ID the worker lists as one of its managers.
    pub cluster_id: Option<String>,
    /// The managers it knows: node IDs and their cluster addresses (`HOST:2377`).
    pub managers: Vec<(String, String)>,
    /// The engine's error for its swarm component, if any.
    pub error: Option<String>,
    /// How many nodes the cluster has. Only managers know it.
    pub cluster_nodes: Option<usize>,
}

impl Membership {
    /// From an engine's `/info`.
    pub fn from_info(info: &SystemInfo) -> Membership {
        let swarm = info.swarm.clone().unwrap_or_default();
        let state = match swarm.local_node_state {
            Some(LocalNodeState::ACTIVE) => NodeState::Active,
            Some(LocalNodeState::PENDING) => NodeState::Pending,
            Some(LocalNodeState::ERROR) => NodeState::Error,
            Some(LocalNodeState::LOCKED) => NodeState::Locked,
            _ => NodeState::Inactive,
        };
        let manager = swarm.control_available.unwrap_or(false);
        Membership {
            state,
            node_id: swarm.node_id.unwrap_or_default(),
            node_addr: swarm.node_addr.unwrap_or_default(),
            role: if manager { Role::Manager } else { Role::Worker },
            cluster_id: swarm.cluster.and_then(|c| c.id).filter(|id| !id.is_empty()),
            managers: swarm
                .remote_managers
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| Some((p.node_id?, p.addr?)))
                .collect(),
            error: swarm.error.filter(|e| !e.is_empty()),
            cluster_nodes: swarm
                .nodes
                .filter(|_| manager)
                .and_then(|n| usize::try_from(n).ok()),
        }
    }

    /// A member (active), or on its way to being one.
    pub fn in_swarm(&self) -> bool {
        self.state != NodeState::Inactive
    }

    /// An active manager.
    pub fn is_manager(&self) -> bool {
        self.state == NodeState::Active && self.role == Role::Manager
    }

    /// Whether `other` is in the same cluster as this manager: by cluster ID when both know it,
    /// else by `other` listing this node among its managers.
    pub fn same_cluster(&self, other: &Membership) -> bool {
        match (&self.cluster_id, &other.cluster_id) {
            (Some(a), Some(b)) => a == b,
            _ => {
                other.managers.iter().any(|(id, _)| *id == self.node_id)
                    || self.managers.iter().any(|(id, _)| *id == other.node_id)
            }
        }
    }

    /// What `ls` shows in its SWARM column: `CLUSTER/role` (cluster ID shortened to 12
    /// characters, as docker shortens IDs), a worker whose cluster is not known by its manager's
    /// address, the state when not active, and nothing outside a swarm.
    pub fn summary(&self) -> String {
        match self.state {
            NodeState::Inactive => String::new(),
            NodeState::Active => match &self.cluster_id {
                Some(id) => format!("{}/{}", short_id(id), self.role),
                None => match self.managers.first() {
                    Some((_, addr)) => format!("{} of {addr}", self.role),
                    None => self.role.to_string(),
                },
            },
            NodeState::Pending => "pending".into(),
            NodeState::Error => "error".into(),
            NodeState::Locked => "locked".into(),
        }
    }
}

/// An ID as docker's own tables show it.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Fills in each worker's cluster ID from the managers in the same list (workers' engines do not
/// report it): a worker lists its managers' node IDs.
pub fn fill_cluster_ids(members: &mut [Option<Membership>]) {
    let known: Vec<(String, String)> = members
        .iter()
        .flatten()
        .filter_map(|m| Some((m.node_id.clone(), m.cluster_id.clone()?)))
        .collect();
    for member in members.iter_mut().flatten() {
        if member.cluster_id.is_none() && member.state == NodeState::Active {
            member.cluster_id = member
                .managers
                .iter()
                .find_map(|(id, _)| known.iter().find(|(k, _)| k == id))
                .map(|(_, cluster)| cluster.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::models::{ClusterInfo, PeerNode, SwarmInfo};

    fn info(state: LocalNodeState, manager: bool, node: &str, managers: &[&str]) -> SystemInfo {
        SystemInfo {
            swarm: Some(SwarmInfo {
                node_id: Some(node.into()),
                node_addr: Some("10.0.0.1".into()),
                local_node_state: Some(state),
                control_available: Some(manager),
                cluster: manager.then(|| ClusterInfo {
                    id: Some("kq3v8x1a2b3cdefghijklmnop".into()),
                    ..Default::default()
                }),
                remote_managers: Some(
                    managers
                        .iter()
                        .map(|id| PeerNode {
                            node_id: Some((*id).into()),
                            addr: Some("10.0.0.1:2377".into()),
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn an_engine_outside_a_swarm_shows_nothing() {
        let m = Membership::from_info(&SystemInfo::default());
        assert_eq!(m.state, NodeState::Inactive);
        assert!(!m.in_swarm());
        assert_eq!(m.summary(), "");
    }

    #[test]
    fn workers_learn_their_cluster_from_a_manager_in_the_list() {
        let manager = Membership::from_info(&info(LocalNodeState::ACTIVE, true, "m1", &["m1"]));
        let worker = Membership::from_info(&info(LocalNodeState::ACTIVE, false, "w1", &["m1"]));
        let stranger = Membership::from_info(&info(LocalNodeState::ACTIVE, false, "w2", &["x"]));
        assert_eq!(manager.summary(), "kq3v8x1a2b3c/manager");
        assert_eq!(worker.summary(), "worker of 10.0.0.1:2377");
        assert!(manager.same_cluster(&worker));
        assert!(!manager.same_cluster(&stranger));
        let mut all = vec![Some(manager), Some(worker), None, Some(stranger)];
        fill_cluster_ids(&mut all);
        assert_eq!(
            all[1].as_ref().expect("a worker").summary(),
            "kq3v8x1a2b3c/worker"
        );
        assert_eq!(all[3].as_ref().expect("a stranger").cluster_id, None);
    }

    #[test]
    fn a_locked_manager_says_so() {
        let m = Membership::from_info(&info(LocalNodeState::LOCKED, false, "", &[]));
        assert!(m.in_swarm());
        assert!(!m.is_manager());
        assert_eq!(m.summary(), "locked");
    }
}
