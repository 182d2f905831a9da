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

/// The script that sets `vars`, followed by the hint that says how to evaluate it.
pub fn render_set(shell: ShellKind, vars: &[(&str, String)], hint_command: &str) -> String {
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
    out
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
/// escaped, and newlines cannot be carried at all in `eval \`…\``, so they are refused upstream.
fn csh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''").replace('!', r"\!"))
}

/// PowerShell verbatim strings: a quote is doubled.
fn powershell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// cmd's `SET "K=V"` form keeps spaces and `&`; only `%` needs doubling... inside a batch file.
/// At the prompt (the `FOR` hint) `%` is literal, so values are left as they are but for quotes,
/// which cannot appear inside this form and are dropped with no safe alternative.
fn cmd_escape(value: &str) -> String {
    value.replace('"', "")
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
        );
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
        );
        let parsed: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(parsed["A"], "x \"y\"");
        let unset = render_unset(ShellKind::Nu, &["A", "B"], "berth env -u");
        let parsed: serde_json::Value = serde_json::from_str(&unset).expect("json");
        assert_eq!(parsed, serde_json::json!(["A", "B"]));
    }

    #[test]
    fn powershell_and_emacs_escape_their_quotes() {
        assert_eq!(powershell_quote("it's"), "'it''s'");
        assert_eq!(elisp_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
