//! What `regenerate-certs` must say about swarm nodes: the engine restarts to load new TLS
//! files, and live-restore, which keeps containers running through a restart, cannot be used
//! with Swarm mode — so every container and task on the node stops (tasks move elsewhere while
//! it is down).

use std::time::Duration;

use crate::driver::Machines;

use super::member::Membership;

/// How long each engine may take to say whether it is a swarm node.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// A sentence naming those of `names` that are swarm nodes, for the question `regenerate-certs`
/// asks before it restarts their engines; `None` when none is (or none answers: a machine whose
/// engine is down loses nothing to a restart).
pub fn regenerate_certs_warning(machines: &Machines, names: &[String]) -> Option<String> {
    let asks = names.iter().map(|name| async move {
        let engine = machines.load(name).ok()?.engine(ASK_TIMEOUT).ok()?;
        let info = engine.info().await.ok()?;
        let member = Membership::from_info(&info);
        member
            .in_swarm()
            .then(|| format!("{name} ({})", member.role))
    });
    let found: Vec<String> = berth_engine::block_on(async {
        Ok::<_, berth_engine::EngineError>(futures::future::join_all(asks).await)
    })
    .ok()?
    .into_iter()
    .flatten()
    .collect();
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "{} {} in Swarm mode, where live-restore cannot be used: the restart stops every container there (Swarm moves its tasks to other nodes meanwhile, and a manager's restart briefly leaves the cluster with one manager fewer).",
        found.join(", "),
        if found.len() == 1 {
            "is a node"
        } else {
            "are nodes"
        }
    ))
}
