//! The `berth` binary: parses the command line and hands it to the commands.
//!
//! Everything a user sees goes through [`printer`]; every failure ends in [`report`], which
//! prints one sentence (and its causes) and picks the exit status.

mod cli;
mod commands;
mod completion;
mod context;
mod dialect;
mod driver_flags;
mod interrupt;
mod logging;
mod printer;
mod progress;
mod redact;
mod shell;
mod table;

use std::process::ExitCode;

fn main() -> ExitCode {
    // The one read of the process environment; everything else gets this snapshot.
    let env = context::ProcessEnv::from_process();
    // The one place the dialect is decided: the name berth was called by.
    let dialect = dialect::Dialect::of_argv0(env.args().first().map_or("", String::as_str));
    // A completion script asking for candidates on Tab: answered before anything else runs.
    if let Some(code) = completion::respond(&env, dialect) {
        return code;
    }
    if dialect.is_docker_machine()
        && matches!(
            env.args().get(1).map(String::as_str),
            Some("-v" | "--version")
        )
    {
        printer::Printer::new(false, &env, dialect).data(&dialect::docker_machine_version_line());
        return ExitCode::SUCCESS;
    }
    let (cli, chosen) = match driver_flags::parse(&env, dialect) {
        Ok(parsed) => parsed,
        Err(err) => return report(&printer::Printer::new(false, &env, dialect), &err),
    };
    let printer = printer::Printer::new(cli.debug, &env, dialect);
    // Plugins' stderr and berth's debug events arrive through tracing, and go out through
    // the printer like every other line.
    logging::install(cli.debug, &env, &printer);
    // Commands that talk to an engine (or run several machines' work at once) get one runtime:
    // engine calls are async (bollard), drivers and SSH block and run on its blocking threads,
    // and the main thread drives it with `block_on`. The others (env, inspect, url, config,
    // active, use, certs, …) read files and print: starting worker threads for them cost more
    // than the command itself (issue 20: env took 7 ms with a runtime, 3 ms without).
    let runtime = if commands::needs_runtime(&cli.command) {
        match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => {
                tracing::debug!("started the async runtime (worker threads) for this command");
                Some(runtime)
            }
            Err(e) => {
                printer.error(&format!(
                    "cannot start berth's worker threads: {e}; the system is out of threads or file descriptors"
                ));
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let code = {
        let _entered = runtime.as_ref().map(tokio::runtime::Runtime::enter);
        match commands::run(cli, chosen, env, dialect, &printer) {
            Ok(code) => code,
            Err(err) => report(&printer, &err),
        }
    };
    // A probe still waiting on a dead host (past `ls --timeout`) must not hold the exit.
    if let Some(runtime) = runtime {
        runtime.shutdown_background();
    }
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
    if printer.dialect().is_docker_machine()
        && let Some(sentence) = berth_compat::output::error_message(err)
    {
        printer.error(&sentence.to_string());
        return ExitCode::from(berth_compat::words::exit_code(&sentence));
    }
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
