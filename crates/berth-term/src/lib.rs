//! The one terminal escaper. Much of what berth prints came from outside: a plugin's log line
//! or error, a host's command output, a record's text, an engine's version string. A terminal
//! obeys control characters wherever they come from, so such text could clear the screen,
//! rewrite the line printed before it (`\r`), set the window title, or reorder and hide itself
//! with the Unicode bidirectional marks. Every crate that shows such text escapes it here, so
//! that no path knows fewer characters than another (the plugin log path once lacked the bidi
//! marks).

use std::borrow::Cow;

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
pub fn is_control(c: char) -> bool {
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
    fn bidirectional_marks_are_shown_not_obeyed() {
        for mark in ['\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}'] {
            let line = format!("ok{mark}gnp.exe");
            assert_eq!(
                escape(&line, Lines::Escape),
                format!("ok\\u{{{:x}}}gnp.exe", mark as u32)
            );
        }
    }
}
