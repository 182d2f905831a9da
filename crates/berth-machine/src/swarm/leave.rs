//! `swarm leave` and the leave that `rm` does first: drain the node through a manager (its tasks
//! move elsewhere), demote it first when it is a manager and others remain, leave, and remove
//! the node from the cluster's list. A manager whose going would cost the cluster its Raft
//! quorum, and the last manager (whose going ends the cluster), go only with `force`.

use std::sync::Mutex;
use std::time::Duration;

use berth_engine::models::{NodeSpecAvailabilityEnum, NodeSpecRoleEnum, TaskState};
use berth_net::Backoff;

use crate::driver::Machines;
use crate::error::MachineError;
use crate::event::Event;

use super::confirm::{Unconfirmed, confirmed_node_id};
use super::member::{Membership, NodeState, Role};
use super::nodes::find_manager;
use super::order::Departures;
use super::{Node, short_id};

/// How long berth waits for a drained node's tasks to stop, and for a demotion to take effect.
const SETTLE: Duration = Duration::from_secs(30);

/// How long `rm` waits for an engine to say whether it is a swarm node.
const RM_ASK: Duration = Duration::from_secs(5);

/// Managers leave one at a time, even when several are named at once: each quorum check must
/// see the cluster as the previous leave left it.
static MANAGERS: Mutex<()> = Mutex::new(());

/// What `leave` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaveOutcome {
    /// Not in a swarm; nothing was changed.
    NotMember,
    /// Left the cluster.
    Left {
        /// What the machine was in the cluster before it left.
        role: Role,
        /// Whether another manager also removed its node from the cluster's node list; where
        /// none could confirm which node it was, or the leave was forced, the entry stays.
        removed: bool,
    },
    /// The last manager left with force: the cluster is gone.
    EndedCluster,
}

/// Who asks, for the hint in a refusal.
#[derive(Clone, Copy)]
enum Caller {
    Leave,
    Remove,
}

