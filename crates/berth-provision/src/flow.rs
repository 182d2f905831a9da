//! The provisioning run itself: detect, name, install, certificates,
//! configure, wait. Each step is a function; `provision` strings them together
//! and turns a failure into a [`ProvisionError`] naming the step.

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use berth_net::{Backoff, HostPort};

use crate::clock::{self, Clock};
use crate::config::EngineConfig;
use crate::daemon_json::{self, DAEMON_JSON_PATH, DaemonPlan};
use crate::dropin::{CA_PATH, SERVER_CERT_PATH, SERVER_KEY_PATH, render_dropin};
use crate::error::{DROPIN_PATH, ErrorKind, ProvisionError, tail};
use crate::facts::{DETECT_SCRIPT, HostFacts, check_hostname};
use crate::remote::{Remote, RemoteError};
use crate::runner::Runner;
use crate::step::{Event, Step};

pub(crate) const HOSTNAME_SCRIPT: &str = include_str!("../templates/scripts/hostname.sh");
pub(crate) const INSTALL_SCRIPT: &str = include_str!("../templates/scripts/install.sh");
pub(crate) const WRITE_FILES_SCRIPT: &str = include_str!("../templates/scripts/write-files.sh");
pub(crate) const CONFIGURE_SCRIPT: &str = include_str!("../templates/scripts/configure.sh");

/// Prints the host's TCP listeners on port `$1` that others can reach (not loopback-only), as
/// `ss` shows them; nothing when none listens or `ss` is missing.
const LISTENING_SCRIPT: &str = "ss -Hltn 2>/dev/null | awk -v p=\":$1\" '$4 ~ p\"$\" && $4 !~ /^(127\\.|\\[::1\\])/ { print $1, $4 }'";

/// The configure script's exit status when the engine failed to start.
const ENGINE_START_FAILED: i32 = 42;

/// How many lines of installer output an error quotes.
const INSTALL_TAIL_LINES: usize = 25;

/// The first and the longest pause between two readiness polls.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How long the engine may fail to answer before berth asks the host whether it listens (a
/// restarted dockerd listens within a second or two; a firewall never lets it through).
const DIAGNOSE_AFTER: Duration = Duration::from_secs(4);
/// How often that question is asked again while the wait goes on.
const DIAGNOSE_EVERY: Duration = Duration::from_secs(10);
/// How long one plain TCP connect from here to the engine's port may take.
const REACH_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens (and drops) a plain TCP connection from this computer to `address`: whether the port
/// can be reached at all, apart from TLS. Tests replace it, so that they never dial anything.
pub type Reach = fn(&HostPort, Duration) -> Result<(), String>;

/// The real [`Reach`]: a TCP connect through berth-net.
pub fn tcp_reach(address: &HostPort, timeout: Duration) -> Result<(), String> {
    berth_net::connect_first(address, timeout)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// What to provision and how.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// The machine's name; it becomes the host's name when `set_hostname` is on.
    pub machine_name: &'a str,
    /// The address the client dials (an IP or DNS name), for messages.
    pub address: &'a str,
    /// The engine's options.
    pub engine: &'a EngineConfig,
    /// Make the host's name the machine's name.
    pub set_hostname: bool,
    /// Install the engine when missing (off for `regenerate-certs`, which must never install).
    pub install_engine: bool,
    /// How long to wait for the engine to answer over TLS after the restart.
    pub ready_timeout: Duration,
    /// Set by the caller when the run must stop (berth was interrupted): checked before each
    /// step and between readiness polls. Whatever blocks inside a step is the transport's to end.
    pub stop: Option<&'a AtomicBool>,
    /// How berth checks that the engine's port can be reached from here when the engine does
    /// not answer (see [`tcp_reach`]).
    pub reach: Reach,
    /// Settles this run's engine options from what detection found (berth's live-restore
    /// decision reads daemon.json there), so that the host is not asked twice.
    pub adjust_engine: Option<EngineHook<'a>>,
}

/// Changes a run's engine options once the host's facts are known, returning warnings for
/// the user (the provisioner sends them as [`Event::Warning`]).
#[derive(Clone, Copy)]
pub struct EngineHook<'a>(pub &'a dyn Fn(&HostFacts, &mut EngineConfig) -> Vec<String>);

impl std::fmt::Debug for EngineHook<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineHook")
    }
}

