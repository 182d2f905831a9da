//! `start`, `stop`, `restart`, `kill`: the driver's power switch (berth-machine), one line
//! per machine, all at once.

use std::process::ExitCode;

use berth_plugin::Operation;

use super::Ctx;

pub(super) fn run(ctx: &Ctx, names: &[String], op: Operation) -> anyhow::Result<ExitCode> {
    super::check_all_exist(ctx, names)?;
    super::for_each_machine(ctx, names, move |machines, name, events| {
        berth_machine::power(machines, name, op, events)?;
        Ok(berth_machine::past_tense(op).to_owned())
    })
}
