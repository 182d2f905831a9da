//! One module per command (or per family of small commands).

mod active;
mod env;
mod info;
mod ls;
mod rm;

use std::process::ExitCode;

use anyhow::Context as _;
use berth_store::{Machine, MachineRecord, Store};

use crate::cli::{Cli, Command};
use crate::context::{ProcessEnv, open_store};
use crate::printer::Printer;

/// A command that is on the command line but not built yet; exits 2.
#[derive(Debug, thiserror::Error)]
#[error("`berth {0}` is not built yet")]
pub struct NotYet(pub &'static str);

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

pub fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitCode> {
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
            use clap::CommandFactory as _;
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "berth", &mut out);
            printer.data(&String::from_utf8_lossy(&out));
            Ok(ExitCode::SUCCESS)
        }
        Command::Create(args) => {
            for name in &args.names {
                berth_store::validate_name(name)?;
            }
            Err(NotYet("create").into())
        }
        Command::Ssh(_) => Err(NotYet("ssh").into()),
        Command::Scp(_) => Err(NotYet("scp").into()),
        Command::Start(_) => Err(NotYet("start").into()),
        Command::Stop(_) => Err(NotYet("stop").into()),
        Command::Restart(_) => Err(NotYet("restart").into()),
        Command::Kill(_) => Err(NotYet("kill").into()),
        Command::Provision(_) => Err(NotYet("provision").into()),
        Command::RegenerateCerts(_) => Err(NotYet("regenerate-certs").into()),
    }
}