impl<'a> Plan<'a> {
    /// A full provisioning of `machine_name` at `address`: hostname, install when missing, 60 s wait.
    pub fn new(machine_name: &'a str, address: &'a str, engine: &'a EngineConfig) -> Self {
        Self {
            machine_name,
            address,
            engine,
            set_hostname: true,
            install_engine: true,
            ready_timeout: Duration::from_secs(60),
            stop: None,
            reach: tcp_reach,
            adjust_engine: None,
        }
    }
}

/// The engine's TLS files, as the caller made them (it keeps copies in the machine's folder).
/// Its `Debug` leaves the key out: values like this end up in logs and error reports.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerCerts {
    /// The machine's CA certificate (PEM), which the engine trusts for client certificates.
    pub ca_pem: String,
    /// The engine's server certificate (PEM).
    pub cert_pem: String,
    /// The engine's private key (PEM, unencrypted: dockerd cannot read encrypted keys).
    pub key_pem: String,
}

impl std::fmt::Debug for ServerCerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCerts")
            .field("ca_pem", &self.ca_pem)
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// What a successful run found and did.
#[derive(Debug, Clone)]
pub struct Outcome<V> {
    /// The host as detected (hostname updated when it was set).
    pub facts: HostFacts,
    /// What the readiness check returned (the engine's version, for the binary).
    pub engine: V,
    /// The drop-in now on the host.
    pub dropin: String,
    /// Whether this run changed the drop-in (false on an idempotent re-run).
    pub dropin_changed: bool,
    /// Whether the engine was restarted (a restart stops containers unless live-restore is on).
    pub restarted: bool,
    /// The steps that ran, in order (skipped ones left out).
    pub steps_done: Vec<Step>,
}

