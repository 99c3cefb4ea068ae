//! The terminal edge: [`ConsoleUi`] draws a flow's [`Ui`] calls on stderr (stdout is kept for
//! results, so `-o json` stays parseable): progress bars and a redrawn status line on a
//! terminal, one line per change otherwise; prompts with dialoguer; colour only on a terminal
//! and when `NO_COLOR` is unset. The only module that uses indicatif and dialoguer.

use std::collections::HashMap;
use std::io::{IsTerminal, Write as _};
use std::sync::Mutex;
use std::time::Instant;

use dialoguer::console::Term;
use dialoguer::{Confirm, Password, Select};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use secrecy::SecretString;

use crate::duration::format_duration;
use crate::rollout::RolloutState;
use crate::ui::{Progress, PromptError, Ui};

/// Progress and prompts on stderr.
pub struct ConsoleUi {
    started: Instant,
    terminal: bool,
    interactive: bool,
    colour: bool,
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    last: Mutex<HashMap<String, String>>,
    status_shown: Mutex<bool>,
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
    /// Detect the terminal on stderr (and stdin, for prompts) and `NO_COLOR`.
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
            status_shown: Mutex::new(false),
        }
    }

    fn line(&self, text: &str) {
        self.clear_status();
        if self.terminal {
            // Printed above the bars so they are not torn.
            let _ = self.multi.println(text);
        } else {
            err_line(text);
        }
    }

    fn clear_status(&self) {
        let mut shown = self.status_shown.lock().unwrap_or_else(|p| p.into_inner());
        if *shown {
            err_text("\r\x1b[2K");
            *shown = false;
        }
    }

    fn rollout(&self, deployment: &str, replicas: &crate::rollout::Replicas, state: &RolloutState) {
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
                bar.enable_steady_tick(std::time::Duration::from_millis(200));
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
                err_line(&format!(
                    "[{}] {text}",
                    format_duration(self.started.elapsed())
                ));
                last.insert(deployment.to_owned(), text);
            }
        }
    }

    fn checks(&self, line: &str) {
        if self.terminal {
            let mut shown = self.status_shown.lock().unwrap_or_else(|p| p.into_inner());
            err_text(&format!("\r\x1b[2K{line}"));
            *shown = true;
        } else {
            err_line(line);
        }
    }
}

/// A line on stderr; a closed or full stderr is ignored (nothing to report it on).
fn err_line(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Text on stderr without a newline, flushed.
fn err_text(text: &str) {
    let mut e = std::io::stderr();
    let _ = e.write_all(text.as_bytes());
    let _ = e.flush();
}

fn prompt_error(e: dialoguer::Error) -> PromptError {
    match e {
        dialoguer::Error::IO(e) if e.kind() == std::io::ErrorKind::Interrupted => {
            PromptError::Interrupted
        }
        dialoguer::Error::IO(e) => PromptError::Terminal(e),
    }
}

impl Ui for ConsoleUi {
    fn can_prompt(&self) -> bool {
        self.interactive
    }

    fn note(&self, message: &str) {
        self.line(message);
    }

    fn warn(&self, message: &str) {
        let (y, r) = if self.colour {
            ("\x1b[33m", "\x1b[0m")
        } else {
            ("", "")
        };
        self.line(&format!("{y}warning{r}: {message}"));
    }

    fn progress(&self, update: Progress<'_>) {
        match update {
            Progress::Rollout {
                deployment,
                replicas,
                state,
            } => self.rollout(deployment, replicas, state),
            Progress::Checks { line, .. } => self.checks(line),
        }
    }

    fn finish(&self) {
        let bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for bar in bars.values() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
        drop(bars);
        let mut shown = self.status_shown.lock().unwrap_or_else(|p| p.into_inner());
        if *shown {
            err_line("");
            *shown = false;
        }
    }

    fn confirm(&self, question: &str, default: bool) -> Result<bool, PromptError> {
        if !self.interactive {
            return Err(PromptError::NoTerminal);
        }
        self.multi.suspend(|| {
            Confirm::new()
                .with_prompt(question)
                .default(default)
                .interact_on_opt(&Term::stderr())
                .map_err(prompt_error)?
                .ok_or(PromptError::Interrupted)
        })
    }

    fn choose(&self, prompt: &str, items: &[&str], default: usize) -> Result<usize, PromptError> {
        if !self.interactive {
            return Err(PromptError::NoTerminal);
        }
        Select::new()
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact_on_opt(&Term::stderr())
            .map_err(prompt_error)?
            .ok_or(PromptError::Interrupted)
    }

    fn secret(&self, prompt: &str) -> Result<SecretString, PromptError> {
        if !self.interactive {
            return Err(PromptError::NoTerminal);
        }
        // Empty input is the flow's to judge (it says why it asks again).
        Password::new()
            .with_prompt(prompt)
            .report(false)
            .allow_empty_password(true)
            .interact_on(&Term::stderr())
            .map(SecretString::from)
            .map_err(prompt_error)
    }
}

/// Restore the terminal and exit 130 on Ctrl-C while a prompt is open, so that an
/// interrupted prompt leaves neither a file nor a terminal with echo off. Call once, from
/// within the runtime, before the first prompt.
pub fn exit_on_interrupt() {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return;
    }
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            exit_interrupted(crate::error::EXIT_INTERRUPTED);
        }
    });
}

/// For the whole run of a command that writes files: on SIGINT (exit 130) or SIGTERM (exit
/// 143) restore the terminal, say `interrupted: nothing was written` and exit after removing
/// the [`crate::deadline::cleanup`] files (a plaintext temporary among them). Call once,
/// from within the runtime.
pub fn exit_on_signals() {
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            exit_interrupted(crate::error::EXIT_INTERRUPTED);
        }
    });
    #[cfg(unix)]
    tokio::spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate())
            && term.recv().await.is_some()
        {
            exit_interrupted(128 + 15);
        }
    });
}

/// Say `interrupted: nothing was written` exactly once, the same way whether a signal or an
/// interrupted prompt got here first, restore the terminal and exit with `code`.
pub fn exit_interrupted(code: u8) -> ! {
    use std::sync::atomic::{AtomicBool, Ordering};
    static ONCE: AtomicBool = AtomicBool::new(false);
    if ONCE.swap(true, Ordering::SeqCst) {
        // Another thread is already saying it and exiting.
        loop {
            std::thread::park();
        }
    }
    if std::io::stderr().is_terminal() {
        let _ = Term::stderr().show_cursor();
        if std::io::stdin().is_terminal() {
            // Password prompts turn echo off; put it back (stty acts on stdin, the terminal).
            let _ = std::process::Command::new("stty")
                .arg("echo")
                .stderr(std::process::Stdio::null())
                .status();
        }
        err_text("\n");
    }
    err_line("interrupted: nothing was written");
    crate::cli::finish(code)
}
