//! `provision` and `regenerate-certs`: the provisioner run again on existing machines
//! (berth-machine), one line per machine, all at once.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use berth_machine::{Options, Renewal};

use super::Ctx;
use crate::cli::RegenerateCertsArgs;

pub fn provision(ctx: &Ctx, names: &[String]) -> anyhow::Result<ExitCode> {
    run_each(
        ctx,
        names,
        Options {
            renewal: Renewal::KeepIfValid,
            install_engine: true,
        },
        Vec::new(),
        "provisioned",
    )
}

pub fn regenerate_certs(ctx: &Ctx, args: &RegenerateCertsArgs) -> anyhow::Result<ExitCode> {
    // Unknown names and malformed names for the certificate are refused before anything is
    // asked.
    super::check_all_exist(ctx, &args.names)?;
    for san in &args.tls_san {
        berth_tls::check_san(san)?;
    }
    // The engine reads its TLS files only at start, so new certificates mean a restart, which
    // stops every container unless live-restore is on (docker-machine #4721 lost a user's
    // containers on six servers this way): say so, and ask.
    // Swarm mode forbids live-restore, so on a swarm node the restart stops everything.
    let swarm_nodes = berth_machine::swarm::regenerate_certs_warning(&ctx.machines, &args.names);
    if args.yes
        && let Some(warning) = &swarm_nodes
    {
        ctx.printer.warn(warning);
    }
    if !args.yes {
        // Asked of each engine first, so the question names what would stop (if anything).
        let risks: Vec<String> = args
            .names
            .iter()
            .filter_map(|name| berth_machine::restart_risk(&ctx.machines, name))
            .collect();
        let containers = if risks.is_empty() {
            "running containers keep running (live-restore).".to_owned()
        } else {
            format!("{}.", risks.join("; "))
        };
        let question = format!(
            "Regenerating certificates restarts the Docker engine on {}: {containers} {}{}Continue? [y/N]",
            args.names.join(", "),
            swarm_nodes.map(|w| format!("{w} ")).unwrap_or_default(),
            if args.client_certs {
                "With --client-certs a new CA is made and every client certificate made before stops working (berth's env and docker context get the new one). "
            } else {
                ""
            }
        );
        if !std::io::stdin().is_terminal() {
            bail!("{question}\nThere is no terminal to ask on; add -y (or -f) to go ahead");
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
        args.tls_san.clone(),
        "has new certificates",
    )
}

fn run_each(
    ctx: &Ctx,
    names: &[String],
    options: Options,
    extra_sans: Vec<String>,
    done: &'static str,
) -> anyhow::Result<ExitCode> {
    super::check_all_exist(ctx, names)?;
    super::for_each_machine(ctx, names, move |machines, name, events| {
        berth_machine::reprovision(machines, name, options, &extra_sans, events)?;
        Ok(done.to_owned())
    })
}
