//! What can go wrong making and running nspawn machines.

use std::path::PathBuf;
use std::time::Duration;

/// A failure of the nspawn machinery, saying what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum NspawnError {
    /// The process is not root.
    #[error(
        "local nspawn machines need root (mounts, network namespaces, iptables); run this as root, e.g. with sudo"
    )]
    NotRoot,
    /// A required program is not installed.
    #[error("`{tool}` was not found on PATH; install it with `apt-get install {package}`")]
    MissingTool {
        /// The program looked for.
        tool: String,
        /// The Debian package that provides it.
        package: String,
    },
    /// A program ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
    /// A program could not be started.
    #[error("could not run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file or folder could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "could not write".
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The name cannot be a machine (host) name.
    #[error(
        "`{name}` is not a valid machine name: use 1 to 40 lowercase letters, digits and inner hyphens"
    )]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// A machine of that name already exists.
    #[error("a local machine named `{name}` already exists under {}; remove it first or pick another name", dir.display())]
    AlreadyExists {
        /// The name.
        name: String,
        /// Its folder.
        dir: PathBuf,
    },
    /// No machine of that name exists.
    #[error("there is no local machine named `{name}` (looked in {})", dir.display())]
    NotFound {
        /// The name.
        name: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// Every address of the subnet is taken.
    #[error("every address of {subnet} is taken (claims are in {}); remove machines you no longer need", registry.display())]
    NoFreeAddress {
        /// The subnet.
        subnet: String,
        /// The claims folder.
        registry: PathBuf,
    },
    /// systemd-nspawn exited while the machine was booting.
    #[error("the machine `{name}` stopped while booting; systemd-nspawn said:\n{log}")]
    BootFailed {
        /// The machine.
        name: String,
        /// The end of nspawn's log.
        log: String,
    },
    /// sshd did not answer in time.
    #[error(
        "the machine `{name}` did not answer SSH on {addr} within {after:?}; the end of its console log:\n{log}"
    )]
    BootTimeout {
        /// The machine.
        name: String,
        /// `address:22`.
        addr: String,
        /// The deadline.
        after: Duration,
        /// The end of nspawn's log.
        log: String,
    },
    /// Something the guest made stands where the driver writes a boot file: a link it will not
    /// follow, a file where a folder belongs, a mount point.
    #[error(
        "the machine's {guest_path} is {what}, made inside the machine; berth never follows links \
         or crosses mounts the guest made when it writes the machine's boot files (hostname, hosts, \
         resolv.conf, authorized_keys). Remove it (`rm -r {}` while the machine is stopped) and start the machine again",
        fix.display()
    )]
    GuestLink {
        /// The path as the guest sees it, e.g. `/home/berth/.ssh`.
        guest_path: String,
        /// What is there: "a symbolic link", "not a folder", "a folder", "a mount point".
        what: &'static str,
        /// Where on the host the user removes it (in the machine's upper layer).
        fix: PathBuf,
    },
    /// berth asked for a file outside the engine's folders of the guest.
    #[error(
        "refusing to write {path} into the machine before it boots: berth writes only under /etc/docker/ and /etc/systemd/system/docker.service.d/ there; this is a bug in berth"
    )]
    GuestFileRefused {
        /// The path as berth sent it.
        path: String,
    },
    /// The machine did not stop in time.
    #[error(
        "the machine `{name}` (systemd-nspawn pid {pid}) did not stop within {after:?} even after SIGKILL"
    )]
    StopTimeout {
        /// The machine.
        name: String,
        /// nspawn's pid.
        pid: i32,
        /// The deadline.
        after: Duration,
    },
}

impl NspawnError {
    /// An [`NspawnError::Io`] for `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| NspawnError::Io {
            action,
            path,
            source,
        }
    }
}
