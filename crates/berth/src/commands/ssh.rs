//! `ssh` and `scp` through the system's OpenSSH client, with the machine's pinned host key:
//! the terminal then behaves exactly as users expect (raw mode, resize, escapes, agent).

use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use berth_machine::{MachineHandle, MachineRecord, SshSettings};
use berth_names::MachineFiles;
use berth_store::Machine;

use super::{Ctx, RemoteExit};
use crate::cli::{ScpArgs, SshArgs};

/// `ssh NAME [SSH OPTIONS] [--] [COMMAND…]`. As docker-machine, the words after the name go
/// to the remote side without `--` (`ssh web1 uname -a`), and leading options go to OpenSSH
/// (`ssh web1 -C echo foo`, `-L 8080:localhost:80`); `--` still ends the options.
pub(super) fn ssh(ctx: &Ctx, args: &SshArgs, native: bool) -> anyhow::Result<ExitCode> {
    let machine = ctx.load(&args.name)?;
    let ssh = machine
        .record()
        .ssh
        .as_ref()
        .with_context(|| no_ssh_address(&args.name, machine.record()))?;
    check_endpoint(machine.folder(), ssh)?;
    // clap drops a `--` right after the name (`ssh web1 -- -weird`); everything after it is
    // the command then, options or not.
    let raw = ctx.env.args();
    let dashed = raw.len() > args.command.len() && raw[raw.len() - args.command.len() - 1] == "--";
    let (options, command) = if dashed {
        (&args.command[..0], &args.command[..])
    } else {
        split_words(&args.command)
    };
    if native {
        if command.is_empty() {
            ctx.printer.warn(
                "berth's own SSH client runs commands only; the interactive shell opens through OpenSSH",
            );
        } else {
            if !options.is_empty() {
                bail!(
                    "the options {} are OpenSSH's, and --native-ssh does not use OpenSSH; leave them out or drop --native-ssh",
                    options.join(" ")
                );
            }
            return native_exec(ctx, &machine, &remote_command(command));
        }
    }
    let mut cmd = openssh("ssh", &machine)?;
    cmd.args(["-p", &ssh.port.to_string()]);
    if command.is_empty() {
        cmd.arg("-t");
    }
    cmd.args(options);
    // `--` ends ssh's options: nothing after it, the destination included, is read as one.
    // (ssh also reads options after the destination unless `--` came before it, so the
    // command needs no second `--`.)
    cmd.arg("--").arg(format!("{}@{}", ssh.user, ssh.host));
    if !command.is_empty() {
        cmd.arg(remote_command(command));
    }
    run_client(cmd, "ssh")
}

/// The command through berth's own client (libssh2), with the pinned host key; its output
/// streams line by line to berth's stdout and stderr.
fn native_exec(ctx: &Ctx, machine: &MachineHandle, command: &str) -> anyhow::Result<ExitCode> {
    let session = berth_machine::open_session(machine)?;
    let status = session
        .exec_streaming(command, &mut |stream, line| match stream {
            berth_ssh::Stream::Stdout => ctx.printer.data(line),
            berth_ssh::Stream::Stderr => ctx.printer.info(line),
        })
        .with_context(|| format!("running `{command}` on '{}' failed", machine.name()))?;
    match status {
        0 => Ok(ExitCode::SUCCESS),
        code => Err(RemoteExit(u8::try_from(code).unwrap_or(1)).into()),
    }
}

/// OpenSSH's options that take a value (`ssh(1)`: -B -b -c -D -E -e -F -I -i -J -L -l -m -O
/// -o -P -p -Q -R -S -W -w).
const OPTIONS_WITH_VALUE: &str = "BbcDEeFIiJLlmOoPpQRSWw";

/// The leading OpenSSH options, and the command after them (after `--`, or from the first
/// word that is not an option).
fn split_words(words: &[String]) -> (&[String], &[String]) {
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        if word == "--" {
            return (&words[..i], &words[i + 1..]);
        }
        if !word.starts_with('-') || word == "-" {
            break;
        }
        // In `-tLspec` each letter is a flag until one that takes a value: the rest of the
        // word is then its value, or the next word when nothing is left.
        let letters: Vec<char> = word.chars().skip(1).collect();
        if let Some(at) = letters.iter().position(|c| OPTIONS_WITH_VALUE.contains(*c))
            && at + 1 == letters.len()
        {
            i += 1;
        }
        i += 1;
    }
    let end = i.min(words.len());
    (&words[..end], &words[end..])
}

