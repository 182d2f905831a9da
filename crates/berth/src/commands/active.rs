//! `active`: the machine `DOCKER_HOST` points at.

use std::process::ExitCode;

use berth_compat::words::Sentence;
use berth_names::EnvVars;

use super::Ctx;

/// The machine whose engine URL is `DOCKER_HOST`; `DOCKER_MACHINE_NAME` breaks a tie between
/// machines that share a URL (a host re-created under a new name).
pub(super) fn run(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let Some(docker_host) = ctx.env.get(EnvVars::DOCKER_HOST) else {
        return Err(ctx.dialect.error(
            "no machine is active: DOCKER_HOST is not set; run `eval \"$(berth env NAME)\"` first",
            Sentence::NoActiveHost,
        ));
    };
    let matches = active_names(ctx, docker_host)?;
    let preferred = ctx.env.get(EnvVars::DOCKER_MACHINE_NAME);
    let name = match matches.as_slice() {
        [] => {
            return Err(ctx.dialect.error(
                format!(
                    "no machine in {} has the URL {docker_host} that DOCKER_HOST points at",
                    ctx.store().root().display()
                ),
                Sentence::NoActiveHost,
            ));
        }
        [one] => one.clone(),
        many => preferred
            .filter(|p| many.iter().any(|m| m == p))
            .map_or_else(|| many[0].clone(), str::to_owned),
    };
    ctx.printer.data(&name);
    Ok(ExitCode::SUCCESS)
}

/// Names of machines whose URL is `docker_host`.
pub(super) fn active_names(ctx: &Ctx, docker_host: &str) -> anyhow::Result<Vec<String>> {
    Ok(ctx
        .store()
        .list::<berth_machine::MachineRecord>()?
        .into_iter()
        .filter_map(|entry| entry.record.ok())
        .filter(|record| record.url.as_ref().is_some_and(|url| url == docker_host))
        .map(|record| record.name.to_string())
        .collect())
}
