//! `swarm init|join|leave|ls`: Swarm mode over berth's machines (berth_machine::swarm does the
//! work); here only the command line, the lines each machine ends with, and the node table.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use berth_machine::swarm::{
    self, Cluster, InitOutcome, JoinOutcome, LeaveOutcome, NodeRow, Role, short_id,
};

use super::Ctx;
use crate::cli::{SwarmCommand, SwarmRole, TableFormat};

pub(super) fn run(ctx: &Ctx, command: SwarmCommand) -> anyhow::Result<ExitCode> {
    match command {
        SwarmCommand::Init(args) => {
            let advertise = args.advertise_addr.clone();
            super::for_each_machine(
                ctx,
                std::slice::from_ref(&args.manager),
                move |machines, name, events| {
                    Ok(
                        match swarm::init(machines, name, advertise.as_deref(), events)? {
                            InitOutcome::Created { cluster_id } => format!(
                                "manages the new cluster {}; `berth swarm join --manager {name} NAME…` adds machines",
                                short_id(&cluster_id)
                            ),
                            InitOutcome::AlreadyManager { cluster_id } => format!(
                                "already a manager of cluster {}; nothing was changed",
                                short_id(&cluster_id)
                            ),
                        },
                    )
                },
            )
        }
        SwarmCommand::Join(args) => {
            super::check_all_exist(ctx, &args.names)?;
            let cluster = open_cluster(ctx, &args.manager)?;
            join_all(ctx, cluster, &args.names, role(args.role))
        }
        SwarmCommand::Leave(args) => {
            super::check_all_exist(ctx, &args.names)?;
            let force = args.force;
            let departures = swarm::Departures::new(&args.names);
            super::for_each_machine(ctx, &args.names, move |machines, name, events| {
                Ok(match swarm::leave_with(machines, name, force, &departures, events)? {
                    LeaveOutcome::NotMember => "not in a swarm; nothing was changed".to_owned(),
                    LeaveOutcome::Left { removed: true, .. } => {
                        "left its cluster, and its node was removed from the list".to_owned()
                    }
                    LeaveOutcome::Left { removed: false, .. } => {
                        "left its cluster; its node stays in the list as down until `docker node rm` on a manager".to_owned()
                    }
                    LeaveOutcome::EndedCluster => {
                        "left; it was the last manager, so the cluster is gone".to_owned()
                    }
                })
            })
        }
        SwarmCommand::Ls(args) => {
            let (manager, rows) = {
                let machines = ctx.machines.clone();
                let manager = args.manager.clone();
                tokio::runtime::Handle::current()
                    .block_on(tokio::task::spawn_blocking(move || {
                        swarm::nodes(&machines, manager.as_deref())
                    }))
                    .context("listing the nodes failed; this is a bug in berth")??
            };
            match args.format {
                TableFormat::Json => ctx.printer.data(
                    &serde_json::to_string_pretty(&rows)
                        .context("cannot render the nodes as JSON")?,
                ),
                TableFormat::Table => {
                    if args.manager.is_none() {
                        ctx.printer
                            .info(&format!("the nodes as '{manager}' lists them"));
                    }
                    ctx.printer.data(&table(&rows));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads the cluster (and its join tokens) from `manager` once, for every machine that joins.
pub(super) fn open_cluster(ctx: &Ctx, manager: &str) -> anyhow::Result<Arc<Cluster>> {
    let machines = ctx.machines.clone();
    let manager = manager.to_owned();
    let cluster = tokio::runtime::Handle::current()
        .block_on(tokio::task::spawn_blocking(move || {
            Cluster::open(&machines, &manager)
        }))
        .context("reading the cluster failed; this is a bug in berth")??;
    Ok(Arc::new(cluster))
}

fn join_all(
    ctx: &Ctx,
    cluster: Arc<Cluster>,
    names: &[String],
    role: Role,
) -> anyhow::Result<ExitCode> {
    super::for_each_machine(ctx, names, move |machines, name, events| {
        Ok(joined(
            &cluster,
            cluster.join(machines, name, role, events)?,
        ))
    })
}

/// The line a machine's join ends with.
pub(super) fn joined(cluster: &Cluster, outcome: JoinOutcome) -> String {
    match outcome {
        JoinOutcome::Joined(role) => format!("joined cluster {} as {role}", short_id(cluster.id())),
        JoinOutcome::AlreadyMember(role) => format!(
            "already a {role} of cluster {}; nothing was changed",
            short_id(cluster.id())
        ),
    }
}

pub(super) fn role(role: SwarmRole) -> Role {
    match role {
        SwarmRole::Worker => Role::Worker,
        SwarmRole::Manager => Role::Manager,
    }
}

fn table(rows: &[NodeRow]) -> String {
    let header = [
        "MACHINE",
        "HOSTNAME",
        "ID",
        "ROLE",
        "AVAILABILITY",
        "STATE",
        "MANAGER STATUS",
        "ENGINE",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                if r.machine.is_empty() {
                    "-".into()
                } else {
                    r.machine.clone()
                },
                r.hostname.clone(),
                r.id.clone(),
                r.role.clone(),
                r.availability.clone(),
                r.state.clone(),
                r.manager_status.clone(),
                r.engine.clone(),
            ]
        })
        .collect();
    crate::table::render(header, &cells)
}
