//! One whole-run deadline per command, and the files to remove whatever way the run ends.
//!
//! [`Deadline::start`] fixes when the command must be over and arms a watchdog thread: if the
//! run is still going [`GRACE`] after the deadline (a blocking call the async timeout cannot
//! interrupt, such as a hung exec credential plugin or a DNS lookup), the watchdog says what
//! did not answer, removes the [`cleanup`] files and exits the process with
//! [`crate::error::EXIT_USAGE`]. The flows bound their awaits with [`Deadline::bound`] and say
//! what they are waiting for with [`Deadline::doing`], so the normal path ends at the
//! deadline itself with a precise message; the watchdog is the backstop.
//!
//! Time a person spends answering a prompt is not the command's: [`Deadline::pause`] stops
//! the clock until its guard is dropped (the deadline moves on by the paused time, and
//! [`Deadline::bound`] and the watchdog follow it).

use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::duration::format_duration;
use crate::error::{EXIT_USAGE, UserError};

/// How long after the deadline the watchdog ends a run that did not end itself.
pub const GRACE: Duration = Duration::from_millis(1000);

/// How long after its own `--timeout` a command that reports a timeout itself (verify's
/// report, scale's rollout wait, exit 1) gets before the whole-run deadline ends it (exit 2).
/// With [`GRACE`], a run that hangs ends within `--timeout` + 1.5 s.
pub const REPORT_SLACK: Duration = Duration::from_millis(500);

#[derive(Debug)]
struct Inner {
    program: &'static str,
    started: Instant,
    total: Duration,
    activity: Mutex<String>,
    /// The user's connection flags, for the hint's `kubectl cluster-info`.
    connection_flags: Mutex<String>,
    pauses: Mutex<Pauses>,
}

/// Time the deadline stood still (prompts).
#[derive(Debug, Default)]
struct Pauses {
    /// Open [`Paused`] guards.
    depth: u32,
    /// When the current pause began.
    since: Option<Instant>,
    /// The paused time of the pauses already over.
    total: Duration,
}

impl Pauses {
    fn paused_time(&self) -> Duration {
        self.total + self.since.map(|s| s.elapsed()).unwrap_or_default()
    }
}

/// While held, the deadline does not run (a person is typing); dropping it resumes the
/// clock. See [`Deadline::pause`].
#[derive(Debug)]
#[must_use = "the deadline resumes when the guard is dropped"]
pub struct Paused {
    deadline: Deadline,
}

impl Drop for Paused {
    fn drop(&mut self) {
        let mut p = self.deadline.pauses();
        p.depth = p.depth.saturating_sub(1);
        if p.depth == 0
            && let Some(since) = p.since.take()
        {
            p.total += since.elapsed();
        }
    }
}

/// The deadline of one command run. Cheap to clone; every clone is the same deadline.
#[derive(Debug, Clone)]
pub struct Deadline {
    inner: Arc<Inner>,
}

/// The deadline passed while waiting for something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} did not answer within {}", format_duration(*.after))]
pub struct Expired {
    /// What was being waited for (`the API server at https://…`).
    pub what: String,
    /// The command's whole deadline.
    pub after: Duration,
    /// The user's `--kubeconfig`/`--context` (empty or starting with a space), so that the
    /// hint's `kubectl cluster-info` asks the same cluster as the user.
    pub connection_flags: String,
}

impl UserError for Expired {
    fn hint(&self) -> Option<String> {
        Some(format!(
            "check that the cluster answers (`kubectl cluster-info{}`), or give the command more time with --timeout",
            self.connection_flags
        ))
    }
}

impl Deadline {
    /// A deadline `total` from now, with the watchdog armed. `program` names the command in
    /// the watchdog's message.
    pub fn start(program: &'static str, total: Duration) -> Deadline {
        let d = Deadline::unguarded(program, total);
        let watched = d.clone();
        let spawned = std::thread::Builder::new()
            .name("deadline-watchdog".into())
            .spawn(move || watched.watch());
        if let Err(e) = spawned {
            tracing::debug!("no deadline watchdog: {e}");
        }
        d
    }

    /// A deadline without a watchdog (tests, and flows run inside another command).
    pub fn unguarded(program: &'static str, total: Duration) -> Deadline {
        Deadline {
            inner: Arc::new(Inner {
                program,
                started: Instant::now(),
                total,
                activity: Mutex::new("the command".into()),
                connection_flags: Mutex::new(String::new()),
                pauses: Mutex::new(Pauses::default()),
            }),
        }
    }

    /// The whole budget.
    pub fn total(&self) -> Duration {
        self.inner.total
    }

    /// When the run must be over: the start plus the budget plus the time spent paused
    /// (while paused, it moves on with the clock).
    pub fn at(&self) -> Instant {
        self.inner.started + self.inner.total + self.pauses().paused_time()
    }

    /// Stop the clock until the returned guard is dropped: for prompts, whose time belongs to
    /// the person answering, not to the command. Pauses nest.
    pub fn pause(&self) -> Paused {
        let mut p = self.pauses();
        if p.depth == 0 {
            p.since = Some(Instant::now());
        }
        p.depth += 1;
        drop(p);
        Paused {
            deadline: self.clone(),
        }
    }

    fn pauses(&self) -> std::sync::MutexGuard<'_, Pauses> {
        self.inner.pauses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Time left (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.at().saturating_duration_since(Instant::now())
    }

