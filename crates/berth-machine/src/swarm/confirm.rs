//! Which node of a cluster a leaving machine is, as a manager says it, not as the machine says.
//!
//! A worker's `/info` names its own node ID, and `rm`/`swarm leave` drain and remove that ID
//! through a manager. A worker (a guest someone else controls, an engine gone wrong) could name
//! another node, and berth would drain and remove a healthy node of the cluster. So the ID is
//! confirmed in the manager's own node list: the node listed under that ID must be at the
//! address berth advertised for the machine when it joined ([`super::machine_ip`]). When the
//! claimed ID does not match, the one node listed at that address is the machine; when none
//! or several are, berth acts on no node and says so.

use std::net::IpAddr;

use berth_engine::models::Node as EngineNode;

/// Why a manager does not confirm the node a machine says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unconfirmed {
    /// No node of the manager's list is at the machine's address.
    NoneAt,
    /// Several nodes of the list are at the machine's address.
    SeveralAt(Vec<String>),
}

/// The node ID to act on for a machine at `address` whose engine says it is `claimed`, from
/// the manager's `listed` nodes. A node's address is the one the manager lists for it
/// (`Status.Addr`).
pub(crate) fn confirmed_node_id(
    claimed: &str,
    address: IpAddr,
    listed: &[EngineNode],
) -> Result<String, Unconfirmed> {
    let at = |node: &EngineNode| {
        node.status
            .as_ref()
            .and_then(|s| s.addr.as_deref())
            .and_then(|a| a.parse::<IpAddr>().ok())
            .is_some_and(|a| a == address)
    };
    let here: Vec<&EngineNode> = listed.iter().filter(|n| at(n)).collect();
    if here.iter().any(|n| n.id.as_deref() == Some(claimed)) {
        return Ok(claimed.to_owned());
    }
    match here.as_slice() {
        [] => Err(Unconfirmed::NoneAt),
        [one] => one.id.clone().ok_or(Unconfirmed::NoneAt),
        several => Err(Unconfirmed::SeveralAt(
            several.iter().filter_map(|n| n.id.clone()).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use berth_engine::models::NodeStatus;

    use super::*;

    fn node(id: &str, addr: &str) -> EngineNode {
        EngineNode {
            id: Some(id.into()),
            status: Some(NodeStatus {
                addr: Some(addr.into()),
                ..NodeStatus::default()
            }),
            ..EngineNode::default()
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn cluster() -> Vec<EngineNode> {
        vec![
            node("mgr1", "10.77.0.2"),
            node("wrk1", "10.77.0.3"),
            node("wrk2", "10.77.0.4"),
        ]
    }

    #[test]
    fn a_worker_telling_the_truth_is_confirmed() {
        assert_eq!(
            confirmed_node_id("wrk1", ip("10.77.0.3"), &cluster()),
            Ok("wrk1".into())
        );
    }

    /// Regression: the leaving worker's own word chose the node that was drained and removed.
    #[test]
    fn a_worker_naming_another_node_gets_its_own_node_not_the_named_one() {
        // wrk1 (at .3) says it is the manager, or the other worker.
        for lie in ["mgr1", "wrk2"] {
            assert_eq!(
                confirmed_node_id(lie, ip("10.77.0.3"), &cluster()),
                Ok("wrk1".into()),
                "{lie}"
            );
        }
    }

    #[test]
    fn no_node_or_several_at_the_address_confirm_nothing() {
        assert_eq!(
            confirmed_node_id("mgr1", ip("10.77.0.9"), &cluster()),
            Err(Unconfirmed::NoneAt)
        );
        let mut twice = cluster();
        twice.push(node("wrk3", "10.77.0.3"));
        assert_eq!(
            confirmed_node_id("mgr1", ip("10.77.0.3"), &twice),
            Err(Unconfirmed::SeveralAt(vec!["wrk1".into(), "wrk3".into()]))
        );
        // Among several at one address, the claimed one is believed: the manager lists it there.
        assert_eq!(
            confirmed_node_id("wrk3", ip("10.77.0.3"), &twice),
            Ok("wrk3".into())
        );
    }
}
