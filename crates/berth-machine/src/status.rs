//! What `ls` and `status` show: each machine's state as its driver and its engine see it now,
//! asked of every machine at once under one deadline.

use std::sync::Arc;
use std::time::Duration;

use berth_store::{MachineRecord, MachineState};
use tokio::time::Instant;

use crate::driver::Machines;
use crate::engine::probe;

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
    let began = Instant::now();
    let mut live = ask(machines, record, timeout).await;
    live.response = began.elapsed();
    live
}

async fn ask(machines: &Machines, record: &MachineRecord, timeout: Duration) -> Live {
    if record.state == MachineState::Error || record.state == MachineState::Creating {
        return Live {
            state: LiveState::State(record.state.to_string()),
            docker: String::new(),
            error: None,
            response: Duration::ZERO,
        };
    }
    let engine_error = if record.url.is_some() {
        let result = match machines.store().machine(&record.name) {
            Ok(machine) => probe(&machine, record, timeout).await,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(version) => {
                return Live {
                    state: LiveState::State(berth_driver::MachineState::Running.to_string()),
                    docker: format!("v{}", version.version),
                    error: None,
                    response: Duration::ZERO,
                };
            }
            Err(err) => Some(err),
        }
    } else {
        None
    };
    let state = {
        let (machines, record) = (machines.clone(), record.clone());
        tokio::task::spawn_blocking(move || machines.driver_state(&record))
            .await
            .unwrap_or(berth_driver::MachineState::Unknown)
    };
    let mut live = Live {
        state: LiveState::State(state.to_string()),
        docker: String::new(),
        error: None,
        response: Duration::ZERO,
    };
    if state == berth_driver::MachineState::Running {
        live.docker = "Unknown".into();
        live.error =
            engine_error.map(|err| format!("cannot reach the engine: {}", err.full_message()));
    }
    live
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
                tokio::time::timeout_at(until, live_state(&machines, &record, deadline)).await
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
                response: deadline,
            },
        });
    }
    out
}
