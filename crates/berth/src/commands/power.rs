//! `start`, `stop`, `restart`, `kill`: the driver's power switch, then (for start and
//! restart) a wait until the engine answers over TLS again.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use berth_driver::Operation;
use berth_store::MachineState;

use super::Ctx;

/// How long start and restart wait for the engine.
const ENGINE_WAIT: Duration = Duration::from_secs(90);

pub fn run(ctx: &Ctx, names: &[String], op: Operation) -> anyhow::Result<ExitCode> {
    super::for_each_machine(ctx, names, past(op), |name, line| {
        let _lock = ctx.store.lock(name, Duration::from_secs(30))?;
        let (machine, mut record) = ctx.load(name)?;
        let driver = super::open_driver(ctx, &record.driver)?;
        if !driver.supports(op) {
            bail!(
                "the {} driver cannot {} machines; power '{name}' through wherever the host runs",
                record.driver,
                verb(op)
            );
        }
        let m = super::machine_ref(&machine, &record)?;
        line.step(verb(op));
        let progress_fn = |message: &str| line.detail(message);
        match op {
            Operation::Start => driver.start(&m, &progress_fn),
            Operation::Stop => driver.stop(&m, &progress_fn),
            Operation::Restart => driver.restart(&m, &progress_fn),
            Operation::Kill => driver.kill(&m, &progress_fn),
            _ => bail!("{op:?} is not a power operation"),
        }
        .with_context(|| format!("cannot {} '{name}'", verb(op)))?;
        line.step_done(verb(op));
        if matches!(op, Operation::Start | Operation::Restart) {
            line.step("waiting for the engine");
            wait_for_engine(ctx, name)?;
            line.step_done("waiting for the engine");
            if record.state != MachineState::Error {
                record.state = MachineState::Running;
            }
        } else {
            record.state = MachineState::Stopped;
        }
        machine.save(&record)?;
        Ok(())
    })
}

/// Polls the engine over TLS until it answers or the deadline passes.
fn wait_for_engine(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + ENGINE_WAIT;
    let mut pause = Duration::from_millis(200);
    loop {
        match super::probe(ctx, name, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(err) if Instant::now() >= deadline => {
                return Err(err).with_context(|| {
                    format!(
                        "the engine of '{name}' did not answer within {}s",
                        ENGINE_WAIT.as_secs()
                    )
                });
            }
            Err(_) => {
                // Polling: the engine gives no signal when it is ready.
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

fn verb(op: Operation) -> &'static str {
    match op {
        Operation::Start => "start",
        Operation::Stop => "stop",
        Operation::Restart => "restart",
        Operation::Kill => "kill",
        _ => "change",
    }
}

fn past(op: Operation) -> &'static str {
    match op {
        Operation::Start => "started",
        Operation::Stop => "stopped",
        Operation::Restart => "restarted",
        Operation::Kill => "killed",
        _ => "done",
    }
}
