//! The small commands that print one fact about a machine.

use std::process::ExitCode;

use anyhow::{Context as _, bail};

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
    ctx.printer.data(&text);
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

pub fn ip(ctx: &Ctx, names: &[String]) -> anyhow::Result<ExitCode> {
    for name in names {
        let (_machine, record) = ctx.load(name)?;
        let host = record
            .ssh
            .as_ref()
            .map(|s| s.host.as_str())
            .or(record.engine_host())
            .with_context(|| {
                format!(
                    "machine '{name}' has no address yet (state {})",
                    record.state
                )
            })?;
        ctx.printer.data(host);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn url(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let (_machine, record) = ctx.load(name)?;
    let Some(url) = record.url else {
        bail!(
            "machine '{name}' has no engine URL yet (state {}); `berth provision {name}` finishes it",
            record.state
        );
    };
    ctx.printer.data(&url);
    Ok(ExitCode::SUCCESS)
}

/// The docker CLI flags that reach the machine, as docker-machine printed them, so that
/// `docker $(berth config web1) ps` works.
pub fn config(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let (machine, record) = ctx.load(name)?;
    let Some(url) = record.url else {
        bail!(
            "machine '{name}' has no engine URL yet (state {}); `berth provision {name}` finishes it",
            record.state
        );
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
