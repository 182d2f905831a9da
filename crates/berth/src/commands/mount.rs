//! `mount [-u] [NAME:]PATH [DIR]`: a machine's folder on this computer through SSHFS, as
//! docker-machine's `mount` (commands/mount.go) has it — the same arguments (no `NAME:` means the
//! machine `default`, `USER@NAME:` another login, DIR defaults to PATH), `fusermount -u` to
//! unmount — but with the machine's pinned host key: docker-machine mounted with
//! `StrictHostKeyChecking=no` and `UserKnownHostsFile=/dev/null`, berth never trusts a new key.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use berth_machine::SshSettings;
use berth_names::{EnvVars, MachineFiles};

use super::Ctx;
use super::ssh::{check_endpoint, no_ssh_address};
use crate::cli::MountArgs;

/// The machine a PATH without `NAME:` is on (docker-machine's `defaultMachineName`).
const DEFAULT_MACHINE: &str = "default";

/// The device every FUSE mount goes through.
const FUSE_DEVICE: &str = "/dev/fuse";

pub(super) fn run(ctx: &Ctx, args: &MountArgs) -> anyhow::Result<ExitCode> {
    let source = Source::parse(&args.source);
    // Under its own name berth names no machine for the user (see docs/docker-machine.md);
    // docker-machine's scripts that mount from `default` keep working under that name.
    if !args.source.contains(':') && !ctx.dialect.is_docker_machine() {
        bail!(
            "{} names no machine: write NAME:PATH, as in `berth mount web1:{} DIR`",
            args.source,
            args.source
        );
    }
    let dir = match (&args.dir, source.path.is_empty()) {
        (Some(dir), _) => dir.clone(),
        (None, false) => PathBuf::from(&source.path),
        (None, true) => bail!(
            "{} names no folder to mount on: give one, as in `berth mount {} DIR`",
            args.source,
            args.source
        ),
    };
    if args.unmount {
        return unmount(ctx, &dir);
    }
    let sshfs = find_program(ctx, "sshfs").context(
        "sshfs is not installed, and `berth mount` mounts through it: apt-get install sshfs \
         (it brings fuse3 along)",
    )?;
    if !Path::new(FUSE_DEVICE).exists() {
        bail!(
            "this computer has no {FUSE_DEVICE}, which every SSHFS mount needs: load the fuse \
             module (modprobe fuse), or in a container pass the device in (--device {FUSE_DEVICE})"
        );
    }
    if !dir.is_dir() {
        bail!(
            "{} is not a folder here: make it first (mkdir -p {}), then mount on it",
            dir.display(),
            dir.display()
        );
    }
    let machine = ctx.load(&source.machine)?;
    let ssh = machine
        .record()
        .ssh
        .as_ref()
        .with_context(|| no_ssh_address(&source.machine, machine.record()))?;
    check_endpoint(machine.folder(), ssh)?;
    let user = match &source.user {
        Some(user) => {
            check_user(user)?;
            user.clone()
        }
        None => ssh.user.to_string(),
    };
    let mut cmd = Command::new(sshfs);
    cmd.args(sshfs_args(
        ssh,
        &user,
        &source.path,
        &machine.folder().path(MachineFiles::KNOWN_HOSTS),
        &dir,
    ));
    tracing::debug!("running {cmd:?}");
    let status = cmd
        .status()
        .context("cannot run sshfs; check that it is installed and executable")?;
    if !status.success() {
        bail!(
            "sshfs could not mount {}:{} on {} ({status}); what it said is above. Check that \
             the folder exists on the machine (`berth ssh {} ls -d {}`) and that the machine \
             is running (`berth status {}`)",
            source.machine,
            source.path,
            dir.display(),
            source.machine,
            shlex::try_quote(&source.path).unwrap_or_default(),
            source.machine,
        );
    }
    if !ctx.dialect.is_docker_machine() {
        ctx.printer.info(&format!(
            "mounted {}:{} on {}; `berth mount -u {} {}` unmounts it",
            source.machine,
            source.path,
            dir.display(),
            args.source,
            dir.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `fusermount3 -u DIR` (fuse3), else the older `fusermount -u DIR`.
fn unmount(ctx: &Ctx, dir: &Path) -> anyhow::Result<ExitCode> {
    let program = find_program(ctx, "fusermount3")
        .or_else(|| find_program(ctx, "fusermount"))
        .context(
            "neither fusermount3 nor fusermount is installed, and unmounting an SSHFS folder \
             needs one of them: apt-get install fuse3",
        )?;
    let status = Command::new(&program)
        .arg("-u")
        .arg("--")
        .arg(dir)
        .status()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !status.success() {
        bail!(
            "{} could not unmount {} ({status}); what it said is above. A folder still in use \
             (a shell inside it, an open file) cannot be unmounted until it is left",
            program.display(),
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `[USER@][NAME:]PATH`, split as docker-machine's `getInfoForSshfsArg` splits it.
#[derive(Debug, PartialEq, Eq)]
struct Source {
    user: Option<String>,
    machine: String,
    path: String,
}

impl Source {
    fn parse(text: &str) -> Source {
        let (host, path) = match text.split_once(':') {
            Some((host, path)) => (host, path),
            None => (DEFAULT_MACHINE, text),
        };
        let (user, machine) = match host.split_once('@') {
            Some((user, machine)) => (Some(user.to_owned()), machine),
            None => (None, host),
        };
        Source {
            user,
            machine: machine.to_owned(),
            path: path.to_owned(),
        }
    }
}

/// A login given as `USER@NAME:` must not be read by ssh as an option or carry a line break.
fn check_user(user: &str) -> anyhow::Result<()> {
    if user.is_empty() || user.starts_with('-') || user.chars().any(char::is_control) {
        bail!("{user:?} cannot be an SSH login name; write USER@NAME:PATH with a plain user name");
    }
    Ok(())
}

/// sshfs's arguments: the machine's port, key and pinned host key as ssh options, then `--`
/// so that neither the location nor DIR can be read as an option.
fn sshfs_args(
    ssh: &SshSettings,
    user: &str,
    path: &str,
    known_hosts: &Path,
    dir: &Path,
) -> Vec<OsString> {
    let mut options = vec![
        format!(
            "UserKnownHostsFile={}",
            fuse_escape(&known_hosts.to_string_lossy())
        ),
        "GlobalKnownHostsFile=/dev/null".to_owned(),
        "StrictHostKeyChecking=yes".to_owned(),
        "LogLevel=ERROR".to_owned(),
        "ConnectTimeout=10".to_owned(),
        format!("Port={}", ssh.port),
    ];
    if let Some(key) = &ssh.key_path {
        options.push(format!(
            "IdentityFile={}",
            fuse_escape(&key.to_string_lossy())
        ));
        options.push("IdentitiesOnly=yes".to_owned());
    }
    let host = if ssh.host.contains(':') {
        format!("[{}]", ssh.host)
    } else {
        ssh.host.to_string()
    };
    let mut args: Vec<OsString> = Vec::new();
    for option in options {
        args.push("-o".into());
        args.push(option.into());
    }
    args.push("--".into());
    args.push(format!("{user}@{host}:{path}").into());
    args.push(dir.into());
    args
}

/// A value inside FUSE's `-o a,b,c` list: libfuse splits at commas and takes a backslash as
/// an escape, so a store path with a comma would otherwise become a second option.
fn fuse_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace(',', "\\,")
}

/// `program` on PATH (berth's own environment snapshot), as `exec.LookPath` finds it.
fn find_program(ctx: &Ctx, program: &str) -> Option<PathBuf> {
    let path = ctx.env.get(EnvVars::PATH)?;
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_split_as_docker_machine_splits_them() {
        assert_eq!(
            Source::parse("web1:/var/log"),
            Source {
                user: None,
                machine: "web1".into(),
                path: "/var/log".into()
            }
        );
        assert_eq!(
            Source::parse("/srv"),
            Source {
                user: None,
                machine: "default".into(),
                path: "/srv".into()
            }
        );
        assert_eq!(
            Source::parse("admin@web1:/a:b"),
            Source {
                user: Some("admin".into()),
                machine: "web1".into(),
                path: "/a:b".into()
            }
        );
        assert_eq!(Source::parse("web1:").path, "");
    }

    #[test]
    fn sshfs_gets_the_pinned_key_the_port_and_no_option_from_a_path() {
        let ssh = SshSettings {
            host: berth_machine::record::Host::new("2001:db8::7").expect("host"),
            port: 2222,
            user: berth_machine::record::SshUser::new("admin").expect("user"),
            key_path: Some(
                berth_machine::record::KeyPath::new("/store/a,allow_other/id_ed25519")
                    .expect("key path"),
            ),
        };
        let args: Vec<String> = sshfs_args(
            &ssh,
            "admin",
            "/srv",
            Path::new("/store/web1/known_hosts"),
            Path::new("-mnt"),
        )
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
        let line = args.join(" ");
        assert!(
            line.contains("-o UserKnownHostsFile=/store/web1/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes"),
            "{line}"
        );
        assert!(line.contains("-o Port=2222"), "{line}");
        // The comma is escaped: `allow_other` stays part of the file name, not a FUSE option.
        assert!(
            line.contains(
                "-o IdentityFile=/store/a\\,allow_other/id_ed25519 -o IdentitiesOnly=yes"
            ),
            "{line}"
        );
        assert!(line.ends_with("-- admin@[2001:db8::7]:/srv -mnt"), "{line}");
        assert!(!line.contains("StrictHostKeyChecking=no"), "{line}");
    }

    #[test]
    fn logins_that_ssh_would_read_as_options_are_refused() {
        assert!(check_user("-oProxyCommand=x").is_err());
        assert!(check_user("a\nb").is_err());
        assert!(check_user("").is_err());
        assert!(check_user("admin").is_ok());
    }
}
