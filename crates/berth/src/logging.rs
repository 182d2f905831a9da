//! What `--debug` shows: berth's own steps (every `berth*` crate's debug events, plugins'
//! stderr among them), and of the libraries under it only warnings. rustls, hyper, tokio and
//! ssh2 explain their own internals at debug level (every handshake, every connection); that
//! buries the steps a user turned `--debug` on to see.
//!
//! `BERTH_LOG` takes a filter in tracing's `EnvFilter` syntax for those who do want the
//! libraries (`BERTH_LOG=debug`, `BERTH_LOG=berth=debug,rustls=trace`), with or without
//! `--debug`. bollard stays at info unless the filter names it itself: its debug events carry
//! request and answer bodies, and `GET /swarm` answers with the cluster's join tokens.

use berth_names::EnvVars;
use tracing::Level;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{EnvFilter, FilterFn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::context::ProcessEnv;
use crate::printer::Printer;

/// Sends tracing's events (and the `log` records of libraries that use `log`, such as rustls)
/// through the printer, when `--debug` or `BERTH_LOG` asks for them.
pub(crate) fn install(debug: bool, env: &ProcessEnv, printer: &Printer) {
    let asked = env.get(EnvVars::BERTH_LOG).map(str::to_owned);
    if !debug && asked.is_none() {
        return;
    }
    let for_tracing = printer.clone();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(move || for_tracing.tracing_writer())
        .with_ansi(false)
        .without_time();
    let registry = tracing_subscriber::registry();
    let _ = match asked {
        Some(filter) => registry
            .with(fmt.with_filter(user_filter(&filter)))
            .try_init(),
        None => registry.with(fmt.with_filter(berths_own())).try_init(),
    };
}

/// Whether an event of `target` at `level` is shown by plain `--debug`.
pub(crate) fn shown_by_default(target: &str, level: &Level) -> bool {
    is_berths(target) || *level <= Level::WARN
}

/// berth's own crates are `berth` and `berth_*` (tracing targets are module paths).
fn is_berths(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    krate == "berth" || krate.starts_with("berth_")
}

fn berths_own() -> FilterFn<impl Fn(&tracing::Metadata<'_>) -> bool> {
    FilterFn::new(|meta| shown_by_default(meta.target(), meta.level()))
}

/// The user's `BERTH_LOG` filter, with bollard held at info unless it is named. A filter that
/// does not parse keeps what parses of it (EnvFilter's own rule) rather than failing a command.
fn user_filter(filter: &str) -> EnvFilter {
    let filter = if filter.contains("bollard") {
        filter.to_owned()
    } else {
        format!("{filter},bollard=info")
    };
    EnvFilter::builder().parse_lossy(filter)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what a subscriber with `filter` prints for one event per target of interest.
    fn shown<F>(filter: F) -> String
    where
        F: tracing_subscriber::layer::Filter<tracing_subscriber::Registry> + Send + Sync + 'static,
    {
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .without_time()
                .with_filter(filter),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "berth_machine::create", "step");
            tracing::debug!(target: "berth", "cli");
            tracing::debug!(target: "rustls::client::hs", "handshake");
            tracing::debug!(target: "hyper_util::client", "pooled");
            tracing::debug!(target: "bollard::docker", "body with a join token");
            tracing::warn!(target: "rustls::conn", "peer misbehaved");
            tracing::debug!(target: "berthold", "not ours");
        });
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn debug_shows_berths_steps_and_only_the_libraries_warnings() {
        let out = shown(berths_own());
        assert!(out.contains("berth_machine::create: step"), "{out}");
        assert!(out.contains("berth: cli"), "{out}");
        assert!(out.contains("rustls::conn: peer misbehaved"), "{out}");
        assert!(!out.contains("handshake"), "{out}");
        assert!(!out.contains("pooled"), "{out}");
        assert!(!out.contains("join token"), "{out}");
        assert!(!out.contains("not ours"), "{out}");
    }

    #[test]
    fn berth_log_picks_the_libraries_but_bollard_stays_at_info() {
        let out = shown(user_filter("debug"));
        assert!(out.contains("rustls::client::hs: handshake"), "{out}");
        assert!(out.contains("berth_machine::create: step"), "{out}");
        assert!(!out.contains("join token"), "{out}");
        let out = shown(user_filter("bollard=debug"));
        assert!(out.contains("join token"), "{out}");
        assert!(!out.contains("handshake"), "{out}");
    }
}
