//! `rm`: asks once for every name, then removes the machines (berth-machine) all at once, one
//! line each.

use std::process::ExitCode;

use berth_machine::Removed;

use super::Ctx;
use super::confirm::{Question, confirm};
use crate::cli::RmArgs;
use berth_compat::words::Sentence;

pub(super) fn run(ctx: &Ctx, args: &RmArgs) -> anyhow::Result<ExitCode> {
    if let Err(err) = super::check_all_exist(ctx, &args.names) {
        // docker-machine names the machine it could not remove (rm.go).
        if ctx.dialect.is_docker_machine()
            && let Some(Sentence::HostDoesNotExist(name)) =
                berth_compat::output::error_message(&err)
        {
            let cause = Box::new(Sentence::HostDoesNotExist(name.clone()));
            return Err(Sentence::Removing(name, cause).into());
        }
        return Err(err);
    }
    if !args.yes {
        let names = args.names.join(", ");
        confirm(
            ctx,
            &Question {
                prompt: &format!("About to remove {names}. Are you sure? [y/N]"),
                without_terminal: &format!(
                    "refusing to remove {names} without confirmation: no terminal to ask on; add -y to remove without asking"
                ),
                declined: "nothing was removed",
            },
        )?;
    }
    let force = args.force;
    // The machines go at once; swarm nodes among them leave in their cluster's order.
    let departures = berth_machine::swarm::Departures::new(&args.names);
    super::for_each_machine(ctx, &args.names, move |machines, name, events| {
        Ok(match berth_machine::remove_with(machines, name, force, &departures, events)? {
            Removed::RecordOnly => "removed from berth; the host itself was left as it is (its engine keeps running with TLS on port 2376)".to_owned(),
            Removed::Everything => "removed".to_owned(),
        })
    })
}
