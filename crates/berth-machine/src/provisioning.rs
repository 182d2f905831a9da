//! Running the provisioner on a machine of the store: SSH in with the pinned host key, make or
//! reuse the certificates, provision, and record what happened, success or failure, so that a
//! failed run leaves a machine that `berth provision` can finish and `berth rm` can remove.

use std::time::Duration;

use crate::record::{EngineUrl, MachineState};
use berth_net::HostPort;
use berth_provision::{Plan, Step};
use berth_ssh::{HostKeyPolicy, Session};
use time::OffsetDateTime;

use crate::certs::{self, Renewal};
use crate::contexts;
use crate::driver::Machines;
use crate::error::{Context as _, MachineError};
use crate::event::Event;
use crate::handle::MachineHandle;
use crate::interrupt::Interrupt;
use crate::live_restore;

/// How long one engine probe may take while waiting for the engine.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a provisioning run should do beyond the defaults.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Which certificates to keep and which to make anew.
    pub renewal: Renewal,
    /// Install the engine when it is missing; off for `regenerate-certs`, which must never install.
    pub install_engine: bool,
}

/// Connects, provisions and records the result. The caller holds the machine's lock.
///
/// On failure the record is saved in state Error with the step and the host's words, and the
/// error is returned for the caller to report. When `interrupt` comes, the SSH session is ended
/// (the remote command under way loses its connection) and the record says at which step.
pub fn provision(
    machine: &mut MachineHandle,
    policy: Option<HostKeyPolicy>,
    options: Options,
    interrupt: &Interrupt,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let result = run(machine, policy, options, interrupt, events);
    let record = machine.record_mut();
    match &result {
        Ok(()) => {
            record.state = MachineState::Running;
            record.error = None;
            record.provisioned_at = Some(OffsetDateTime::now_utc());
        }
        Err(MachineError::Interrupted { step, .. }) => {
            record.state = MachineState::Error;
            record.error = Some(interrupted_note(step));
        }
        Err(err) => {
            record.state = MachineState::Error;
            record.error = Some(err.full_message());
        }
    }
    machine
        .save()
        .context("cannot record the result of provisioning")?;
    result
}

/// What the record's error says after an interrupt.
pub(crate) fn interrupted_note(step: &str) -> String {
    format!("interrupted (Ctrl-C) at step \"{step}\"")
}

fn run(
    handle: &mut MachineHandle,
    policy: Option<HostKeyPolicy>,
    options: Options,
    interrupt: &Interrupt,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let name = handle.record().name.clone();
    // This run's options: the record's; the provisioner adds what berth decides about
    // live-restore once it has read daemon.json (see `live_restore::adjust`).
    let engine = handle.record().engine.clone();
    // Asked before anything changes: what runs now, and whether a restart would stop it.
    let before = live_restore::engine_before(handle);
    let target = handle.ssh_target(policy)?;
    let (machine, record, client_tls) = handle.split_mut();
    let interrupted = |step: Step| MachineError::interrupted(&name, step.to_string());
    if interrupt.is_triggered() {
        return Err(interrupted(Step::Connecting));
    }
    events(Event::Step(&Step::Connecting.to_string()));
    // The connect itself is bounded by the target's connect timeout; it is not cut short.
    let connected = Session::connect(&target);
    if interrupt.is_triggered() {
        return Err(interrupted(Step::Connecting));
    }
    let session =
        connected.with_context(|| format!("{} to {} failed", Step::Connecting, target.addr()))?;
    events(Event::StepDone(&Step::Connecting.to_string()));
    // From here on an interrupt ends the session: the command under way fails at once, and so
    // does every later one, so the provisioner stops at the step it was in.
    let aborter = session.aborter()?;
    let _hook = interrupt.on_trigger(move || aborter.abort());
    record.host_key = Some(session.host_key_fingerprint());
    let engine_address = HostPort::new(target.host.clone(), engine.port);
    record.url = Some(EngineUrl::new(engine_address.clone())?);
    record.steps_done = vec![Step::Connecting];
    machine.save(record)?;

    let adjust = |facts: &berth_provision::HostFacts,
                  engine: &mut berth_provision::EngineConfig| {
        live_restore::adjust(engine, facts.daemon_json.as_deref(), &before)
    };
    let address = target.host.clone();
    let mut plan = Plan::new(machine.name(), &address, &engine);
    plan.adjust_engine = Some(berth_provision::EngineHook(&adjust));
    plan.install_engine = options.install_engine;
    plan.stop = Some(interrupt.flag());
    // The closure changes only the record's TLS section; the rest stays readable beside it.
    let machine_name = &record.name;
    let tls = &mut record.tls;
    let mut make_certs =
        |facts: &berth_provision::HostFacts| -> Result<berth_provision::ServerCerts, MachineError> {
            if interrupt.is_triggered() {
                return Err(interrupted(Step::Certificates));
            }
            let mut sans = vec![
                address.clone(),
                facts.hostname.clone(),
                machine_name.to_string(),
            ];
            sans.extend(facts.addresses.iter().cloned());
            sans.extend(tls.extra_sans.iter().cloned());
            let mut seen = std::collections::HashSet::new();
            sans.retain(|s| !s.is_empty() && seen.insert(s.clone()));
            let made = certs::ensure(machine, tls, &sans, options.renewal)?;
            // The configuration the engine was asked with before no longer opens it.
            if made.new_client {
                client_tls.forget();
            }
            Ok(made.server)
        };
    // The provisioner runs on this (blocking) thread; the probe runs on the async runtime.
    // The client configuration is the handle's: built once (before, when the engine was
    // asked what it runs, or at the first poll, once the certificates are made) and kept for
    // every poll and for the question after a restart, unless new certificates replaced it.
    let mut ready = || -> Result<berth_engine::EngineVersion, MachineError> {
        if interrupt.is_triggered() {
            return Err(interrupted(Step::WaitingForEngine));
        }
        let config = client_tls.get(machine)?;
        let version = berth_engine::block_on(async {
            berth_engine::Engine::with_config(engine_address.clone(), &config, PROBE_TIMEOUT)?
                .probe()
                .await
        })?;
        Ok(version)
    };
    let outcome =
        berth_provision::provision(&session, &plan, &mut make_certs, &mut ready, &mut |event| {
            match event {
                // A warning from the host (a clock minutes off) is the user's to read, also
                // without --debug and after the progress bars are gone.
                berth_provision::Event::Warning(text) => events(Event::Warn(text)),
                event => events(Event::Provision(event)),
            }
        });
    match outcome {
        Ok(outcome) => {
            record.steps_done.extend(outcome.steps_done.iter().copied());
            if outcome.restarted {
                events(Event::Debug("the engine was restarted"));
                report_survivors(handle, &before.running, events);
            }
            Ok(())
        }
        Err(err) => {
            record.steps_done.extend(err.done.iter().copied());
            if interrupt.is_triggered() {
                return Err(interrupted(err.step));
            }
            Err(err.into())
        }
    }
}