/// Refuses an SSH user or host that OpenSSH could read as an option. `--` before the
/// destination already stops that, but a record whose host is `-oProxyCommand=…` is not a
/// machine berth made (a hand-edited or planted record, or a driver gone wrong): say so rather
/// than pass it to a client.
pub(super) fn check_endpoint(machine: &Machine, ssh: &SshSettings) -> anyhow::Result<()> {
    for (what, value) in [("user", ssh.user.as_str()), ("host", ssh.host.as_str())] {
        if value.starts_with('-') || value.is_empty() || value.chars().any(char::is_control) {
            bail!(
                "machine '{}' has the SSH {what} {value:?} in its record, which {}; berth does not                  pass it to OpenSSH. Check {} (a record berth wrote never has one), or remove                  the machine with `berth rm -f {}`",
                machine.name(),
                if value.is_empty() {
                    "is empty".to_owned()
                } else if value.starts_with('-') {
                    "starts with '-' and would be read as an option".to_owned()
                } else {
                    "holds a control character".to_owned()
                },
                machine.path(MachineFiles::RECORD).display(),
                machine.name()
            );
        }
    }
    Ok(())
}

/// Why berth cannot log in to `name`, and what the user can do instead.
pub(super) fn no_ssh_address(name: &str, record: &MachineRecord) -> String {
    if !record.capabilities().has_ssh {
        berth_driver::no_ssh_access(name, record.driver.as_str(), "log in to it")
    } else {
        super::info::unfinished(name, record, "SSH address")
    }
}

/// One argument is a command line for the remote shell (`berth ssh web1 -- 'ls -l | wc -l'`);
/// several are words, quoted so each arrives as it was given (`-- sh -c 'exit 3'`).
fn remote_command(words: &[String]) -> String {
    match words {
        [line] => line.clone(),
        words => {
            shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
        }
    }
}

pub(super) fn scp(ctx: &Ctx, args: &ScpArgs) -> anyhow::Result<ExitCode> {
    let source = Endpoint::parse(&args.source);
    let destination = Endpoint::parse(&args.destination);
    let machine_name = match (&source, &destination) {
        (Endpoint::Remote(a, from), Endpoint::Remote(b, to)) => {
            return scp_between(ctx, args, (a, from), (b, to));
        }
        (Endpoint::Remote(name, _), _) | (_, Endpoint::Remote(name, _)) => name.clone(),
        _ => bail!(
            "neither {} nor {} names a machine; write one of them as NAME:path",
            args.source,
            args.destination
        ),
    };
    let machine = ctx.load(&machine_name)?;
    let ssh = machine
        .record()
        .ssh
        .as_ref()
        .with_context(|| no_ssh_address(&machine_name, machine.record()))?;
    check_endpoint(machine.folder(), ssh)?;
    let mut cmd = openssh("scp", &machine)?;
    cmd.args(["-P", &ssh.port.to_string()]);
    if args.recursive {
        cmd.arg("-r");
    }
    // Neither a local path nor the remote one may be read as an option (`-oProxyCommand=…`).
    cmd.arg("--");
    let host = if ssh.host.contains(':') {
        format!("[{}]", ssh.host)
    } else {
        ssh.host.to_string()
    };
    for endpoint in [source, destination] {
        cmd.arg(match endpoint {
            Endpoint::Local(path) => path,
            Endpoint::Remote(_, path) => format!("{}@{host}:{path}", ssh.user),
        });
    }
    run_client(cmd, "scp")
}

