//! `use`: a machine becomes the docker CLI's current context, as `docker context use` makes it.

use std::process::ExitCode;

use berth_names::EnvVars;

use super::Ctx;
use crate::cli::UseArgs;

pub(super) fn run(ctx: &Ctx, args: &UseArgs) -> anyhow::Result<ExitCode> {
    let said = match (&args.name, args.unset) {
        (Some(name), false) => {
            let context = berth_machine::use_machine(&ctx.machines, name)?;
            format!("the docker CLI's current context is now '{context}' (machine '{name}')")
        }
        _ => {
            berth_machine::unset_current(&ctx.machines)?;
            "the docker CLI's current context is now 'default'".to_owned()
        }
    };
    ctx.printer.info(&said);
    // The docker CLI lets these win over the current context; say so rather than leave the
    // user wondering why `docker ps` still goes elsewhere.
    for var in [EnvVars::DOCKER_HOST, EnvVars::DOCKER_CONTEXT] {
        if let Some(value) = ctx.env.get(var) {
            ctx.printer.warn(&format!(
                "{var}={value} is set in this shell and wins over the current context; `unset {var}` clears it"
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
