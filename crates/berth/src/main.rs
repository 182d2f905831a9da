//! The `berth` binary: parses the command line and hands it to the commands.
//!
//! Everything a user sees goes through [`printer`]; every failure ends in [`report`], which
//! prints one sentence (and its causes) and picks the exit status.

mod cli;
mod commands;
mod context;
mod printer;
mod shell;

use std::process::ExitCode;

use clap::Parser;

/// Exit status of a command that exists on the command line but is not built yet, and of
/// usage errors (clap's own choice).
const EXIT_UNSUPPORTED: u8 = 2;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let printer = printer::Printer::new(cli.debug);
    match commands::run(cli, &printer) {
        Ok(code) => code,
        Err(err) => report(&printer, &err),
    }
}

/// Prints an error the way a user should meet it: the sentence first, then what caused it.
fn report(printer: &printer::Printer, err: &anyhow::Error) -> ExitCode {
    if let Some(commands::NotYet(what)) = err.downcast_ref::<commands::NotYet>() {
        printer.error(&format!(
            "`berth {what}` is not built yet in this version of berth"
        ));
        return ExitCode::from(EXIT_UNSUPPORTED);
    }
    if let Some(commands::RemoteExit(code)) = err.downcast_ref::<commands::RemoteExit>() {
        return ExitCode::from(*code);
    }
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(&format!("\n  caused by: {cause}"));
        }
    }
    printer.error(&message);
    ExitCode::FAILURE
}
