//! `provision` and `regenerate-certs`: the provisioner run again on existing machines
//! (berth-machine), one line per machine, all at once.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use berth_machine::{Options, Renewal};

use super::Ctx;
use crate::cli::RegenerateCertsArgs;

/// Provisioning again may restart the engine (new certificates, changed options), and a
/// restart stops the running containers of an engine without live-restore. So, unless `-y`, it
/// goes ahead without a question only where nothing would stop; otherwise it asks, naming
/// what would, and without a terminal it refuses.
pub(super) fn provision(ctx: &Ctx, names: &[String], yes: bool) -> anyhow::Result<ExitCode> {
    super::check_all_exist(ctx, names)?;
    if !yes {
        // Nothing to ask about: a machine berth cannot log in to (the none driver; the
        // provisioning refuses it with its own sentence), or one whose engine berth never set
        // up (no URL yet: a create that failed before the engine ran, finished here).
        let risks: Vec<String> = names
            .iter()
            .filter(|name| {
                ctx.machines.load(name).map_or(true, |machine| {
                    let record = machine.record();
                    record.ssh.is_some() && record.url.is_some()
                })
            })
            .filter_map(|name| berth_machine::restart_risk_if_answering(&ctx.machines, name))
            .collect();
        if !risks.is_empty() {
            confirm(
                ctx,
                &format!(
                    "Provisioning may restart the Docker engine (when its certificates or options change): {}.",
                    risks.join("; ")
                ),
            )?;
        }
    }
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

pub(super) fn regenerate_certs(ctx: &Ctx, args: &RegenerateCertsArgs) -> anyhow::Result<ExitCode> {
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
            "Regenerating certificates restarts the Docker engine on {}: {containers} {}{}",
            args.names.join(", "),
            swarm_nodes.map(|w| format!("{w} ")).unwrap_or_default(),
            if args.client_certs {
                "With --client-certs a new CA is made and every client certificate made before stops working (berth's env and docker context get the new one). "
            } else {
                ""
            }
        );
        confirm(ctx, &question)?;
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

/// Asks `question` on the terminal ("Continue? [y/N]"); without one, refuses with the question
/// and how to go ahead.
fn confirm(ctx: &Ctx, question: &str) -> anyhow::Result<()> {
    let question = format!("{} Continue? [y/N]", question.trim_end());
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
    Ok(())
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
