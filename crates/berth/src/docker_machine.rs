//! Output in docker-machine 0.16.2's words, for when berth is called by that name: its error
//! sentences, its `env` scripts and hints, its `ls` table (Go's tabwriter), its durations.
//! Each rule here is read from docker-machine's source (`commands/*.go`).

use berth_machine::MachineError;
use berth_store::StoreError;

use crate::cli::ShellKind;

/// docker-machine's sentence for the errors scripts meet and match on, if `err` is one.
pub fn error_message(err: &anyhow::Error) -> Option<String> {
    for cause in err.chain() {
        let store = cause.downcast_ref::<StoreError>().or_else(|| {
            match cause.downcast_ref::<MachineError>() {
                Some(MachineError::Store(e)) => Some(e),
                _ => None,
            }
        });
        match store {
            // libmachine/mcnerror: ErrHostDoesNotExist.
            Some(StoreError::NotFound { name, .. }) => {
                return Some(format!("Host does not exist: {}", go_quote(name)));
            }
            // commands/create.go.
            Some(StoreError::AlreadyExists { name, .. }) => {
                return Some(format!("Docker machine \"{name}\" already exists"));
            }
            _ => {}
        }
    }
    None
}

/// Go's `%q` for the names berth allows (letters, digits, `-`, `.`, `_`): plain double quotes.
fn go_quote(text: &str) -> String {
    format!("{text:?}")
}

/// The `env` script as docker-machine printed it: values in double quotes (escaped where the
/// shell would otherwise expand or end them; docker-machine did not escape, so ordinary paths
/// print byte for byte as it did), then its two hint lines naming the command as typed.
pub fn render_env(
    shell: ShellKind,
    vars: &[(&str, String)],
    unset: bool,
    command_line: &[String],
) -> String {
    let mut out = String::new();
    for (name, value) in vars {
        out.push_str(&match (shell, unset) {
            (ShellKind::Fish, false) => format!("set -gx {name} \"{}\";\n", fish_dq(value)),
            (ShellKind::Fish, true) => format!("set -e {name};\n"),
            (ShellKind::Powershell, false) => format!("$Env:{name} = \"{}\"\n", ps_dq(value)),
            (ShellKind::Powershell, true) => format!("Remove-Item Env:\\\\{name}\n"),
            (ShellKind::Cmd, false) => format!("SET {name}={value}\n"),
            (ShellKind::Cmd, true) => format!("SET {name}=\n"),
            (ShellKind::Tcsh, false) => format!("setenv {name} \"{value}\";\n"),
            (ShellKind::Tcsh, true) => format!("unsetenv {name};\n"),
            (ShellKind::Emacs, false) => format!("(setenv \"{name}\" \"{}\")\n", elisp_dq(value)),
            (ShellKind::Emacs, true) => format!("(setenv \"{name}\" nil)\n"),
            (_, false) => format!("export {name}=\"{}\"\n", posix_dq(value)),
            (_, true) => format!("unset {name}\n"),
        });
    }
    out.push_str(&usage_hint(shell, command_line));
    out
}

/// commands/env.go `GenerateUsageHint`, trailing space after the colon included.
fn usage_hint(shell: ShellKind, args: &[String]) -> String {
    let mut args = args.to_vec();
    if let Some(first) = args.first_mut()
        && (first.contains(' ') || first.contains('\\'))
    {
        *first = format!("\"{first}\"");
    }
    let line = args.join(" ");
    let (comment, cmd) = match shell {
        ShellKind::Fish => ("#", format!("eval ({line})")),
        ShellKind::Powershell => ("#", format!("& {line} | Invoke-Expression")),
        ShellKind::Cmd => (
            "REM",
            format!("\t@FOR /f \"tokens=*\" %i IN ('{line}') DO @%i"),
        ),
        ShellKind::Emacs => (
            ";;",
            format!("(with-temp-buffer (shell-command \"{line}\" (current-buffer)) (eval-buffer))"),
        ),
        ShellKind::Tcsh => (":", format!("eval `{line}`")),
        _ => ("#", format!("eval $({line})")),
    };
    format!("{comment} Run this command to configure your shell: \n{comment} {cmd}\n")
}

