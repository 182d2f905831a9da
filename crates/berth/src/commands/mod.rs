//! One module per command (or per family of small commands).

mod active;
mod audit;
mod certs;
mod compat;
mod confirm;
mod create;
mod env;
mod import;
mod info;
mod ls;
mod man;
mod mount;
mod power;
mod provision;
mod rm;
mod ssh;
mod swarm;
mod upgrade;
mod use_context;

use std::process::ExitCode;

use std::sync::Arc;

use anyhow::Context as _;
use berth_names::EnvVars;

use berth_machine::{Event, MachineHandle, Machines};
use berth_plugin::Operation;
use berth_store::Store;

use crate::cli::{Cli, Command};
use crate::context::{ProcessEnv, open_store};
use crate::dialect::Dialect;
use crate::driver_flags::ChosenDriver;
use crate::printer::Printer;
use crate::progress::{MachineProgress, Progress};

/// A remote command's exit status that `berth ssh` passes on as its own.
#[derive(Debug, thiserror::Error)]
#[error("the remote command exited with status {0}")]
pub(crate) struct RemoteExit(pub u8);

/// What every command gets.
pub(crate) struct Ctx<'a> {
    pub machines: Machines,
    /// The language of the command line: berth's, or docker-machine's (decided in `main`).
    pub dialect: Dialect,
    pub env: ProcessEnv,
    pub printer: &'a Printer,
}

impl Ctx<'_> {
    /// The store.
    pub(crate) fn store(&self) -> &Store {
        self.machines.store()
    }

    /// The machine `name` with its record, or a sentence naming it.
    pub(crate) fn load(&self, name: &str) -> anyhow::Result<MachineHandle> {
        Ok(self.machines.load(name)?)
    }
}

