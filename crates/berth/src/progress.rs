//! What a person sees while berth works: on a terminal, one live line per machine naming its
//! current step; elsewhere (logs, CI), one plain line per step. `--debug` adds every remote
//! command with its status, time and output.
//!
//! On a terminal, everything written while bars are live goes through the [`MultiProgress`]
//! (`println`, `suspend`): it redraws the bars by moving the cursor up over as many lines as it
//! drew last time, so a line written beside it shifts the screen under it, and the next redraw
//! then leaves stale bars above and overwrites the line (issue 9: spinners left on the screen,
//! a machine's "created" line lost). A machine's outcome is printed above the bars and its bar
//! cleared, so that once all are done the screen holds one outcome line per machine, in the
//! order they finished, however short the terminal is (bars that do not fit are not drawn;
//! printed lines scroll as usual).

use std::time::{Duration, Instant};

use berth_provision::Event;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::printer::{Lines, Printer, escape};

/// The progress display of one command (several machines may share it).
#[derive(Clone)]
pub(crate) struct Progress {
    multi: Option<MultiProgress>,
    printer: Printer,
}

impl Progress {
    pub(crate) fn new(printer: &Printer) -> Self {
        let multi = printer
            .interactive()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        // Messages from anywhere (warnings, --debug traces) now go above the bars.
        printer.attach_bars(multi.clone());
        Progress {
            multi,
            printer: printer.clone(),
        }
    }

    /// A line for one machine. The name is shown escaped to one line: it can be a folder
    /// name from a store berth did not make (`import`), with a newline or a terminal escape.
    pub(crate) fn machine(&self, name: &str) -> MachineProgress {
        let name = escape(name, Lines::Escape);
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {msg} {elapsed:.dim}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        MachineProgress {
            name: name.into_owned(),
            bar,
            progress: self.clone(),
            step: String::new(),
            step_started: Instant::now(),
        }
    }

    /// Prints a line above the bars (or plainly when there are none): the printer knows them.
    pub(crate) fn line(&self, text: &str) {
        self.printer.info(text);
    }

    /// Prints a line above the bars for good: it stays when they are cleared.
    fn outcome(&self, text: &str) {
        match &self.multi {
            // `println` draws the line and the bars in one go; a hidden target prints nothing,
            // so the line then goes out plainly.
            Some(multi) if !multi.is_hidden() => {
                if multi.println(escape(text, Lines::Keep)).is_err() {
                    self.printer.info(text);
                }
            }
            _ => self.printer.info(text),
        }
    }
}

/// One machine's line.
pub(crate) struct MachineProgress {
    name: String,
    bar: Option<ProgressBar>,
    progress: Progress,
    /// The step under way, kept so that detail lines show beside it.
    step: String,
    step_started: Instant,
}

impl Drop for MachineProgress {
    fn drop(&mut self) {
        self.clear();
    }
}

impl MachineProgress {
    /// A step begins.
    pub(crate) fn step(&mut self, what: &str) {
        self.step_started = Instant::now();
        self.step = what.to_owned();
        match &self.bar {
            Some(bar) => bar.set_message(what.to_owned()),
            None => self
                .progress
                .printer
                .info(&format!("{}: {what}…", self.name)),
        }
    }

    /// The current step finished; plain output says how long it took.
    pub(crate) fn step_done(&mut self, what: &str) {
        if self.bar.is_none() {
            let took = self.step_started.elapsed();
            self.progress.printer.info(&format!(
                "{}: {what} done ({:.1}s)",
                self.name,
                took.as_secs_f64()
            ));
        }
    }

    /// A line of detail (a driver's progress, apt's output): on the bar, or in `--debug`.
    pub(crate) fn detail(&self, text: &str) {
        match &self.bar {
            Some(bar) => {
                // One line on the bar, escaped: it is a driver's or a host's text.
                let short: String = escape(text, Lines::Escape).chars().take(60).collect();
                bar.set_message(format!("{}: {short}", self.step));
            }
            None => self.debug(text),
        }
    }

    pub(crate) fn debug(&self, text: &str) {
        if self.progress.printer.debug_enabled() {
            self.progress.line(&format!("debug: {}: {text}", self.name));
        }
    }

    /// Ends the line with a success message, which stays on the screen.
    pub(crate) fn finish(self, text: &str) {
        // Cleared first: a redraw between the two then shows neither the bar nor its outcome
        // twice. The steady tick stops with the finish (it checks under the bar's lock).
        self.clear();
        self.progress.outcome(&format!("{}: {text}", self.name));
    }

    /// Ends the line after a failure (the error itself is reported by the caller).
    pub(crate) fn abandon(self) {
        self.clear();
    }

    /// Takes the bar off the screen. indicatif would leave an unfinished bar drawn when it is
    /// dropped, so this also runs on drop (a `?` or a panic between `machine` and `finish`).
    fn clear(&self) {
        if let Some(bar) = &self.bar
            && !bar.is_finished()
        {
            bar.finish_and_clear();
        }
    }

    /// Shows what the provisioner reports.
    pub(crate) fn event(&mut self, event: Event<'_>) {
        match event {
            Event::StepStarted(step) => self.step(&step.to_string()),
            Event::StepDone(step) => self.step_done(&step.to_string()),
            Event::StepSkipped { step, reason } => {
                self.debug(&format!("{} skipped: {reason}", step))
            }
            Event::Detail(line) => self.detail(line),
            // berth-machine passes warnings on as its own (they are listed at the end).
            Event::Warning(line) => self.detail(line),
            Event::RemoteCommand {
                purpose,
                cmd,
                status,
                duration,
                stdout,
                stderr,
            } => {
                if self.progress.printer.debug_enabled() {
                    let mut text = format!(
                        "[{purpose}] `{cmd}` exited {status} in {:.0} ms",
                        duration.as_secs_f64() * 1000.0
                    );
                    for (label, bytes) in [("stdout", stdout), ("stderr", stderr)] {
                        // The facts script ends with daemon.json, whose values can be secrets.
                        let out = crate::redact::facts_output(&String::from_utf8_lossy(bytes));
                        for line in out.lines() {
                            text.push_str(&format!("\n    {label}: {line}"));
                        }
                    }
                    self.debug(&text);
                }
            }
        }
    }
}