/// Inside POSIX double quotes, `\`, `"`, `$` and `` ` `` are special.
fn posix_dq(value: &str) -> String {
    escape(value, &['\\', '"', '$', '`'], '\\')
}

/// Inside fish double quotes, `\`, `"` and `$` are special.
fn fish_dq(value: &str) -> String {
    escape(value, &['\\', '"', '$'], '\\')
}

/// Inside PowerShell double quotes, the backtick escapes `` ` ``, `"` and `$`.
fn ps_dq(value: &str) -> String {
    escape(value, &['`', '"', '$'], '`')
}

fn elisp_dq(value: &str) -> String {
    escape(value, &['\\', '"'], '\\')
}

fn escape(value: &str, special: &[char], with: char) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if special.contains(&c) {
            out.push(with);
        }
        out.push(c);
    }
    out
}

/// Go's `text/tabwriter` as `ls` set it up (`NewWriter(out, 5, 1, 3, ' ', 0)`): every cell
/// that a tab ends is padded to its column's width plus three spaces, at least five wide;
/// the text after a line's last tab is not aligned.
pub fn tabwrite(text: &str) -> String {
    const MIN_WIDTH: usize = 5;
    const PADDING: usize = 3;
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![MIN_WIDTH; columns];
    for cells in &lines {
        for (i, cell) in cells.iter().enumerate().take(cells.len().saturating_sub(1)) {
            widths[i] = widths[i].max(cell.chars().count() + PADDING);
        }
    }
    let mut out = String::new();
    for cells in &lines {
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    }
    out
}

/// Go's `time.Duration.String()` for the whole milliseconds `ls` measures: `0s`, `12ms`,
/// `1.5s`, `1m2.003s`.
pub fn go_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let minutes = ms / 60_000;
    let rest = ms % 60_000;
    let seconds = if rest.is_multiple_of(1000) {
        format!("{}s", rest / 1000)
    } else {
        let frac = format!("{:03}", rest % 1000);
        format!("{}.{}s", rest / 1000, frac.trim_end_matches('0'))
    };
    if minutes > 0 {
        let hours = minutes / 60;
        if hours > 0 {
            format!("{hours}h{}m{seconds}", minutes % 60)
        } else {
            format!("{minutes}m{seconds}")
        }
    } else {
        seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn bash_env_is_byte_for_byte_docker_machines() {
        let out = render_env(
            ShellKind::Bash,
            &[("DOCKER_HOST", "tcp://1.2.3.4:2376".into())],
            false,
            &words("docker-machine env web1"),
        );
        assert_eq!(
            out,
            "export DOCKER_HOST=\"tcp://1.2.3.4:2376\"\n# Run this command to configure your shell: \n# eval $(docker-machine env web1)\n"
        );
    }

    #[test]
    fn values_that_a_shell_would_expand_are_escaped() {
        assert_eq!(posix_dq(r#"a$b"c\d`e"#), r#"a\$b\"c\\d\`e"#);
        assert_eq!(ps_dq("a$b"), "a`$b");
    }

    #[test]
    fn a_program_path_with_a_space_is_quoted_in_the_hint() {
        let args = vec![
            "/opt/my tools/docker-machine".to_owned(),
            "env".to_owned(),
            "w".to_owned(),
        ];
        let hint = usage_hint(ShellKind::Fish, &args);
        assert!(
            hint.ends_with("# eval (\"/opt/my tools/docker-machine\" env w)\n"),
            "{hint}"
        );
    }

    #[test]
    fn tabwriter_pads_to_the_widest_cell_plus_three() {
        assert_eq!(
            tabwrite("NAME\tURL\tERRORS\nweb1\ttcp://x:2376\t\n"),
            "NAME   URL            ERRORS\nweb1   tcp://x:2376   \n"
        );
        assert_eq!(tabwrite("a\tb\n"), "a    b\n");
    }

    #[test]
    fn durations_read_as_go_prints_them() {
        use std::time::Duration;
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_millis(62_003)), "1m2.003s");
    }
}