pub(crate) fn run(
    cli: Cli,
    chosen: Option<ChosenDriver>,
    env: ProcessEnv,
    dialect: Dialect,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let store = open_store(cli.storage_path, dialect, &env)?;
    let docker =
        berth_context::DockerConfig::locate(env.get(EnvVars::DOCKER_CONFIG).map(Into::into))?;
    crate::context::check_trusted_folders(store.root(), Some(docker.dir()))?;
    let ctx = Ctx {
        machines: Machines::new(store).with_docker_config(docker),
        dialect,
        env,
        printer,
    };
    // A removal an earlier command left half done is finished now; `ls` lists what still is not.
    let _ = ctx.store().finish_removals();
    if matches!(
        cli.command,
        Command::Create(_) | Command::Provision(_) | Command::RegenerateCerts(_)
    ) {
        crate::interrupt::catch(ctx.machines.interrupt().clone())?;
    }
    match cli.command {
        Command::Ls(args) => ls::run(&ctx, &args),
        Command::Env(args) => env::run(&ctx, &args),
        Command::Inspect(args) => info::inspect(&ctx, &args),
        Command::Status(args) => info::status(&ctx, &args.name),
        Command::Ip(args) => info::ip(&ctx, &args.names),
        Command::Url(args) => info::url(&ctx, &args.name),
        Command::Config(args) => info::config(&ctx, &args.name),
        Command::Rm(args) => rm::run(&ctx, &args),
        Command::Audit(args) => audit::run(&ctx, &args),
        Command::Swarm(command) => swarm::run(&ctx, command),
        Command::Active => active::run(&ctx),
        Command::Use(args) => use_context::run(&ctx, &args),
        Command::Certs(args) => certs::run(&ctx, &args),
        Command::Version(args) => match &args.name {
            Some(name) => info::engine_version(&ctx, name),
            None => {
                printer.data(&if dialect.is_docker_machine() {
                    crate::dialect::docker_machine_version_line()
                } else {
                    format!("berth {}", env!("CARGO_PKG_VERSION"))
                });
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Upgrade(args) => upgrade::run(&ctx, &args.names),
        Command::Import(args) => import::run(&ctx, &args),
        Command::Compat(command) => compat::run(&ctx, &command),
        Command::Completion(args) => {
            let bin = if dialect.is_docker_machine() {
                crate::dialect::DOCKER_MACHINE
            } else {
                "berth"
            };
            let argv0 = ctx.env.args().first().map_or(bin, String::as_str);
            let script = crate::completion::registration(
                args.shell,
                bin,
                &crate::completion::completer_path(argv0),
                dialect,
            )
            .context("cannot write the completion script")?;
            printer.script(&script);
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(args) => man::run(&ctx, &args),
        Command::Mount(args) => mount::run(&ctx, &args),
        Command::Create(args) => {
            let chosen =
                chosen.context("the create's driver was not opened; this is a bug in berth")?;
            create::run(&ctx, &args, chosen)
        }
        Command::Ssh(args) => ssh::ssh(&ctx, &args, cli.native_ssh),
        Command::Scp(args) => ssh::scp(&ctx, &args),
        Command::Start(args) => power::run(&ctx, &args.names, Operation::Start),
        Command::Stop(args) => power::run(&ctx, &args.names, Operation::Stop),
        Command::Restart(args) => power::run(&ctx, &args.names, Operation::Restart),
        Command::Kill(args) => power::run(&ctx, &args.names, Operation::Kill),
        Command::Provision(args) => provision::provision(&ctx, &args.names, args.yes),
        Command::RegenerateCerts(args) => provision::regenerate_certs(&ctx, &args),
    }
}

/// Whether `command` needs the async runtime: it talks to an engine, catches Ctrl-C, or runs
/// several machines' work at once on the runtime's threads. An exhaustive match, so that a new
/// command has to say. Engine calls made from blocking code without a runtime still work
/// (`berth_engine::block_on` builds a small one of its own), so a wrong `false` is slower, not
/// broken; a wrong `true` only costs the threads.
pub(crate) fn needs_runtime(command: &Command) -> bool {
    match command {
        Command::Env(_)
        | Command::Inspect(_)
        | Command::Ip(_)
        | Command::Url(_)
        | Command::Config(_)
        | Command::Active
        | Command::Use(_)
        | Command::Certs(_)
        | Command::Compat(_)
        | Command::Completion(_)
        | Command::Ssh(_)
        | Command::Scp(_)
        | Command::Mount(_)
        | Command::Man(_) => false,
        Command::Version(args) => args.name.is_some(),
        Command::Create(_)
        | Command::Ls(_)
        | Command::Status(_)
        | Command::Start(_)
        | Command::Stop(_)
        | Command::Restart(_)
        | Command::Kill(_)
        | Command::Rm(_)
        | Command::Provision(_)
        | Command::RegenerateCerts(_)
        | Command::Audit(_)
        | Command::Swarm(_)
        | Command::Upgrade(_)
        | Command::Import(_) => true,
    }
}

/// What one machine's task says when it is done: the line that ends its progress.
pub(crate) type Outcome = anyhow::Result<String>;

/// Runs `each` on every named machine at once (each on a blocking thread of the runtime, since
/// drivers and SSH block), one progress line each. With one machine, its failure is the
/// command's error; with several, each is reported under its name and the rest go on.
pub(crate) fn for_each_machine<F>(ctx: &Ctx, names: &[String], each: F) -> anyhow::Result<ExitCode>
where
    F: Fn(&Machines, &str, &mut dyn FnMut(Event<'_>)) -> Outcome + Send + Sync + 'static,
{
    let each = Arc::new(each);
    let progress = Progress::new(ctx.printer);
    let _notice = ctx.machines.interrupt().on_trigger({
        let progress = progress.clone();
        move || {
            progress
                .line("interrupted: stopping at the current step (Ctrl-C again ends berth at once)")
        }
    });
    let runtime = tokio::runtime::Handle::current();
    let tasks: Vec<_> = names
        .iter()
        .map(|name| {
            let (each, machines, name) = (each.clone(), ctx.machines.clone(), name.clone());
            let mut line = progress.machine(&name);
            runtime.spawn_blocking(move || {
                let mut warnings = Vec::new();
                let result = each(&machines, &name, &mut |event| {
                    show(&mut line, &mut warnings, event)
                });
                match &result {
                    Ok(done) => line.finish(done),
                    Err(_) => line.abandon(),
                }
                (name, result, warnings)
            })
        })
        .collect();
    let results = runtime.block_on(futures::future::join_all(tasks));
    let mut failures = Vec::new();
    for joined in results {
        let (name, result, warnings) = match joined {
            Ok(done) => done,
            Err(e) => (
                "?".to_owned(),
                Err(anyhow::anyhow!(
                    "a task failed ({e}); this is a bug in berth"
                )),
                Vec::new(),
            ),
        };
        // The name may be a folder name from a store berth did not make (`import`).
        let name = crate::printer::escape(&name, crate::printer::Lines::Escape).into_owned();
        for warning in warnings {
            ctx.printer.warn(&format!("{name}: {warning}"));
        }
        if let Err(err) = result {
            failures.push((name, err));
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
    if !failures.is_empty() && ctx.machines.interrupt().is_triggered() {
        return Err(crate::interrupt::Interrupted.into());
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

/// Shows one lifecycle event on the machine's line; warnings wait until the lines are done, so
/// that they do not tear the progress display.
fn show(line: &mut MachineProgress, warnings: &mut Vec<String>, event: Event<'_>) {
    match event {
        Event::Step(step) => line.step(step),
        Event::StepDone(step) => line.step_done(step),
        Event::Detail(text) => line.detail(text),
        Event::Debug(text) => line.debug(text),
        Event::Warn(text) => warnings.push(text.to_owned()),
        Event::Provision(event) => line.event(event),
    }
}

/// Checks that every name is a machine of the store before anything is changed: a typo in the
/// third name should not leave the first two changed and the user unsure what happened.
pub(crate) fn check_all_exist(ctx: &Ctx, names: &[String]) -> anyhow::Result<()> {
    for name in names {
        ctx.store().machine(name)?;
    }
    Ok(())
}
