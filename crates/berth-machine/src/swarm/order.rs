//! The order in which several nodes of one cluster leave when one command takes them all out
//! (`rm` or `swarm leave` of several machines, which run at once): workers first, then the
//! managers one after the other, the last manager last. A worker drains and is removed from the
//! list through a manager, so that manager must still be there; before this order, the workers
//! of a cluster removed together with its manager waited 30 s on a manager that had gone
//! (issue 20: `rm -f` of a three-node cluster took 30.5 s).
//!
//! Each machine's task says what it is ([`Departures::arrive`]) and waits for its turn, which
//! comes once every machine that must go before it has left ([`Turn`]'s drop says so). Every
//! wait is bounded: a machine that never says (its engine did not answer) counts as no member
//! once the others have waited [`ASK_WAIT`], and a leave that hangs frees the next after
//! [`LEAVE_WAIT`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::member::{Membership, Role};

/// How long a machine waits for the others of the command to say whether they are members.
/// Longer than `rm` gives an engine to answer (5 s): a dead engine is known by then.
pub(super) const ASK_WAIT: Duration = Duration::from_secs(8);

/// How long a machine waits for those before it to leave.
pub(super) const LEAVE_WAIT: Duration = Duration::from_secs(90);

/// The machines one command takes out of their clusters, and where each one's leave is.
#[derive(Debug)]
pub struct Departures {
    names: BTreeSet<String>,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// What each machine said it is (`None`: not a member, or its engine did not answer).
    said: BTreeMap<String, Option<Membership>>,
    /// The machines whose leave is over (done or failed).
    gone: BTreeSet<String>,
    /// The machines whose host this command destroys (their driver made it).
    host_goes: BTreeSet<String>,
}

impl Departures {
    /// For the machines `names` of one command.
    pub fn new(names: &[String]) -> Arc<Self> {
        Arc::new(Departures {
            names: names.iter().cloned().collect(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        })
    }

    /// For one machine alone: it waits for nobody.
    pub fn alone(name: &str) -> Arc<Self> {
        Self::new(&[name.to_owned()])
    }

    /// Machine `name` says what it is and waits until those that must leave before it have
    /// left. The returned [`Turn`] says, when dropped, that its leave is over.
    pub fn arrive(&self, name: &str, member: Option<&Membership>) -> Turn<'_> {
        let mut state = self.lock();
        state.said.insert(name.to_owned(), member.cloned());
        self.changed.notify_all();
        let turn = Turn {
            departures: self,
            name: name.to_owned(),
        };
        if member.is_none_or(|m| m.role == Role::Worker || !m.in_swarm()) {
            return turn;
        }
        // Everyone says first (or is taken as no member), then each waits for those before it.
        let asked_until = Instant::now() + ASK_WAIT;
        while self.names.iter().any(|n| !state.said.contains_key(n)) {
            let left = asked_until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self.wait(state, left);
        }
        let said: Vec<(String, Option<Membership>)> = state
            .said
            .iter()
            .map(|(n, m)| (n.clone(), m.clone()))
            .collect();
        let before = must_go_before(name, &said);
        let until = Instant::now() + LEAVE_WAIT;
        while before.iter().any(|n| !state.gone.contains(n)) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self.wait(state, left);
        }
        turn
    }

    /// Whether `name` need not leave at all because its whole cluster goes in this command
    /// with its hosts ([`whole_cluster_goes`]). Machine `name` says what it is and whether its
    /// host goes, then waits (bounded, as [`Departures::arrive`] does) until every machine of
    /// the command has said.
    pub fn cluster_goes_whole(&self, name: &str, member: &Membership, host_goes: bool) -> bool {
        let mut state = self.lock();
        state.said.insert(name.to_owned(), Some(member.clone()));
        if host_goes {
            state.host_goes.insert(name.to_owned());
        }
        self.changed.notify_all();
        let asked_until = Instant::now() + ASK_WAIT;
        while self.names.iter().any(|n| !state.said.contains_key(n)) {
            let left = asked_until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self.wait(state, left);
        }
        let said: Vec<(String, Option<Membership>)> = state
            .said
            .iter()
            .map(|(n, m)| (n.clone(), m.clone()))
            .collect();
        whole_cluster_goes(name, &said, &state.host_goes)
    }

    /// Machine `name` will not leave (its record is unreadable, it has no engine): nobody waits
    /// for it.
    pub fn skip(&self, name: &str) {
        let mut state = self.lock();
        state.said.entry(name.to_owned()).or_insert(None);
        state.gone.insert(name.to_owned());
        self.changed.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(
        &self,
        guard: std::sync::MutexGuard<'a, State>,
        within: Duration,
    ) -> std::sync::MutexGuard<'a, State> {
        match self.changed.wait_timeout(guard, within) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }
}

