//! Rendering variables for each shell `berth env` supports.
//!
//! Every value is quoted for its shell, so a storage path with spaces, quotes or `$` survives
//! `eval`. The tests in `tests/` evaluate this output in the real shells.

use crate::cli::ShellKind;

/// Picks the shell from `$SHELL`'s file name. An unset or unknown `$SHELL` means POSIX syntax,
/// which is what most scripts that call `eval` speak.
pub fn detect(shell_var: Option<&str>) -> ShellKind {
    let name = shell_var.and_then(|s| s.rsplit('/').next()).unwrap_or("");
    match name {
        "bash" => ShellKind::Bash,
        "zsh" => ShellKind::Zsh,
        "fish" => ShellKind::Fish,
        "tcsh" | "csh" => ShellKind::Tcsh,
        "pwsh" | "powershell" | "pwsh.exe" | "powershell.exe" => ShellKind::Powershell,
        "cmd" | "cmd.exe" => ShellKind::Cmd,
        "nu" => ShellKind::Nu,
        _ => ShellKind::Sh,
    }
}

/// A value that a shell's syntax cannot carry: printing it would let part of it run as a
/// command when the output is evaluated, so berth prints no script at all.
#[derive(Debug, thiserror::Error)]
#[error(
    "the value of {name} ({value:?}) {reason}, which {shell} cannot take safely in a variable; berth prints no script rather than one that would run part of it as a command. {hint}"
)]
pub struct Unrepresentable {
    name: String,
    value: String,
    shell: &'static str,
    reason: &'static str,
    hint: &'static str,
}

/// Checks every value against what `shell`'s quoting can carry. POSIX shells, fish,
/// PowerShell, Emacs Lisp and nu quote anything; tcsh and cmd cannot.
fn check_values(shell: ShellKind, vars: &[(&str, String)]) -> Result<(), Unrepresentable> {
    for (name, value) in vars {
        let refused = match shell {
            // `eval "`…`"` joins the output's lines into one, and no csh quoting holds a
            // line break; other control characters have no business in these values either.
            ShellKind::Tcsh => value
                .chars()
                .any(|c| c.is_control() && c != '\t')
                .then_some(("holds a line break or another control character", "tcsh")),
            // cmd has no escape inside `SET "K=V"`: a quote in the value ends the quoting and
            // `&` after it starts a second command; a line break is a second command.
            ShellKind::Cmd if value.contains('"') => Some(("holds a double quote", "cmd")),
            ShellKind::Cmd => value
                .chars()
                .any(char::is_control)
                .then_some(("holds a line break or another control character", "cmd")),
            _ => None,
        };
        if let Some((reason, shell)) = refused {
            return Err(Unrepresentable {
                name: (*name).to_owned(),
                value: value.clone(),
                shell,
                reason,
                hint: if *name == "DOCKER_CERT_PATH" {
                    "It comes from the storage path: move the storage folder"
                } else {
                    "Check the machine's record, or use another shell's syntax (--shell)"
                },
            });
        }
    }
    Ok(())
}

/// The script that sets `vars`, followed by the hint that says how to evaluate it; refused
/// when a value cannot be carried by the shell's quoting.
pub fn render_set(
    shell: ShellKind,
    vars: &[(&str, String)],
    hint_command: &str,
) -> Result<String, Unrepresentable> {
    check_values(shell, vars)?;
    let mut out = String::new();
    match shell {
        ShellKind::Bash | ShellKind::Zsh | ShellKind::Sh => {
            for (k, v) in vars {
                out.push_str(&format!("export {k}={}\n", posix_quote(v)));
            }
            out.push_str(&format!(
                "# Run this command to configure your shell:\n# eval \"$({hint_command})\"\n"
            ));
        }
        ShellKind::Fish => {
            for (k, v) in vars {
                out.push_str(&format!("set -gx {k} {};\n", fish_quote(v)));
            }
            out.push_str(&format!(
                "# Run this command to configure your shell:\n# {hint_command} | source\n"
            ));
        }
        ShellKind::Tcsh => {
            for (k, v) in vars {
                out.push_str(&format!("setenv {k} {};\n", csh_quote(v)));
            }
            out.push_str(&format!(
                "# Run this command to configure your shell:\n# eval \"`{hint_command}`\"\n"
            ));
        }
        ShellKind::Powershell => {
            for (k, v) in vars {
                out.push_str(&format!("$Env:{k} = {}\n", powershell_quote(v)));
            }
            out.push_str(&format!("# Run this command to configure your shell:\n# & {hint_command} | Invoke-Expression\n"));
        }
        ShellKind::Cmd => {
            for (k, v) in vars {
                out.push_str(&format!("SET \"{k}={}\"\n", cmd_escape(v)));
            }
            out.push_str(&format!(
                "REM Run this command to configure your shell:\nREM \t@FOR /f \"tokens=*\" %i IN ('{hint_command}') DO @%i\n"
            ));
        }
        ShellKind::Nu => {
            // Nushell cannot evaluate text, so berth prints a record that `load-env` takes.
            // JSON is also a valid nu record; JSON has no comments, so the hint goes to stderr
            // (see `nu_hint`).
            let fields: Vec<String> = vars
                .iter()
                .map(|(k, v)| format!("  {}: {}", json_string(k), json_string(v)))
                .collect();
            out.push_str(&format!("{{\n{}\n}}\n", fields.join(",\n")));
        }
        ShellKind::Emacs => {
            for (k, v) in vars {
                out.push_str(&format!(
                    "(setenv {} {})\n",
                    elisp_string(k),
                    elisp_string(v)
                ));
            }
            out.push_str(&format!(
                ";; Run this command to configure your environment:\n;; (with-temp-buffer (shell-command \"{hint_command}\" (current-buffer)) (eval-buffer))\n"
            ));
        }
    }
    Ok(out)
}

