//! One local machine: created once, started and powered off any number of
//! times on the same writable layer, removed with everything it made.
//!
//! Its folder (`<data_dir>/machines/<name>`) holds `upper/` and `work/` (its
//! overlayfs layer over the cached root), `docker/` (bound at
//! /var/lib/docker: an engine's overlay2 cannot sit on overlayfs), `rootfs/`
//! (the mount point), and the records `owner`, `address`, `lower`, `authorized_keys`,
//! `nspawn.pid` and `nspawn.log`.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_plugin::GuestFile;
use rustix::process::Signal;

use crate::cmd::{command_line, run};
use crate::config::{Config, ENGINE_CAPABILITIES, Isolation};
use crate::error::NspawnError;
use crate::guest_fs::{GuestRoot, Perm};
use crate::image::{self, write};
use crate::network;
use crate::preflight::preflight;
use crate::process;

/// Whether a machine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Its systemd-nspawn process runs.
    Running,
    /// It is powered off (its layer and data are kept).
    Stopped,
}

/// A local machine in systemd-nspawn.
#[derive(Debug, Clone)]
pub struct Machine {
    config: Config,
    name: String,
    dir: PathBuf,
    address: Ipv4Addr,
    lower: PathBuf,
}

/// Checks that `name` can be a hostname, a folder name and part of a netns name.
pub(crate) fn validate_name(name: &str) -> Result<(), NspawnError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(NspawnError::InvalidName { name: name.into() })
    }
}

impl Machine {
    /// Makes a new, stopped machine whose root and `berth` users accept `authorized_keys`
    /// (OpenSSH public-key lines); builds the cached root first if needed. It has no owner:
    /// see [`Machine::create_owned`].
    pub fn create(
        config: &Config,
        name: &str,
        authorized_keys: &str,
    ) -> Result<Machine, NspawnError> {
        Self::create_owned(config, name, authorized_keys, None)
    }

