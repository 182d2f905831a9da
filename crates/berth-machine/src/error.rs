//! [`MachineError`]: a lifecycle failure as a sentence for the user, with what caused it.

use std::error::Error as StdError;

/// A failed lifecycle operation. The message says what happened and what to do; `source` keeps
/// the lower layer's own words (the store's, the driver's, the host's) for the cause chain.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    /// The store refused (unknown machine, bad name, a lock held, a write that failed).
    #[error(transparent)]
    Store(#[from] berth_store::StoreError),
    /// A driver flag was refused: the driver made nothing.
    #[error(transparent)]
    InvalidFlag(berth_plugin::DriverError),
    /// berth was interrupted (Ctrl-C) and stopped between or inside steps; the machine was
    /// recorded in state Error naming the step.
    #[error("'{machine}' was interrupted at step \"{step}\": {next}")]
    Interrupted {
        /// The machine's name.
        machine: String,
        /// The step under way, as the progress line named it.
        step: String,
        /// What to run next.
        next: String,
    },
    /// Anything else, as a sentence with its cause.
    #[error("{message}")]
    Failed {
        /// What happened and what to do.
        message: String,
        /// The lower layer's own error.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

impl MachineError {
    /// Whether this is an interrupt rather than a failure (the binary exits 130 for it).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, MachineError::Interrupted { .. })
    }

    /// An interrupt at `step` of a machine that has a host: provision finishes it.
    pub(crate) fn interrupted(machine: &str, step: impl Into<String>) -> Self {
        MachineError::Interrupted {
            machine: machine.to_owned(),
            step: step.into(),
            next: format!(
                "it is kept in state Error; `berth provision {machine}` finishes it, `berth rm {machine}` removes it"
            ),
        }
    }

    /// A failure that is only a sentence.
    pub fn msg(message: impl Into<String>) -> Self {
        MachineError::Failed {
            message: message.into(),
            source: None,
        }
    }

    /// The message with every cause after it (`a: b: c`), as a record's error field keeps it.
    pub fn full_message(&self) -> String {
        let mut text = self.to_string();
        let mut cause = StdError::source(self);
        while let Some(c) = cause {
            let c_text = c.to_string();
            if !text.contains(&c_text) {
                text.push_str(": ");
                text.push_str(&c_text);
            }
            cause = c.source();
        }
        text
    }

    /// The message and each cause's own words, deduplicated, outermost first.
    pub fn causes(&self) -> Vec<String> {
        let mut out = vec![self.to_string()];
        let mut cause = StdError::source(self);
        while let Some(c) = cause {
            let text = c.to_string();
            if !out.iter().any(|o| o.contains(&text)) {
                out.push(text);
            }
            cause = c.source();
        }
        out
    }

    /// A failure with its cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        MachineError::Failed {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// `.context(…)` for results of any error type: the sentence goes first, the error becomes its
/// cause (as anyhow does at the binary's edge, but typed).
pub trait Context<T> {
    /// Wraps a failure in `message`.
    fn context(self, message: impl Into<String>) -> Result<T, MachineError>;
    /// Wraps a failure in the message `f` makes (only when there is a failure).
    fn with_context<M: Into<String>>(self, f: impl FnOnce() -> M) -> Result<T, MachineError>;
}

impl<T, E: StdError + Send + Sync + 'static> Context<T> for Result<T, E> {
    fn context(self, message: impl Into<String>) -> Result<T, MachineError> {
        self.map_err(|e| MachineError::with_source(message, e))
    }
    fn with_context<M: Into<String>>(self, f: impl FnOnce() -> M) -> Result<T, MachineError> {
        self.map_err(|e| MachineError::with_source(f(), e))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, message: impl Into<String>) -> Result<T, MachineError> {
        self.ok_or_else(|| MachineError::msg(message))
    }
    fn with_context<M: Into<String>>(self, f: impl FnOnce() -> M) -> Result<T, MachineError> {
        self.ok_or_else(|| MachineError::msg(f()))
    }
}

macro_rules! from_lower {
    ($($t:ty),*) => {$(
        impl From<$t> for MachineError {
            fn from(e: $t) -> Self {
                let message = e.to_string();
                MachineError::Failed { message, source: Some(Box::new(e)) }
            }
        }
    )*};
}
from_lower!(
    berth_plugin::DriverError,
    berth_engine::EngineError,
    berth_tls::TlsError,
    berth_provision::ProvisionError,
    berth_provision::ConfigError,
    berth_ssh::SshError,
    crate::record::FieldError
);