/// A machine's turn to leave; dropping it (after the leave, or on its failure) lets the next go.
#[derive(Debug)]
pub struct Turn<'a> {
    departures: &'a Departures,
    name: String,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut state = self.departures.lock();
        state.said.entry(self.name.clone()).or_insert(None);
        state.gone.insert(self.name.clone());
        self.departures.changed.notify_all();
    }
}

/// The order of the leaves: for each cluster among `said`, its workers (all at once), then its
/// managers one by one in name order. A stage is a list of names that may leave together.
pub fn stages(said: &[(String, Option<Membership>)]) -> Vec<Vec<String>> {
    let members: Vec<(&String, &Membership)> = said
        .iter()
        .filter_map(|(n, m)| m.as_ref().filter(|m| m.in_swarm()).map(|m| (n, m)))
        .collect();
    let mut managers: Vec<(&String, &Membership)> = members
        .iter()
        .copied()
        .filter(|(_, m)| m.role == Role::Manager)
        .collect();
    managers.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    let workers: Vec<String> = members
        .iter()
        .filter(|(_, m)| m.role == Role::Worker)
        .map(|(n, _)| (*n).clone())
        .collect();
    if !workers.is_empty() {
        out.push(workers);
    }
    out.extend(managers.into_iter().map(|(n, _)| vec![n.clone()]));
    out
}

/// Who must have left before `name` leaves: nobody for a worker; for a manager, the workers of
/// its cluster and the managers of its cluster in the stages before its own.
pub fn must_go_before(name: &str, said: &[(String, Option<Membership>)]) -> Vec<String> {
    let Some(Some(me)) = said.iter().find(|(n, _)| n == name).map(|(_, m)| m) else {
        return Vec::new();
    };
    if me.role != Role::Manager || !me.in_swarm() {
        return Vec::new();
    }
    let member = |n: &str| {
        said.iter()
            .find(|(m, _)| m == n)
            .and_then(|(_, m)| m.as_ref())
    };
    let mut before = Vec::new();
    for stage in stages(said) {
        if stage.iter().any(|n| n == name) {
            break;
        }
        for n in stage {
            // Only this cluster's nodes: another cluster's leaves are no concern of this one.
            if member(&n).is_some_and(|m| me.same_cluster(m)) {
                before.push(n);
            }
        }
    }
    before
}