/// Takes machine `name` out of its cluster.
pub fn leave(
    machines: &Machines,
    name: &str,
    force: bool,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<LeaveOutcome, MachineError> {
    leave_with(machines, name, force, &Departures::alone(name), events)
}

/// [`leave`] of one of several machines of one command: it leaves in its turn
/// ([`Departures`]: workers first, managers after them, the last manager last).
pub fn leave_with(
    machines: &Machines,
    name: &str,
    force: bool,
    departures: &Departures,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<LeaveOutcome, MachineError> {
    events(Event::Step("asking the engine"));
    let node = match Node::open(machines, name) {
        Ok(node) => node,
        Err(e) => {
            departures.skip(name);
            return Err(e);
        }
    };
    events(Event::StepDone("asking the engine"));
    let _turn = wait_turn(departures, &node, events);
    leave_node(machines, &node, force, Caller::Leave, events)
}

/// Says what `node` is and waits for its turn, with a progress line while it waits.
fn wait_turn<'a>(
    departures: &'a Departures,
    node: &Node,
    events: &mut dyn FnMut(Event<'_>),
) -> super::order::Turn<'a> {
    let waits = node.member.is_manager();
    if waits {
        events(Event::Step(
            "waiting for the cluster's other nodes named to leave first",
        ));
    }
    let turn = departures.arrive(node.name(), Some(&node.member));
    if waits {
        events(Event::StepDone(
            "waiting for the cluster's other nodes named to leave first",
        ));
    }
    turn
}

/// The leave `rm` does before the host goes. An engine that does not answer is not asked (a
/// stopped machine's node stays in its cluster's list as down; the warning says how to remove
/// it).
pub fn leave_before_remove(
    machines: &Machines,
    name: &str,
    force: bool,
    departures: &Departures,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<LeaveOutcome, MachineError> {
    let node = match Node::open_within(machines, name, RM_ASK) {
        Ok(node) => node,
        Err(e) => {
            departures.skip(name);
            events(Event::Debug(&format!(
                "not asking about a swarm: {}",
                e.full_message()
            )));
            return Ok(LeaveOutcome::NotMember);
        }
    };
    if !node.member.in_swarm() {
        departures.skip(name);
        return Ok(LeaveOutcome::NotMember);
    }
    let _turn = wait_turn(departures, &node, events);
    events(Event::Step("leaving the swarm"));
    let outcome = leave_node(machines, &node, force, Caller::Remove, events)?;
    events(Event::StepDone("leaving the swarm"));
    Ok(outcome)
}

fn leave_node(
    machines: &Machines,
    node: &Node,
    force: bool,
    caller: Caller,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<LeaveOutcome, MachineError> {
    let name = node.name();
    let forced = |what: &str| match caller {
        Caller::Leave => format!("`berth swarm leave --force {name}` {what}"),
        Caller::Remove => format!("`berth rm -f {name}` {what}"),
    };
    match node.member.state {
        NodeState::Inactive => return Ok(LeaveOutcome::NotMember),
        NodeState::Active => {}
        other => {
            if !force {
                return Err(MachineError::msg(format!(
                    "'{name}' is not a working member of its cluster (state {other:?}); {}",
                    forced("leaves anyway")
                )));
            }
            events(Event::Step("leaving (forced)"));
            berth_engine::block_on(node.engine.swarm_leave(true))?;
            events(Event::StepDone("leaving (forced)"));
            return Ok(LeaveOutcome::Left {
                role: node.member.role,
                removed: false,
            });
        }
    }
    if node.member.role == Role::Manager {
        let _one_at_a_time = MANAGERS.lock().unwrap_or_else(|p| p.into_inner());
        leave_manager(machines, node, force, &forced, events)
    } else {
        leave_worker(machines, node, &node.member, events)
    }
}

fn leave_manager(
    machines: &Machines,
    node: &Node,
    force: bool,
    forced: &dyn Fn(&str) -> String,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<LeaveOutcome, MachineError> {
    let name = node.name();
    let listed = berth_engine::block_on(node.engine.nodes())?;
    let managers: Vec<_> = listed
        .iter()
        .filter(|n| n.manager_status.is_some())
        .collect();
    let reachable = managers
        .iter()
        .filter(|n| {
            n.manager_status
                .as_ref()
                .and_then(|m| m.reachability)
                .is_some_and(|r| r == berth_engine::models::Reachability::REACHABLE)
        })
        .count();
    let cluster = node
        .member
        .cluster_id
        .as_deref()
        .map(short_id)
        .unwrap_or("?")
        .to_owned();
    if managers.len() <= 1 {
        if !force {
            return Err(MachineError::msg(format!(
                "'{name}' is the last manager of cluster {cluster} ({} nodes): its going ends the cluster with its services; make another manager first (`berth swarm join --role manager --manager {name} OTHER`), or {}",
                listed.len(),
                forced("ends the cluster anyway")
            )));
        }
        events(Event::Step("leaving; the cluster ends"));
        berth_engine::block_on(node.engine.swarm_leave(true))?;
        events(Event::StepDone("leaving; the cluster ends"));
        return Ok(LeaveOutcome::EndedCluster);
    }
    if !keeps_quorum(managers.len(), reachable) && !force {
        return Err(MachineError::msg(format!(
            "'{name}' is one of {} managers of cluster {cluster}, of which {reachable} are reachable: without it the others could not keep a Raft quorum, and the cluster would stop taking changes; bring the unreachable managers back (or remove them with `docker node rm`) first, or {}",
            managers.len(),
            forced("leaves anyway")
        )));
    }
    // Another manager acts for the cluster once this one is a worker.
    let own_id = node.member.node_id.clone();
    let member = node.member.clone();
    let acting = berth_engine::block_on(find_manager(
        machines,
        &|m| m.node_id != own_id && member.same_cluster(m),
        &[name],
    ))?;
    drain(node, &node.member.node_id, name, events)?;
    events(Event::Step("demoting to worker"));
    update(node, &node.member.node_id, |spec| {
        spec.role = Some(NodeSpecRoleEnum::WORKER)
    })?;
    wait_until(SETTLE, || {
        berth_engine::block_on(node.engine.info())
            .map(|info| !Membership::from_info(&info).is_manager())
            .unwrap_or(false)
    })
    .then_some(())
    .ok_or_else(|| {
        MachineError::msg(format!(
            "'{name}' was demoted but still acts as a manager after {}s; run `berth swarm leave {name}` again",
            SETTLE.as_secs()
        ))
    })?;
    events(Event::StepDone("demoting to worker"));
    let acting = acting.and_then(|manager| {
        let id = confirm(&manager, node, events)?;
        Some((manager, id))
    });
    finish(
        node,
        acting.as_ref().map(|(m, id)| (m, id.as_str())),
        Role::Manager,
        events,
    )
}

fn leave_worker(
    machines: &Machines,
    node: &Node,
    member: &Membership,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<LeaveOutcome, MachineError> {
    let acting = berth_engine::block_on(find_manager(
        machines,
        &|m| m.same_cluster(member),
        &[node.name()],
    ))?;
    // The node to drain and remove is the one the manager lists at the machine's address,
    // never just the one the leaving worker names.
    let acting = acting.and_then(|manager| {
        let id = confirm(&manager, node, events)?;
        Some((manager, id))
    });
    match &acting {
        Some((manager, id)) => drain(manager, id, node.name(), events)?,
        None => events(Event::Warn(&format!(
            "no manager of the cluster of '{}' among berth's machines confirms which node it is: it leaves without draining (Swarm restarts its tasks elsewhere), and its node stays in the list as down until `docker node rm` on a manager",
            node.name(),
        ))),
    }
    finish(
        node,
        acting.as_ref().map(|(m, id)| (m, id.as_str())),
        Role::Worker,
        events,
    )
}

/// The node ID of `node` as `manager` lists it at the machine's address (why: the
/// `swarm::confirm` module); `None`, with a warning that says what to do, when the manager confirms none.
fn confirm(manager: &Node, node: &Node, events: &mut dyn FnMut(Event<'_>)) -> Option<String> {
    let name = node.name();
    let claimed = &node.member.node_id;
    let listed = match berth_engine::block_on(manager.engine.nodes()) {
        Ok(listed) => listed,
        Err(e) => {
            events(Event::Warn(&format!(
                "the manager '{}' did not list its nodes ({e}), so berth cannot confirm which node '{name}' is and drains or removes none; `docker node rm` on a manager removes it once it is down",
                manager.name()
            )));
            return None;
        }
    };
    let address = match super::machine_ip(node.record()) {
        Ok(address) => address,
        Err(e) => {
            events(Event::Warn(&format!(
                "{e}; berth cannot confirm which node '{name}' is and drains or removes none"
            )));
            return None;
        }
    };
    match confirmed_node_id(claimed, address, &listed) {
        Ok(id) => {
            if id != *claimed {
                events(Event::Warn(&format!(
                    "the engine of '{name}' says it is node {claimed}, but the manager '{}' lists node {id} at its address {address}: berth drains and removes {id}, the node the manager confirms",
                    manager.name()
                )));
            }
            Some(id)
        }
        Err(why) => {
            events(Event::Warn(&format!(
                "the manager '{}' lists {} at the address of '{name}' ({address}), so berth cannot confirm that it is node {claimed} and drains or removes no node; once it has left, `docker node ls` and `docker node rm` on a manager tidy the list",
                manager.name(),
                match why {
                    Unconfirmed::NoneAt => "no node".to_owned(),
                    Unconfirmed::SeveralAt(ids) => format!("several nodes ({})", ids.join(", ")),
                }
            )));
            None
        }
    }
}

/// Leaves, then removes the node from the list through `acting`.
fn finish(
    node: &Node,
    acting: Option<(&Node, &str)>,
    role: Role,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<LeaveOutcome, MachineError> {
    events(Event::Step("leaving"));
    berth_engine::block_on(node.engine.swarm_leave(false))?;
    events(Event::StepDone("leaving"));
    let Some((manager, id)) = acting else {
        return Ok(LeaveOutcome::Left {
            role,
            removed: false,
        });
    };
    events(Event::Step("removing the node from the cluster"));
    // Forced: the node has left, but the manager may not have marked it down yet.
    berth_engine::block_on(manager.engine.node_remove(id, true)).map_err(
        |e| {
            MachineError::with_source(
                format!(
                    "'{}' left, but its node could not be removed from the list; `docker node rm {id}` on a manager does it",
                    node.name(),
                ),
                e,
            )
        },
    )?;
    events(Event::StepDone("removing the node from the cluster"));
    Ok(LeaveOutcome::Left {
        role,
        removed: true,
    })
}

/// Sets the node's availability to drain through `manager` and waits (bounded) until none of
/// its tasks runs any more. A node on which the manager lists no running task has nothing to
/// move, and is not drained: the engine's leave of a drained worker took 6.4 s here against
/// 2.3 s for the same worker undrained, and an `rm -f` of an idle cluster waited on it.
fn drain(
    manager: &Node,
    node_id: &str,
    name: &str,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let runs_tasks = |tasks: &[berth_engine::models::Task]| {
        tasks
            .iter()
            .any(|t| t.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING))
    };
    // When the list cannot be read, drain: moving tasks first is the careful way.
    if let Ok(tasks) = berth_engine::block_on(manager.engine.tasks(&[("node", node_id)]))
        && !runs_tasks(&tasks)
    {
        tracing::debug!("{name}: no task runs on node {node_id}; it leaves without draining");
        return Ok(());
    }
    events(Event::Step("draining"));
    update(manager, node_id, |spec| {
        spec.availability = Some(NodeSpecAvailabilityEnum::DRAIN)
    })?;
    let drained = wait_until(SETTLE, || {
        berth_engine::block_on(manager.engine.tasks(&[("node", node_id)]))
            .map(|tasks| !runs_tasks(&tasks))
            .unwrap_or(false)
    });
    if drained {
        events(Event::StepDone("draining"));
    } else {
        events(Event::Warn(&format!(
            "tasks of '{name}' still ran {}s after it was drained; it leaves anyway and Swarm restarts them elsewhere",
            SETTLE.as_secs()
        )));
    }
    Ok(())
}

/// Reads the node through `manager`, changes its spec, and writes it back at the version read.
fn update(
    manager: &Node,
    node_id: &str,
    change: impl FnOnce(&mut berth_engine::models::NodeSpec),
) -> Result<(), MachineError> {
    let current = berth_engine::block_on(manager.engine.node(node_id))?;
    let mut spec = current.spec.unwrap_or_default();
    change(&mut spec);
    let version = current.version.and_then(|v| v.index).unwrap_or_default();
    berth_engine::block_on(manager.engine.node_update(node_id, version, spec))?;
    Ok(())
}

/// Polls `done` until it holds or `within` passes (an engine gives no signal for these).
fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let mut backoff = Backoff::polling(within);
    loop {
        if done() {
            return true;
        }
        if !backoff.wait() {
            return false;
        }
    }
}

/// Whether the managers keep a Raft quorum when one reachable manager of `managers` goes:
/// a majority of the remaining `managers - 1` must still be reachable.
fn keeps_quorum(managers: usize, reachable: usize) -> bool {
    let remaining = managers.saturating_sub(1);
    reachable.saturating_sub(1) > remaining / 2
}

#[cfg(test)]
mod tests {
    use super::keeps_quorum;

    #[test]
    fn quorum_is_a_majority_of_the_managers_that_remain() {
        // Two managers, both up: the one left is a majority of one.
        assert!(keeps_quorum(2, 2));
        // Three, all up: two of two remain.
        assert!(keeps_quorum(3, 3));
        // Three with one down: one of two remains, no majority.
        assert!(!keeps_quorum(3, 2));
        // Five with one down: three of four remain.
        assert!(keeps_quorum(5, 4));
        // Five with two down: two of four.
        assert!(!keeps_quorum(5, 3));
    }
}
