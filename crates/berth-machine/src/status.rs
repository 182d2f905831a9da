//! What `ls` and `status` show: each machine's state as its driver and its engine see it now,
//! asked of every machine at once under one deadline.

use std::sync::Arc;
use std::time::Duration;

use crate::record::{MachineRecord, MachineState};
use tokio::time::Instant;

use crate::driver::Machines;
use crate::engine::{client_config, engine_with};
use crate::swarm::{Membership, fill_cluster_ids};

/// A machine's state as `ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveState {
    /// What the driver says (`Running`, `Stopped`, …), or the record's `Error`/`Creating`.
    State(String),
    /// No answer before the deadline.
    Timeout,
}

impl std::fmt::Display for LiveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveState::State(s) => f.write_str(s),
            LiveState::Timeout => f.write_str("Timeout"),
        }
    }
}

/// What asking the driver and the engine found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    /// The state.
    pub state: LiveState,
    /// The engine's version (`v20.10.24+dfsg1`), `Unknown` when it did not answer, empty when
    /// it was not asked.
    pub docker: String,
    /// Why the engine could not be reached.
    pub error: Option<String>,
    /// Its place in a swarm as its engine reports it (`None` when the engine did not answer, or
    /// not in time); `Membership::summary` is what a SWARM column shows.
    pub swarm: Option<Membership>,
    /// How long the driver and the engine took to answer (the deadline for a Timeout).
    pub response: Duration,
}

impl Live {
    fn timeout(deadline: Duration) -> Self {
        Live {
            state: LiveState::Timeout,
            docker: "Unknown".into(),
            error: Some(format!(
                "no answer within {:.1}s (the driver or the engine); `--timeout` gives it longer",
                deadline.as_secs_f64()
            )),
            swarm: None,
            response: deadline,
        }
    }
}

/// One machine. The engine is asked first: when it answers over TLS the machine is Running and
/// that is all `ls` needs — one connection, no driver process, no second host port (with a
/// hundred machines, a TCP check of every SSH port fills sshd's accept queue and costs a SYN
/// retransmit). Only when the engine does not answer is the driver asked (on a blocking thread:
/// drivers block), to tell a stopped host from a running one whose engine is down. Records in
/// Error or Creating show that, since they are not usable yet.
pub async fn live_state(machines: &Machines, record: &MachineRecord, timeout: Duration) -> Live {
    live_state_until(machines, record, timeout, Instant::now() + timeout).await
}

/// [`live_state`], with the swarm membership asked (`/info`, on the probe's connection) only
/// while `until` has not passed: a slow `/info` costs the SWARM column, not the machine's state.
async fn live_state_until(
    machines: &Machines,
    record: &MachineRecord,
    timeout: Duration,
    until: Instant,
) -> Live {
    let began = Instant::now();
    let mut live = ask_until(machines, record, timeout, until).await;
    live.response = began.elapsed();
    live
}

