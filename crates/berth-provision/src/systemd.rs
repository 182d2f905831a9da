//! Quoting for systemd unit files, so that engine options and `--engine-env`
//! values with spaces, quotes, `$` and `%` reach dockerd exactly as typed.
//!
//! systemd's rules (systemd.service(5) "Command lines", systemd.exec(5)
//! `Environment=`, systemd.unit(5) "Specifiers"): a line is first scanned for
//! `%` specifiers (`%%` is a literal `%`), then split into words where double
//! quotes group and C escapes (`\\`, `\"`, `\n`, `\xNN`) are decoded; in
//! `ExecStart=` only, `$NAME` is then expanded (`$$` is a literal `$`).

use std::fmt::Write as _;

/// Characters that mean nothing to systemd's parser in any position of a word.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_@+=:,./-".contains(c)
}

/// Writes `s` inside double quotes with systemd's C escapes, doubling `%` and,
/// when `dollar` is set, `$`.
fn quoted(s: &str, dollar: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' if dollar => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                // Control characters other than the named ones; \xNN covers the ASCII ones
                // and a \u escape the rest.
                let code = u32::from(c);
                if code < 0x80 {
                    let _ = write!(out, "\\x{code:02x}");
                } else {
                    let _ = write!(out, "\\u{code:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One word of an `ExecStart=` command line: left bare when it is plain, else
/// quoted so that systemd hands the program exactly `arg`.
pub fn exec_arg(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(is_plain) {
        arg.to_owned()
    } else {
        quoted(arg, true)
    }
}

/// One `Environment=` line setting `name` to `value`. Environment values are not
/// `$`-expanded by systemd, so only quotes, backslashes, `%` and control
/// characters need care. `name` must already be a valid variable name.
pub fn environment_line(name: &str, value: &str) -> String {
    format!("Environment={}", quoted(&format!("{name}={value}"), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(exec_arg("--tlsverify"), "--tlsverify");
        assert_eq!(exec_arg("tcp://0.0.0.0:2376"), "tcp://0.0.0.0:2376");
        assert_eq!(
            exec_arg("--tlscacert=/etc/docker/ca.pem"),
            "--tlscacert=/etc/docker/ca.pem"
        );
    }

    #[test]
    fn spaces_quotes_and_backslashes_are_quoted() {
        assert_eq!(exec_arg("--label=a b"), r#""--label=a b""#);
        assert_eq!(exec_arg(r#"--label=say "hi""#), r#""--label=say \"hi\"""#);
        assert_eq!(exec_arg(r"--x=C:\dir"), r#""--x=C:\\dir""#);
        assert_eq!(exec_arg(""), r#""""#);
    }

    #[test]
    fn dollar_and_percent_are_doubled_in_command_lines() {
        // Regression guard: `$HOME` would be expanded by systemd, `%h` replaced by a specifier.
        assert_eq!(exec_arg("--label=$HOME"), r#""--label=$$HOME""#);
        assert_eq!(exec_arg("--label=100%h"), r#""--label=100%%h""#);
    }

    #[test]
    fn environment_values_survive() {
        assert_eq!(
            environment_line("HTTP_PROXY", "http://proxy:3128"),
            r#"Environment="HTTP_PROXY=http://proxy:3128""#
        );
        assert_eq!(
            environment_line("GREETING", r#"it's "quoted" and spaced"#),
            r#"Environment="GREETING=it's \"quoted\" and spaced""#
        );
        // `$` is literal in Environment= and must not be doubled; `%` is a specifier and must.
        assert_eq!(
            environment_line("X", "$1 50%"),
            r#"Environment="X=$1 50%%""#
        );
        assert_eq!(
            environment_line("X", "a\\b\nc\u{1}"),
            r#"Environment="X=a\\b\nc\x01""#
        );
    }
}