/// Says whether the containers that ran before the restart still run, with the same start
/// times (a container started again counts as stopped).
fn report_survivors(
    machine: &MachineHandle,
    before: &[berth_engine::RunningContainer],
    events: &mut dyn FnMut(Event<'_>),
) {
    if before.is_empty() {
        return;
    }
    match live_restore::running_after(machine) {
        Some(after) => {
            let lost = live_restore::lost(before, &after);
            if lost.is_empty() {
                events(Event::Detail(&format!(
                    "{} running containers kept running through the engine restart",
                    before.len()
                )));
            } else {
                events(Event::Warn(&format!(
                    "the engine restart stopped these containers: {}; `docker start` starts them again",
                    lost.join(", ")
                )));
            }
        }
        None => events(Event::Warn(
            "the engine did not list its containers after the restart; check them with `docker ps`",
        )),
    }
}

/// `provision` and `regenerate-certs` of an existing machine: takes its lock, adds `extra_sans`
/// to what its certificates must name, provisions, and records the result.
pub fn reprovision(
    machines: &Machines,
    name: &str,
    options: Options,
    extra_sans: &[String],
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    for san in extra_sans {
        berth_tls::check_san(san)
            .map_err(|e| MachineError::with_source(format!("cannot provision '{name}'"), e))?;
    }
    let _lock = machines.store().lock(name, Duration::from_secs(30))?;
    let mut machine = machines.load(name)?;
    let record = machine.record();
    // Refused before anything is recorded: these machines have no host berth can log in to,
    // and a failed attempt must not turn a working record into Error.
    if record.ssh.is_none() {
        return Err(MachineError::msg(if !record.capabilities().has_ssh {
            format!(
                "machine '{name}' uses the {} driver: berth only records its engine URL and has no SSH access to provision it or renew its certificates; set the engine up where it runs",
                record.driver
            )
        } else {
            format!(
                "machine '{name}' has no host yet: its create stopped before the {} driver reported one; `berth rm {name}` removes it, then create it again",
                record.driver
            )
        }));
    }
    // Refused before connecting: a new server certificate needs the CA's key, which an
    // imported machine does not have; the machine stays as it was.
    if options.renewal == Renewal::Server && certs::has_foreign_ca(machine.folder()) {
        return Err(certs::foreign_ca_refusal(name));
    }
    let sans = &mut machine.record_mut().tls.extra_sans;
    for san in extra_sans {
        if !sans.contains(san) {
            sans.push(san.clone());
        }
    }
    let had_context = contexts::has_own(machines, machine.record());
    let result = provision(&mut machine, None, options, machines.interrupt(), events);
    // The context mirrors the folder: made when missing once provisioning succeeds, and kept
    // equal to the folder's certificates even when a renewal failed half-way.
    if result.is_ok() || had_context {
        contexts::sync(machines, &mut machine, events)?;
        machine.save()?;
    }
    result
}
