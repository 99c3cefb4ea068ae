//! How the scale talks to the person running it while it works: warnings, notes, the
//! zero-replicas confirmation and the rollout progress. The flow only calls [`Ui`];
//! [`ConsoleUi`] draws a progress bar on a terminal and plain lines otherwise, on stderr
//! (stdout is kept for the summary, so `-o json` stays parseable).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::rollout::{Replicas, RolloutState};

/// What the flow reports while it works.
pub trait Ui: Send + Sync {
    /// Whether a person can answer a question (stdin and stderr are terminals).
    fn can_confirm(&self) -> bool;
    /// Ask a yes/no question (default no). Only called when [`Ui::can_confirm`].
    fn confirm(&self, question: &str) -> bool;
    /// A warning.
    fn warn(&self, message: &str);
    /// A step done.
    fn note(&self, message: &str);
    /// The Deployment changed: its counts and where the rollout stands.
    fn progress(&self, deployment: &str, replicas: &Replicas, state: &RolloutState);
    /// The wait is over: remove progress bars.
    fn finish(&self);
}

/// A [`Ui`] that prints nothing and answers no (tests, `--quiet` uses).
#[derive(Debug, Default)]
pub struct SilentUi;

impl Ui for SilentUi {
    fn can_confirm(&self) -> bool {
        false
    }
    fn confirm(&self, _question: &str) -> bool {
        false
    }
    fn warn(&self, _message: &str) {}
    fn note(&self, _message: &str) {}
    fn progress(&self, _deployment: &str, _replicas: &Replicas, _state: &RolloutState) {}
    fn finish(&self) {}
}

/// Progress on stderr: bars on a terminal, one line per change otherwise.
pub struct ConsoleUi {
    started: Instant,
    terminal: bool,
    interactive: bool,
    colour: bool,
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    last: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for ConsoleUi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleUi")
            .field("terminal", &self.terminal)
            .finish()
    }
}

impl Default for ConsoleUi {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleUi {
    /// Detect the terminal on stderr (and stdin, for questions) and `NO_COLOR`.
    pub fn new() -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target = if terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        ConsoleUi {
            started: Instant::now(),
            terminal,
            interactive: terminal && std::io::stdin().is_terminal(),
            colour: crate::error::stderr_colour(),
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            last: Mutex::new(HashMap::new()),
        }
    }

    fn line(&self, text: &str) {
        if self.terminal {
            // Printed above the bars so they are not torn.
            let _ = self.multi.println(text);
        } else {
            eprintln!("{text}");
        }
    }

    fn elapsed(&self) -> String {
        format_elapsed(self.started.elapsed())
    }
}

/// `850ms`, `3.2s`, `1m05s`.
pub fn format_elapsed(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

impl Ui for ConsoleUi {
    fn can_confirm(&self) -> bool {
        self.interactive
    }

    fn confirm(&self, question: &str) -> bool {
        self.multi
            .suspend(|| {
                dialoguer::Confirm::new()
                    .with_prompt(question)
                    .default(false)
                    .interact()
            })
            .unwrap_or(false)
    }

    fn warn(&self, message: &str) {
        let (y, r) = if self.colour {
            ("\x1b[33m", "\x1b[0m")
        } else {
            ("", "")
        };
        self.line(&format!("{y}warning{r}: {message}"));
    }

    fn note(&self, message: &str) {
        self.line(message);
    }

    fn progress(&self, deployment: &str, replicas: &Replicas, state: &RolloutState) {
        let status = match state {
            RolloutState::Complete => "rolled out".to_owned(),
            RolloutState::Waiting(m) | RolloutState::Failed(m) => m.clone(),
        };
        if self.terminal {
            let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
            let bar = bars.entry(deployment.to_owned()).or_insert_with(|| {
                let bar = self
                    .multi
                    .add(ProgressBar::new(replicas.desired.max(0) as u64));
                let style = ProgressStyle::with_template(
                    "{prefix} [{bar:25.green/dim}] {pos}/{len} ready  {elapsed}  {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                bar.set_style(style);
                bar.set_prefix(format!("deployment/{deployment}"));
                bar.enable_steady_tick(Duration::from_millis(200));
                bar
            });
            bar.set_length(replicas.desired.max(0) as u64);
            bar.set_position(replicas.ready.max(0) as u64);
            bar.set_message(status);
        } else {
            let text = format!(
                "deployment/{deployment}: {}/{} ready, {} available, {} updated, {} total: {status}",
                replicas.ready,
                replicas.desired,
                replicas.available,
                replicas.updated,
                replicas.current
            );
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.get(deployment) != Some(&text) {
                eprintln!("[{}] {text}", self.elapsed());
                last.insert(deployment.to_owned(), text);
            }
        }
    }

    fn finish(&self) {
        let bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for bar in bars.values() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_is_short_and_readable() {
        assert_eq!(format_elapsed(Duration::from_millis(850)), "850ms");
        assert_eq!(format_elapsed(Duration::from_millis(3240)), "3.2s");
        assert_eq!(format_elapsed(Duration::from_secs(65)), "1m05s");
    }
}
