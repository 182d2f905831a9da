//! The one place that writes to the terminal.
//!
//! Data (env scripts, JSON, tables) goes to stdout so that it can be piped and evaluated;
//! everything meant for a person (progress, warnings, errors) goes to stderr. The workspace
//! lints forbid printing anywhere else.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::MultiProgress;

use crate::context::ProcessEnv;

/// Writes data and messages.
#[derive(Clone, Debug)]
pub struct Printer {
    debug: bool,
    /// stderr is a terminal a person watches (not `TERM=dumb`): live progress lines make sense.
    interactive: bool,
    /// Colours on stderr: interactive and `NO_COLOR` unset. `NO_COLOR` is about colour only; it
    /// does not take the progress display away.
    color: bool,
    /// The live progress bars, while there are any: every message goes above them.
    bars: Arc<Mutex<Option<MultiProgress>>>,
}

impl Printer {
    /// A printer for this process's terminal, as the environment berth was started with says.
    pub fn new(debug: bool, env: &ProcessEnv) -> Self {
        let terminal = std::io::stderr().is_terminal();
        Self::for_terminal(debug, terminal, env)
    }

    /// A printer as it would be with stderr a terminal or not (the decision, apart from the
    /// terminal check, so it can be tested).
    pub fn for_terminal(debug: bool, terminal: bool, env: &ProcessEnv) -> Self {
        let interactive = terminal && env.get("TERM") != Some("dumb");
        let color = interactive && env.get("NO_COLOR").is_none();
        Printer {
            debug,
            interactive,
            color,
            bars: Arc::new(Mutex::new(None)),
        }
    }

    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// Whether messages go to a person at a terminal (progress bars make sense).
    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// Registers the live bars (or takes them away with `None`): from now on every message is
    /// printed above them instead of tearing them.
    pub fn attach_bars(&self, multi: Option<MultiProgress>) {
        *self.bars.lock().unwrap_or_else(|e| e.into_inner()) = multi;
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
        self.emit(text);
    }

    pub fn warn(&self, text: &str) {
        if self.color {
            self.emit(&format!("\x1b[33mwarning:\x1b[0m {text}"));
        } else {
            self.emit(&format!("warning: {text}"));
        }
    }

    pub fn error(&self, text: &str) {
        // docker-machine printed its errors as the bare sentence; scripts that match on
        // them (`grep 'Host does not exist'`) see the same line.
        if crate::dialect::current().is_docker_machine() {
            self.emit(text);
        } else if self.color {
            self.emit(&format!("\x1b[31merror:\x1b[0m {text}"));
        } else {
            self.emit(&format!("error: {text}"));
        }
    }

    /// The one write to stderr: above the live bars when there are any.
    fn emit(&self, line: &str) {
        let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bars {
            Some(multi) if !multi.is_hidden() => multi.suspend(|| eprintln!("{line}")),
            _ => eprintln!("{line}"),
        }
    }

    /// A writer for tracing's `--debug` events, so that they too go through this printer.
    pub fn tracing_writer(&self) -> TracingWriter {
        TracingWriter {
            printer: self.clone(),
            pending: Vec::new(),
        }
    }
}

/// Collects one tracing event and prints it through the [`Printer`] when dropped.
pub struct TracingWriter {
    printer: Printer,
    pending: Vec<u8>,
}

impl Write for TracingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for TracingWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.pending);
        let text = text.trim_end();
        if !text.is_empty() {
            self.printer.info(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> ProcessEnv {
        ProcessEnv::from_pairs(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn no_color_turns_off_colour_but_not_the_progress_display() {
        let p = Printer::for_terminal(false, true, &env(&[("NO_COLOR", "1")]));
        assert!(p.interactive());
        assert!(!p.color);
        let p = Printer::for_terminal(false, true, &env(&[]));
        assert!(p.interactive() && p.color);
    }

    #[test]
    fn a_dumb_terminal_or_a_pipe_gets_plain_lines() {
        assert!(!Printer::for_terminal(false, true, &env(&[("TERM", "dumb")])).interactive());
        assert!(!Printer::for_terminal(false, false, &env(&[])).interactive());
    }
}