/// `scp a:/path b:/path`: a copy between two machines, as docker-machine's scp does. Each
/// machine has its own key and pinned host key, so the copy goes through this computer
/// (`scp -3`) with an ssh_config written for this one copy that gives each machine exactly its
/// own identity and known_hosts file (with `-F`, the user's ~/.ssh/config does not apply, as
/// for every berth ssh).
fn scp_between(
    ctx: &Ctx,
    args: &ScpArgs,
    (from, from_path): (&str, &str),
    (to, to_path): (&str, &str),
) -> anyhow::Result<ExitCode> {
    let mut config = String::from("# berth scp: one copy between two machines\n");
    let mut seen = Vec::new();
    for name in [from, to] {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let machine = ctx.load(name)?;
        let ssh = machine
            .record()
            .ssh
            .as_ref()
            .with_context(|| no_ssh_address(name, machine.record()))?;
        // The same wall as `ssh` and single-machine `scp`: a planted host or user is refused
        // before anything is written for OpenSSH to read.
        check_endpoint(machine.folder(), ssh)?;
        config.push_str(&host_block(
            name,
            ssh,
            &machine.folder().path(MachineFiles::KNOWN_HOSTS),
        )?);
    }
    config.push_str("Host *\n  LogLevel ERROR\n  ConnectTimeout 10\n");
    let dir = tempfile::tempdir().context("cannot make a temporary folder for scp's settings")?;
    let path = dir.path().join("ssh_config");
    std::fs::write(&path, &config).with_context(|| format!("cannot write {}", path.display()))?;
    let mut cmd = Command::new("scp");
    cmd.arg("-F").arg(&path).arg("-3");
    if args.recursive {
        cmd.arg("-r");
    }
    cmd.arg(format!("{from}:{from_path}"))
        .arg(format!("{to}:{to_path}"));
    run_client(cmd, "scp")
}

/// One machine's `Host` block: its address, port, user, key and pinned host key, nothing else.
/// Every value goes through [`config_word`]: a line break in a value would start a directive
/// of its own (`ProxyCommand …` runs a command on this computer).
fn host_block(
    name: &str,
    ssh: &berth_machine::SshSettings,
    known_hosts: &std::path::Path,
) -> anyhow::Result<String> {
    let mut block = format!(
        "Host {name}\n  HostName {}\n  Port {}\n  User {}\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n",
        config_word(&ssh.host)?,
        ssh.port,
        config_word(&ssh.user)?,
        config_word(&known_hosts.to_string_lossy())?,
    );
    if let Some(key) = &ssh.key_path {
        block.push_str(&format!(
            "  IdentityFile {}\n  IdentitiesOnly yes\n",
            config_word(&key.to_string_lossy())?
        ));
    }
    Ok(block)
}