/// The script that unsets `names`.
pub fn render_unset(shell: ShellKind, names: &[&str], hint_command: &str) -> String {
    let mut out = String::new();
    match shell {
        ShellKind::Bash | ShellKind::Zsh | ShellKind::Sh => {
            for k in names {
                out.push_str(&format!("unset {k}\n"));
            }
            out.push_str(&format!(
                "# Run this command to configure your shell:\n# eval \"$({hint_command})\"\n"
            ));
        }
        ShellKind::Fish => {
            for k in names {
                out.push_str(&format!("set -e {k};\n"));
            }
            out.push_str(&format!(
                "# Run this command to configure your shell:\n# {hint_command} | source\n"
            ));
        }
        ShellKind::Tcsh => {
            for k in names {
                out.push_str(&format!("unsetenv {k};\n"));
            }
            out.push_str(&format!(
                "# Run this command to configure your shell:\n# eval \"`{hint_command}`\"\n"
            ));
        }
        ShellKind::Powershell => {
            for k in names {
                out.push_str(&format!(
                    "Remove-Item Env:\\{k} -ErrorAction SilentlyContinue\n"
                ));
            }
            out.push_str(&format!("# Run this command to configure your shell:\n# & {hint_command} | Invoke-Expression\n"));
        }
        ShellKind::Cmd => {
            for k in names {
                out.push_str(&format!("SET {k}=\n"));
            }
            out.push_str(&format!(
                "REM Run this command to configure your shell:\nREM \t@FOR /f \"tokens=*\" %i IN ('{hint_command}') DO @%i\n"
            ));
        }
        ShellKind::Nu => {
            let list: Vec<String> = names.iter().map(|k| json_string(k)).collect();
            out.push_str(&format!("[{}]\n", list.join(", ")));
        }
        ShellKind::Emacs => {
            for k in names {
                out.push_str(&format!("(setenv {} nil)\n", elisp_string(k)));
            }
            out.push_str(&format!(
                ";; Run this command to configure your environment:\n;; (with-temp-buffer (shell-command \"{hint_command}\" (current-buffer)) (eval-buffer))\n"
            ));
        }
    }
    out
}

/// How nushell users apply the output; printed to stderr since JSON has no comments.
pub fn nu_hint(hint_command: &str, unset: bool) -> String {
    if unset {
        format!(
            "Run this command to configure your shell: hide-env ...({hint_command} | from json)"
        )
    } else {
        format!("Run this command to configure your shell: {hint_command} | from json | load-env")
    }
}

/// POSIX single quotes: nothing inside is special; a quote is closed, escaped, reopened.
fn posix_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// fish single quotes: only `\` and `'` need a backslash.
fn fish_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

/// csh single quotes, as POSIX; `!` would trigger history expansion even inside quotes, so it is
/// escaped, and newlines cannot be carried at all in `eval \`…\``, so [`check_values`] refuses
/// them (and every other control character) first.
fn csh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''").replace('!', r"\!"))
}

