//! `env`: the exports that point the docker CLI at a machine, for the user's shell.

use std::process::ExitCode;

use anyhow::bail;
use berth_machine::MachineState;
use berth_names::EnvVars;

use super::Ctx;
use crate::cli::{EnvArgs, ShellKind};
use crate::dialect::Dialect;
use crate::shell;
use berth_compat::words::Sentence;

/// The variables `env` sets, in the order it prints them.
const VARS: [&str; 4] = [
    EnvVars::DOCKER_TLS_VERIFY,
    EnvVars::DOCKER_HOST,
    EnvVars::DOCKER_CERT_PATH,
    EnvVars::DOCKER_MACHINE_NAME,
];

pub(super) fn run(ctx: &Ctx, args: &EnvArgs) -> anyhow::Result<ExitCode> {
    let shell = args
        .shell
        .unwrap_or_else(|| shell::detect(ctx.env.get(EnvVars::SHELL)));
    // docker-machine's hint repeats the command line as typed; berth's names its own call.
    let hint = match ctx.dialect {
        Dialect::DockerMachine => berth_compat::words::command_line(ctx.env.args()),
        Dialect::Berth => hint_command(args, shell),
    };
    let (proxy_var, proxy_value) = no_proxy_var(ctx);
    if args.unset {
        if let Some(name) = &args.name {
            return Err(ctx.dialect.error(
                format!("`env --unset` unsets the variables of whichever machine they point at and takes no machine name ('{name}'); leave the name out"),
                Sentence::ImproperUnsetEnvArgs,
            ));
        }
        let mut names: Vec<&str> = VARS.to_vec();
        if args.no_proxy {
            names.push(proxy_var);
        }
        ctx.printer
            .script(&shell::render_unset(shell, ctx.dialect, &names, &hint));
        if shell == ShellKind::Nu {
            ctx.printer.info(&shell::nu_hint(&hint, true));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(name) = args.name.as_deref() else {
        return Err(ctx
            .dialect
            .error("name the machine: berth env NAME", Sentence::NoDefault));
    };
    let machine = ctx.load(name)?;
    let record = machine.record();
    let Some(url) = record.url.clone() else {
        bail!(super::info::unfinished(name, record, "engine URL"));
    };
    if record.state == MachineState::Error {
        ctx.printer.warn(&format!(
            "machine '{name}' is in state Error ({}); `berth provision {name}` finishes it",
            record.error.as_deref().unwrap_or("no details recorded")
        ));
    }
    if let Some(warning) = berth_machine::expiry_warning(record, time::OffsetDateTime::now_utc()) {
        ctx.printer.warn(&warning);
    }
    // Values the shell's quoting cannot carry (tcsh, cmd) are refused by `render_set`.
    let cert_path = machine.folder().dir().to_string_lossy().into_owned();
    let mut vars: Vec<(&str, String)> = vec![
        (EnvVars::DOCKER_TLS_VERIFY, "1".to_owned()),
        (EnvVars::DOCKER_HOST, url.to_string()),
        (EnvVars::DOCKER_CERT_PATH, cert_path),
        (EnvVars::DOCKER_MACHINE_NAME, name.to_owned()),
    ];
    if args.no_proxy {
        let host = record.engine_host().unwrap_or_default();
        vars.push((proxy_var, no_proxy_with(proxy_value, host)));
    }
    ctx.printer
        .script(&shell::render_set(shell, ctx.dialect, &vars, &hint)?);
    if shell == ShellKind::Nu {
        ctx.printer.info(&shell::nu_hint(&hint, false));
    }
    Ok(ExitCode::SUCCESS)
}

/// The command the hint tells the user to evaluate: the same `env` call, with the shell
/// named when it was named (a user who asked for fish from bash wants the fish command).
fn hint_command(args: &EnvArgs, shell: ShellKind) -> String {
    let mut hint = String::from("berth env");
    if args.shell.is_some() {
        let name = match shell {
            ShellKind::Bash => "bash",
            ShellKind::Zsh => "zsh",
            ShellKind::Sh => "sh",
            ShellKind::Fish => "fish",
            ShellKind::Tcsh => "tcsh",
            ShellKind::Powershell => "powershell",
            ShellKind::Cmd => "cmd",
            ShellKind::Nu => "nu",
            ShellKind::Emacs => "emacs",
        };
        hint.push_str(" --shell ");
        hint.push_str(name);
    }
    if args.unset {
        hint.push_str(" --unset");
    }
    if args.no_proxy {
        hint.push_str(" --no-proxy");
    }
    if let Some(name) = &args.name {
        hint.push(' ');
        hint.push_str(name);
    }
    hint
}

/// The proxy-exception variable to extend, as docker-machine chose it: `no_proxy` when that
/// lower-case one is set (tools read either, and the user's own choice is kept), else
/// `NO_PROXY`; and its current value.
fn no_proxy_var<'a>(ctx: &'a Ctx) -> (&'static str, Option<&'a str>) {
    match ctx.env.get(EnvVars::NO_PROXY_LOWER) {
        Some(value) => (EnvVars::NO_PROXY_LOWER, Some(value)),
        None => (EnvVars::NO_PROXY, ctx.env.get(EnvVars::NO_PROXY)),
    }
}

/// `existing` with `host` appended, unless it is already there.
fn no_proxy_with(existing: Option<&str>, host: &str) -> String {
    match existing {
        Some(list) if list.split(',').any(|h| h.trim() == host) => list.to_owned(),
        Some(list) => format!("{list},{host}"),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_appends_once() {
        assert_eq!(no_proxy_with(None, "1.2.3.4"), "1.2.3.4");
        assert_eq!(
            no_proxy_with(Some("localhost"), "1.2.3.4"),
            "localhost,1.2.3.4"
        );
        assert_eq!(
            no_proxy_with(Some("localhost, 1.2.3.4"), "1.2.3.4"),
            "localhost, 1.2.3.4"
        );
    }
}
