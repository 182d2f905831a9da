//! The `berth` binary: parses the command line and hands it to the commands.
//!
//! Everything a user sees goes through [`printer`]; every failure ends in [`report`], which
//! prints one sentence (and its causes) and picks the exit status.

mod cli;
mod commands;
mod context;
mod driver_flags;
mod interrupt;
mod printer;
mod progress;
mod shell;

use std::process::ExitCode;

fn main() -> ExitCode {
    let (cli, chosen) = match driver_flags::parse() {
        Ok(parsed) => parsed,
        Err(err) => return report(&printer::Printer::new(false), &err),
    };
    let printer = printer::Printer::new(cli.debug);
    if cli.debug {
        // Plugins' stderr and the libraries' debug events arrive through tracing.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(std::io::stderr)
            .without_time()
            .try_init();
    }
    // One runtime for the whole command: engine calls are async (bollard), drivers and SSH
    // block and run on its blocking threads. The main thread drives it with `block_on`.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            printer.error(&format!(
                "cannot start berth's worker threads: {e}; the system is out of threads or file descriptors"
            ));
            return ExitCode::FAILURE;
        }
    };
    let code = {
        let _entered = runtime.enter();
        match commands::run(cli, chosen, &printer) {
            Ok(code) => code,
            Err(err) => report(&printer, &err),
        }
    };
    // A probe still waiting on a dead host (past `ls --timeout`) must not hold the exit.
    runtime.shutdown_background();
    code
}

/// Prints an error the way a user should meet it: the sentence first, then what caused it.
fn report(printer: &printer::Printer, err: &anyhow::Error) -> ExitCode {
    if let Some(commands::RemoteExit(code)) = err.downcast_ref::<commands::RemoteExit>() {
        return ExitCode::from(*code);
    }
    let interrupted = err.downcast_ref::<interrupt::Interrupted>().is_some()
        || err
            .downcast_ref::<berth_machine::MachineError>()
            .is_some_and(berth_machine::MachineError::is_interrupted);
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(&format!("\n  caused by: {cause}"));
        }
    }
    printer.error(&message);
    if interrupted {
        ExitCode::from(interrupt::EXIT_INTERRUPTED)
    } else {
        ExitCode::FAILURE
    }
}
