//! `provision` and `regenerate-certs`: the provisioner run again on an existing machine.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::Ctx;
use crate::certs::Renewal;
use crate::cli::RegenerateCertsArgs;
use crate::provisioning::{self, Options};

pub fn provision(ctx: &Ctx, names: &[String]) -> anyhow::Result<ExitCode> {
    run_each(
        ctx,
        names,
        Options {
            renewal: Renewal::KeepIfValid,
            install_engine: true,
        },
        &[],
        "provisioned",
    )
}

pub fn regenerate_certs(ctx: &Ctx, args: &RegenerateCertsArgs) -> anyhow::Result<ExitCode> {
    // The engine reads its TLS files only at start, so new certificates mean a restart, which
    // stops every container unless live-restore is on (docker-machine #4721 lost a user's
    // containers on six servers this way): say so, and ask.
    if !args.yes {
        let question = format!(
            "Regenerating certificates restarts the Docker engine on {}: containers stop unless the engine runs with live-restore. {}Continue? [y/N]",
            args.names.join(", "),
            if args.client_certs {
                "With --client-certs a new CA is made and every client certificate made before stops working. "
            } else {
                ""
            }
        );
        if !std::io::stdin().is_terminal() {
            bail!("{question}\nThere is no terminal to ask on; add -y to go ahead");
        }
        ctx.printer.info(&question);
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .context("cannot read the answer")?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("nothing was changed");
        }
    }
    let renewal = if args.client_certs {
        Renewal::Everything
    } else {
        Renewal::Server
    };
    run_each(
        ctx,
        &args.names,
        Options {
            renewal,
            install_engine: false,
        },
        &args.tls_san,
        "has new certificates",
    )
}

fn run_each(
    ctx: &Ctx,
    names: &[String],
    options: Options,
    extra_sans: &[String],
    done: &str,
) -> anyhow::Result<ExitCode> {
    super::for_each_machine(ctx, names, done, |name, line| {
        let _lock = ctx.store.lock(name, Duration::from_secs(30))?;
        let (machine, mut record) = ctx.load(name)?;
        for san in extra_sans {
            if !record.tls.extra_sans.contains(san) {
                record.tls.extra_sans.push(san.clone());
            }
        }
        provisioning::provision(&machine, &mut record, None, options, line)
    })
}
