//! Shared helpers for the end-to-end tests: real Debian hosts booted in
//! systemd-nspawn (through `berth-nspawn`, the same code as the nspawn
//! driver), reached through `berth-ssh`.
//!
//! A [`Fleet`] makes one ed25519 test key per fleet, boots its hosts
//! concurrently and removes every one of them when dropped, also while a
//! failing test unwinds. [`assert_no_leftovers`] then proves that nothing of
//! them remains on the machine.

#![allow(clippy::print_stderr)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use berth_nspawn::{Config, Isolation, Machine, State};
use berth_ssh::{Auth, HostKeyPolicy, Output, Session, Target};

mod shape;
pub use shape::{FIREWALL_OFF, LOCK_SECONDS, Shape};

/// Hosts of one test, removed on drop.
pub struct Fleet {
    hosts: Vec<TestHost>,
    prefix: String,
    config: Config,
    /// Holds the test key and the known_hosts files.
    keys: tempfile::TempDir,
}

/// One booted host.
pub struct TestHost {
    machine: Machine,
    key: PathBuf,
    known_hosts: PathBuf,
    root: Mutex<Option<Session>>,
    /// The port sshd listens on once the shape is applied.
    port: AtomicU16,
}

/// A name prefix unique to this process and fleet, short enough for interface and namespace names.
fn unique_prefix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "e{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Removes hosts left by earlier test processes that died without their
/// teardown (Ctrl-C, SIGKILL): names `e<pid>x<n>-<i>` whose pid is gone.
fn sweep_dead_runs(config: &Config) {
    for name in Machine::list(config) {
        let pid = name
            .strip_prefix('e')
            .and_then(|rest| rest.split_once('x'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        let Some(pid) = pid else { continue };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if let Ok(machine) = Machine::open(config, &name)
            && let Err(e) = machine.remove()
        {
            eprintln!("could not remove {name}, left by dead test process {pid}: {e}");
        }
    }
}

impl Fleet {
    /// Boots `n` hosts of the default recipe at once and returns when each answers SSH as root.
    pub fn boot(n: usize) -> Result<Fleet> {
        Self::boot_shaped(n, &Shape::Default)
    }

    /// Boots `n` hosts of `shape` at once; returns when each answers SSH as root with the
    /// shape applied.
    pub fn boot_shaped(n: usize, shape: &Shape) -> Result<Fleet> {
        let fleet = Self::make(n, shape)?;
        fleet.for_each(|h| h.boot(shape))?;
        Ok(fleet)
    }

    /// Boots `n` hosts of `shape` (which must need no setup) at once and calls `each` on every
    /// host the moment its sshd answers, before anyone logged in: `each` makes the host's first
    /// login, under the load of the other boots. Returns what `each` returned, in host order.
    /// The fleet is removed before this returns.
    pub fn boot_each<T: Send>(
        n: usize,
        shape: &Shape,
        each: impl Fn(&TestHost) -> T + Sync,
    ) -> Result<Vec<T>> {
        if !shape.setup().is_empty() {
            bail!("boot_each boots hosts without setup; {shape:?} needs one");
        }
        let fleet = Self::make(n, shape)?;
        let each = &each;
        fleet.for_each(|h| {
            h.machine.start()?;
            Ok(each(h))
        })
    }

    /// Runs `f` on every host at once; the first error wins.
    fn for_each<T: Send>(&self, f: impl Fn(&TestHost) -> Result<T> + Sync) -> Result<Vec<T>> {
        let f = &f;
        std::thread::scope(|s| {
            let runs: Vec<_> = self.hosts.iter().map(|h| s.spawn(move || f(h))).collect();
            runs.into_iter()
                .map(|r| {
                    r.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a host thread panicked")))
                })
                .collect()
        })
    }

    /// Makes `n` stopped hosts of `shape` with a fresh test key.
    fn make(n: usize, shape: &Shape) -> Result<Fleet> {
        berth_nspawn::preflight().context("the end-to-end tests need real hosts")?;
        let keys =
            tempfile::tempdir().context("could not make a temporary folder for the test key")?;
        let key = keys.path().join("id_ed25519");
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "berth-e2e", "-f"])
            .arg(&key)
            .status()
            .context(
                "could not run ssh-keygen; install it with `apt-get install openssh-client`",
            )?;
        if !status.success() {
            bail!("ssh-keygen failed ({status}) making {}", key.display());
        }
        let public = std::fs::read_to_string(key.with_extension("pub"))
            .context("reading the test public key")?;
        // Throw-away hosts the suite controls keep every capability (docs/nspawn.md).
        let config = Config {
            isolation: Isolation::Wide,
            engine_preinstalled: shape.engine_root(),
            release: shape.release().into(),
            ..Config::default()
        };
        sweep_dead_runs(&config);
        let prefix = unique_prefix();
        let mut fleet = Fleet {
            hosts: Vec::new(),
            prefix: prefix.clone(),
            config: config.clone(),
            keys,
        };
        // Created one by one (the first may build the cached root), booted together.
        for i in 0..n {
            let name = format!("{prefix}-{i}");
            let machine = Machine::create(&config, &name, &public)?;
            fleet.hosts.push(TestHost {
                machine,
                key: key.clone(),
                known_hosts: fleet.keys.path().join(format!("known_hosts-{name}")),
                root: Mutex::new(None),
                port: AtomicU16::new(22),
            });
        }
        Ok(fleet)
    }

    /// The hosts, in the order they were made.
    pub fn hosts(&self) -> &[TestHost] {
        &self.hosts
    }

    /// The prefix of every host name of this fleet (what [`assert_no_leftovers`] looks for).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The machines' configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl Drop for Fleet {
    /// Removes every host at once (a host with an engine takes seconds to halt).
    fn drop(&mut self) {
        std::thread::scope(|s| {
            for host in self.hosts.drain(..) {
                s.spawn(move || {
                    let name = host.name().to_string();
                    drop(host.root.lock().map(|mut s| s.take()));
                    if let Err(e) = host.machine.remove() {
                        eprintln!("teardown of test host {name} failed: {e}");
                    }
                });
            }
        });
    }
}

