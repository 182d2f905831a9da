//! One module per command (or per family of small commands).

mod active;
mod create;
mod env;
mod info;
mod ls;
mod power;
mod provision;
mod rm;
mod ssh;

use std::process::ExitCode;

use std::time::Duration;

use anyhow::Context as _;
use berth_driver::{Driver, MachineRef, Operation, PluginOptions, PluginSearch};
use berth_store::{Machine, MachineRecord, Store};

use crate::cli::{Cli, Command};
use crate::context::{ProcessEnv, open_store};
use crate::driver_flags::ChosenDriver;
use crate::printer::Printer;

/// A remote command's exit status that `berth ssh` passes on as its own.
#[derive(Debug, thiserror::Error)]
#[error("the remote command exited with status {0}")]
pub struct RemoteExit(pub u8);

/// What every command gets.
pub struct Ctx<'a> {
    pub store: Store,
    pub env: ProcessEnv,
    pub printer: &'a Printer,
}

impl Ctx<'_> {
    /// The machine `name` with its record, or a sentence naming it.
    pub fn load(&self, name: &str) -> anyhow::Result<(Machine, MachineRecord)> {
        let machine = self.store.machine(name)?;
        let record = machine
            .load()
            .with_context(|| format!("cannot read machine '{name}'"))?;
        Ok((machine, record))
    }
}

pub fn run(cli: Cli, chosen: Option<ChosenDriver>, printer: &Printer) -> anyhow::Result<ExitCode> {
    let env = ProcessEnv::from_process();
    let store = open_store(cli.storage_path, &env)?;
    let ctx = Ctx {
        store,
        env,
        printer,
    };
    match cli.command {
        Command::Ls(args) => ls::run(&ctx, &args),
        Command::Env(args) => env::run(&ctx, &args),
        Command::Inspect(args) => info::inspect(&ctx, &args.name),
        Command::Status(args) => info::status(&ctx, &args.name),
        Command::Ip(args) => info::ip(&ctx, &args.names),
        Command::Url(args) => info::url(&ctx, &args.name),
        Command::Config(args) => info::config(&ctx, &args.name),
        Command::Rm(args) => rm::run(&ctx, &args),
        Command::Active => active::run(&ctx),
        Command::Version => {
            printer.data(&format!("berth {}", env!("CARGO_PKG_VERSION")));
            Ok(ExitCode::SUCCESS)
        }
        Command::Completion(args) => {
            let mut out = Vec::new();
            let mut command = crate::driver_flags::completion_command();
            clap_complete::generate(args.shell, &mut command, "berth", &mut out);
            printer.data(&String::from_utf8_lossy(&out));
            Ok(ExitCode::SUCCESS)
        }
        Command::Create(args) => {
            let chosen =
                chosen.context("the create's driver was not opened; this is a bug in berth")?;
            create::run(&ctx, &args, chosen)
        }
        Command::Ssh(args) => ssh::ssh(&ctx, &args),
        Command::Scp(args) => ssh::scp(&ctx, &args),
        Command::Start(args) => power::run(&ctx, &args.names, Operation::Start),
        Command::Stop(args) => power::run(&ctx, &args.names, Operation::Stop),
        Command::Restart(args) => power::run(&ctx, &args.names, Operation::Restart),
        Command::Kill(args) => power::run(&ctx, &args.names, Operation::Kill),
        Command::Provision(args) => provision::provision(&ctx, &args.names),
        Command::RegenerateCerts(args) => provision::regenerate_certs(&ctx, &args),
    }
}

/// Runs `each` on every named machine (after checking they all exist), one progress line
/// each. One machine's failure is its error; with several, each is reported and the rest go on.
pub fn for_each_machine(
    ctx: &Ctx,
    names: &[String],
    done: &str,
    each: impl Fn(&str, &mut crate::progress::MachineProgress) -> anyhow::Result<()>,
) -> anyhow::Result<ExitCode> {
    for name in names {
        ctx.store.machine(name)?;
    }
    let progress = crate::progress::Progress::new(ctx.printer);
    let mut failures = Vec::new();
    for name in names {
        let mut line = progress.machine(name);
        match each(name, &mut line) {
            Ok(()) => line.finish(done),
            Err(err) => {
                line.abandon();
                failures.push((name, err));
            }
        }
    }
    if names.len() == 1
        && let Some((_, err)) = failures.pop()
    {
        return Err(err);
    }
    for (name, err) in &failures {
        ctx.printer.error(&format!("{name}: {err:#}"));
    }
    if !failures.is_empty() {
        anyhow::bail!(
            "{} of {} machines failed; each error above says what to do",
            failures.len(),
            names.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The driver `name`: built in, or a plugin found in the store's plugins folder, beside berth
/// or on PATH.
pub fn open_driver(ctx: &Ctx, name: &str) -> anyhow::Result<Box<dyn Driver>> {
    let search = PluginSearch::from_env(ctx.store.root());
    Ok(berth_driver::open_driver(
        name,
        &search,
        PluginOptions::default(),
    )?)
}

/// What a driver needs to act on an existing machine.
pub fn machine_ref(machine: &Machine, record: &MachineRecord) -> anyhow::Result<MachineRef> {
    Ok(MachineRef {
        name: record.name.clone(),
        machine_dir: machine.dir().to_path_buf(),
        data: serde_json::to_value(&record.driver_data).context("cannot read the driver's data")?,
    })
}

/// A driver's data (JSON) as the record keeps it (TOML, which has no null: nulls are dropped).
pub fn json_to_toml(value: &serde_json::Value) -> anyhow::Result<toml::Table> {
    fn strip_nulls(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), strip_nulls(v)))
                    .collect(),
            ),
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(strip_nulls).collect())
            }
            other => other.clone(),
        }
    }
    match strip_nulls(value) {
        serde_json::Value::Null => Ok(toml::Table::new()),
        serde_json::Value::Object(_) => Ok(toml::Table::try_from(strip_nulls(value))
            .context("the driver's data cannot be stored")?),
        other => anyhow::bail!("the driver returned data that is not an object: {other}"),
    }
}

/// The machine's state as its driver sees it; Unknown when the driver cannot be asked.
pub fn driver_state(ctx: &Ctx, name: &str, record: &MachineRecord) -> berth_driver::MachineState {
    let ask = || -> anyhow::Result<berth_driver::MachineState> {
        let machine = ctx.store.machine(name)?;
        let driver = open_driver(ctx, &record.driver)?;
        Ok(driver.state(&machine_ref(&machine, record)?)?)
    };
    ask().unwrap_or(berth_driver::MachineState::Unknown)
}

/// Probes the engine of `name` over TLS with its client certificate.
pub fn probe(ctx: &Ctx, name: &str, timeout: Duration) -> anyhow::Result<berth_tls::EngineVersion> {
    let (machine, record) = ctx.load(name)?;
    probe_record(&machine, &record, timeout)
}

pub fn probe_record(
    machine: &Machine,
    record: &MachineRecord,
    timeout: Duration,
) -> anyhow::Result<berth_tls::EngineVersion> {
    let host = record
        .engine_host()
        .with_context(|| format!("machine '{}' has no engine URL", record.name))?;
    let port = record
        .url
        .as_deref()
        .and_then(|u| u.rsplit_once(':'))
        .and_then(|(_, p)| p.trim_end_matches('/').parse().ok())
        .unwrap_or(berth_provision::DEFAULT_PORT);
    let (ca, client) = crate::certs::client(machine)?;
    Ok(berth_tls::probe_engine(host, port, &ca, &client, timeout)?)
}