    /// Time since the run started, paused time excluded.
    pub fn elapsed(&self) -> Duration {
        self.inner
            .started
            .elapsed()
            .saturating_sub(self.pauses().paused_time())
    }

    /// Record what the run is waiting for now, for the message if the deadline passes
    /// (`the API server at https://127.0.0.1:6443`, `the exec credential plugin vault`).
    pub fn doing(&self, what: impl Into<String>) {
        *self
            .inner
            .activity
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = what.into();
    }

    /// The user's connection flags as typed (`--kubeconfig F --context C`, empty or starting
    /// with a space), for the hint of [`Deadline::expired`].
    pub fn connecting_with(&self, flags: impl Into<String>) {
        *self
            .inner
            .connection_flags
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = flags.into();
    }

    /// What the run is waiting for.
    pub fn activity(&self) -> String {
        self.inner
            .activity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The error for "the deadline passed while doing what was last recorded".
    pub fn expired(&self) -> Expired {
        Expired {
            what: self.activity(),
            after: self.inner.total,
            connection_flags: self
                .inner
                .connection_flags
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// Run `fut` until it ends or the deadline passes (a pause meanwhile moves the deadline).
    pub async fn bound<F: Future>(&self, fut: F) -> Result<F::Output, Expired> {
        let mut fut = std::pin::pin!(fut);
        loop {
            match tokio::time::timeout_at(self.at().into(), fut.as_mut()).await {
                Ok(output) => return Ok(output),
                Err(_) if self.at() > Instant::now() => continue,
                Err(_) => return Err(self.expired()),
            }
        }
    }

    fn watch(&self) {
        loop {
            let end = self.at() + GRACE;
            let now = Instant::now();
            if now >= end {
                break;
            }
            std::thread::sleep(end - now);
        }
        let err = self.expired();
        let (cause, hint) = crate::error::error_lines(self.inner.program, &err);
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "error: {cause}");
        if let Some(hint) = hint {
            let _ = writeln!(stderr, "hint: {hint}");
        }
        cleanup::remove_all();
        std::process::exit(i32::from(EXIT_USAGE));
    }
}

/// Files that must not outlive the run (plaintext temporaries): removed by the watchdog, by
/// the signal handlers and on Ctrl-C at a prompt, as well as by their owners' normal paths.
pub mod cleanup {
    use super::*;

    static PATHS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

    /// Registered for removal until dropped.
    #[derive(Debug)]
    pub struct Registered {
        path: PathBuf,
    }

    impl Drop for Registered {
        fn drop(&mut self) {
            PATHS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|p| p != &self.path);
        }
    }

    /// Remove `path` if the process is stopped before the guard is dropped.
    pub fn register(path: &Path) -> Registered {
        PATHS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(path.to_path_buf());
        Registered {
            path: path.to_path_buf(),
        }
    }

    /// Remove every registered file now (best effort; called just before exiting).
    pub fn remove_all() {
        let paths = std::mem::take(&mut *PATHS.lock().unwrap_or_else(|p| p.into_inner()));
        for p in paths {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bound_ends_at_the_deadline_naming_the_activity() {
        let d = Deadline::unguarded("t", Duration::from_millis(50));
        d.doing("the API server at https://x");
        let err = d
            .bound(tokio::time::sleep(Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert_eq!(err.what, "the API server at https://x");
        assert_eq!(
            err.to_string(),
            "the API server at https://x did not answer within 50ms"
        );
        assert_eq!(d.remaining(), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_pause_moves_the_deadline_by_the_paused_time() {
        let d = Deadline::unguarded("t", Duration::from_millis(100));
        let paused = d.pause();
        let inner = d.pause();
        tokio::time::sleep(Duration::from_millis(150)).await;
        drop(inner);
        assert!(
            d.remaining() > Duration::from_millis(50),
            "{:?}",
            d.remaining()
        );
        drop(paused);
        // The wait below outlives the unpaused budget only because of the pause.
        let got = d.bound(tokio::time::sleep(Duration::from_millis(30))).await;
        assert!(got.is_ok());
        assert!(
            d.elapsed() < Duration::from_millis(120),
            "{:?}",
            d.elapsed()
        );
    }

    #[tokio::test]
    async fn bound_keeps_waiting_while_paused() {
        let d = Deadline::unguarded("t", Duration::from_millis(50));
        let d2 = d.clone();
        let typing = async move {
            let _p = d2.pause();
            tokio::time::sleep(Duration::from_millis(200)).await;
            7
        };
        assert_eq!(d.bound(typing).await.unwrap(), 7);
        let err = d
            .bound(tokio::time::sleep(Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert_eq!(err.after, Duration::from_millis(50));
    }

    #[tokio::test]
    async fn bound_returns_what_finished_in_time() {
        let d = Deadline::unguarded("t", Duration::from_secs(5));
        assert_eq!(d.bound(async { 7 }).await.unwrap(), 7);
    }

    #[test]
    fn cleanup_removes_registered_files_and_forgets_dropped_ones() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept");
        let doomed = dir.path().join("doomed");
        std::fs::write(&kept, "k").unwrap();
        std::fs::write(&doomed, "d").unwrap();
        drop(cleanup::register(&kept));
        let _guard = cleanup::register(&doomed);
        cleanup::remove_all();
        assert!(kept.exists() && !doomed.exists());
    }
}