    /// [`Machine::create`], recording `owner` (an opaque token of whoever made it) in the
    /// machine's own folder from the moment the folder exists: the nspawn driver refuses to
    /// touch a machine whose owner is not the berth store asking (machines of every store share
    /// one data folder).
    pub fn create_owned(
        config: &Config,
        name: &str,
        authorized_keys: &str,
        owner: Option<&str>,
    ) -> Result<Machine, NspawnError> {
        preflight()?;
        validate_name(name)?;
        let lower = image::ensure_for(config)?;
        let dir = config.machine_dir(name);
        let parent = config.data_dir.join("machines");
        fs::create_dir_all(&parent).map_err(NspawnError::io("could not create", &parent))?;
        sweep_staging(&parent);
        // The folder is made aside with its owner record, then renamed into place without
        // replacing anything (RENAME_NOREPLACE): the atomic "this name is mine" step, after
        // which the owner is always on record, even if this process dies the next instant.
        let staging = parent.join(format!(".new-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        let staged = (|| {
            fs::create_dir(&staging).map_err(NspawnError::io("could not create", &staging))?;
            fs::set_permissions(&staging, fs::Permissions::from_mode(0o700))
                .map_err(NspawnError::io("could not chmod", &staging))?;
            if let Some(owner) = owner {
                write(&staging.join(OWNER_FILE), owner, 0o600)?;
            }
            rustix::fs::renameat_with(
                rustix::fs::CWD,
                &staging,
                rustix::fs::CWD,
                &dir,
                rustix::fs::RenameFlags::NOREPLACE,
            )
            .map_err(|e| {
                if e == rustix::io::Errno::EXIST {
                    NspawnError::AlreadyExists {
                        name: name.into(),
                        dir: dir.clone(),
                    }
                } else {
                    NspawnError::io("could not rename into place", &staging)(e.into())
                }
            })
        })();
        if let Err(e) = staged {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        let made = (|| {
            let address = network::claim_address(config, name)?;
            write(&dir.join("address"), &address.to_string(), 0o644)?;
            write(&dir.join("lower"), &lower.to_string_lossy(), 0o644)?;
            write(&dir.join("authorized_keys"), authorized_keys, 0o600)?;
            for sub in ["upper", "work", "docker", "rootfs"] {
                let p = dir.join(sub);
                fs::create_dir(&p).map_err(NspawnError::io("could not create", &p))?;
            }
            Ok(Machine {
                config: config.clone(),
                name: name.into(),
                dir: dir.clone(),
                address,
                lower,
            })
        })();
        if made.is_err() {
            if let Ok(addr) = read_address(&dir) {
                let _ = network::release_address(config, name, addr);
            }
            let _ = fs::remove_dir_all(&dir);
        }
        made
    }

    /// An existing machine by name.
    pub fn open(config: &Config, name: &str) -> Result<Machine, NspawnError> {
        validate_name(name)?;
        let dir = config.machine_dir(name);
        if !dir.join("address").is_file() {
            return Err(NspawnError::NotFound {
                name: name.into(),
                dir,
            });
        }
        let lower_file = dir.join("lower");
        let lower = fs::read_to_string(&lower_file)
            .map_err(NspawnError::io("could not read", &lower_file))?;
        Ok(Machine {
            config: config.clone(),
            name: name.into(),
            address: read_address(&dir)?,
            lower: PathBuf::from(lower.trim()),
            dir,
        })
    }

    /// Names of every machine in the data folder.
    pub fn list(config: &Config) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(config.data_dir.join("machines"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    // `.new-*`: a folder being made (see create_owned), not a machine yet.
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The owner recorded at create ([`Machine::create_owned`]); `None` for a machine made
    /// without one (or by a driver from before owners were recorded).
    pub fn owner(&self) -> Option<String> {
        fs::read_to_string(self.dir.join(OWNER_FILE)).ok()
    }

    /// The machine's name (also its hostname).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its address on the bridge.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The port sshd listens on.
    pub fn ssh_port(&self) -> u16 {
        22
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Running while its systemd-nspawn process runs.
    pub fn state(&self) -> State {
        if self.nspawn_pid().is_some() {
            State::Running
        } else {
            State::Stopped
        }
    }

    /// The pid of this machine's systemd-nspawn, if it runs (checked by its command line, so a reused pid is not mistaken for it).
    fn nspawn_pid(&self) -> Option<i32> {
        let pid: i32 = fs::read_to_string(self.dir.join("nspawn.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let args = process::cmdline(pid);
        let ours = args
            .iter()
            .any(|a| *a == format!("--machine={}", self.name))
            && args
                .iter()
                .any(|a| *a == format!("--directory={}", self.rootfs().display()));
        (ours && process::running(pid)).then_some(pid)
    }

    fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Boots the machine and returns once sshd answers on port 22 (or the boot deadline passes).
    pub fn start(&self) -> Result<(), NspawnError> {
        self.start_with(&[])
    }

    /// [`Machine::start`], with `files` written into the root before the guest runs: berth's
    /// engine files (certificates, drop-in) on the first boot, so that the engine starts once,
    /// already behind mutual TLS. A running machine is left as it is and gets no files.
    pub fn start_with(&self, files: &[GuestFile]) -> Result<(), NspawnError> {
        preflight()?;
        if self.state() == State::Running {
            return Ok(());
        }
        let booted = self
            .mount()
            .and_then(|()| self.write_boot_files())
            .and_then(|()| self.write_guest_files(files))
            .and_then(|()| {
                network::attach(&self.config, &self.name, self.address)?;
                let pid = self.spawn()?;
                self.wait_for_ssh(pid)
            });
        if booted.is_err() {
            let _ = self.poweroff();
        }
        booted
    }

    /// Mounts the overlay at rootfs/ unless it already is.
    fn mount(&self) -> Result<(), NspawnError> {
        let rootfs = self.rootfs();
        if is_mountpoint(&rootfs) {
            return Ok(());
        }
        let opts = format!(
            "lowerdir={},upperdir={},workdir={}",
            self.lower.display(),
            self.dir.join("upper").display(),
            self.dir.join("work").display()
        );
        run(
            "mount",
            &[
                "-t",
                "overlay",
                "overlay",
                "-o",
                &opts,
                &rootfs.to_string_lossy(),
            ],
        )
        .map(drop)
    }

    /// Hostname, hosts, this machine's nameservers, and the authorized keys: written at each boot.
    ///
    /// The root is the guest's: guest root may have put links, FIFOs or devices anywhere in it,
    /// and it is mounted in this (the host's) namespace. Every write goes through [`GuestRoot`],
    /// which follows no link and crosses no mount, and owners are ids chosen here, never read
    /// from the guest's /etc/passwd (which guest root may edit).
    fn write_boot_files(&self) -> Result<(), NspawnError> {
        let root = GuestRoot::open(&self.rootfs(), &self.dir.join("upper"))?;
        let name = &self.name;
        let etc = Perm::root(0o755);
        root.write(
            "etc/hostname",
            format!("{name}\n").as_bytes(),
            Perm::root(0o644),
            etc,
        )?;
        root.write(
            "etc/hosts",
            format!(
                "127.0.0.1 localhost\n127.0.1.1 {name}\n::1 localhost ip6-localhost ip6-loopback\n"
            )
            .as_bytes(),
            Perm::root(0o644),
            etc,
        )?;
        root.write(
            "etc/resolv.conf",
            nameservers().as_bytes(),
            Perm::root(0o644),
            etc,
        )?;
        let keys_file = self.dir.join("authorized_keys");
        let keys = fs::read_to_string(&keys_file)
            .map_err(NspawnError::io("could not read", &keys_file))?;
        for (path, owner) in [
            ("root/.ssh/authorized_keys", None),
            ("home/berth/.ssh/authorized_keys", Some(image::BERTH_IDS)),
        ] {
            let mut text = root.read(path, 1 << 20)?.unwrap_or_default();
            for line in keys.lines().filter(|l| !l.trim().is_empty()) {
                if !text.lines().any(|l| l == line) {
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text.push_str(line);
                    text.push('\n');
                }
            }
            root.write(
                path,
                text.as_bytes(),
                Perm { mode: 0o600, owner },
                Perm { mode: 0o700, owner },
            )?;
        }
        Ok(())
    }

    /// Writes berth's files into the root as [`Machine::write_boot_files`] writes its own:
    /// through [`GuestRoot`], owned by root, new folders 0755. Only absolute paths under the
    /// engine's configuration folders are taken: berth has no business elsewhere in a guest.
    fn write_guest_files(&self, files: &[GuestFile]) -> Result<(), NspawnError> {
        if files.is_empty() {
            return Ok(());
        }
        let root = GuestRoot::open(&self.rootfs(), &self.dir.join("upper"))?;
        for file in files {
            let rel = guest_file_path(&file.path)?;
            root.write(
                rel,
                file.contents.as_bytes(),
                Perm::root(file.mode & 0o777),
                Perm::root(0o755),
            )?;
        }
        Ok(())
    }

    /// Where the engine of this machine's root is, read from the driver's own cached root
    /// (the lower layer, which no guest writes): dockerd's path and whether docker.socket
    /// exists. `None` when the root has no engine.
    pub fn engine_layout(&self) -> Option<(String, bool)> {
        let dockerd = ["usr/sbin/dockerd", "usr/bin/dockerd"]
            .into_iter()
            .find(|p| self.lower.join(p).is_file())?;
        let socket = [
            "lib/systemd/system/docker.socket",
            "usr/lib/systemd/system/docker.socket",
        ]
        .iter()
        .any(|p| self.lower.join(p).is_file());
        Some((format!("/{dockerd}"), socket))
    }

    /// Starts systemd-nspawn detached (own session, stdin from /dev/null, output to nspawn.log) and records its pid.
    fn spawn(&self) -> Result<i32, NspawnError> {
        let ns_path = format!("/run/netns/{}", network::netns_name(&self.name));
        let mut args: Vec<String> = vec![
            "systemd-nspawn".into(),
            format!("--directory={}", self.rootfs().display()),
            format!("--machine={}", self.name),
            "--register=no".into(),
            "--keep-unit".into(),
        ];
        let wide = self.config.isolation == Isolation::Wide;
        args.push(if wide {
            "--capability=all".into()
        } else {
            // Added to nspawn's default set, which already holds CAP_SYS_ADMIN (see Isolation).
            format!("--capability={}", ENGINE_CAPABILITIES.join(","))
        });
        args.extend([
            format!("--network-namespace-path={ns_path}"),
            "--system-call-filter=@keyring bpf".into(),
            format!(
                "--bind={}:/var/lib/docker",
                self.dir.join("docker").display()
            ),
            "--resolv-conf=off".into(),
            "--timezone=off".into(),
            "--link-journal=no".into(),
            "--console=read-only".into(),
            // Not --boot: PID 1 is berth-init, which execs systemd; so say how to halt it.
            "--kill-signal=SIGRTMIN+3".into(),
            image::INIT_PATH.into(),
        ]);
        let log = self.dir.join("nspawn.log");
        crate::console_log::rotate(&log, crate::console_log::ROTATE_AT);
        let pid_file = self.dir.join("nspawn.pid");
        // sh starts a supervisor in the background and exits: it is nobody's child here, so
        // it outlives this process (the driver is a short-lived command). The supervisor joins
        // the machine's own cgroups and runs nspawn (setsid execs in place: `$!` is nspawn's
        // pid), recording each nspawn's pid in nspawn.pid. With --keep-unit, a guest that
        // reboots itself (`shutdown -r`, `berth restart` of a generic machine) makes nspawn exit
        // with 133 for its service manager to start it again; the supervisor is that manager
        // here, so the guest comes back. Any other exit (an orderly halt, SIGKILL) ends it.
        let script = r#"log=$1; pidfile=$2; shift 2; sh -c 'pidfile=$1; shift; for f in $BERTH_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; first=; while :; do setsid "$@" 3>&- & pid=$!; echo "$pid" > "$pidfile.new" && mv "$pidfile.new" "$pidfile"; if [ -z "$first" ]; then first=1; echo "$pid" >&3; exec 3>&-; fi; wait "$pid"; rc=$?; [ "$rc" = 133 ] || exit "$rc"; done' sh "$pidfile" "$@" 3>&1 </dev/null >>"$log" 2>&1 &"#;
        let procs: Vec<String> = crate::cgroup::prepare(&self.name)?
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&log)
            .arg(&pid_file)
            .args(&args)
            // The machine's cgroup v1 layout with a cgroup2 mount beside it (see test-hosts.md).
            .env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "0")
            .env(
                "SYSTEMD_NSPAWN_API_VFS_WRITABLE",
                // Writable /proc/sys and /sys only for test hosts: a nested engine does without.
                if wide { "1" } else { "0" },
            )
            .env(berth_names::EnvVars::BERTH_CGROUP_PROCS, procs.join(" "))
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|source| NspawnError::Spawn {
                command: command_line(
                    "systemd-nspawn",
                    &args.iter().map(String::as_str).collect::<Vec<_>>(),
                ),
                source,
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        let pid: i32 = text.trim().parse().map_err(|_| NspawnError::BootFailed {
            name: self.name.clone(),
            log: format!("the launcher printed no pid: {text}"),
        })?;
        // The supervisor wrote it too (and rewrites it when the guest reboots).
        write(&pid_file, &pid.to_string(), 0o644)?;
        Ok(pid)
    }

    /// Polls (with the boot deadline) until sshd sends its banner on port 22.
    fn wait_for_ssh(&self, pid: i32) -> Result<(), NspawnError> {
        let addr = SocketAddr::from((self.address, 22));
        let deadline = Instant::now() + self.config.boot_timeout;
        loop {
            if !process::running(pid) {
                return Err(NspawnError::BootFailed {
                    name: self.name.clone(),
                    log: self.log_tail(),
                });
            }
            if ssh_banner(addr) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(NspawnError::BootTimeout {
                    name: self.name.clone(),
                    addr: addr.to_string(),
                    after: self.config.boot_timeout,
                    log: self.log_tail(),
                });
            }
            // Nothing to wait on until sshd listens: retry at a short interval.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines of nspawn's console log, for error messages.
    pub fn log_tail(&self) -> String {
        crate::console_log::tail(
            &self.dir.join("nspawn.log"),
            crate::console_log::TAIL_BYTES,
            20,
        )
    }

    /// Orderly power-off: SIGTERM makes nspawn halt the guest; after the stop
    /// deadline SIGKILL. A guest PID 1 that outlives nspawn is killed (which
    /// ends its whole pid namespace). Then the mount and network are removed;
    /// the writable layer stays for the next start.
    pub fn poweroff(&self) -> Result<(), NspawnError> {
        self.halt(true)
    }

    /// Pulls the plug: no orderly shutdown. nspawn is killed, then the guest through its cgroup
    /// (as for an orphan below); the layer is kept, as after a power cut.
    pub fn kill(&self) -> Result<(), NspawnError> {
        self.halt(false)
    }

    fn halt(&self, orderly: bool) -> Result<(), NspawnError> {
        if let Some(pid) = self.nspawn_pid() {
            // Never SIGRTMIN+4: nspawn would die at once and leave the guest running as an orphan.
            process::signal(pid, if orderly { Signal::TERM } else { Signal::KILL });
            let patience = if orderly {
                self.config.stop_timeout
            } else {
                Duration::ZERO
            };
            if !process::wait_gone(pid, patience) {
                process::signal(pid, Signal::KILL);
                if !process::wait_gone(pid, Duration::from_secs(5)) {
                    return Err(NspawnError::StopTimeout {
                        name: self.name.clone(),
                        pid,
                        after: self.config.stop_timeout,
                    });
                }
            }
        }
        // A guest outliving its nspawn (killed above after the deadline, or by
        // someone else) runs on as an orphan: find it by its cgroup. Killing
        // its PID 1 ends its whole pid namespace.
        for pid in process::all_pids() {
            if process::running(pid) && crate::cgroup::pid_in(pid, &self.name, false) {
                process::signal(pid, Signal::KILL);
                process::wait_gone(pid, Duration::from_secs(5));
            }
        }
        let _ = fs::remove_file(self.dir.join("nspawn.pid"));
        let rootfs = self.rootfs();
        if is_mountpoint(&rootfs) {
            let path = rootfs.to_string_lossy();
            if run("umount", &[&path]).is_err() {
                // Something still holds a file open in it: detach now, the kernel frees it when released.
                run("umount", &["--lazy", &path])?;
            }
        }
        crate::cgroup::remove(&self.name);
        network::detach(&self.config, &self.name, self.address)
    }

    /// Takes the machine off the network: SSH to it then times out, as with a pulled cable.
    pub fn cut_network(&self) -> Result<(), NspawnError> {
        network::cut(self.address)
    }

    /// Puts the machine back on the network after [`Machine::cut_network`].
    pub fn restore_network(&self) -> Result<(), NspawnError> {
        network::restore(self.address)
    }

    /// Pulls the plug and deletes everything of the machine: layer, data, address claim,
    /// records. No orderly shutdown, as docker-machine's own drivers do (virtualbox's `Remove`
    /// kills a running VM): nothing of the guest outlives the deletion, so a shutdown would only
    /// wait, and the engine of a Swarm node took 7–11 s to stop.
    pub fn remove(self) -> Result<(), NspawnError> {
        self.kill()?;
        // Deleting through a still-mounted root would be wrong: the halt unmounted it, check.
        if is_mountpoint(&self.rootfs()) {
            return Err(NspawnError::Command {
                command: format!("umount {}", self.rootfs().display()),
                status: "still mounted".into(),
                stderr:
                    "the machine's root is still mounted; unmount it and remove the machine again"
                        .into(),
            });
        }
        network::release(&self.config, &self.name, self.address)?;
        fs::remove_dir_all(&self.dir).map_err(NspawnError::io("could not remove", &self.dir))
    }
}

/// The record of who made the machine, in its folder.
const OWNER_FILE: &str = "owner";

/// Removes staging folders (`.new-<name>-<pid>`) of creates whose process is gone.
fn sweep_staging(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(".new-")
            .and_then(|rest| rest.rsplit_once('-'))
            .and_then(|(_, pid)| pid.parse::<i32>().ok());
        if let Some(pid) = pid
            && !process::running(pid)
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The folders berth may put files in before a guest boots.
const GUEST_FILE_FOLDERS: [&str; 2] = ["/etc/docker/", "/etc/systemd/system/docker.service.d/"];

/// `path` relative to the root, when it is an absolute path under [`GUEST_FILE_FOLDERS`]
/// without `.` or `..` components.
fn guest_file_path(path: &str) -> Result<&str, NspawnError> {
    let plain = !path.split('/').any(|c| c == "." || c == "..");
    let under = GUEST_FILE_FOLDERS
        .iter()
        .any(|dir| path.len() > dir.len() && path.starts_with(dir));
    if plain && under {
        Ok(&path[1..])
    } else {
        Err(NspawnError::GuestFileRefused { path: path.into() })
    }
}

fn read_address(dir: &Path) -> Result<Ipv4Addr, NspawnError> {
    let path = dir.join("address");
    let text = fs::read_to_string(&path).map_err(NspawnError::io("could not read", &path))?;
    text.trim().parse().map_err(|e: std::net::AddrParseError| {
        NspawnError::io("could not parse the address in", &path)(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            e,
        ))
    })
}

/// Whether sshd answers at `addr` with its banner.
fn ssh_banner(addr: SocketAddr) -> bool {
    let Ok(mut sock) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 4];
    sock.read_exact(&mut buf).is_ok() && &buf == b"SSH-"
}

/// Whether `path` is a mount point (per this process's mount table).
pub(crate) fn is_mountpoint(path: &Path) -> bool {
    mount_points().iter().any(|m| Path::new(m) == path)
}

/// Every mount point, from /proc/self/mountinfo (octal escapes decoded for spaces).
pub(crate) fn mount_points() -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| m.replace("\\040", " "))
        .collect()
}

/// This machine's nameservers, for a host's /etc/resolv.conf (loopback ones would point into the host itself).
fn nameservers() -> String {
    let text = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("nameserver") && !l.contains(" 127.") && !l.contains(" ::1"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_hostnames() {
        assert!(validate_name("web-1").is_ok());
        for bad in ["", "-a", "a-", "Web", "a_b", "a.b", &"x".repeat(41)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn root_is_a_mountpoint() {
        assert!(is_mountpoint(Path::new("/")));
    }
}
