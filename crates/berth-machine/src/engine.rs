//! A machine's engine: one probe, and the wait until it answers after a start or restart (the
//! client itself is [`MachineHandle::engine`]).

use std::time::Duration;

use crate::record::MachineRecord;
use berth_engine::TlsConfig;
use berth_engine::{Engine, EngineError, EngineVersion};
use berth_net::{Backoff, HostPort};
use berth_store::Machine;

use crate::certs::client_tls;
use crate::error::{Context as _, MachineError};
use crate::handle::MachineHandle;

/// How long start and restart wait for the engine.
pub const ENGINE_WAIT: Duration = Duration::from_secs(90);

/// The client TLS configuration of a machine, read from its folder, for a caller that has its
/// record but no [`MachineHandle`] (`ls` asks every listed record at once).
pub(crate) fn client_config(machine: &Machine) -> Result<TlsConfig, MachineError> {
    Ok(TlsConfig::new(&client_tls(machine)?)?)
}

/// The engine client of a record with its client TLS configuration already built.
pub(crate) fn engine_with(
    record: &MachineRecord,
    tls: &TlsConfig,
    timeout: Duration,
) -> Result<Engine, MachineError> {
    Ok(Engine::with_config(address(record)?.clone(), tls, timeout)?)
}

/// The engine's address as recorded, or the sentence for a machine that has none yet.
pub(crate) fn address(record: &MachineRecord) -> Result<&HostPort, MachineError> {
    record.engine_address().with_context(|| {
        format!(
            "machine '{}' has no engine URL yet (state {}); `berth provision {}` finishes it",
            record.name, record.state, record.name
        )
    })
}

/// One probe of the machine's engine (`/_ping`, then `/version`, on one connection).
pub async fn probe(
    machine: &MachineHandle,
    timeout: Duration,
) -> Result<EngineVersion, MachineError> {
    Ok(machine.engine(timeout)?.probe().await?)
}

/// Polls the engine until it answers or `within` passes. Polling: an engine gives no signal
/// when it is ready.
pub async fn wait_for_engine(
    machine: &MachineHandle,
    within: Duration,
) -> Result<EngineVersion, MachineError> {
    let mut backoff = Backoff::polling(within);
    loop {
        // Every poll dials anew with the handle's one TLS configuration.
        let last: EngineError = match machine.engine(Duration::from_secs(5))?.probe().await {
            Ok(version) => return Ok(version),
            Err(e) => e,
        };
        if !backoff.wait_async().await {
            return Err(MachineError::with_source(
                format!(
                    "the engine of '{}' did not answer within {}s",
                    machine.name(),
                    within.as_secs()
                ),
                last,
            ));
        }
    }
}