async fn ask_until(
    machines: &Machines,
    record: &MachineRecord,
    timeout: Duration,
    until: Instant,
) -> Live {
    if record.state == MachineState::Error || record.state == MachineState::Creating {
        return Live {
            state: LiveState::State(record.state.to_string()),
            docker: String::new(),
            error: None,
            swarm: None,
            response: Duration::ZERO,
        };
    }
    let engine_error = if record.url.is_some() {
        let engine = machines
            .store()
            .machine(&record.name)
            .map_err(crate::MachineError::from)
            .and_then(|machine| engine_with(record, &client_config(&machine)?, timeout));
        match engine {
            Err(err) => Some(err),
            Ok(engine) => match engine.ping_swarm().await {
                Ok(swarm_header) => {
                    return answered(&engine, swarm_header.as_deref(), until).await;
                }
                // An address that never answers is not a stopped machine, whatever a driver's
                // quick look at another port says: it shows Timeout, the same every run (as a
                // docker-machine generic machine does, whose state check outlasts `--timeout`).
                Err(err @ berth_engine::EngineError::Timeout { .. }) => {
                    let mut live = Live::timeout(timeout);
                    live.error = Some(format!("the engine did not answer: {err}"));
                    return live;
                }
                Err(err) => Some(crate::MachineError::from(err)),
            },
        }
    } else {
        None
    };
    let asked = {
        let (machines, record) = (machines.clone(), record.clone());
        tokio::task::spawn_blocking(move || machines.ask_state(&record))
            .await
            .unwrap_or_else(|join| {
                Err(crate::MachineError::msg(format!(
                    "asking the driver for the state failed: {join}"
                )))
            })
    };
    // A driver that cannot say is Unknown, and ERRORS says why (the plugin crashed, is
    // missing, answered no state): a bare Unknown left the user nothing to act on.
    let (state, driver_error) = match asked {
        Ok(state) => (state, None),
        Err(e) => {
            // One line, so that the table's one-line ERRORS cell keeps the plugin's last words.
            let text = e.full_message();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            (berth_plugin::MachineState::Unknown, Some(line.join(" ")))
        }
    };
    let mut live = Live {
        state: LiveState::State(state.to_string()),
        docker: String::new(),
        error: driver_error,
        swarm: None,
        response: Duration::ZERO,
    };
    if state == berth_plugin::MachineState::Running {
        live.docker = "Unknown".into();
        live.error =
            engine_error.map(|err| format!("cannot reach the engine: {}", err.full_message()));
    }
    live
}

/// A machine whose engine answered its ping: Running. Its version and, where the ping says it
/// is a Swarm node (or does not say: engines before API 1.42 send no `Swarm` header), its
/// membership are asked on the same connection, each only while `until` leaves time: a slow
/// answer costs the DOCKER or SWARM column (`Unknown`, empty), never the machine's state.
async fn answered(
    engine: &berth_engine::Engine,
    swarm_header: Option<&str>,
    until: Instant,
) -> Live {
    // A little before the deadline of the whole `ls`, so that what the engine already said
    // (it runs) is what `ls` shows.
    let extras_until = until
        .checked_sub(Duration::from_millis(200))
        .unwrap_or(until);
    let docker = match tokio::time::timeout_at(extras_until, engine.version()).await {
        Ok(Ok(version)) => format!("v{}", version.version),
        _ => "Unknown".to_owned(),
    };
    let swarm = if swarm_header == Some("inactive") {
        // The ping said it: no `/info`, the request that costs an engine most.
        Some(Membership::from_info(&Default::default()))
    } else {
        match tokio::time::timeout_at(extras_until, engine.info()).await {
            Ok(Ok(info)) => Some(Membership::from_info(&info)),
            _ => None,
        }
    };
    Live {
        state: LiveState::State(berth_plugin::MachineState::Running.to_string()),
        docker,
        error: None,
        swarm,
        response: Duration::ZERO,
    }
}

/// Every machine at once; whatever has not answered when `deadline` passes is `Timeout`, so
/// `ls` of hundreds of machines, some dead, takes at most about one deadline.
pub async fn live_states(
    machines: &Machines,
    records: Vec<MachineRecord>,
    deadline: Duration,
) -> Vec<Live> {
    let until = Instant::now() + deadline;
    let machines = Arc::new(machines.clone());
    let tasks: Vec<_> = records
        .into_iter()
        .map(|record| {
            let machines = machines.clone();
            tokio::spawn(async move {
                tokio::time::timeout_at(
                    until,
                    live_state_until(&machines, &record, deadline, until),
                )
                .await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(match task.await {
            Ok(Ok(live)) => live,
            Ok(Err(_elapsed)) => Live::timeout(deadline),
            Err(join) => Live {
                state: LiveState::State("Unknown".into()),
                docker: String::new(),
                error: Some(format!("asking for the state failed: {join}")),
                swarm: None,
                response: deadline,
            },
        });
    }
    // Workers' engines do not say which cluster they are in; their managers in the list do.
    let mut members: Vec<Option<Membership>> = out.iter_mut().map(|l| l.swarm.take()).collect();
    fill_cluster_ids(&mut members);
    for (live, member) in out.iter_mut().zip(members) {
        live.swarm = member;
    }
    out
}