/// PowerShell verbatim strings: a quote is doubled. PowerShell also takes the typographic
/// single quotes (‘ ’ ‚ ‛) as quotes, so they are doubled too.
fn powershell_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// cmd's `SET "K=V"` form keeps spaces, `&`, `|`, `<`, `>` and `^` literal. At the prompt (the
/// `FOR` hint) `%` is literal too. A quote or a line break cannot be carried at all, so
/// [`check_values`] refuses them first; nothing is left to escape.
fn cmd_escape(value: &str) -> String {
    value.to_owned()
}

fn json_string(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

fn elisp_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', r"\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_is_detected_from_its_path_and_defaults_to_posix() {
        assert_eq!(detect(Some("/usr/bin/fish")), ShellKind::Fish);
        assert_eq!(detect(Some("/bin/tcsh")), ShellKind::Tcsh);
        assert_eq!(detect(Some("/bin/zsh")), ShellKind::Zsh);
        assert_eq!(detect(Some("/bin/dash")), ShellKind::Sh);
        assert_eq!(detect(None), ShellKind::Sh);
        assert_eq!(detect(Some("/opt/xonsh")), ShellKind::Sh);
    }

    #[test]
    fn posix_quoting_survives_quotes_and_dollars() {
        assert_eq!(posix_quote("a b'c$d"), r"'a b'\''c$d'");
    }

    #[test]
    fn posix_output_has_exports_then_the_hint() {
        let out = render_set(
            ShellKind::Bash,
            &[("DOCKER_HOST", "tcp://1.2.3.4:2376".into())],
            "berth env web1",
        )
        .expect("bash quotes anything");
        assert_eq!(
            out,
            "export DOCKER_HOST='tcp://1.2.3.4:2376'\n# Run this command to configure your shell:\n# eval \"$(berth env web1)\"\n"
        );
    }

    #[test]
    fn nu_output_is_json() {
        let out = render_set(
            ShellKind::Nu,
            &[("A", "x \"y\"".into()), ("B", "1".into())],
            "berth env w",
        )
        .expect("nu quotes anything");
        let parsed: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(parsed["A"], "x \"y\"");
        let unset = render_unset(ShellKind::Nu, &["A", "B"], "berth env -u");
        let parsed: serde_json::Value = serde_json::from_str(&unset).expect("json");
        assert_eq!(parsed, serde_json::json!(["A", "B"]));
    }

    #[test]
    fn tcsh_and_cmd_refuse_what_their_quoting_cannot_carry() {
        for (shell, value) in [
            (ShellKind::Tcsh, "a\nsetenv EVIL 1"),
            (ShellKind::Tcsh, "a\rb"),
            (ShellKind::Tcsh, "a\u{1b}b"),
            (ShellKind::Cmd, "a\"&calc&\""),
            (ShellKind::Cmd, "a\r\ncalc"),
        ] {
            let err = render_set(shell, &[("DOCKER_HOST", value.into())], "berth env w")
                .expect_err(value);
            assert!(err.to_string().contains("DOCKER_HOST"), "{err}");
        }
        let ok = render_set(
            ShellKind::Cmd,
            &[("DOCKER_CERT_PATH", r"C:\a & b ^ | <c> 100%".into())],
            "berth env w",
        )
        .expect("cmd's quotes carry these");
        assert!(
            ok.starts_with("SET \"DOCKER_CERT_PATH=C:\\a & b ^ | <c> 100%\"\n"),
            "{ok}"
        );
        let ok = render_set(
            ShellKind::Tcsh,
            &[("A", "it's $HOME!".into())],
            "berth env w",
        )
        .expect("tcsh's quotes carry these");
        assert!(ok.starts_with(r"setenv A 'it'\''s $HOME\!';"), "{ok}");
    }

    #[test]
    fn powershell_and_emacs_escape_their_quotes() {
        assert_eq!(powershell_quote("it's"), "'it''s'");
        assert_eq!(powershell_quote("it\u{2019}s"), "'it\u{2019}\u{2019}s'");
        assert_eq!(elisp_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}

/// `env` as docker-machine 0.16.2 printed it (commands/env.go), for when berth is called by
/// that name.
pub mod docker_machine {
    use crate::cli::ShellKind;

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
                (ShellKind::Emacs, false) => {
                    format!("(setenv \"{name}\" \"{}\")\n", elisp_dq(value))
                }
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
                format!(
                    "(with-temp-buffer (shell-command \"{line}\" (current-buffer)) (eval-buffer))"
                ),
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
    }
}
