//! [`Interrupt`]: the user asked berth to stop (Ctrl-C). The lifecycle checks it between steps,
//! and whatever blocks inside a step (a plugin call, an SSH command) is ended through a hook,
//! so that a create or provision stops within moments and records where it stopped.
//!
//! The binary owns the signal; this crate only sees a flag and hooks, so that it stays free of
//! signal handling and its tests can interrupt from a thread.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Inner {
    fired: AtomicBool,
    next: AtomicU64,
    hooks: Mutex<BTreeMap<u64, Hook>>,
}

/// A request to stop, shared by every clone. Once triggered it stays triggered.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<Inner>);

impl std::fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupt")
            .field("triggered", &self.is_triggered())
            .finish_non_exhaustive()
    }
}

impl Interrupt {
    /// A request that nobody has made yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everything under way to stop: sets the flag and runs every registered hook once.
    pub fn trigger(&self) {
        if self.0.fired.swap(true, Ordering::SeqCst) {
            return;
        }
        let hooks = match self.0.hooks.lock() {
            Ok(mut hooks) => std::mem::take(&mut *hooks),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        // Run outside the lock: a hook may itself register or drop a guard.
        for hook in hooks.into_values() {
            hook();
        }
    }

    /// Whether berth was asked to stop.
    pub fn is_triggered(&self) -> bool {
        self.0.fired.load(Ordering::SeqCst)
    }

    /// The flag itself, for the provisioner's [`berth_provision::Plan::stop`].
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.0.fired
    }

    /// Runs `hook` when the interrupt comes (at once if it already came), unless the returned
    /// guard was dropped first: a hook lives as long as the work it can end.
    pub fn on_trigger(&self, hook: impl FnOnce() + Send + 'static) -> HookGuard {
        let id = self.0.next.fetch_add(1, Ordering::SeqCst);
        let mut hook: Option<Hook> = Some(Box::new(hook));
        if let Ok(mut hooks) = self.0.hooks.lock() {
            // Checked under the lock that `trigger` takes its hooks under: no interrupt can fall
            // between the check and the insertion unseen.
            if !self.is_triggered()
                && let Some(h) = hook.take()
            {
                hooks.insert(id, h);
            }
        }
        if let Some(hook) = hook {
            hook();
        }
        HookGuard {
            interrupt: self.clone(),
            id,
        }
    }
}

/// Unregisters its hook when dropped.
#[must_use = "the hook is removed as soon as the guard is dropped"]
pub struct HookGuard {
    interrupt: Interrupt,
    id: u64,
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        if let Ok(mut hooks) = self.interrupt.0.hooks.lock() {
            hooks.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn hooks_run_once_and_only_while_their_guard_lives() {
        let interrupt = Interrupt::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&ran);
        let kept = interrupt.on_trigger(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        let r = Arc::clone(&ran);
        drop(interrupt.on_trigger(move || {
            r.fetch_add(100, Ordering::SeqCst);
        }));
        assert!(!interrupt.is_triggered());
        interrupt.clone().trigger();
        interrupt.trigger();
        assert!(interrupt.is_triggered());
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        drop(kept);
    }

    #[test]
    fn a_hook_registered_after_the_interrupt_runs_at_once() {
        let interrupt = Interrupt::new();
        interrupt.trigger();
        let ran = Arc::new(AtomicBool::new(false));
        let r = Arc::clone(&ran);
        let _guard = interrupt.on_trigger(move || r.store(true, Ordering::SeqCst));
        assert!(ran.load(Ordering::SeqCst));
    }
}
