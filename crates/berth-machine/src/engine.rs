//! A machine's engine: the client for its recorded URL with its own certificates, one probe,
//! and the wait until it answers after a start or restart.

use std::time::Duration;

use berth_engine::{Engine, EngineError, EngineVersion};
use berth_net::{Backoff, DEFAULT_ENGINE_PORT, HostPort};
use berth_store::{Machine, MachineRecord};

use crate::certs::client_tls;
use crate::error::{Context as _, MachineError};

/// How long start and restart wait for the engine.
pub const ENGINE_WAIT: Duration = Duration::from_secs(90);

/// The engine client of a machine: its recorded URL, its CA, its client certificate.
pub fn engine_for(
    machine: &Machine,
    record: &MachineRecord,
    timeout: Duration,
) -> Result<Engine, MachineError> {
    let url = record.url.as_deref().with_context(|| {
        format!(
            "machine '{}' has no engine URL yet (state {}); `berth provision {}` finishes it",
            record.name, record.state, record.name
        )
    })?;
    let address = HostPort::parse(url, DEFAULT_ENGINE_PORT)
        .with_context(|| format!("the engine URL of '{}' cannot be read", record.name))?;
    Ok(Engine::new(address, &client_tls(machine)?, timeout)?)
}

/// One probe of the machine's engine (`/_ping`, then `/version`, on one connection).
pub async fn probe(
    machine: &Machine,
    record: &MachineRecord,
    timeout: Duration,
) -> Result<EngineVersion, MachineError> {
    Ok(engine_for(machine, record, timeout)?.probe().await?)
}

/// Polls the engine until it answers or `within` passes. Polling: an engine gives no signal
/// when it is ready.
pub async fn wait_for_engine(
    machine: &Machine,
    record: &MachineRecord,
    within: Duration,
) -> Result<EngineVersion, MachineError> {
    let mut backoff = Backoff::polling(within);
    loop {
        let last: EngineError = match engine_for(machine, record, Duration::from_secs(5))?
            .probe()
            .await
        {
            Ok(version) => return Ok(version),
            Err(e) => e,
        };
        if !backoff.wait_async().await {
            return Err(MachineError::with_source(
                format!(
                    "the engine of '{}' did not answer within {}s",
                    record.name,
                    within.as_secs()
                ),
                last,
            ));
        }
    }
}
