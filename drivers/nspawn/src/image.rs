//! The cached Debian root (Debian 12 unless the configuration names another release) every machine boots from (read-only, as the
//! overlayfs lower layer).
//!
//! It is built once with debootstrap and customised; its folder name carries
//! a hash of the whole recipe (packages and every file written), so changing
//! the recipe builds a fresh root instead of booting a stale one. Building
//! happens in a temporary folder renamed into place under a lock file, so two
//! processes that both need the root build it once.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cmd::run;
use crate::config::Config;
use crate::error::NspawnError;

/// The Debian release machines boot unless the configuration says otherwise.
pub const DEFAULT_RELEASE: &str = "bookworm";

/// Packages beyond minbase: systemd as PID 1, sshd, what apt needs for HTTPS
/// repositories, and sudo for the second user.
const INCLUDE: &str =
    "systemd,systemd-sysv,openssh-server,dbus,iproute2,ca-certificates,curl,gnupg,sudo,procps";

/// Unique host keys per machine: the cached root has none; each boot makes
/// them once, before sshd starts. Ed25519 (what berth and every current OpenSSH client pick)
/// and ECDSA only: `ssh-keygen -A` also makes a 3072-bit RSA key, which took 0.9 s of a
/// 1.1 s boot, and sshd skips a default key file that does not exist.
const HOSTKEYS_UNIT: &str = "\
[Unit]
Description=berth: generate this machine's own SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N \"\" -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N \"\" -f /etc/ssh/ssh_host_ecdsa_key

[Install]
WantedBy=ssh.service
";