impl TestHost {
    /// Boots the machine and applies `shape` to it.
    fn boot(&self, shape: &Shape) -> Result<()> {
        self.start_checked()?;
        let setup = shape.setup();
        if !setup.is_empty() {
            self.check(&setup)
                .with_context(|| format!("applying the shape {shape:?}"))?;
        }
        if let Some(port) = shape.ssh_port() {
            drop(self.root.lock().map(|mut s| s.take()));
            self.port.store(port, Ordering::SeqCst);
            // The shape replaced the host keys the harness pinned on port 22, and libssh2
            // matches a plain-host line for any port: the harness learns the new key afresh.
            match std::fs::remove_file(&self.known_hosts) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("removing {} after the shape", self.known_hosts.display())
                    });
                }
            }
        }
        Ok(())
    }

    /// Starts the machine and makes sure its engine-facing cgroups are writable.
    fn start_checked(&self) -> Result<()> {
        let started = std::time::Instant::now();
        self.machine.start()?;
        let answered = started.elapsed();
        // berth-init made them writable before systemd started; check, so that an
        // engine test never meets read-only cgroups ("mkdir /sys/fs/cgroup/cpuset/docker: read-only").
        let out = self.run("findmnt -no OPTIONS /sys/fs/cgroup/cpuset")?;
        if !out.stdout_str().starts_with("rw") {
            bail!(
                "{}: the cgroup controllers are not writable ({})",
                self.name(),
                out.stdout_str()
            );
        }
        if started.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "{} was slow to boot: sshd answered after {answered:.1?}, a root command after {:.1?}",
                self.name(),
                started.elapsed()
            );
        }
        Ok(())
    }

    /// The host's name and hostname.
    pub fn name(&self) -> &str {
        self.machine.name()
    }

    /// Its address.
    pub fn address(&self) -> Ipv4Addr {
        self.machine.address()
    }

    /// Its SSH port (another than 22 on [`Shape::RsaOnlyPort`]).
    pub fn port(&self) -> u16 {
        self.port.load(Ordering::SeqCst)
    }

    /// The private key (OpenSSH format) that root and `berth` accept.
    pub fn key_path(&self) -> &Path {
        &self.key
    }

    /// The known_hosts file that pins this host's key.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// The machine underneath.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// An SSH target for `user` (root or berth) with the test key and a pinned host key.
    pub fn target(&self, user: &str) -> Target {
        Target {
            host: self.address().to_string(),
            port: self.port(),
            user: user.into(),
            auth: Auth::KeyFile(self.key.clone()),
            known_hosts: self.known_hosts.clone(),
            policy: HostKeyPolicy::Pin,
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(30),
        }
    }

    /// A new SSH session as `user`.
    pub fn ssh(&self, user: &str) -> Result<Session> {
        Ok(Session::connect(&self.target(user))?)
    }

    /// Runs a command as root (over one kept session).
    pub fn run(&self, command: &str) -> Result<Output> {
        let mut slot = self
            .root
            .lock()
            .map_err(|_| anyhow::anyhow!("a test panicked while holding the session"))?;
        if slot.is_none() {
            *slot = Some(self.ssh("root")?);
        }
        let session = slot.as_ref().context("session just made")?;
        let out = session.exec(command);
        if out.is_err() {
            // A broken session is not reused.
            *slot = None;
        }
        Ok(out?)
    }

    /// Runs a command as root and fails unless it exits 0; returns its trimmed stdout.
    pub fn check(&self, command: &str) -> Result<String> {
        let out = self.run(command)?;
        if !out.success() {
            bail!(
                "`{command}` on {} exited {}: {}\n{}",
                self.name(),
                out.status,
                out.stderr_str(),
                out.stdout_str()
            );
        }
        Ok(out.stdout_str())
    }

    /// Powers the host off (its layer is kept).
    pub fn poweroff(&self) -> Result<()> {
        drop(self.root.lock().map(|mut s| s.take()));
        let started = std::time::Instant::now();
        self.machine.poweroff()?;
        if started.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "{} took {:.1?} to power off; its console said:\n{}",
                self.name(),
                started.elapsed(),
                self.machine.log_tail()
            );
        }
        Ok(())
    }

    /// Boots it again on the same layer.
    pub fn start(&self) -> Result<()> {
        self.start_checked()
    }

    /// Whether it runs.
    pub fn state(&self) -> State {
        self.machine.state()
    }

    /// Takes it off the network: SSH to it then times out.
    pub fn cut_network(&self) -> Result<()> {
        Ok(self.machine.cut_network()?)
    }
}

/// Panics with a list of whatever remains of hosts named `prefix…`.
pub fn assert_no_leftovers(config: &Config, prefix: &str) {
    let left = berth_nspawn::leftovers(config, prefix);
    assert!(left.is_empty(), "test hosts left things behind: {left:#?}");
}
