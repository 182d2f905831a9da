//! The small commands that print one fact about a machine.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use berth_machine::MachineRecord;
use berth_names::MachineFiles;

use super::Ctx;
use crate::cli::InspectArgs;
use berth_compat::template::{GoTemplate, Shape, pretty4};

/// How long `version NAME` waits for the engine.
const VERSION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `version NAME`: the engine's release as the engine reports it (`20.10.24+dfsg1`), as
/// docker-machine printed it.
pub(super) fn engine_version(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let engine = ctx.load(name)?.engine(VERSION_TIMEOUT)?;
    let version = tokio::runtime::Handle::current()
        .block_on(engine.version())
        .with_context(|| {
            format!(
                "cannot ask the engine of '{name}' for its version; `berth ls --filter name={name}` shows its state"
            )
        })?;
    ctx.printer.data(&version.version);
    Ok(ExitCode::SUCCESS)
}

/// `inspect`: berth's record as JSON; called as docker-machine, docker-machine's `config.json`
/// shape. `-f` applies a Go template to that docker-machine shape under either name, since
/// that is what every existing template (`{{.Driver.IPAddress}}`) was written against.
pub(super) fn inspect(ctx: &Ctx, args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let machine = ctx.load(&args.name)?;
    let record = machine.record();
    let mut host = berth_compat::host::host_of(&machine);
    if !args.show_secrets {
        crate::redact::redact_host(&mut host);
    }
    if let Some(format) = &args.format {
        let data = serde_json::to_value(&host).context("cannot render the machine as JSON")?;
        let text = GoTemplate::parse(format)?.render(&data, Shape::Map)?;
        // docker-machine wrote the template's output and one newline, whatever it ended with.
        ctx.printer.raw(&format!("{text}\n"));
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.dialect.is_docker_machine() {
        ctx.printer
            .data(&pretty4(&host).context("cannot render the machine as JSON")?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut value = serde_json::to_value(record).context("cannot render the record as JSON")?;
    if !args.show_secrets {
        crate::redact::redact(&mut value);
        // A docker-machine driver's config holds its credentials (access keys, tokens).
        if let Some(config) = value
            .get_mut("driver_data")
            .and_then(|d| d.get_mut(berth_driver::gomachine::CONFIG_KEY))
        {
            *config = serde_json::Value::String(
                "(hidden: the docker-machine driver's own config, which holds its credentials)"
                    .to_owned(),
            );
        }
    }
    if let Some(object) = value.as_object_mut() {
        let path = |file: &str| {
            serde_json::Value::String(machine.folder().path(file).to_string_lossy().into_owned())
        };
        object.insert("store_path".into(), path(""));
        object.insert(
            "auth".into(),
            serde_json::json!({
                "ca_cert": path(MachineFiles::CA_CERT),
                "ca_key": path(MachineFiles::CA_KEY),
                "client_cert": path(MachineFiles::CLIENT_CERT),
                "client_key": path(MachineFiles::CLIENT_KEY),
                "server_cert": path(MachineFiles::SERVER_CERT),
                "server_key": path(MachineFiles::SERVER_KEY),
                "known_hosts": path(MachineFiles::KNOWN_HOSTS),
            }),
        );
    }
    let text = serde_json::to_string_pretty(&value).context("cannot render the record as JSON")?;
    ctx.printer.json(&text);
    Ok(ExitCode::SUCCESS)
}

/// The driver's view of the machine; a machine whose create or provisioning failed shows
/// Error whatever its host is doing, since it is not usable yet. A driver that cannot say
/// gives `Unknown` on stdout (what scripts compare) and its reason as the error (exit 1).
pub(super) fn status(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let machine = ctx.load(name)?;
    let record = machine.record();
    let state = match record.state {
        berth_machine::MachineState::Error | berth_machine::MachineState::Creating => {
            record.state.to_string()
        }
        _ => match ctx.machines.ask_state(record) {
            Ok(state) => state.to_string(),
            Err(e) => {
                ctx.printer
                    .data(&berth_plugin::MachineState::Unknown.to_string());
                return Err(e.into());
            }
        },
    };
    ctx.printer.data(&state);
    Ok(ExitCode::SUCCESS)
}

/// The address of every named machine, one a line; nothing is printed unless every name has
/// one, so that a script reading the lines never gets a shorter list than it asked for.
pub(super) fn ip(ctx: &Ctx, names: &[String]) -> anyhow::Result<ExitCode> {
    let mut hosts = Vec::with_capacity(names.len());
    for name in names {
        let machine = ctx.load(name)?;
        let record = machine.record();
        let host = record
            .ssh
            .as_ref()
            .map(|s| s.host.to_string())
            .or(record.engine_host().map(str::to_owned))
            .with_context(|| unfinished(name, record, "address"))?;
        hosts.push(host);
    }
    ctx.printer.data(&hosts.join("\n"));
    Ok(ExitCode::SUCCESS)
}

pub(super) fn url(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let machine = ctx.load(name)?;
    let Some(url) = &machine.record().url else {
        bail!(unfinished(name, machine.record(), "engine URL"));
    };
    ctx.printer.data(&url.to_string());
    Ok(ExitCode::SUCCESS)
}

/// The docker CLI flags that reach the machine, as docker-machine printed them, so that
/// `docker $(berth config web1) ps` works.
pub(super) fn config(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let machine = ctx.load(name)?;
    let Some(url) = &machine.record().url else {
        bail!(unfinished(name, machine.record(), "engine URL"));
    };
    let file = |f: &str| machine.folder().path(f).to_string_lossy().into_owned();
    ctx.printer.data(&format!(
        "--tlsverify\n--tlscacert=\"{}\"\n--tlscert=\"{}\"\n--tlskey=\"{}\"\n-H={url}",
        file(MachineFiles::CA_CERT),
        file(MachineFiles::CLIENT_CERT),
        file(MachineFiles::CLIENT_KEY)
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
