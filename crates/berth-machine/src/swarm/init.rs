//! `swarm init`: Swarm mode on one machine's engine, which becomes the first manager.

use crate::driver::Machines;
use crate::error::MachineError;
use crate::event::Event;

use super::member::NodeState;
use super::{Node, host, machine_ip};

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitOutcome {
    /// A new cluster was made.
    Created {
        /// The new cluster's ID, as `docker info` shows it.
        cluster_id: String,
    },
    /// The machine already manages a cluster; nothing was changed.
    AlreadyManager {
        /// The ID of the cluster it manages.
        cluster_id: String,
    },
}

/// Makes machine `name` the first manager of a new cluster, advertising `advertise_addr` or the
/// machine's own address. A manager already is a no-op; a worker, or a node that is joining or
/// locked, is refused with what to do.
pub fn init(
    machines: &Machines,
    name: &str,
    advertise_addr: Option<&str>,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<InitOutcome, MachineError> {
    events(Event::Step("asking the engine"));
    let node = Node::open(machines, name)?;
    events(Event::StepDone("asking the engine"));
    let member = &node.member;
    match member.state {
        NodeState::Inactive => {}
        NodeState::Active if member.is_manager() => {
            return Ok(InitOutcome::AlreadyManager {
                cluster_id: member.cluster_id.clone().unwrap_or_default(),
            });
        }
        NodeState::Active => {
            return Err(MachineError::msg(format!(
                "'{name}' is already a worker of a cluster (its manager is at {}); `berth swarm leave {name}` takes it out first, or promote it with `docker node promote` on a manager",
                member
                    .managers
                    .first()
                    .map_or("an unknown address", |(_, addr)| addr.as_str())
            )));
        }
        NodeState::Pending => {
            return Err(MachineError::msg(format!(
                "'{name}' is joining a cluster or has lost its managers (swarm state pending); `berth swarm leave --force {name}` takes it out, then run init again"
            )));
        }
        NodeState::Locked => {
            return Err(MachineError::msg(format!(
                "'{name}' is a manager of a locked cluster: unlock it with `docker swarm unlock` on that machine (eval \"$(berth env {name})\"); nothing was changed"
            )));
        }
        NodeState::Error => {
            return Err(MachineError::msg(format!(
                "the swarm component of '{name}' is in error ({}); `berth swarm leave --force {name}` resets it, then run init again",
                member.error.as_deref().unwrap_or("no details")
            )));
        }
    }
    let advertise = match advertise_addr {
        Some(addr) => addr.to_owned(),
        None => machine_ip(node.record())?.to_string(),
    };
    super::live_restore_off::ensure_off(machines, name, events)?;
    events(Event::Step("starting Swarm mode"));
    berth_engine::block_on(node.engine.swarm_init(&advertise, "0.0.0.0:2377")).map_err(|e| {
        MachineError::with_source(
            format!("the engine of '{name}' could not start Swarm mode advertising {advertise}"),
            e,
        )
    })?;
    events(Event::StepDone("starting Swarm mode"));
    let cluster_id = berth_engine::block_on(node.engine.swarm())?
        .id
        .unwrap_or_default();
    check_ipvs(&node, events);
    Ok(InitOutcome::Created { cluster_id })
}

/// Warns when the node's kernel has no IPVS; a failed check is only a debug line (the cluster
/// works without it, and berth may have no SSH to the host).
pub(crate) fn check_ipvs(node: &Node, events: &mut dyn FnMut(Event<'_>)) {
    let result =
        host::session(&node.machine).and_then(|s| s.map(|s| host::has_ipvs(&s)).transpose());
    match result {
        Ok(Some(false)) => events(Event::Warn(&host::no_ipvs_warning(node.name()))),
        Ok(_) => {}
        Err(e) => events(Event::Debug(&format!(
            "could not check for IPVS: {}",
            e.full_message()
        ))),
    }
}
