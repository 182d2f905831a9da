//! A machine's engine: the client for its recorded URL with its own certificates, one probe,
//! and the wait until it answers after a start or restart.

use std::time::Duration;

use crate::record::MachineRecord;
use berth_engine::TlsConfig;
use berth_engine::{Engine, EngineError, EngineVersion};
use berth_net::Backoff;
use berth_store::Machine;

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
    engine_with(record, &client_config(machine)?, timeout)
}

/// The client TLS configuration of a machine, read from its folder: built once per operation
/// and handed to every [`engine_with`] of it.
pub(crate) fn client_config(machine: &Machine) -> Result<TlsConfig, MachineError> {
    Ok(TlsConfig::new(&client_tls(machine)?)?)
}

/// The engine client of a machine with its client TLS configuration already built (an
/// operation that talks to the engine several times reads and parses the PEM files once).
pub(crate) fn engine_with(
    record: &MachineRecord,
    tls: &TlsConfig,
    timeout: Duration,
) -> Result<Engine, MachineError> {
    let address = record.engine_address().with_context(|| {
        format!(
            "machine '{}' has no engine URL yet (state {}); `berth provision {}` finishes it",
            record.name, record.state, record.name
        )
    })?;
    Ok(Engine::with_config(address.clone(), tls, timeout)?)
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
    // Read once: the files do not change while berth waits.
    let tls = client_config(machine)?;
    loop {
        let last: EngineError = match engine_with(record, &tls, Duration::from_secs(5))?
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
