//! The small commands that print one fact about a machine.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use berth_store::MachineRecord;

use super::Ctx;

pub fn inspect(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let (machine, record) = ctx.load(name)?;
    let mut value = serde_json::to_value(&record).context("cannot render the record as JSON")?;
    if let Some(object) = value.as_object_mut() {
        let path = |file: &str| {
            serde_json::Value::String(machine.path(file).to_string_lossy().into_owned())
        };
        object.insert("store_path".into(), path(""));
        object.insert(
            "auth".into(),
            serde_json::json!({
                "ca_cert": path("ca.pem"),
                "ca_key": path("ca-key.pem"),
                "client_cert": path("cert.pem"),
                "client_key": path("key.pem"),
                "server_cert": path("server.pem"),
                "server_key": path("server-key.pem"),
                "known_hosts": path("known_hosts"),
            }),
        );
    }
    let text = serde_json::to_string_pretty(&value).context("cannot render the record as JSON")?;
    ctx.printer.json(&text);
    Ok(ExitCode::SUCCESS)
}

/// The driver's view of the machine; a machine whose create or provisioning failed shows
/// Error whatever its host is doing, since it is not usable yet.
pub fn status(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let (_machine, record) = ctx.load(name)?;
    let state = match record.state {
        berth_store::MachineState::Error | berth_store::MachineState::Creating => {
            record.state.to_string()
        }
        _ => ctx.machines.driver_state(&record).to_string(),
    };
    ctx.printer.data(&state);
    Ok(ExitCode::SUCCESS)
}

/// The address of every named machine, one a line; nothing is printed unless every name has
/// one, so that a script reading the lines never gets a shorter list than it asked for.
pub fn ip(ctx: &Ctx, names: &[String]) -> anyhow::Result<ExitCode> {
    let mut hosts = Vec::with_capacity(names.len());
    for name in names {
        let (_machine, record) = ctx.load(name)?;
        let host = record
            .ssh
            .as_ref()
            .map(|s| s.host.clone())
            .or(record.engine_host())
            .with_context(|| unfinished(name, &record, "address"))?;
        hosts.push(host);
    }
    ctx.printer.data(&hosts.join("\n"));
    Ok(ExitCode::SUCCESS)
}

pub fn url(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let (_machine, record) = ctx.load(name)?;
    let Some(url) = record.url else {
        bail!(unfinished(name, &record, "engine URL"));
    };
    ctx.printer.data(&url);
    Ok(ExitCode::SUCCESS)
}

/// The docker CLI flags that reach the machine, as docker-machine printed them, so that
/// `docker $(berth config web1) ps` works.
pub fn config(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let (machine, record) = ctx.load(name)?;
    let Some(url) = record.url else {
        bail!(unfinished(name, &record, "engine URL"));
    };
    let file = |f: &str| machine.path(f).to_string_lossy().into_owned();
    ctx.printer.data(&format!(
        "--tlsverify\n--tlscacert=\"{}\"\n--tlscert=\"{}\"\n--tlskey=\"{}\"\n-H={url}",
        file("ca.pem"),
        file("cert.pem"),
        file("key.pem")
    ));
    Ok(ExitCode::SUCCESS)
}

/// Why a machine lacks `what` (its address, its engine URL) and what to do about it:
/// provisioning finishes a machine whose host is known, but one whose create stopped before
/// the driver reported the host can only be removed and made again.
pub(super) fn unfinished(name: &str, record: &MachineRecord, what: &str) -> String {
    if record.ssh.is_some() {
        format!(
            "machine '{name}' has no {what} yet (state {}); `berth provision {name}` finishes it, \
             or `berth rm {name}` removes it",
            record.state
        )
    } else {
        format!(
            "machine '{name}' has no {what} (state {}): its create stopped before the driver \
             reported the host; `berth rm {name}` removes it so that `berth create` can make it again",
            record.state
        )
    }
}
