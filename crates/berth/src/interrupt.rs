//! Ctrl-C during a command that changes machines (create, provision, regenerate-certs).
//!
//! Left at its default, SIGINT ends berth at once: a create stops mid-install with no word and
//! the machine stays `Creating`. Here the first Ctrl-C triggers the lifecycle's
//! [`Interrupt`]: the plugin call or SSH command under way is ended, the machine is recorded in
//! state Error naming its step, berth says what to run next and exits 130. A second Ctrl-C ends
//! berth at once, for a user who cannot wait even for that.

use anyhow::Context as _;
use berth_machine::Interrupt;
use tokio::signal::unix::{SignalKind, signal};

/// The exit status of a command ended by SIGINT, as shells report it (128 + 2).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// Catches SIGINT from now on, for the rest of the process. Needs the runtime's context.
pub(crate) fn catch(interrupt: Interrupt) -> anyhow::Result<()> {
    // Registered here, synchronously: a Ctrl-C from this moment on is ours, not the default's.
    let mut sigint = signal(SignalKind::interrupt())
        .context("cannot catch Ctrl-C (SIGINT); the system refused a signal handler")?;
    tokio::spawn(async move {
        if sigint.recv().await.is_none() {
            return;
        }
        interrupt.trigger();
        if sigint.recv().await.is_some() {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    Ok(())
}

/// The error of a command that several machines' work ended in after an interrupt; each
/// machine's own sentence was printed before it.
#[derive(Debug, thiserror::Error)]
#[error("interrupted; each machine above says where it stopped and what to run next")]
pub(crate) struct Interrupted;
