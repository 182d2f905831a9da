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

    /// Data for stdout (tables, addresses, states), escaped: its cells may come from plugins,
    /// hosts and engines.
    pub fn data(&self, text: &str) {
        write_out(&escape(text, Lines::Keep));
    }

    /// A script for the user's shell to evaluate (`env`, `completion`), exactly as rendered:
    /// escaping would change the values; the shell module quotes every one of them instead.
    pub fn script(&self, text: &str) {
        write_out(text);
    }

    /// JSON for stdout. serde_json escapes the C0 controls itself; the rest that a terminal
    /// obeys are written as `\uXXXX` too, which keeps every value exactly what it was.
    pub fn json(&self, text: &str) {
        write_out(&json_escape(text));
    }

    /// A line for the person running berth.
    pub fn info(&self, text: &str) {
        eprintln!("{}", escape(text, Lines::Keep));
    }

    pub fn warn(&self, text: &str) {
        let text = escape(text, Lines::Keep);
        if self.color {
            eprintln!("\x1b[33mwarning:\x1b[0m {text}");
        } else {
            eprintln!("warning: {text}");
        }
    }

    pub fn error(&self, text: &str) {
        let text = escape(text, Lines::Keep);
        if self.color {
            eprintln!("\x1b[31merror:\x1b[0m {text}");
        } else {
            eprintln!("error: {text}");
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

/// Whether [`escape`] keeps line breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// Messages and tables: the newlines berth puts between lines stay.
    Keep,
    /// One line (a progress bar, a table cell): a newline is escaped too.
    Escape,
}

/// Whether a terminal would obey `c` rather than show it: C0 controls, DEL, the C1 set, and
/// the Unicode marks that reorder or hide text (bidirectional overrides and isolates).
fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character a terminal would obey written as a visible escape;
/// tabs stay, and newlines stay with [`Lines::Keep`]. Borrowed when there is nothing to do.
pub fn escape(text: &str, lines: Lines) -> Cow<'_, str> {
    let keep = |c: char| c == '\t' || (c == '\n' && lines == Lines::Keep);
    if !text.chars().any(|c| is_control(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if keep(c) || !is_control(c) => out.push(c),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
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

/// Where `--debug`'s tracing events go: stderr, escaped like every other message (a plugin's
/// unparsed output can be a field of such an event).
#[derive(Clone, Copy, Debug, Default)]
pub struct DebugLog;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for DebugLog {
    type Writer = DebugLog;

    fn make_writer(&'a self) -> Self::Writer {
        DebugLog
    }
}

impl Write for DebugLog {
    /// tracing's formatter writes each event whole, so a write never splits a character.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(escape(&text, Lines::Keep).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(
            escape("a\x1b[2J\rb\x07\u{9b}c\u{202e}d\x7f", Lines::Keep),
            r"a\x1b[2J\rb\x07\u{9b}c\u{202e}d\x7f"
        );
        assert_eq!(
            escape("two\nlines\tand a tab", Lines::Keep),
            "two\nlines\tand a tab"
        );
        assert_eq!(escape("two\nlines", Lines::Escape), r"two\nlines");
        assert!(matches!(escape("plain é ✓", Lines::Keep), Cow::Borrowed(_)));
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
