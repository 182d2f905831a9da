//! `upgrade`: the engine's package upgraded through the host's package manager, as
//! docker-machine's `upgrade` did, keeping what berth put on the host.
//!
//! The drop-in (`/etc/systemd/system/docker.service.d/10-machine.conf`) and the certificates
//! in `/etc/docker` are not files of the package, so apt leaves them alone; `--force-confold`
//! keeps the package's own configuration files as the host has them. After a new version the
//! engine is restarted and must answer over TLS with the machine's certificates again, which
//! proves both survived.

use std::time::Duration;

use crate::record::MachineRecord;
use berth_ssh::Session;

use crate::driver::Machines;
use crate::engine::{ENGINE_WAIT, wait_for_engine};
use crate::error::{Context as _, MachineError};
use crate::event::Event;
use crate::handle::MachineHandle;

/// What an upgrade did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgraded {
    /// The engine's package (`docker.io`, `docker-ce`).
    pub package: String,
    /// Its version before.
    pub from: String,
    /// Its version after; the same as `from` when there was nothing newer.
    pub to: String,
    /// The engine's own version as it answers afterwards.
    pub engine: String,
}

impl Upgraded {
    /// Whether a newer package was installed (else the engine was already the newest).
    pub fn changed(&self) -> bool {
        self.from != self.to
    }
}

/// The engine packages berth knows, in the order they are looked for.
const PACKAGES: [&str; 2] = ["docker.io", "docker-ce"];

/// A session to the machine's host with its pinned key (which must match).
pub fn open_session(machine: &MachineHandle) -> Result<Session, MachineError> {
    if machine.record().ssh.is_none() {
        return Err(no_ssh(machine.record()));
    }
    let target = machine.ssh_target(None)?;
    Session::connect(&target)
        .with_context(|| format!("cannot log in to '{}' at {}", machine.name(), target.addr()))
}

fn no_ssh(record: &MachineRecord) -> MachineError {
    let name = &record.name;
    MachineError::msg(if !record.capabilities().has_ssh {
        format!(
            "machine '{name}' uses the {} driver: berth only records its engine URL and has no SSH access to it; do this where its engine runs",
            record.driver
        )
    } else {
        format!(
            "machine '{name}' has no host yet: its create stopped before the {} driver reported one; `berth rm {name}` removes it, then create it again",
            record.driver
        )
    })
}

/// Upgrades the engine package of `name`. Refuses, changing nothing, on a machine berth
/// cannot log in to or whose engine did not come from apt.
pub fn upgrade(
    machines: &Machines,
    name: &str,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<Upgraded, MachineError> {
    let _lock = machines.store().lock(name, Duration::from_secs(30))?;
    let machine = machines.load(name)?;
    let record = machine.record();
    if record.ssh.is_none() {
        return Err(no_ssh(record));
    }
    events(Event::Step("connecting"));
    let session = open_session(&machine)?;
    events(Event::StepDone("connecting"));
    let sudo = if record.ssh.as_ref().is_some_and(|s| s.user == "root") {
        ""
    } else {
        "sudo -n "
    };
    let (package, from) = installed(&session)?.ok_or_else(|| {
        MachineError::msg(format!(
            "the engine on '{name}' was not installed from a package berth knows ({}); upgrade it the way it was installed",
            PACKAGES.join(" or ")
        ))
    })?;
    events(Event::Step("asking the package sources for a newer engine"));
    // apt waits for a held lock (cloud-init, unattended-upgrades) instead of failing.
    let apt =
        format!("{sudo}env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q");
    run(
        &session,
        &format!("{apt} update"),
        name,
        "apt-get update",
        events,
    )?;
    events(Event::StepDone(
        "asking the package sources for a newer engine",
    ));
    events(Event::Step("upgrading the engine"));
    run(
        &session,
        &format!(
            "{apt} install -y --only-upgrade -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-confdef {package}"
        ),
        name,
        "apt-get install --only-upgrade",
        events,
    )?;
    let to = version_of(&session, package)?.unwrap_or_default();
    events(Event::StepDone("upgrading the engine"));
    if to != from {
        // The package's scripts may or may not restart the engine; the new binary runs only
        // after a restart, so berth restarts it once, as docker-machine did.
        events(Event::Step("restarting the engine"));
        run(
            &session,
            &format!(
                "{sudo}systemctl daemon-reload && {sudo}systemctl reset-failed docker; {sudo}systemctl restart docker"
            ),
            name,
            "systemctl restart docker",
            events,
        )?;
        events(Event::StepDone("restarting the engine"));
    }
    events(Event::Step("waiting for the engine"));
    let version = berth_engine::block_on(wait_for_engine(&machine, ENGINE_WAIT))?;
    events(Event::StepDone("waiting for the engine"));
    Ok(Upgraded {
        package: package.to_owned(),
        from,
        to,
        engine: version.version,
    })
}

/// The engine package the host has, with its version.
fn installed(session: &Session) -> Result<Option<(&'static str, String)>, MachineError> {
    for package in PACKAGES {
        if let Some(version) = version_of(session, package)? {
            return Ok(Some((package, version)));
        }
    }
    Ok(None)
}

/// The installed version of `package`, `None` when it is not installed.
fn version_of(session: &Session, package: &str) -> Result<Option<String>, MachineError> {
    let out = session
        .exec(&format!(
            "dpkg-query -W -f='${{Status}}|${{Version}}' {package} 2>/dev/null"
        ))
        .context("cannot ask dpkg for the engine's package")?;
    let text = out.stdout_text();
    Ok(match text.split_once('|') {
        Some((status, version)) if out.success() && status.ends_with(" installed") => {
            Some(version.trim().to_owned())
        }
        _ => None,
    })
}

fn run(
    session: &Session,
    command: &str,
    name: &str,
    what: &str,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    events(Event::Debug(command));
    let mut tail: Vec<String> = Vec::new();
    let status = session
        .exec_streaming(command, &mut |_, line| {
            events(Event::Detail(line));
            tail.push(line.to_owned());
            if tail.len() > 5 {
                tail.remove(0);
            }
        })
        .with_context(|| format!("{what} on '{name}' could not run"))?;
    if status != 0 {
        return Err(MachineError::msg(format!(
            "{what} on '{name}' exited with status {status}: {}; fix the host's package sources and run `berth upgrade {name}` again",
            tail.join(" / ")
        )));
    }
    Ok(())
}
