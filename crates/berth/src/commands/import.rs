//! `import`: docker-machine's machines copied into berth's store (berth-machine), one line
//! per machine, and the one warning that matters: they still share docker-machine's CA.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use berth_compat::{DockerMachineStore, ImportedAs};
use berth_names::EnvVars;

use super::Ctx;
use crate::cli::ImportArgs;

pub(super) fn run(ctx: &Ctx, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let from = match &args.from {
        Some(path) => path.clone(),
        None => match ctx.env.get(EnvVars::MACHINE_STORAGE_PATH) {
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(
                ctx.env
                    .get("HOME")
                    .context("HOME is not set; say where docker-machine's store is with --from")?,
            )
            .join(".docker/machine"),
        },
    };
    let source =
        DockerMachineStore::open(&from)?.trusting_recorded_paths(args.trust_recorded_paths);
    source.check_apart_from(ctx.store())?;
    let names = if args.names.is_empty() {
        let names = source.names()?;
        if names.is_empty() {
            bail!(
                "docker-machine's store {} has no machines to import",
                from.display()
            );
        }
        names
    } else {
        args.names.clone()
    };
    let names_done = names.clone();
    let code = super::for_each_machine(ctx, &names, move |machines, name, events| {
        let imported = berth_compat::import(machines, &source, name, events)?;
        let engine = imported
            .engine
            .map(|v| format!(", engine {v} answers"))
            .unwrap_or_default();
        Ok(match imported.as_ {
            ImportedAs::Generic => {
                format!("imported as a generic machine ({}{engine})", imported.url)
            }
            ImportedAs::None => {
                format!("imported as a none machine ({}{engine})", imported.url)
            }
            ImportedAs::Driver { driver } => format!(
                "imported with its {driver} driver ({}{engine})",
                imported.url
            ),
        })
    });
    // Said whenever a machine came in (also when another failed): it shares docker-machine's CA.
    let shared = names_done.iter().any(|name| {
        ctx.store()
            .machine(name)
            .is_ok_and(|m| berth_machine::has_foreign_ca(&m))
    });
    if shared {
        ctx.printer.warn(&format!(
        "imported machines keep docker-machine's certificates, signed by one CA shared by every machine of {}: a client certificate of one opens all of them. `berth regenerate-certs --client-certs NAME` gives a machine a CA of its own (berth did not copy the shared CA's key, so it cannot sign new certificates from it)",
        from.display()
    ));
    }
    code
}