/// Provisions the host behind `remote` as `plan` says.
///
/// `certs` is called once the host's names and addresses are known, to make
/// (or load) the server certificate; `ready` is polled after the restart until
/// it succeeds or `plan.ready_timeout` passes (it should probe the engine over
/// TLS with the client certificate). `events` hears about every step and
/// remote command. Running it twice leaves the same files and drop-in, and the
/// second run restarts nothing when nothing changed.
pub fn provision<V, CE: Display, RE: Display>(
    remote: &dyn Remote,
    plan: &Plan<'_>,
    certs: &mut dyn FnMut(&HostFacts) -> Result<ServerCerts, CE>,
    ready: &mut dyn FnMut() -> Result<V, RE>,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<Outcome<V>, ProvisionError> {
    let mut run = Run {
        runner: Runner::new(remote, events),
        plan,
        done: Vec::new(),
    };
    run.all(certs, ready)
}

/// Whether docker.service is active on the host (no sudo needed), for `berth ls`/`status`.
pub fn engine_running(remote: &dyn Remote) -> Result<bool, RemoteError> {
    Ok(remote
        .run("systemctl is-active --quiet docker.service")?
        .success())
}

struct Run<'a, 'p> {
    runner: Runner<'a>,
    plan: &'p Plan<'p>,
    done: Vec<Step>,
}

impl Run<'_, '_> {
    fn fail(&self, step: Step, kind: ErrorKind) -> ProvisionError {
        ProvisionError {
            step,
            host: self.plan.address.to_owned(),
            kind: Box::new(kind),
            done: self.done.clone(),
        }
    }

    /// Runs one step between its started and done events, naming it in any error.
    fn step<T>(
        &mut self,
        step: Step,
        body: impl FnOnce(&mut Self) -> Result<T, ErrorKind>,
    ) -> Result<T, ProvisionError> {
        if self.stopped() {
            return Err(self.fail(step, ErrorKind::Interrupted));
        }
        self.runner.emit(Event::StepStarted(step));
        match body(self) {
            Ok(value) => {
                self.done.push(step);
                self.runner.emit(Event::StepDone(step));
                Ok(value)
            }
            Err(kind) => Err(self.fail(step, kind)),
        }
    }

    fn stopped(&self) -> bool {
        self.plan.stop.is_some_and(|s| s.load(Ordering::SeqCst))
    }

    fn skip(&mut self, step: Step, reason: &str) {
        self.runner.emit(Event::StepSkipped { step, reason });
    }

    fn all<V, CE: Display, RE: Display>(
        &mut self,
        certs: &mut dyn FnMut(&HostFacts) -> Result<ServerCerts, CE>,
        ready: &mut dyn FnMut() -> Result<V, RE>,
    ) -> Result<Outcome<V>, ProvisionError> {
        let plan = self.plan;
        let (mut facts, daemon, engine) = self.step(Step::Detecting, |run| {
            // Refuse bad input before touching the host.
            plan.engine.validate()?;
            if plan.set_hostname {
                check_hostname(plan.machine_name)?;
            }
            let mut facts = run.detect()?;
            let mut engine = plan.engine.clone();
            if let Some(EngineHook(adjust)) = plan.adjust_engine {
                for warning in adjust(&facts, &mut engine) {
                    run.runner.emit(Event::Warning(&warning));
                }
            }
            // Refuse what berth cannot live with before changing anything.
            let daemon = run.coexist(&mut facts, &engine)?;
            Ok((facts, daemon, engine))
        })?;

        if !plan.set_hostname {
            self.skip(Step::SettingHostname, "the hostname is left as it is");
        } else if facts.named(plan.machine_name) {
            self.skip(Step::SettingHostname, "the host already has this name");
        } else {
            self.step(Step::SettingHostname, |run| {
                run.runner.checked(
                    "set the hostname",
                    HOSTNAME_SCRIPT,
                    &[plan.machine_name],
                    None,
                )
            })?;
            facts.hostname = plan.machine_name.to_owned();
            facts.hosts_line = Some(format!("127.0.1.1\t{}", plan.machine_name));
        }

        if facts.engine_installed {
            self.skip(
                Step::InstallingEngine,
                "the Docker engine is already installed",
            );
        } else {
            facts = self.step(Step::InstallingEngine, |run| run.install(&facts))?;
        }

        let certs_changed = self.step(Step::Certificates, |run| {
            let server = certs(&facts).map_err(|e| ErrorKind::Certificates(e.to_string()))?;
            run.upload_certs(&server)
        })?;

        let dropin = render_dropin(&facts, &engine);
        let (dropin_changed, restarted) = self.step(Step::Configuring, |run| {
            run.configure(&dropin, daemon.new_text.as_deref(), certs_changed)
        })?;

        let engine = self.step(Step::WaitingForEngine, |run| run.wait(ready))?;

        Ok(Outcome {
            facts,
            engine,
            dropin,
            dropin_changed,
            restarted,
            steps_done: self.done.clone(),
        })
    }

    fn detect(&mut self) -> Result<HostFacts, ErrorKind> {
        let sent = std::time::SystemTime::now();
        let output = self
            .runner
            .script("detect the host", DETECT_SCRIPT, &[], None)?;
        let answered = std::time::SystemTime::now();
        let facts = HostFacts::parse(&output.stdout_text())?;
        facts.check_supported()?;
        // Before anything changes: a clock hours off breaks the certificates berth makes now.
        if let Some(host_now) = facts.clock {
            match clock::compare(host_now, sent, answered) {
                Clock::InStep => {}
                Clock::Off(note) => self.runner.emit(Event::Warning(&note)),
                Clock::TooFar(kind) => return Err(kind),
            }
        }
        if facts.uid != 0 && !facts.passwordless_sudo {
            return Err(ErrorKind::NoSudo {
                user: self.runner.user().to_owned(),
                host: self.plan.address.to_owned(),
            });
        }
        self.runner.sudo = facts.uid != 0;
        Ok(facts)
    }

    /// Checks that berth's drop-in can take effect beside what is on the host, reports the
    /// drop-ins it keeps, and decides what happens to daemon.json.
    fn coexist(
        &mut self,
        facts: &mut HostFacts,
        engine: &EngineConfig,
    ) -> Result<DaemonPlan, ErrorKind> {
        let ours = DROPIN_PATH.rsplit('/').next().unwrap_or(DROPIN_PATH);
        if let Some(file) = facts.exec_dropins.iter().find(|f| {
            // Drop-ins apply in file-name order; an ExecStart before berth's is cleared by it.
            f.rsplit('/').next().is_some_and(|name| name > ours)
        }) {
            return Err(ErrorKind::ForeignExecStart { file: file.clone() });
        }
        if !facts.other_dropins.is_empty() {
            let note = format!(
                "other drop-ins of docker.service, kept as they are: {}",
                facts.other_dropins.join(", ")
            );
            self.runner.emit(Event::Detail(&note));
        }
        let daemon = daemon_json::plan(facts.daemon_json.as_deref(), engine)?;
        if !daemon.moved_hosts.is_empty() {
            let note = format!(
                "moving \"hosts\" ({}) from {DAEMON_JSON_PATH} into berth's drop-in (dockerd refuses it there beside -H flags); the file's other keys stay, the old file is kept as daemon.json.berth-previous",
                daemon.moved_hosts.join(" ")
            );
            self.runner.emit(Event::Detail(&note));
            for host in &daemon.moved_hosts {
                if !facts.moved_hosts.contains(host) {
                    facts.moved_hosts.push(host.clone());
                }
            }
        }
        Ok(daemon)
    }

    fn install(&mut self, facts: &HostFacts) -> Result<HostFacts, ErrorKind> {
        if !self.plan.install_engine || !self.plan.engine.install {
            return Err(ErrorKind::EngineMissing);
        }
        let url = self.plan.engine.install_url.as_deref().unwrap_or("");
        let (status, last) = self.runner.stream(
            "install the engine",
            INSTALL_SCRIPT,
            &[url],
            INSTALL_TAIL_LINES,
        )?;
        if status != 0 {
            return Err(ErrorKind::InstallFailed {
                status,
                tail: last.join("\n"),
            });
        }
        // The install decides the dockerd path and whether a socket unit exists: look again.
        let output = self.runner.script(
            "detect the host after the install",
            DETECT_SCRIPT,
            &[],
            None,
        )?;
        let mut after = HostFacts::parse(&output.stdout_text())?;
        if !after.engine_installed {
            return Err(ErrorKind::NoEngineAfterInstall);
        }
        // Keep what this run already set (the hostname) and what detection as root may not repeat.
        after.hostname.clone_from(&facts.hostname);
        after.moved_hosts.clone_from(&facts.moved_hosts);
        after.hosts_line.clone_from(&facts.hosts_line);
        after.uid = facts.uid;
        after.passwordless_sudo = facts.passwordless_sudo;
        Ok(after)
    }

    /// Uploads the engine's TLS files in one round trip; true when any changed.
    fn upload_certs(&mut self, certs: &ServerCerts) -> Result<bool, ErrorKind> {
        let files: [(&str, &str, &str); 3] = [
            (CA_PATH, "0644", &certs.ca_pem),
            (SERVER_CERT_PATH, "0644", &certs.cert_pem),
            (SERVER_KEY_PATH, "0600", &certs.key_pem),
        ];
        let sizes: Vec<String> = files.iter().map(|(_, _, c)| c.len().to_string()).collect();
        let mut args: Vec<&str> = Vec::new();
        let mut stdin: Vec<u8> = Vec::new();
        for ((path, mode, content), size) in files.iter().zip(&sizes) {
            args.extend([*path, *mode, size.as_str()]);
            stdin.extend_from_slice(content.as_bytes());
        }
        let output = self.runner.checked(
            "upload the engine's certificates",
            WRITE_FILES_SCRIPT,
            &args,
            Some(&stdin),
        )?;
        Ok(output.stdout_text().contains("changed=1"))
    }

    /// Installs the drop-in and restarts the engine when needed; returns (changed, restarted).
    fn configure(
        &mut self,
        dropin: &str,
        daemon: Option<&str>,
        certs_changed: bool,
    ) -> Result<(bool, bool), ErrorKind> {
        let size = dropin.len().to_string();
        let daemon_size = daemon.map_or_else(|| "-".to_owned(), |d| d.len().to_string());
        let mut stdin = dropin.as_bytes().to_vec();
        stdin.extend_from_slice(daemon.unwrap_or_default().as_bytes());
        let output = self.runner.script(
            "install the drop-in and restart the engine",
            CONFIGURE_SCRIPT,
            &[
                DROPIN_PATH,
                &size,
                if certs_changed { "1" } else { "0" },
                dropin_mode(dropin),
                DAEMON_JSON_PATH,
                &daemon_size,
            ],
            Some(&stdin),
        )?;
        match output.status {
            0 => {
                let text = output.stdout_text();
                Ok((text.contains("changed=1"), text.contains("restarted=1")))
            }
            ENGINE_START_FAILED => {
                let text = output.stdout_text();
                let (journal, rollback) = match text.trim_end().rsplit_once('\n') {
                    Some((journal, last)) if last.starts_with("rollback=") => (journal, last),
                    _ => (text.as_str(), ""),
                };
                let restored = match rollback {
                    "rollback=running" => "berth put the previous drop-in and daemon.json back and the engine runs again as it did before".to_owned(),
                    "rollback=stopped" => "berth put the previous drop-in and daemon.json back; the engine was not running before and is left stopped".to_owned(),
                    _ => format!("berth put the previous drop-in and daemon.json back, but the engine did not start with them either (see `systemctl status docker` on the host); the drop-in it tried is gone, the one before is at {DROPIN_PATH}"),
                };
                Err(ErrorKind::EngineStart {
                    journal: tail(journal, 40),
                    restored,
                })
            }
            status => Err(ErrorKind::Command {
                purpose: "install the drop-in and restart the engine".to_owned(),
                status,
                stderr: tail(&output.stderr_text(), 20),
            }),
        }
    }

    /// Polls `ready` until it succeeds or the deadline passes. While it fails, berth asks the
    /// host now and then whether dockerd listens on the port: when it does and this computer
    /// cannot even open a TCP connection to it, something between drops the port, and waiting
    /// out the deadline would only delay saying so.
    fn wait<V, RE: Display>(
        &mut self,
        ready: &mut dyn FnMut() -> Result<V, RE>,
    ) -> Result<V, ErrorKind> {
        let started = Instant::now();
        let port = self.plan.engine.port;
        let address = HostPort::new(self.plan.address, port);
        let note = format!(
            "waiting for the engine to answer over TLS on {address} (up to {}s)",
            self.plan.ready_timeout.as_secs()
        );
        self.runner.emit(Event::Detail(&note));
        let mut backoff = Backoff::new(
            FIRST_BACKOFF,
            MAX_BACKOFF,
            started + self.plan.ready_timeout,
        );
        let mut next_diagnosis = started + DIAGNOSE_AFTER;
        loop {
            let last_error = match ready() {
                Ok(value) => return Ok(value),
                Err(e) => e.to_string(),
            };
            if self.stopped() {
                return Err(ErrorKind::Interrupted);
            }
            if Instant::now() >= next_diagnosis {
                next_diagnosis = Instant::now() + DIAGNOSE_EVERY;
                if let Some(kind) = self.diagnose(&address, &last_error) {
                    return Err(kind);
                }
            }
            // A short backoff between polls, never past the deadline.
            if !backoff.wait() {
                return Err(ErrorKind::NotReady {
                    port,
                    waited: started.elapsed(),
                    last_error,
                    journal: self.journal(),
                });
            }
        }
    }

    /// The engine listens on the host, but its port cannot be reached from here: a firewall.
    /// None when the port can be reached (the trouble is elsewhere: TLS, a slow engine) or the
    /// host cannot say (no `ss`): the wait goes on.
    fn diagnose(&mut self, address: &HostPort, last_error: &str) -> Option<ErrorKind> {
        let unreachable = (self.plan.reach)(address, REACH_TIMEOUT).err()?;
        let output = self
            .runner
            .script(
                "check whether the engine listens",
                LISTENING_SCRIPT,
                &[&address.port.to_string()],
                None,
            )
            .ok()?;
        let listener = output
            .stdout_text()
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())?
            .to_owned();
        let event = format!("the engine listens on the host ({listener}) but {unreachable}");
        self.runner.emit(Event::Detail(&event));
        Some(ErrorKind::Unreachable {
            machine: self.plan.machine_name.to_owned(),
            address: address.to_string(),
            listener,
            connect_error: unreachable,
            last_error: last_error.to_owned(),
        })
    }

    /// The tail of the engine's journal, or why it could not be read.
    fn journal(&mut self) -> String {
        match self.runner.script(
            "read the engine's journal",
            "journalctl -u docker.service -n 30 --no-pager 2>&1",
            &[],
            None,
        ) {
            Ok(output) => tail(&output.stdout_text(), 30),
            Err(e) => format!("(the journal could not be read: {e})"),
        }
    }
}

/// The drop-in's mode on the host: 0600 when it carries `Environment=` values (`--engine-env`
/// is where proxies with passwords and tokens go), else 0644 like the packaged units.
fn dropin_mode(dropin: &str) -> &'static str {
    if dropin_mode_bits(dropin) == 0o600 {
        "0600"
    } else {
        "0644"
    }
}

/// [`dropin_mode`] as permission bits, for a drop-in written into a guest's root before it
/// boots: the same mode provisioning then finds and keeps.
pub fn dropin_mode_bits(dropin: &str) -> u32 {
    if dropin
        .lines()
        .any(|l| l.trim_start().starts_with("Environment="))
    {
        0o600
    } else {
        0o644
    }
}
