//! `swarm join`: a cluster as its manager describes it (the managers' addresses and the join
//! tokens, fetched once per command), and the join of one machine to it.

use std::net::{IpAddr, SocketAddr};

use berth_engine::SwarmJoin;

use crate::driver::Machines;
use crate::error::MachineError;
use crate::event::Event;

use super::init::check_ipvs;
use super::member::{Membership, NodeState, Role};
use super::{Node, Secret, host, machine_ip, short_id};

/// A cluster to join, read from one of its managers. Holds the join tokens in memory only.
#[derive(Debug)]
pub struct Cluster {
    manager: String,
    cluster_id: String,
    member: Membership,
    /// Every manager's cluster address (`HOST:2377`), the named manager's first.
    remote_addrs: Vec<String>,
    worker_token: Secret,
    manager_token: Secret,
}

/// What a join did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// Joined with this role.
    Joined(Role),
    /// Already a member of this cluster with this role; nothing was changed.
    AlreadyMember(Role),
}

impl Cluster {
    /// The cluster that machine `manager` manages, with its join tokens.
    pub fn open(machines: &Machines, manager: &str) -> Result<Cluster, MachineError> {
        let node = Node::open(machines, manager)?;
        if !node.member.is_manager() {
            return Err(MachineError::msg(if node.member.in_swarm() {
                format!(
                    "'{manager}' is not a manager of its cluster, and only managers hand out join tokens; name a manager with --manager"
                )
            } else {
                format!(
                    "'{manager}' is not in a swarm; `berth swarm init {manager}` makes it the first manager"
                )
            }));
        }
        let swarm = berth_engine::block_on(node.engine.swarm()).map_err(|e| {
            MachineError::with_source(
                format!("cannot read the cluster of '{manager}' from its engine"),
                e,
            )
        })?;
        let tokens = swarm.join_tokens.unwrap_or_default();
        let (Some(worker_token), Some(manager_token)) = (
            tokens.worker.and_then(Secret::new),
            tokens.manager.and_then(Secret::new),
        ) else {
            return Err(MachineError::msg(format!(
                "the engine of '{manager}' gave no join tokens; is it a manager of an unlocked cluster?"
            )));
        };
        let own = format!("{}:2377", node.member.node_addr);
        let mut remote_addrs = vec![own];
        for (_, addr) in &node.member.managers {
            if !remote_addrs.contains(addr) {
                remote_addrs.push(addr.clone());
            }
        }
        Ok(Cluster {
            manager: manager.to_owned(),
            cluster_id: swarm.id.unwrap_or_default(),
            member: node.member,
            remote_addrs,
            worker_token,
            manager_token,
        })
    }

    /// The cluster's ID.
    pub fn id(&self) -> &str {
        &self.cluster_id
    }

    /// The manager it was read from.
    pub fn manager(&self) -> &str {
        &self.manager
    }

    /// Joins machine `name` with `role`. A member of this cluster is left as it is (and told so);
    /// a member of another cluster is refused with the fix; the managers' TCP ports are checked
    /// from the machine's host first.
    pub fn join(
        &self,
        machines: &Machines,
        name: &str,
        role: Role,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<JoinOutcome, MachineError> {
        events(Event::Step("asking the engine"));
        let node = Node::open(machines, name)?;
        events(Event::StepDone("asking the engine"));
        let member = &node.member;
        match member.state {
            NodeState::Inactive => {}
            NodeState::Active if self.member.node_id == member.node_id => {
                return Ok(JoinOutcome::AlreadyMember(Role::Manager));
            }
            NodeState::Active if self.member.same_cluster(member) => {
                if member.role != role {
                    events(Event::Warn(&format!(
                        "'{name}' stays a {} (asked for {role}); `docker node {} {name}` on a manager changes its role",
                        member.role,
                        if role == Role::Manager {
                            "promote"
                        } else {
                            "demote"
                        }
                    )));
                }
                return Ok(JoinOutcome::AlreadyMember(member.role));
            }
            NodeState::Active => {
                return Err(MachineError::msg(format!(
                    "'{name}' is a {} of another cluster{}; `berth swarm leave {name}` takes it out of that one, then join again",
                    member.role,
                    member
                        .cluster_id
                        .as_deref()
                        .map(|id| format!(" ({})", short_id(id)))
                        .unwrap_or_default()
                )));
            }
            other => {
                return Err(MachineError::msg(format!(
                    "'{name}' is in swarm state {} ({}); `berth swarm leave --force {name}` resets it, then join again",
                    serde_json::to_value(other)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    member
                        .error
                        .as_deref()
                        .unwrap_or("it is not a working member")
                )));
            }
        }

        self.check_ports(&node, events)?;
        super::live_restore_off::ensure_off(machines, name, events)?;

        let advertise = machine_ip(node.record())?.to_string();
        let token = match role {
            Role::Worker => &self.worker_token,
            Role::Manager => &self.manager_token,
        };
        let join = SwarmJoin {
            remote_addrs: self.remote_addrs.clone(),
            join_token: token.expose().to_owned(),
            advertise_addr: advertise.clone(),
            listen_addr: "0.0.0.0:2377".into(),
        };
        let step = format!("joining as {role} through {}", self.manager);
        events(Event::Step(&step));
        berth_engine::block_on(node.engine.swarm_join(&join)).map_err(|e| {
            // The engine's words could one day quote what it was sent.
            MachineError::msg(token.scrub(&format!(
                "'{name}' could not join the cluster of '{}' (advertising {advertise}): {}",
                self.manager,
                MachineError::from(e).full_message()
            )))
        })?;
        events(Event::StepDone(&step));
        check_ipvs(&node, events);
        Ok(JoinOutcome::Joined(role))
    }

    /// From the joining machine's host, a TCP connection to each manager's 2377 and 7946.
    fn check_ports(
        &self,
        node: &Node,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), MachineError> {
        let endpoints: Vec<(IpAddr, u16)> = self
            .remote_addrs
            .iter()
            .filter_map(|addr| addr.parse::<SocketAddr>().ok().map(|s| s.ip()))
            .flat_map(|ip| host::MANAGER_TCP_PORTS.map(|port| (ip, port)))
            .collect();
        let Some(session) = host::session(&node.machine)? else {
            events(Event::Warn(&format!(
                "berth has no SSH access to '{}', so the ports Swarm needs were not checked",
                node.name()
            )));
            return Ok(());
        };
        events(Event::Step("checking the managers' ports"));
        let failed = host::unreachable_tcp(&session, &endpoints)?;
        if let Some((ip, port)) = failed.first() {
            let all: Vec<String> = failed
                .iter()
                .map(|(ip, p)| format!("{ip}:{p}/tcp"))
                .collect();
            return Err(MachineError::msg(format!(
                "'{}' cannot reach port {port}/tcp of the manager at {ip} ({}, {}); open {} between the machines (Swarm needs 2377/tcp to the managers, 7946/tcp+udp and 4789/udp between all nodes) and join again",
                node.name(),
                self.manager_name_for(*ip),
                if *port == 2377 {
                    "the cluster's API"
                } else {
                    "the network gossip"
                },
                all.join(", ")
            )));
        }
        events(Event::StepDone("checking the managers' ports"));
        Ok(())
    }

    /// The berth name of the manager at `ip`, when it is the one the cluster was read from.
    fn manager_name_for(&self, ip: IpAddr) -> String {
        if self.member.node_addr == ip.to_string() {
            format!("machine '{}'", self.manager)
        } else {
            "another manager".into()
        }
    }
}