/// Whether every node of `name`'s cluster is among `said` and has its host destroyed by this
/// command (`host_goes`). Then no node needs to leave: a leave tells the others that a node
/// will not come back, and there are no others. The leaves would cost the engines' own time
/// (a worker's leave took 1.5–2.3 s here) for a cluster about to vanish.
///
/// The cluster's size is what one of its managers among `said` reports; every node of it must
/// have answered with a distinct node ID. Without a manager among `said`, or with a node whose
/// engine did not answer, the nodes leave as usual.
pub(crate) fn whole_cluster_goes(
    name: &str,
    said: &[(String, Option<Membership>)],
    host_goes: &BTreeSet<String>,
) -> bool {
    let members: Vec<(&String, &Membership)> = said
        .iter()
        .filter_map(|(n, m)| m.as_ref().filter(|m| m.in_swarm()).map(|m| (n, m)))
        .collect();
    let Some((_, me)) = members.iter().find(|(n, _)| *n == name) else {
        return false;
    };
    let in_cluster = |manager: &Membership, m: &Membership| {
        m.node_id == manager.node_id || manager.same_cluster(m)
    };
    let managers: Vec<&Membership> = members
        .iter()
        .map(|(_, m)| *m)
        .filter(|m| m.is_manager() && in_cluster(m, me))
        .collect();
    let Some(size) = managers.iter().filter_map(|m| m.cluster_nodes).max() else {
        return false;
    };
    let cluster: Vec<(&String, &Membership)> = members
        .iter()
        .copied()
        .filter(|(_, m)| managers.iter().any(|manager| in_cluster(manager, m)))
        .collect();
    let ids: BTreeSet<&str> = cluster.iter().map(|(_, m)| m.node_id.as_str()).collect();
    ids.len() == size
        && cluster.len() == size
        && cluster.iter().all(|(n, _)| host_goes.contains(*n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::swarm::member::NodeState;

    fn node(id: &str, role: Role, cluster: &str, managers: &[&str]) -> Option<Membership> {
        Some(Membership {
            state: NodeState::Active,
            node_id: id.into(),
            node_addr: String::new(),
            role,
            cluster_id: (role == Role::Manager).then(|| cluster.to_owned()),
            managers: managers
                .iter()
                .map(|m| ((*m).to_owned(), format!("{m}:2377")))
                .collect(),
            error: None,
            cluster_nodes: (role == Role::Manager).then_some(4),
        })
    }

    fn all(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_cluster_whose_every_host_goes_needs_no_leave() {
        let said = cluster_of_three();
        let hosts = all(&["m1", "m2", "w1", "w2"]);
        for name in ["m1", "m2", "w1", "w2"] {
            assert!(whole_cluster_goes(name, &said, &hosts), "{name}");
        }
        assert!(!whole_cluster_goes("solo", &said, &hosts));
    }

    #[test]
    fn nodes_leave_when_a_host_stays_or_a_node_is_not_named() {
        let said = cluster_of_three();
        // w2's host stays (generic driver): its engine keeps running, so it must leave.
        assert!(!whole_cluster_goes("m1", &said, &all(&["m1", "m2", "w1"])));
        // The cluster has a fifth node that this command does not remove.
        let mut bigger = said.clone();
        for m in bigger.iter_mut().filter_map(|(_, m)| m.as_mut()) {
            if m.cluster_nodes.is_some() {
                m.cluster_nodes = Some(5);
            }
        }
        let hosts = all(&["m1", "m2", "w1", "w2"]);
        assert!(!whole_cluster_goes("w1", &bigger, &hosts));
        // w2's engine did not answer.
        let mut silent = said.clone();
        silent[3].1 = None;
        assert!(!whole_cluster_goes("m1", &silent, &hosts));
        // Only workers named: no manager says how big the cluster is.
        let workers: Vec<_> = said
            .iter()
            .filter(|(n, _)| n.starts_with('w'))
            .cloned()
            .collect();
        assert!(!whole_cluster_goes("w1", &workers, &hosts));
    }

    #[test]
    fn two_nodes_claiming_one_id_do_not_make_a_whole_cluster() {
        let mut said = cluster_of_three();
        said.retain(|(n, _)| n != "w2");
        said.push(("w3".into(), node("W1", Role::Worker, "", &["M1", "M2"])));
        let hosts = all(&["m1", "m2", "w1", "w3"]);
        assert!(!whole_cluster_goes("m1", &said, &hosts));
    }

    fn cluster_of_three() -> Vec<(String, Option<Membership>)> {
        vec![
            ("m1".into(), node("M1", Role::Manager, "C", &["M1", "M2"])),
            ("w1".into(), node("W1", Role::Worker, "", &["M1", "M2"])),
            ("m2".into(), node("M2", Role::Manager, "C", &["M1", "M2"])),
            ("w2".into(), node("W2", Role::Worker, "", &["M1", "M2"])),
            ("solo".into(), None),
        ]
    }

    #[test]
    fn workers_go_first_then_managers_one_by_one_the_last_manager_last() {
        let said = cluster_of_three();
        assert_eq!(
            stages(&said),
            [
                vec!["w1".to_owned(), "w2".to_owned()],
                vec!["m1".to_owned()],
                vec!["m2".to_owned()]
            ]
        );
        assert!(must_go_before("w1", &said).is_empty());
        assert!(must_go_before("solo", &said).is_empty());
        assert_eq!(must_go_before("m1", &said), ["w1", "w2"]);
        assert_eq!(must_go_before("m2", &said), ["w1", "w2", "m1"]);
    }

    #[test]
    fn another_cluster_s_nodes_are_not_waited_for() {
        let mut said = cluster_of_three();
        said.push(("x".into(), node("X", Role::Manager, "D", &["X"])));
        said.push(("xw".into(), node("XW", Role::Worker, "", &["X"])));
        assert_eq!(must_go_before("x", &said), ["xw"]);
        assert_eq!(must_go_before("m1", &said), ["w1", "w2"]);
    }

    #[test]
    fn a_manager_waits_for_its_workers_to_leave() {
        let said = cluster_of_three();
        let names: Vec<String> = said.iter().map(|(n, _)| n.clone()).collect();
        let departures = Departures::new(&names);
        let order = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for (name, member) in &said {
                let (departures, order) = (&departures, &order);
                s.spawn(move || {
                    let _turn = departures.arrive(name, member.as_ref());
                    order.lock().expect("order").push(name.clone());
                });
            }
        });
        let order = order.into_inner().expect("order");
        let at = |n: &str| order.iter().position(|o| o == n).expect("left");
        assert!(at("w1") < at("m1") && at("w2") < at("m1"), "{order:?}");
        assert!(at("m1") < at("m2"), "{order:?}");
    }
}