/// A value for ssh_config: in double quotes when it holds spaces; what no quoting can carry
/// (a double quote, a line break, `%` which ssh would expand) is refused.
fn config_word(value: &str) -> anyhow::Result<String> {
    if value.contains(['"', '\n', '\r', '%']) {
        bail!(
            "{value:?} cannot be written into an ssh_config for scp between machines (it holds a quote, a line break or %); move the machine's store to a plainer path"
        );
    }
    Ok(if value.contains(char::is_whitespace) {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Endpoint {
    Local(String),
    Remote(String, String),
}

impl Endpoint {
    /// `NAME:path` is a machine's path when NAME is a valid machine name; anything with a `/`
    /// before the colon (`./a:b`, `/tmp/x:y`) is local, as in scp itself.
    fn parse(text: &str) -> Endpoint {
        match text.split_once(':') {
            Some((name, path)) if berth_store::validate_name(name).is_ok() => {
                Endpoint::Remote(name.to_owned(), path.to_owned())
            }
            _ => Endpoint::Local(text.to_owned()),
        }
    }
}

/// The OpenSSH client with the machine's key and pinned host key; never trusts a new key.
fn openssh(program: &str, machine: &MachineHandle) -> anyhow::Result<Command> {
    let mut cmd = Command::new(program);
    cmd.arg("-o").arg(format!(
        "UserKnownHostsFile={}",
        machine.folder().path(MachineFiles::KNOWN_HOSTS).display()
    ));
    cmd.args([
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
    ]);
    cmd.args(["-o", "ConnectTimeout=10"]);
    if let Some(key) = machine
        .record()
        .ssh
        .as_ref()
        .and_then(|s| s.key_path.as_ref())
    {
        cmd.arg("-i")
            .arg(key.as_path())
            .args(["-o", "IdentitiesOnly=yes"]);
    }
    Ok(cmd)
}

/// Runs the client and passes its exit status on (a remote command's status becomes berth's).
fn run_client(mut cmd: Command, program: &str) -> anyhow::Result<ExitCode> {
    let status = cmd.status().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("`{program}` is not installed; berth uses the OpenSSH client for this: apt-get install openssh-client")
        } else {
            anyhow::anyhow!("cannot run {program}: {e}")
        }
    })?;
    match status.code() {
        Some(0) => Ok(ExitCode::SUCCESS),
        Some(code) => Err(RemoteExit(u8::try_from(code).unwrap_or(1)).into()),
        None => Err(RemoteExit(1).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_like_scp() {
        assert_eq!(
            Endpoint::parse("web1:/etc/hosts"),
            Endpoint::Remote("web1".into(), "/etc/hosts".into())
        );
        assert_eq!(Endpoint::parse("./a:b"), Endpoint::Local("./a:b".into()));
        assert_eq!(
            Endpoint::parse("file.txt"),
            Endpoint::Local("file.txt".into())
        );
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn each_machine_gets_only_its_own_key_and_known_hosts() {
        let ssh = berth_machine::SshSettings {
            host: "2001:db8::7".try_into().unwrap(),
            port: 2222,
            user: "admin".try_into().unwrap(),
            key_path: Some(berth_machine::record::KeyPath::new("/store/web 1/id_ed25519").unwrap()),
        };
        let block = host_block(
            "web1",
            &ssh,
            std::path::Path::new("/store/web1/known_hosts"),
        )
        .unwrap();
        assert!(
            block.starts_with("Host web1\n  HostName 2001:db8::7\n  Port 2222\n  User admin\n"),
            "{block}"
        );
        assert!(
            block.contains("UserKnownHostsFile /store/web1/known_hosts\n"),
            "{block}"
        );
        assert!(
            block.contains("IdentityFile \"/store/web 1/id_ed25519\"\n  IdentitiesOnly yes"),
            "{block}"
        );
        assert!(block.contains("StrictHostKeyChecking yes"), "{block}");
        assert!(config_word("/a/%h").is_err());
        assert!(config_word("a\"b").is_err());
        // Regression: the host went into the file unescaped, and a line break in it started a
        // directive of its own. Such a host can no longer be held by a record at all.
        assert!(
            berth_machine::record::Host::new("127.0.0.1\n  ProxyCommand touch /tmp/pwned").is_err()
        );
    }

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn leading_options_go_to_openssh_the_rest_is_the_command() {
        let split = |line: &str| {
            let w = words(line);
            let (o, c) = split_words(&w);
            (o.join(" "), c.join(" "))
        };
        assert_eq!(split("uname -a"), ("".into(), "uname -a".into()));
        assert_eq!(split("-C echo foo"), ("-C".into(), "echo foo".into()));
        assert_eq!(
            split("-L 8080:localhost:80 -C ls -l"),
            ("-L 8080:localhost:80 -C".into(), "ls -l".into())
        );
        assert_eq!(split("-tp 2222 id"), ("-tp 2222".into(), "id".into()));
        assert_eq!(
            split("-oBatchMode=yes id"),
            ("-oBatchMode=yes".into(), "id".into())
        );
        assert_eq!(split("-C -- -weird"), ("-C".into(), "-weird".into()));
        assert_eq!(split("-v"), ("-v".into(), "".into()));
        let none: Vec<String> = Vec::new();
        assert_eq!(split_words(&none), (&none[..], &none[..]));
    }

    #[test]
    fn several_words_are_quoted_one_line_is_kept() {
        assert_eq!(
            remote_command(&["sh".into(), "-c".into(), "exit 3".into()]),
            "sh -c 'exit 3'"
        );
        assert_eq!(remote_command(&["ls -l | wc -l".into()]), "ls -l | wc -l");
    }
}
