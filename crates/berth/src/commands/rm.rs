use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::Ctx;
use crate::cli::RmArgs;

pub fn run(ctx: &Ctx, args: &RmArgs) -> anyhow::Result<ExitCode> {
    // Every name must exist before anything is removed: a typo in the third name should not
    // leave the first two gone and the user unsure what happened.
    let mut machines = Vec::new();
    for name in &args.names {
        machines.push(ctx.store.machine(name)?);
    }
    if !args.yes && !confirm(ctx, &args.names)? {
        bail!("nothing was removed");
    }
    for machine in machines {
        let name = machine.name().to_owned();
        let lock = ctx.store.lock(&name, Duration::from_secs(10))?;
        let driver = match machine.load() {
            Ok(record) => {
                remove_host(ctx, &machine, &record, args.force)?;
                record.driver
            }
            Err(err) if args.force => {
                ctx.printer.warn(&format!(
                    "removing '{name}' although its record is unreadable: {err}"
                ));
                String::new()
            }
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("cannot read machine '{name}'; `berth rm -f {name}` removes it anyway")
                });
            }
        };
        ctx.store.remove(machine, &lock)?;
        if driver == "generic" {
            ctx.printer.info(&format!(
                "Removed '{name}' from berth. The host itself was left as it is (its engine keeps running with TLS on port 2376)."
            ));
        } else {
            ctx.printer.info(&format!("Removed '{name}'."));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks the driver to remove the host it made (the generic and none drivers make nothing).
/// With `--force` a driver failure is a warning and the local state goes anyway.
fn remove_host(
    ctx: &Ctx,
    machine: &berth_store::Machine,
    record: &berth_store::MachineRecord,
    force: bool,
) -> anyhow::Result<()> {
    if record.driver == "generic" || record.driver == "none" {
        return Ok(());
    }
    // A create whose driver failed (crashed, hung, refused) or was interrupted returned no
    // data. The driver is still asked (it may find what it made by the machine's name), but a
    // broken plugin must not keep the record from going.
    let never_created = record.driver_data.is_empty()
        && matches!(
            record.state,
            berth_store::MachineState::Error | berth_store::MachineState::Creating
        );
    let result = (|| -> anyhow::Result<()> {
        let driver = super::open_driver(ctx, &record.driver)?;
        let m = super::machine_ref(machine, record)?;
        driver.remove(&m, &berth_driver::no_progress)?;
        Ok(())
    })();
    match result {
        Ok(()) => Ok(()),
        Err(err) if force || never_created => {
            ctx.printer.warn(&format!("the {} driver could not remove the host of '{}' ({err:#}); removing berth's record anyway", record.driver, record.name));
            Ok(())
        }
        Err(err) => Err(err.context(format!(
            "the {} driver could not remove the host of '{}'; nothing was removed. `berth rm -f {}` removes berth's record anyway",
            record.driver, record.name, record.name
        ))),
    }
}

/// Asks on the terminal; without one, refuses rather than guessing.
fn confirm(ctx: &Ctx, names: &[String]) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "refusing to remove {} without confirmation: no terminal to ask on; add -y to remove without asking",
            names.join(", ")
        );
    }
    ctx.printer.info(&format!(
        "About to remove {}. Are you sure? [y/N]",
        names.join(", ")
    ));
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}
