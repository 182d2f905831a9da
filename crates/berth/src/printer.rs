//! The one place that writes to the terminal.
//!
//! Data (env scripts, JSON, tables) goes to stdout so that it can be piped and evaluated;
//! everything meant for a person (progress, warnings, errors) goes to stderr. The workspace
//! lints forbid printing anywhere else.
//!
//! Much of what berth prints came from outside: a plugin's error message or log line, a host's
//! command output, a record's error text, an engine's version string. A terminal obeys control
//! characters wherever they come from, so such text could clear the screen, rewrite the line
//! berth printed before it (`\r`), set the window title or hide itself. Everything printed here
//! is therefore [`escape`]d — ESC, CR, every other C0 and C1 control and DEL written as visible
//! escapes (`\x1b`, `\r`, `\u{9b}`), and so are the Unicode controls that reorder text — except
//! the newlines and tabs berth puts between lines and columns itself. Scripts meant for `eval`
//! go out exactly ([`Printer::script`]: the shell module quotes each value for its shell) and
//! JSON keeps its values exactly, with such characters as JSON escapes ([`Printer::json`]).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use berth_names::EnvVars;
use indicatif::MultiProgress;

use berth_term::is_control;
pub(crate) use berth_term::{Lines, escape};

use crate::context::ProcessEnv;
use crate::dialect::Dialect;

/// Writes data and messages.
#[derive(Clone, Debug)]
pub(crate) struct Printer {
    /// docker-machine printed errors as the bare sentence; berth with `error:`.
    dialect: Dialect,
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
    pub(crate) fn new(debug: bool, env: &ProcessEnv, dialect: Dialect) -> Self {
        let terminal = std::io::stderr().is_terminal();
        Printer {
            dialect,
            ..Self::for_terminal(debug, terminal, env)
        }
    }

    /// The dialect errors are printed in.
    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A printer as it would be with stderr a terminal or not (the decision, apart from the
    /// terminal check, so it can be tested).
    pub(crate) fn for_terminal(debug: bool, terminal: bool, env: &ProcessEnv) -> Self {
        let interactive = terminal && env.get(EnvVars::TERM) != Some("dumb");
        let color = interactive && env.get(EnvVars::NO_COLOR).is_none();
        Printer {
            dialect: Dialect::Berth,
            debug,
            interactive,
            color,
            bars: Arc::new(Mutex::new(None)),
        }
    }

    pub(crate) fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// Whether messages go to a person at a terminal (progress bars make sense).
    pub(crate) fn interactive(&self) -> bool {
        self.interactive
    }

    /// Registers the live bars (or takes them away with `None`): from now on every message is
    /// printed above them instead of tearing them.
    pub(crate) fn attach_bars(&self, multi: Option<MultiProgress>) {
        *self.bars.lock().unwrap_or_else(|e| e.into_inner()) = multi;
    }

    /// Data for stdout (tables, addresses, states), escaped: its cells may come from plugins,
    /// hosts and engines.
    pub(crate) fn data(&self, text: &str) {
        write_out(&escape(text, Lines::Keep));
    }

    /// Template output for stdout as rendered (no newline added), escaped like data: its values
    /// come from records, hosts and engines.
    pub(crate) fn raw(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(escape(text, Lines::Keep).as_bytes());
        let _ = out.flush();
    }

    /// A script for the user's shell to evaluate (`env`, `completion`), exactly as rendered:
    /// escaping would change the values; the shell module quotes every one of them instead.
    pub(crate) fn script(&self, text: &str) {
        write_out(text);
    }

    /// JSON for stdout. serde_json escapes the C0 controls itself; the rest that a terminal
    /// obeys are written as `\uXXXX` too, which keeps every value exactly what it was.
    pub(crate) fn json(&self, text: &str) {
        write_out(&json_escape(text));
    }

    /// A line for the person running berth.
    pub(crate) fn info(&self, text: &str) {
        self.emit(&escape(text, Lines::Keep));
    }

    pub(crate) fn warn(&self, text: &str) {
        let text = escape(text, Lines::Keep);
        if self.color {
            self.emit(&format!("\x1b[33mwarning:\x1b[0m {text}"));
        } else {
            self.emit(&format!("warning: {text}"));
        }
    }

    pub(crate) fn error(&self, text: &str) {
        let text = escape(text, Lines::Keep);
        // docker-machine printed its errors as the bare sentence; scripts that match on
        // them (`grep 'does not exist'`) see the same line.
        if self.dialect.is_docker_machine() {
            self.emit(&text);
        } else if self.color {
            self.emit(&format!("\x1b[31merror:\x1b[0m {text}"));
        } else {
            self.emit(&format!("error: {text}"));
        }
    }

    /// The one write to stderr, of text already escaped: above the live bars when there are any.
    fn emit(&self, line: &str) {
        let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match bars {
            Some(multi) if !multi.is_hidden() => multi.suspend(|| eprintln!("{line}")),
            _ => eprintln!("{line}"),
        }
    }

    /// A writer for tracing's `--debug` events: escaped like every message (a plugin's
    /// unparsed output can be a field of such an event), and above the live bars.
    pub(crate) fn tracing_writer(&self) -> TracingWriter {
        TracingWriter {
            printer: self.clone(),
            pending: Vec::new(),
        }
    }
}

/// Collects one tracing event and prints it through the [`Printer`] when dropped.
pub(crate) struct TracingWriter {
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

/// stdout, with a final newline. A closed pipe (`berth ls | head`) is not an error worth a
/// message.
fn write_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// JSON text with DEL, the C1 controls and the reordering marks as `\uXXXX`. These can only
/// stand inside JSON strings (the structure is ASCII), where the escape means the same value.
fn json_escape(json: &str) -> Cow<'_, str> {
    if !json
        .chars()
        .any(|c| is_control(c) && !c.is_ascii_whitespace())
    {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_control(c) && !c.is_ascii_whitespace() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
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

    #[test]
    fn json_keeps_its_values() {
        let value = serde_json::json!({"e": "\u{1b}[2J\r\u{9b}\u{7f}\u{202e}x"});
        let text =
            json_escape(&serde_json::to_string_pretty(&value).unwrap_or_default()).into_owned();
        assert!(
            !text.chars().any(|c| is_control(c) && c != '\n'),
            "{text:?}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, value);
    }
}
