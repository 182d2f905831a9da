//! `restart` of a generic machine: the host rebooted over SSH (`shutdown -r now`, through
//! `sudo -n` when berth logs in as another user than root), as docker-machine's generic driver
//! does, then a wait until SSH answers from the *new* boot and the engine answers over TLS.
//!
//! This lives here rather than in the generic driver because it needs what berth-machine holds:
//! the machine's pinned host key (every connection, also after the reboot, is checked
//! against it) and the engine's client certificate. The generic driver still has no power
//! switch: `stop` and `kill` refuse, since nothing berth could do would turn the host on again.

use std::time::Duration;

use crate::record::MachineRecord;
use berth_net::Backoff;
use berth_ssh::{HostKeyPolicy, Session};

use crate::error::{Context as _, MachineError};
use crate::event::Event;
use crate::handle::MachineHandle;

/// How long the host may take to go down and answer SSH again.
pub const REBOOT_WAIT: Duration = Duration::from_secs(180);

/// What identifies one boot of the host: the kernel's boot id, and the start time of PID 1
/// (a container's reboot keeps the kernel's boot id but starts a new PID 1). Read-only: the
/// reboot is proven without writing anything on the host.
const BOOT_IDENTITY: &str = "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f22 /proc/1/stat";

/// Whether `restart` of this machine means a reboot over SSH: its driver says so (generic,
/// which berth reaches over SSH but did not make) and the host's address is recorded.
pub(crate) fn reboots_over_ssh(record: &MachineRecord) -> bool {
    record.capabilities().reboots_over_ssh && record.ssh.is_some()
}

/// Reboots the host and waits until SSH answers from its next boot, within [`REBOOT_WAIT`].
pub(crate) fn reboot(
    machine: &MachineHandle,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let name = machine.name();
    let target = machine.ssh_target(Some(HostKeyPolicy::Strict))?;
    let session = Session::connect(&target).with_context(|| {
        format!(
            "cannot log in to '{name}' at {} to reboot it",
            target.addr()
        )
    })?;
    let before = boot_identity(&session)
        .with_context(|| format!("cannot tell which boot '{name}' is in"))?;
    let command = if target.user == "root" {
        "shutdown -r now"
    } else {
        "sudo -n shutdown -r now"
    };
    events(Event::Debug(&format!("running `{command}` on {name}")));
    match session.exec(command) {
        Ok(out) if !out.success() => {
            return Err(MachineError::msg(format!(
                "`{command}` on '{name}' failed (exit {}): {}{}",
                out.status,
                out.stderr_str(),
                if target.user == "root" {
                    String::new()
                } else {
                    format!(
                        "; the user {} needs passwordless sudo for shutdown",
                        target.user
                    )
                }
            )));
        }
        // Ok: the reboot is under way. An error: the connection went down with the host,
        // which is also the reboot under way (the wait below finds out if it was not).
        Ok(_) | Err(_) => {}
    }
    drop(session);

    events(Event::Step("waiting for the host to boot again"));
    let mut quick = target.clone();
    quick.connect_timeout = Duration::from_secs(3);
    quick.io_timeout = Duration::from_secs(10);
    let mut backoff = Backoff::new(
        Duration::from_millis(500),
        Duration::from_secs(3),
        std::time::Instant::now() + REBOOT_WAIT,
    );
    let mut last = String::from("it still answered from the boot before the reboot");
    loop {
        match Session::connect(&quick).map_err(MachineError::from) {
            Ok(session) => match boot_identity(&session) {
                Ok(now) if now != before => break,
                Ok(_) => {}
                Err(e) => last = e.full_message(),
            },
            Err(e) => last = e.full_message(),
        }
        if !backoff.wait() {
            return Err(MachineError::msg(format!(
                "'{name}' did not answer SSH from a new boot within {}s after `{command}` ({last}); check the host's console",
                REBOOT_WAIT.as_secs()
            )));
        }
    }
    events(Event::StepDone("waiting for the host to boot again"));
    Ok(())
}

fn boot_identity(session: &Session) -> Result<String, MachineError> {
    let out = session.exec(BOOT_IDENTITY)?;
    if !out.success() {
        return Err(MachineError::msg(format!(
            "`{BOOT_IDENTITY}` failed: {}",
            out.stderr_str()
        )));
    }
    Ok(out.stdout_str())
}
