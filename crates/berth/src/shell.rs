//! Rendering variables for each shell `berth env` supports.
//!
//! Every value is quoted for its shell, so a storage path with spaces, quotes or `$` survives
//! `eval`. The tests in `tests/` evaluate this output in the real shells.

use berth_names::EnvVars;

use crate::cli::ShellKind;
use crate::dialect::Dialect;

/// Picks the shell from `$SHELL`'s file name. An unset or unknown `$SHELL` means POSIX syntax,
/// which is what most scripts that call `eval` speak.
pub(crate) fn detect(shell_var: Option<&str>) -> ShellKind {
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
pub(crate) struct Unrepresentable {
    name: String,
    value: String,
    shell: &'static str,
    reason: &'static str,
    hint: &'static str,
}

/// Checks every value against what `shell`'s quoting can carry. POSIX shells, fish,
/// PowerShell, Emacs Lisp and nu quote anything; tcsh and cmd cannot. docker-machine's forms
/// (tcsh's `setenv K "V"`, cmd's bare `SET K=V`) carry less again: inside csh double quotes
/// `` ` `` runs a command, `$` and `!` expand and nothing escapes them; after cmd's bare `=`,
/// `&`, `|`, `<`, `>` and `^` are syntax and `%` expands. The check is the same for both
/// dialects, so no name berth answers to prints a script that runs part of a value.
fn check_values(
    shell: ShellKind,
    dialect: Dialect,
    vars: &[(&str, String)],
) -> Result<(), Unrepresentable> {
    let dm = dialect.is_docker_machine();
    for (name, value) in vars {
        let refused = match shell {
            // `eval "`…`"` joins the output's lines into one, and no csh quoting holds a
            // line break; other control characters have no business in these values either.
            ShellKind::Tcsh if value.chars().any(|c| c.is_control() && c != '\t') => {
                Some(("holds a line break or another control character", "tcsh"))
            }
            ShellKind::Tcsh if dm && value.contains(['`', '$', '!', '"']) => Some((
                "holds a backquote, `$`, `!` or a double quote",
                "docker-machine's tcsh form (setenv NAME \"VALUE\")",
            )),
            // cmd has no escape inside `SET "K=V"`: a quote in the value ends the quoting and
            // `&` after it starts a second command; a line break is a second command.
            ShellKind::Cmd if value.contains('"') => Some(("holds a double quote", "cmd")),
            ShellKind::Cmd if value.chars().any(char::is_control) => {
                Some(("holds a line break or another control character", "cmd"))
            }
            ShellKind::Cmd if dm && value.contains(['&', '|', '<', '>', '^', '%']) => Some((
                "holds one of & | < > ^ %",
                "docker-machine's cmd form (SET NAME=VALUE)",
            )),
            _ => None,
        };
        if let Some((reason, shell)) = refused {
            return Err(Unrepresentable {
                name: (*name).to_owned(),
                value: value.clone(),
                shell,
                reason,
                hint: if *name == EnvVars::DOCKER_CERT_PATH {
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
/// when a value cannot be carried by the shell's quoting. `hint_command` is the command the
/// hint repeats: berth's `env` call, or as docker-machine the command line as typed.
pub(crate) fn render_set(
    shell: ShellKind,
    dialect: Dialect,
    vars: &[(&str, String)],
    hint_command: &str,
) -> Result<String, Unrepresentable> {
    check_values(shell, dialect, vars)?;
    let pairs: Vec<(&str, Option<&str>)> =
        vars.iter().map(|(k, v)| (*k, Some(v.as_str()))).collect();
    Ok(render(shell, dialect, &pairs, hint_command))
}

/// The script that unsets `names`.
pub(crate) fn render_unset(
    shell: ShellKind,
    dialect: Dialect,
    names: &[&str],
    hint_command: &str,
) -> String {
    let pairs: Vec<(&str, Option<&str>)> = names.iter().map(|k| (*k, None)).collect();
    render(shell, dialect, &pairs, hint_command)
}

/// One line per variable (`None`: unset it), then the hint. Nushell's record has no room for
/// a hint ([`nu_hint`]) and has no docker-machine form.
fn render(
    shell: ShellKind,
    dialect: Dialect,
    vars: &[(&str, Option<&str>)],
    hint_command: &str,
) -> String {
    if shell == ShellKind::Nu {
        return nu_record(vars);
    }
    let mut out = String::new();
    for (name, value) in vars {
        out.push_str(&match dialect {
            Dialect::Berth => berth_line(shell, name, *value),
            Dialect::DockerMachine => docker_machine_line(shell, name, *value),
        });
        out.push('\n');
    }
    out.push_str(&hint(shell, dialect, hint_command));
    out
}

/// A variable as berth prints it: single-quoted wherever the shell has single quotes.
fn berth_line(shell: ShellKind, k: &str, value: Option<&str>) -> String {
    match (shell, value) {
        (ShellKind::Fish, Some(v)) => format!("set -gx {k} {};", fish_quote(v)),
        (ShellKind::Fish, None) => format!("set -e {k};"),
        (ShellKind::Tcsh, Some(v)) => format!("setenv {k} {};", csh_quote(v)),
        (ShellKind::Tcsh, None) => format!("unsetenv {k};"),
        (ShellKind::Powershell, Some(v)) => format!("$Env:{k} = {}", powershell_quote(v)),
        (ShellKind::Powershell, None) => {
            format!("Remove-Item Env:\\{k} -ErrorAction SilentlyContinue")
        }
        (ShellKind::Cmd, Some(v)) => format!("SET \"{k}={}\"", cmd_escape(v)),
        (ShellKind::Cmd, None) => format!("SET {k}="),
        (ShellKind::Emacs, Some(v)) => format!("(setenv {} {})", elisp_string(k), elisp_string(v)),
        (ShellKind::Emacs, None) => format!("(setenv {} nil)", elisp_string(k)),
        (_, Some(v)) => format!("export {k}={}", posix_quote(v)),
        (_, None) => format!("unset {k}"),
    }
}

/// A variable as docker-machine printed it (env.go's Prefix, Delimiter and Suffix): values in
/// double quotes, escaped where the shell would otherwise expand or end them (docker-machine
/// did not escape, so ordinary values print byte for byte as it did; tcsh and cmd values that
/// would need it are refused by [`check_values`]).
fn docker_machine_line(shell: ShellKind, name: &str, value: Option<&str>) -> String {
    match (shell, value) {
        (ShellKind::Fish, Some(v)) => format!("set -gx {name} \"{}\";", fish_dq(v)),
        (ShellKind::Fish, None) => format!("set -e {name};"),
        (ShellKind::Powershell, Some(v)) => format!("$Env:{name} = \"{}\"", ps_dq(v)),
        (ShellKind::Powershell, None) => format!("Remove-Item Env:\\\\{name}"),
        (ShellKind::Cmd, Some(v)) => format!("SET {name}={v}"),
        (ShellKind::Cmd, None) => format!("SET {name}="),
        (ShellKind::Tcsh, Some(v)) => format!("setenv {name} \"{v}\";"),
        (ShellKind::Tcsh, None) => format!("unsetenv {name};"),
        (ShellKind::Emacs, Some(v)) => format!("(setenv \"{name}\" \"{}\")", elisp_dq(v)),
        (ShellKind::Emacs, None) => format!("(setenv \"{name}\" nil)"),
        (_, Some(v)) => format!("export {name}=\"{}\"", posix_dq(v)),
        (_, None) => format!("unset {name}"),
    }
}

/// The two lines that say how to evaluate the script: the comment syntax and the evaluating
/// command per shell, in berth's words or in docker-machine's (env.go `GenerateUsageHint`).
fn hint(shell: ShellKind, dialect: Dialect, cmd: &str) -> String {
    let comment = match shell {
        ShellKind::Cmd => "REM",
        ShellKind::Emacs => ";;",
        ShellKind::Tcsh if dialect.is_docker_machine() => ":",
        _ => "#",
    };
    let eval = match (shell, dialect) {
        (ShellKind::Fish, Dialect::Berth) => format!("{cmd} | source"),
        (ShellKind::Fish, Dialect::DockerMachine) => format!("eval ({cmd})"),
        (ShellKind::Tcsh, Dialect::Berth) => format!("eval \"`{cmd}`\""),
        (ShellKind::Tcsh, Dialect::DockerMachine) => format!("eval `{cmd}`"),
        (ShellKind::Powershell, _) => format!("& {cmd} | Invoke-Expression"),
        (ShellKind::Cmd, _) => format!("\t@FOR /f \"tokens=*\" %i IN ('{cmd}') DO @%i"),
        (ShellKind::Emacs, _) => {
            format!("(with-temp-buffer (shell-command \"{cmd}\" (current-buffer)) (eval-buffer))")
        }
        (_, Dialect::Berth) => format!("eval \"$({cmd})\""),
        (_, Dialect::DockerMachine) => format!("eval $({cmd})"),
    };
    match dialect {
        Dialect::DockerMachine => berth_compat::words::env_usage_hint(comment, &eval),
        Dialect::Berth => {
            let what = if shell == ShellKind::Emacs {
                "environment"
            } else {
                "shell"
            };
            format!("{comment} Run this command to configure your {what}:\n{comment} {eval}\n")
        }
    }
}

/// Nushell cannot evaluate text, so berth prints a record that `load-env` takes (JSON is also a
/// valid nu record), or for unsetting a list of names for `hide-env`.
fn nu_record(vars: &[(&str, Option<&str>)]) -> String {
    if vars.iter().all(|(_, v)| v.is_none()) {
        let list: Vec<String> = vars.iter().map(|(k, _)| json_string(k)).collect();
        return format!("[{}]\n", list.join(", "));
    }
    let fields: Vec<String> = vars
        .iter()
        .map(|(k, v)| {
            format!(
                "  {}: {}",
                json_string(k),
                json_string(v.unwrap_or_default())
            )
        })
        .collect();
    format!("{{\n{}\n}}\n", fields.join(",\n"))
}

/// How nushell users apply the output; printed to stderr since JSON has no comments.
pub(crate) fn nu_hint(hint_command: &str, unset: bool) -> String {
    if unset {
        format!(
            "Run this command to configure your shell: hide-env ...({hint_command} | from json)"
        )
    } else {
        format!("Run this command to configure your shell: {hint_command} | from json | load-env")
    }
}

/// Inside POSIX double quotes, `\`, `"`, `$` and `` ` `` are special.
fn posix_dq(value: &str) -> String {
    backslashed(value, &['\\', '"', '$', '`'], '\\')
}

/// Inside fish double quotes, `\`, `"` and `$` are special.
fn fish_dq(value: &str) -> String {
    backslashed(value, &['\\', '"', '$'], '\\')
}

/// Inside PowerShell double quotes, the backtick escapes `` ` ``, `"` and `$`.
fn ps_dq(value: &str) -> String {
    backslashed(value, &['`', '"', '$'], '`')
}

fn elisp_dq(value: &str) -> String {
    backslashed(value, &['\\', '"'], '\\')
}

/// `value` with `with` before each of the `special` characters.
fn backslashed(value: &str, special: &[char], with: char) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if special.contains(&c) {
            out.push(with);
        }
        out.push(c);
    }
    out
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
            Dialect::Berth,
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
            Dialect::Berth,
            &[("A", "x \"y\"".into()), ("B", "1".into())],
            "berth env w",
        )
        .expect("nu quotes anything");
        let parsed: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(parsed["A"], "x \"y\"");
        let unset = render_unset(ShellKind::Nu, Dialect::Berth, &["A", "B"], "berth env -u");
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
            let err = render_set(
                shell,
                Dialect::Berth,
                &[("DOCKER_HOST", value.into())],
                "berth env w",
            )
            .expect_err(value);
            assert!(err.to_string().contains("DOCKER_HOST"), "{err}");
        }
        let ok = render_set(
            ShellKind::Cmd,
            Dialect::Berth,
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
            Dialect::Berth,
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
    fn dm_set(shell: ShellKind, value: &str) -> Result<String, Unrepresentable> {
        render_set(
            shell,
            Dialect::DockerMachine,
            &[("DOCKER_HOST", value.into())],
            "docker-machine env web1",
        )
    }

    #[test]
    fn bash_env_is_byte_for_byte_docker_machines() {
        assert_eq!(
            dm_set(ShellKind::Bash, "tcp://1.2.3.4:2376").unwrap_or_default(),
            "export DOCKER_HOST=\"tcp://1.2.3.4:2376\"\n# Run this command to configure your shell: \n# eval $(docker-machine env web1)\n"
        );
        assert_eq!(
            dm_set(ShellKind::Tcsh, "tcp://1.2.3.4:2376").unwrap_or_default(),
            "setenv DOCKER_HOST \"tcp://1.2.3.4:2376\";\n: Run this command to configure your shell: \n: eval `docker-machine env web1`\n"
        );
    }

    #[test]
    fn values_that_a_shell_would_expand_are_escaped() {
        assert_eq!(posix_dq(r#"a$b"c\d`e"#), r#"a\$b\"c\\d\`e"#);
        assert_eq!(ps_dq("a$b"), "a`$b");
    }

    #[test]
    fn docker_machines_tcsh_and_cmd_forms_refuse_what_would_run() {
        for (shell, value) in [
            (ShellKind::Tcsh, "tcp://1.2.3.4:2376`touch /tmp/x`"),
            (ShellKind::Tcsh, "tcp://$HOME:1"),
            (ShellKind::Tcsh, "tcp://a\"b:1"),
            (ShellKind::Tcsh, "tcp://a!b:1"),
            (ShellKind::Tcsh, "tcp://a\nb:1"),
            (ShellKind::Cmd, "tcp://a&calc:1"),
            (ShellKind::Cmd, "tcp://a|b:1"),
            (ShellKind::Cmd, "tcp://%PATH%:1"),
            (ShellKind::Cmd, "tcp://a\"b:1"),
            (ShellKind::Cmd, "tcp://a\r\nb:1"),
        ] {
            let err = dm_set(shell, value).expect_err(value);
            assert!(err.to_string().contains("DOCKER_HOST"), "{err}");
        }
        // What berth's own forms carry safely, they still print.
        assert!(
            render_set(
                ShellKind::Tcsh,
                Dialect::Berth,
                &[("DOCKER_HOST", "tcp://a`b`:1".into())],
                "berth env w"
            )
            .is_ok()
        );
    }

    #[test]
    fn the_hint_names_the_command_in_each_dialect() {
        assert_eq!(
            hint(ShellKind::Fish, Dialect::DockerMachine, "dm env w"),
            "# Run this command to configure your shell: \n# eval (dm env w)\n"
        );
        assert_eq!(
            hint(ShellKind::Fish, Dialect::Berth, "berth env w"),
            "# Run this command to configure your shell:\n# berth env w | source\n"
        );
        assert_eq!(
            render_unset(
                ShellKind::Powershell,
                Dialect::DockerMachine,
                &["A"],
                "dm env -u"
            ),
            "Remove-Item Env:\\\\A\n# Run this command to configure your shell: \n# & dm env -u | Invoke-Expression\n"
        );
    }
}
