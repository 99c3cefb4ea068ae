//! The terminal edge: [`ConsoleUi`] draws a flow's [`Ui`] calls on stderr (stdout is kept for
//! results, so `-o json` stays parseable): progress bars and a redrawn status line on a
//! terminal, one line per change otherwise; prompts with dialoguer; colour only on a terminal
//! and when `NO_COLOR` is unset. The only module that uses indicatif and dialoguer.

use std::collections::HashMap;
use std::io::{IsTerminal, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    status: Arc<Mutex<Status>>,
}

/// The redrawn status line of `verify --wait` on a terminal.
#[derive(Debug, Default)]
struct Status {
    /// The line as last reported, and when it was.
    line: Option<(String, Instant)>,
    /// Whether it is on screen now (cleared before any other output).
    shown: bool,
    /// Whether the thread that redraws it every second runs.
    ticking: bool,
}

impl Status {
    /// Draw the line over the current row: its timer moved on by the time since it was
    /// reported, cut to the terminal's width so that it never wraps (a wrapped row would
    /// not be cleared by the next redraw).
    fn draw(&mut self) {
        let Some((line, at)) = &self.line else {
            return;
        };
        let columns = Term::stderr()
            .size_checked()
            .map_or(80, |(_, c)| usize::from(c));
        let text = fit(&retime(line, at.elapsed()), columns);
        err_text(&format!("\r\x1b[2K{text}"));
        self.shown = true;
    }
}

/// `line` cut to fit in `columns` without touching the last column (where terminals wrap),
/// with `…` where it was cut.
fn fit(line: &str, columns: usize) -> String {
    let room = columns.saturating_sub(1).max(1);
    if line.chars().count() <= room {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(room - 1).collect();
    cut.push('…');
    cut
}

/// The `[ Ns/Ts]` timer of a progress line, moved on by `extra`; other text is unchanged.
fn retime(line: &str, extra: Duration) -> String {
    let Some((start, end, secs, total)) = timer(line) else {
        return line.to_owned();
    };
    let now = secs + extra.as_secs();
    format!("{}[{now:>3}s/{total}s]{}", &line[..start], &line[end..])
}

/// The line without its timer: what tells one report from the next when piped.
fn untimed(line: &str) -> String {
    match timer(line) {
        Some((start, end, ..)) => format!("{}{}", &line[..start], &line[end..]),
        None => line.to_owned(),
    }
}

/// Where the first `[ Ns/Ts]` is (byte range) and its two numbers.
fn timer(line: &str) -> Option<(usize, usize, u64, u64)> {
    static TIMER: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\[\s*(\d+)s/(\d+)s\]").ok());
    let caps = TIMER.as_ref()?.captures(line)?;
    let whole = caps.get(0)?;
    let secs = caps.get(1)?.as_str().parse().ok()?;
    let total = caps.get(2)?.as_str().parse().ok()?;
    Some((whole.start(), whole.end(), secs, total))
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
            status: Arc::new(Mutex::new(Status::default())),
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
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if status.shown {
            err_text("\r\x1b[2K");
            status.shown = false;
        }
    }

    fn rollout(&self, deployment: &str, replicas: &crate::rollout::Replicas, state: &RolloutState) {
        let status = match state {
            RolloutState::Complete => "rolled out".to_owned(),
            RolloutState::Waiting(m) | RolloutState::Failed(m) => m.clone(),
        };
        // Scaling down, old pods stay ready while they terminate: never `3/2 ready`.
        let ready = replicas.ready.min(replicas.desired).max(0);
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
                bar.set_prefix(format!("deployment.apps/{deployment}"));
                bar.enable_steady_tick(std::time::Duration::from_millis(200));
                bar
            });
            bar.set_length(replicas.desired.max(0) as u64);
            bar.set_position(ready as u64);
            bar.set_message(status);
        } else {
            let text = format!(
                "deployment.apps/{deployment}: {}/{} ready, {} available, {} updated, {} total: {status}",
                ready, replicas.desired, replicas.available, replicas.updated, replicas.current
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

    /// On a terminal: redraw the status line now and every second after (the timer ticks
    /// between reports). Piped: print the line only when more than its timer changed.
    fn checks(&self, line: &str) {
        if !self.terminal {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            let key = untimed(line);
            if last.get("\0checks") != Some(&key) {
                err_line(line);
                last.insert("\0checks".to_owned(), key);
            }
            return;
        }
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.line = Some((line.to_owned(), Instant::now()));
        status.draw();
        if !status.ticking {
            status.ticking = true;
            let shared = Arc::clone(&self.status);
            std::thread::spawn(move || tick(&shared));
        }
    }
}

/// Redraw the status line every second until [`Ui::finish`] stops it. A line cleared for
/// other output comes back at the next tick.
fn tick(status: &Mutex<Status>) {
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
        if !s.ticking {
            return;
        }
        s.draw();
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
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.ticking = false;
        status.line = None;
        if status.shown {
            err_line("");
            status.shown = false;
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

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "waiting for release todo [  2s/60s]: 3 of 9 checks not healthy (first: backend.pods: 0/1 ready)";

    #[test]
    fn the_status_line_fits_the_terminal_without_its_last_column() {
        let at_80 = fit(LINE, 80);
        assert_eq!(at_80.chars().count(), 79);
        assert!(at_80.ends_with('…'));
        assert_eq!(fit(LINE, 160), LINE);
        assert_eq!(fit("abc", 1), "…");
    }

    #[test]
    fn the_timer_ticks_between_reports() {
        assert_eq!(
            retime(LINE, Duration::from_millis(3400)),
            LINE.replace("[  2s/60s]", "[  5s/60s]")
        );
        assert_eq!(
            retime("no timer here", Duration::from_secs(9)),
            "no timer here"
        );
    }

    #[test]
    fn piped_lines_differ_only_when_more_than_the_timer_changed() {
        let later = LINE.replace("[  2s/60s]", "[  3s/60s]");
        assert_eq!(untimed(LINE), untimed(&later));
        let better = later.replace("3 of 9", "2 of 9");
        assert_ne!(untimed(LINE), untimed(&better));
    }
}