/// The machine's first PID 1, for a moment: a Docker engine inside needs
/// writable cgroup v1 controllers, which nspawn mounts read-only. Remounting
/// them from a unit during boot raced with systemd spawning other units
/// ("Failed at step CGROUP spawning ..."); here nothing else runs yet. Then
/// it becomes systemd.
pub const INIT_PATH: &str = "/usr/local/sbin/berth-init";
const INIT: &str = "\
#!/bin/sh
mount -o remount,rw /sys/fs/cgroup 2>/dev/null
for d in /sys/fs/cgroup/*; do
    mountpoint -q \"$d\" && mount -o remount,bind,rw \"$d\" 2>/dev/null
done
exec /lib/systemd/systemd \"$@\"
";

/// sshd: keys only, root by key, no DNS lookups that stall logins without a resolver.
const SSHD_CONFIG: &str = "\
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
";

/// uid and gid of the `berth` user, fixed by this recipe (`useradd --uid 1000` in a fresh
/// debootstrap root, whose user group then gets the same id). The driver owns that user's files
/// with these, never with ids read from a guest's /etc/passwd, which guest root may change.
pub const BERTH_IDS: (u32, u32) = (1000, 1000);

/// The second user may do anything through sudo without a password.
const SUDOERS: &str = "berth ALL=(ALL:ALL) NOPASSWD:ALL\n";

/// Units a machine must not run. systemd-sysctl would write kernel variables
/// through the writable /proc/sys (SYSTEMD_NSPAWN_API_VFS_WRITABLE) into the
/// machine that hosts it, and failed now and then under load, leaving the
/// host `degraded`.
const MASKED: &[&str] = &["systemd-sysctl.service"];

/// Recipe version: bump when the build steps below change in a way the texts above do not show.
const RECIPE_VERSION: &str = "1";

/// Hex of the recipe hash, the suffix of the cached root's folder.
pub fn recipe_hash() -> String {
    let mut h = Sha256::new();
    // The release is in the folder's name; DEFAULT_RELEASE stays in the hash only so that the
    // hash (and the bookworm roots already built) did not change when other releases came.
    for part in [
        RECIPE_VERSION,
        DEFAULT_RELEASE,
        INCLUDE,
        HOSTKEYS_UNIT,
        INIT,
        SSHD_CONFIG,
        SUDOERS,
    ]
    .into_iter()
    .chain(MASKED.iter().copied())
    {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The cached root's folder for the current recipe (it may not exist yet).
pub fn root_path(config: &Config) -> PathBuf {
    config
        .cache_dir
        .join(format!("{}-{}", config.release, recipe_hash()))
}

/// The cached root with the Docker engine already installed (it may not exist yet): the nspawn
/// driver's machines boot from it so that `create` does not download the engine every time.
pub fn engine_root_path(config: &Config) -> PathBuf {
    config
        .cache_dir
        .join(format!("{}-{}-engine", config.release, recipe_hash()))
}

/// The root a machine of `config` boots from, building it first if needed.
pub fn ensure_for(config: &Config) -> Result<PathBuf, NspawnError> {
    if config.engine_preinstalled {
        ensure_engine(config)
    } else {
        ensure(config)
    }
}

/// Returns the cached root with the engine installed, building it (from the plain root) first
/// if needed.
pub fn ensure_engine(config: &Config) -> Result<PathBuf, NspawnError> {
    let base = ensure(config)?;
    build_once(&engine_root_path(config), |tmp| build_engine(&base, tmp))
}

/// Returns the cached root, building it first if needed.
pub fn ensure(config: &Config) -> Result<PathBuf, NspawnError> {
    let root = root_path(config);
    if root.is_dir() {
        return Ok(root);
    }
    fs::create_dir_all(&config.cache_dir)
        .map_err(NspawnError::io("could not create", &config.cache_dir))?;
    let root = build_once(&root, |tmp| build(config, tmp))?;
    // A new recipe leaves the old roots (about 300 MB each) behind: drop the unused ones.
    prune(config)?;
    Ok(root)
}

/// Builds `root` with `build` unless it exists, once across processes: into a temporary
/// folder, renamed into place under a lock file.
fn build_once(
    root: &Path,
    build: impl FnOnce(&Path) -> Result<(), NspawnError>,
) -> Result<PathBuf, NspawnError> {
    let root = root.to_path_buf();
    if root.is_dir() {
        return Ok(root);
    }
    let lock_path = root.with_extension("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(NspawnError::io("could not open", &lock_path))?;
    // Blocks while another process builds; it released the lock once the root was in place.
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| NspawnError::io("could not lock", &lock_path)(e.into()))?;
    if root.is_dir() {
        return Ok(root);
    }
    let tmp = root.with_extension("building");
    if tmp.exists() {
        // A build that died half-way: start over.
        fs::remove_dir_all(&tmp).map_err(NspawnError::io("could not remove", &tmp))?;
    }
    let result = build(&tmp).and_then(|()| {
        fs::rename(&tmp, &root).map_err(NspawnError::io("could not rename into place", &tmp))
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    drop(lock);
    result.map(|()| root)
}

/// The engine root: a copy of the plain root with Debian's docker.io installed, its services
/// enabled but not started (policy-rc.d), and no resolver or package lists baked in.
fn build_engine(base: &Path, dir: &Path) -> Result<(), NspawnError> {
    let (base_s, dir_s) = (base.to_string_lossy(), dir.to_string_lossy());
    run("cp", &["-a", "--reflink=auto", &base_s, &dir_s])?;
    let policy = dir.join("usr/sbin/policy-rc.d");
    write(&policy, "#!/bin/sh\nexit 101\n", 0o755)?;
    let resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    write(&dir.join("etc/resolv.conf"), &resolv, 0o644)?;
    let install = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null";
    let result = run("chroot", &[&dir_s, "sh", "-c", install]);
    fs::remove_file(&policy).map_err(NspawnError::io("could not remove", &policy))?;
    write(&dir.join("etc/resolv.conf"), "", 0o644)?;
    result?;
    run("chroot", &[&dir_s, "apt-get", "clean"])?;
    Ok(())
}

/// Removes cached roots of other recipes that no machine boots from; returns what it removed.
/// A root being built or used by another process is kept (its lock is held).
pub fn prune(config: &Config) -> Result<Vec<PathBuf>, NspawnError> {
    let current = root_path(config);
    let in_use: Vec<PathBuf> = fs::read_dir(config.data_dir.join("machines"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|m| fs::read_to_string(m.path().join("lower")).ok())
        .map(|l| PathBuf::from(l.trim()))
        .collect();
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(&config.cache_dir) else {
        return Ok(removed);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_root = name.starts_with(&format!("{}-", config.release))
            && !name.contains('.')
            && path.is_dir();
        if !is_root || path == current || path == engine_root_path(config) || in_use.contains(&path)
        {
            continue;
        }
        let lock_path = path.with_extension("lock");
        let Ok(lock) = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
        else {
            continue;
        };
        if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            continue;
        }
        fs::remove_dir_all(&path).map_err(NspawnError::io("could not remove", &path))?;
        let _ = fs::remove_file(&lock_path);
        removed.push(path);
    }
    Ok(removed)
}

/// debootstrap plus the customisation, into `dir`.
fn build(config: &Config, dir: &Path) -> Result<(), NspawnError> {
    let dir_s = dir.to_string_lossy();
    run(
        "debootstrap",
        &[
            "--variant=minbase",
            &format!("--include={INCLUDE}"),
            &config.release,
            &dir_s,
            &config.mirror,
        ],
    )?;
    let ssh = dir.join("etc/ssh");
    for entry in fs::read_dir(&ssh).map_err(NspawnError::io("could not read", &ssh))? {
        let path = entry
            .map_err(NspawnError::io("could not read", &ssh))?
            .path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("ssh_host_"))
        {
            fs::remove_file(&path).map_err(NspawnError::io("could not remove", &path))?;
        }
    }
    let units = dir.join("etc/systemd/system");
    write(&units.join("berth-hostkeys.service"), HOSTKEYS_UNIT, 0o644)?;
    enable(&units, "ssh.service.wants", "berth-hostkeys.service")?;
    write(&dir.join(INIT_PATH.trim_start_matches('/')), INIT, 0o755)?;
    for unit in MASKED {
        mask(&units, unit)?;
    }
    write(
        &dir.join("etc/ssh/sshd_config.d/berth.conf"),
        SSHD_CONFIG,
        0o644,
    )?;
    write(&dir.join("etc/sudoers.d/berth"), SUDOERS, 0o440)?;
    run(
        "chroot",
        &[
            &dir_s,
            "useradd",
            "--uid",
            "1000",
            "--create-home",
            "--shell",
            "/bin/bash",
            "berth",
        ],
    )?;
    for home in ["root", "home/berth"] {
        let ssh_dir = dir.join(home).join(".ssh");
        fs::create_dir_all(&ssh_dir).map_err(NspawnError::io("could not create", &ssh_dir))?;
        fs::set_permissions(&ssh_dir, fs::Permissions::from_mode(0o700))
            .map_err(NspawnError::io("could not chmod", &ssh_dir))?;
    }
    run(
        "chroot",
        &[&dir_s, "chown", "berth:berth", "/home/berth/.ssh"],
    )?;
    // Each host gets the machine's nameserver at boot; nothing baked in here.
    write(&dir.join("etc/resolv.conf"), "", 0o644)?;
    // An empty machine-id lets each host get its own at boot.
    write(&dir.join("etc/machine-id"), "", 0o444)?;
    run("chroot", &[&dir_s, "apt-get", "clean"])?;
    Ok(())
}

/// Enables `unit` by the symlink `systemctl enable` would make.
fn enable(units: &Path, wants: &str, unit: &str) -> Result<(), NspawnError> {
    let dir = units.join(wants);
    fs::create_dir_all(&dir).map_err(NspawnError::io("could not create", &dir))?;
    let link = dir.join(unit);
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(format!("/etc/systemd/system/{unit}"), &link)
        .map_err(NspawnError::io("could not link", &link))
}

/// Masks `unit` by the symlink to /dev/null that `systemctl mask` would make.
fn mask(units: &Path, unit: &str) -> Result<(), NspawnError> {
    let link = units.join(unit);
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink("/dev/null", &link).map_err(NspawnError::io("could not link", &link))
}

/// Writes a file with a mode, making its folder. For paths the driver itself owns (its records,
/// a root being built before any guest ran in it); never for a machine's root, whose links the
/// guest made: that is [`crate::guest_fs::GuestRoot`]'s job.
pub(crate) fn write(path: &Path, text: &str, mode: u32) -> Result<(), NspawnError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(NspawnError::io("could not create", dir))?;
    }
    let _ = fs::remove_file(path);
    let mut f: File = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(NspawnError::io("could not write", path))?;
    f.write_all(text.as_bytes())
        .map_err(NspawnError::io("could not write", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(NspawnError::io("could not chmod", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_path_carries_the_recipe_hash() {
        let config = Config {
            cache_dir: "/c".into(),
            ..Config::default()
        };
        let p = root_path(&config);
        assert_eq!(p, PathBuf::from(format!("/c/bookworm-{}", recipe_hash())));
        assert_eq!(recipe_hash().len(), 12);
    }

    #[test]
    fn prune_keeps_the_current_root_and_roots_in_use() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            cache_dir: dir.path().join("cache"),
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        let (old, used, current) = (
            config.cache_dir.join("bookworm-000000000000"),
            config.cache_dir.join("bookworm-111111111111"),
            root_path(&config),
        );
        let engine = engine_root_path(&config);
        for d in [&old, &used, &current, &engine] {
            fs::create_dir_all(d.join("etc")).expect("make a root");
        }
        write(
            &config.machine_dir("m").join("lower"),
            &used.to_string_lossy(),
            0o644,
        )
        .expect("machine record");
        assert_eq!(prune(&config).expect("prune"), vec![old.clone()]);
        assert!(!old.exists() && used.exists() && current.exists() && engine.exists());
    }

    #[test]
    fn host_keys_are_made_without_the_slow_rsa_key() {
        assert!(
            !HOSTKEYS_UNIT.contains("-A"),
            "ssh-keygen -A also makes an RSA key"
        );
        let made: Vec<&str> = HOSTKEYS_UNIT
            .lines()
            .filter_map(|l| l.strip_prefix("ExecStart=/usr/bin/ssh-keygen -q -t "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert_eq!(made, ["ed25519", "ecdsa"]);
    }

    #[test]
    fn write_sets_the_mode() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path().join("a/b");
        write(&p, "x", 0o440).expect("write");
        let mode = fs::metadata(&p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o440);
    }
}
