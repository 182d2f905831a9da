//! `upgrade`: the engine's package upgraded on each machine (berth-machine), all at once, one
//! line each saying from which version to which.

use std::process::ExitCode;

use super::Ctx;

pub(super) fn run(ctx: &Ctx, names: &[String]) -> anyhow::Result<ExitCode> {
    super::check_all_exist(ctx, names)?;
    super::for_each_machine(ctx, names, |machines, name, events| {
        let done = berth_machine::upgrade(machines, name, events)?;
        Ok(if done.changed() {
            format!(
                "upgraded {} from {} to {} (the engine answers as {}, with its certificates)",
                done.package, done.from, done.to, done.engine
            )
        } else {
            format!(
                "{} {} is up to date: the host's package sources offer nothing newer",
                done.package, done.from
            )
        })
    })
}
