//! The one place that writes to the terminal.
//!
//! Data (env scripts, JSON, tables) goes to stdout so that it can be piped and evaluated;
//! everything meant for a person (progress, warnings, errors) goes to stderr. The workspace
//! lints forbid printing anywhere else.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};

/// Writes data and messages.
#[derive(Clone, Debug)]
pub struct Printer {
    debug: bool,
    color: bool,
}

impl Printer {
    pub fn new(debug: bool) -> Self {
        let color = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        Printer { debug, color }
    }

    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// Whether messages go to a person at a terminal (progress bars make sense).
    pub fn interactive(&self) -> bool {
        self.color
    }

    /// Data for stdout. A closed pipe (`berth ls | head`) is not an error worth a message.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// Data for stdout exactly as given (no newline added).
    pub fn raw(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// A line for the person running berth.
    pub fn info(&self, text: &str) {
        eprintln!("{text}");
    }

    pub fn warn(&self, text: &str) {
        if self.color {
            eprintln!("\x1b[33mwarning:\x1b[0m {text}");
        } else {
            eprintln!("warning: {text}");
        }
    }

    pub fn error(&self, text: &str) {
        // docker-machine printed its errors as the bare sentence; scripts that match on
        // them (`grep 'Host does not exist'`) see the same line.
        if crate::dialect::current().is_docker_machine() {
            eprintln!("{text}");
        } else if self.color {
            eprintln!("\x1b[31merror:\x1b[0m {text}");
        } else {
            eprintln!("error: {text}");
        }
    }
}
