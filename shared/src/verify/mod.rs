//! `kubectl todo verify`: the whole health verdict of a todo-chatbot release.
//!
//! The flow has three layers, in one direction:
//! - [`collect`] reads everything from the cluster into a [`collect::Snapshot`]: the server
//!   version and the Helm release first, then every other read concurrently (one list of pods
//!   by label selector for the whole release, one list of events, the two health probes
//!   through the API server's service proxy), then log tails for crashing containers only;
//! - [`checks`] turns a snapshot into [`CheckResult`]s: pure functions, unit-tested on typed
//!   objects;
//! - [`crate::render`] turns a [`Report`] into a table, JSON or JUnit.
//!
//! [`run`] does one evaluation; with [`VerifyOptions::wait`] it re-evaluates whenever the
//! release's pods or Deployments change (a `kube::runtime::watcher`, never a sleep loop) until
//! healthy or the timeout.

pub mod checks;
pub mod collect;
pub mod registry;

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};

use crate::chart::LABEL_INSTANCE;
use crate::cluster::{Cluster, ClusterError};
use crate::diagnose::{self, FailFast};
use crate::error::{EXIT_OK, EXIT_UNHEALTHY, UsageError, UserError};
use crate::platform::Platform;
use crate::release::ReleaseError;
use crate::ui::{Progress, Ui};

/// What stops verify itself (exit 2): connection, credentials, RBAC on the core reads, the
/// release not found or ambiguous, and `--only`/`--skip` naming no check. An unhealthy
/// release is not an error: it is a [`Report`] with failures (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Talking to the cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The release could not be found or read.
    #[error(transparent)]
    Release(#[from] ReleaseError),
    /// The command line is wrong.
    #[error(transparent)]
    Usage(#[from] UsageError),
}

impl UserError for VerifyError {
    fn hint(&self) -> Option<String> {
        match self {
            VerifyError::Cluster(e) => e.hint(),
            VerifyError::Release(e) => e.hint(),
            VerifyError::Usage(e) => e.hint(),
        }
    }
}

type Result<T, E = VerifyError> = std::result::Result<T, E>;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check holds.
    Pass,
    /// Not broken, but worth fixing (a failure with `--strict`).
    Warn,
    /// Broken: the release is unhealthy.
    Fail,
    /// Not evaluated (excluded, not applicable, or not permitted).
    Skip,
}

impl Status {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check's verdict. Data only: the renderers decide how it looks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckResult {
    /// Stable identifier, e.g. `backend.pods` (see [`REGISTRY`]).
    pub id: &'static str,
    /// The group: the part of the ID before the dot.
    pub group: &'static str,
    /// The verdict.
    pub status: Status,
    /// One line: what was found.
    pub message: String,
    /// For anything not passing: what to do next, with a command.
    pub hint: Option<String>,
    /// Extra lines (per-pod problems, redacted log lines, ...). Never a secret value.
    pub details: Vec<String>,
    /// The root cause this result follows from, when another failing check explains it (see
    /// [`registry::attribute_root_causes`]); its hint then says to fix that first.
    #[serde(rename = "blockedBy", skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<&'static str>,
    /// Checks that, when they fail, explain what this check found (set by the check from
    /// what it saw, e.g. a missing Secret key behind CreateContainerConfigError).
    #[serde(skip)]
    pub causes: Vec<&'static str>,
}

impl CheckResult {
    /// A result for check `id` (its group is derived from the ID).
    pub fn new(id: &'static str, status: Status, message: impl Into<String>) -> Self {
        CheckResult {
            id,
            group: group_of(id),
            status,
            message: message.into(),
            hint: None,
            details: Vec::new(),
            blocked_by: None,
            causes: Vec::new(),
        }
    }
    /// A passing result.
    pub fn pass(id: &'static str, message: impl Into<String>) -> Self {
        Self::new(id, Status::Pass, message)
    }
    /// A warning with a hint.
    pub fn warn(id: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(id, Status::Warn, message).with_hint(hint)
    }
    /// A failure with a hint.
    pub fn fail(id: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(id, Status::Fail, message).with_hint(hint)
    }
    /// A skipped check; the message says why.
    pub fn skip(id: &'static str, message: impl Into<String>) -> Self {
        Self::new(id, Status::Skip, message)
    }
    /// Set the hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Set the detail lines.
    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
    /// Name checks whose failure would explain this result (see [`CheckResult::causes`]).
    pub fn caused_by(mut self, checks: &[&'static str]) -> Self {
        self.causes.extend_from_slice(checks);
        self
    }
}

pub use registry::{REGISTRY, group_of};

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// `--release`: the release name; `None` finds the only todo-chatbot release.
    pub release: Option<String>,
    /// `--only`: check IDs, groups (`backend`) or `group.*` patterns to run; empty = all.
    pub only: Vec<String>,
    /// `--skip`: check IDs, groups or patterns not to run.
    pub skip: Vec<String>,
    /// `--strict`: warnings make the release unhealthy.
    pub strict: bool,
    /// `--wait`: re-evaluate on changes until healthy or [`VerifyOptions::timeout`].
    pub wait: bool,
    /// `--timeout`: bounds the whole run (and the wait).
    pub timeout: Duration,
    /// The budget of each health request.
    pub health_budget: Duration,
    /// With `--wait`: stop waiting, unhealthy, as soon as a pod's failure cannot heal
    /// (`None`: `--no-fail-fast`, wait for the timeout whatever happens).
    pub fail_fast: Option<FailFast>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            release: None,
            only: Vec::new(),
            skip: Vec::new(),
            strict: false,
            wait: false,
            timeout: Duration::from_secs(120),
            health_budget: Duration::from_secs(2),
            fail_fast: Some(FailFast::default()),
        }
    }
}

/// Which checks run, from `--only` and `--skip`.
#[derive(Debug, Clone)]
pub struct Selection {
    enabled: Vec<&'static str>,
}

impl Selection {
    /// Resolve `--only`/`--skip`; an entry that matches no check is a usage error.
    pub fn new(only: &[String], skip: &[String]) -> Result<Self> {
        let matches = |pattern: &str, id: &str| {
            let pattern = pattern.trim();
            let pattern = pattern.strip_suffix(".*").unwrap_or(pattern);
            id == pattern || group_of(id) == pattern
        };
        for pattern in only.iter().chain(skip) {
            if !REGISTRY.iter().any(|d| matches(pattern, d.id)) {
                let groups = REGISTRY.iter().map(|d| group_of(d.id));
                let names = REGISTRY.iter().map(|d| d.id).chain(groups);
                let guess = crate::complete::closest(pattern.trim(), names)
                    .map(|n| format!("did you mean {n}? "))
                    .unwrap_or_default();
                return Err(VerifyError::from(UsageError::new(
                    format!("unknown check {pattern:?}"),
                    format!(
                        "{guess}use a check ID or group: {}",
                        REGISTRY.iter().map(|d| d.id).collect::<Vec<_>>().join(", ")
                    ),
                )));
            }
        }
        let enabled = REGISTRY
            .iter()
            .map(|d| d.id)
            .filter(|id| only.is_empty() || only.iter().any(|p| matches(p, id)))
            .filter(|id| !skip.iter().any(|p| matches(p, id)))
            .collect::<Vec<_>>();
        if enabled.is_empty() {
            // Zero checks would report HEALTHY about nothing.
            return Err(VerifyError::from(UsageError::new(
                "--only/--skip leave no check to run",
                "skip fewer groups, or name the checks to run with --only",
            )));
        }
        Ok(Selection { enabled })
    }

    /// Every check.
    pub fn all() -> Self {
        Selection {
            enabled: REGISTRY.iter().map(|d| d.id).collect(),
        }
    }

    /// Whether check `id` runs.
    pub fn wants(&self, id: &str) -> bool {
        self.enabled.contains(&id)
    }

    /// Whether a selected check needs the optional read `read`.
    pub fn reads(&self, read: registry::Read) -> bool {
        REGISTRY
            .iter()
            .any(|d| self.wants(d.id) && d.reads.contains(&read))
    }
}

/// The release as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseInfo {
    /// Release name.
    pub name: String,
    /// Latest revision, when the release record was readable.
    pub revision: Option<u32>,
    /// Helm status of that revision.
    pub status: Option<String>,
    /// Chart name.
    pub chart: Option<String>,
    /// Chart version.
    pub chart_version: Option<String>,
    /// App version.
    pub app_version: Option<String>,
}

/// Which command made a [`Report`]: the checks, renderers and exit codes are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportKind {
    /// `kubectl todo verify`: is the installed release healthy?
    #[default]
    Verify,
    /// `kubectl todo preflight`: would `helm install/upgrade` of these values succeed?
    Preflight,
}

/// The verdict of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The command that made it.
    pub kind: ReportKind,
    /// The kubeconfig context used.
    pub context: String,
    /// The namespace checked.
    pub namespace: String,
    /// The API server URL.
    pub server: String,
    /// The release checked.
    pub release: ReleaseInfo,
    /// Every check that ran (excluded ones are absent), in [`REGISTRY`] order.
    pub checks: Vec<CheckResult>,
    /// Whether warnings count as failures.
    pub strict: bool,
    /// How long the run took.
    pub duration: Duration,
    /// With `--wait`: the timeout was hit before the release became healthy.
    pub timed_out: bool,
    /// The platform the release runs on (`minikube`, `kind`, ..., `other`).
    pub platform: Platform,
    /// With `--wait`: the failure that cannot heal which ended the wait early (a pod's
    /// problem, as `POD/CONTAINER: REASON`); `None` when the wait was not cut short.
    pub permanent: Option<String>,
    /// Preflight: what the install would create (see `preflight::plan::Plan::summary`).
    pub plan: Option<serde_json::Value>,
}

/// Counts of results by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Passed checks.
    pub pass: usize,
    /// Warnings.
    pub warn: usize,
    /// Failures.
    pub fail: usize,
    /// Skipped checks.
    pub skip: usize,
}

impl Report {
    /// Counts by status.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.checks {
            match c.status {
                Status::Pass => s.pass += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
                Status::Skip => s.skip += 1,
            }
        }
        s
    }

    /// Healthy: no failure, and no warning under `--strict`.
    pub fn healthy(&self) -> bool {
        let s = self.summary();
        s.fail == 0 && !(self.strict && s.warn > 0)
    }

    /// The process exit code: 0 healthy, 1 unhealthy.
    pub fn exit_code(&self) -> u8 {
        if self.healthy() {
            EXIT_OK
        } else {
            EXIT_UNHEALTHY
        }
    }

    /// The checks that make the release unhealthy.
    pub fn blocking(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail || (self.strict && c.status == Status::Warn))
    }

    /// The root causes: the checks that make the release unhealthy and that no other failing
    /// check explains (see [`registry::attribute_root_causes`]).
    pub fn root_causes(&self) -> impl Iterator<Item = &CheckResult> {
        self.blocking().filter(|c| c.blocked_by.is_none())
    }
}

/// Evaluate once: collect a snapshot and run the selected checks on it.
async fn evaluate(
    cluster: &Cluster,
    opts: &VerifyOptions,
    selection: &Selection,
    started: Instant,
) -> Result<Report> {
    let snap = collect::collect(cluster, opts, selection).await?;
    let checks = checks::evaluate(&snap, selection);
    let permanent = opts
        .fail_fast
        .filter(|_| opts.wait)
        .and_then(|policy| permanent_problem(&snap, &policy));
    Ok(Report {
        kind: ReportKind::Verify,
        context: cluster.context.clone(),
        namespace: cluster.namespace.clone(),
        server: cluster.server.clone(),
        release: snap.release_info(),
        checks,
        strict: opts.strict,
        duration: started.elapsed(),
        timed_out: false,
        platform: snap.platform.clone(),
        permanent,
        plan: None,
    })
}

/// The first of the release's pod problems that waiting cannot fix, as `POD/CONTAINER:
/// REASON` (see [`diagnose::PodProblem::who`]).
fn permanent_problem(snap: &collect::Snapshot, policy: &FailFast) -> Option<String> {
    let ctx = diagnose::HintContext {
        allocatable: &snap.allocatable,
        ..diagnose::HintContext::platform(&snap.platform)
    };
    diagnose::pod_problems_in(&snap.pods, &ctx)
        .into_iter()
        .find(|p| p.is_permanent(policy))
        .map(|p| crate::redact::printable(&format!("{}: {}", p.who(), p.shown_reason())))
}

/// Run verify. Without `--wait`: one evaluation, bounded by the timeout. With `--wait`:
/// evaluate, then re-evaluate on each change of the release's pods or Deployments, showing
/// each unhealthy intermediate report through `ui`, until healthy or the timeout (then the
/// last report is returned with `timed_out` set).
///
/// Errors (exit code 2) are for what stops the check itself: connection, credentials, RBAC on
/// the core reads, release not found or ambiguous, and `--only`/`--skip` naming no check.
pub async fn run(cluster: &Cluster, opts: &VerifyOptions, ui: &dyn Ui) -> Result<Report> {
    let selection = Selection::new(&opts.only, &opts.skip)?;
    crate::names::check_target(&cluster.namespace, opts.release.as_deref())?;
    let started = Instant::now();
    let deadline = started + opts.timeout;
    let first = tokio::time::timeout_at(
        deadline.into(),
        evaluate(cluster, opts, &selection, started),
    )
    .await
    .map_err(|_| {
        VerifyError::from(
            ClusterError::Timeout {
                server: cluster.server.clone(),
                what: "all of verify's requests".into(),
                after: Some(opts.timeout),
                source: None,
                flags: String::new(),
            }
            .for_user(&cluster.args),
        )
    })??;
    if !opts.wait || is_final(&first) {
        return Ok(first);
    }
    let wait = Wait {
        cluster,
        opts,
        selection: &selection,
        started,
        ui,
    };
    wait.until_final(first).await
}

/// Whether a report ends the wait: healthy, or a pod problem that waiting cannot fix.
fn is_final(report: &Report) -> bool {
    report.healthy() || report.permanent.is_some()
}

/// The last report, marked as the one the timeout ended the wait on.
fn timed_out(mut last: Report, elapsed: Duration) -> Report {
    last.timed_out = true;
    last.duration = elapsed;
    last
}

/// What `--wait` re-evaluates with.
struct Wait<'a> {
    cluster: &'a Cluster,
    opts: &'a VerifyOptions,
    selection: &'a Selection,
    started: Instant,
    ui: &'a dyn Ui,
}

impl Wait<'_> {
    /// Show `first`, then re-evaluate on each change of the release's pods or Deployments
    /// until a report [`is_final`] or the timeout passes (the last report, timed out).
    async fn until_final(&self, first: Report) -> Result<Report> {
        let deadline = self.started + self.opts.timeout;
        self.progress(&first);
        let mut changes = release_changes(self.cluster, &first.release.name);
        let mut last = first;
        loop {
            if !next_change(&mut changes, deadline).await {
                self.ui.finish();
                return Ok(timed_out(last, self.started.elapsed()));
            }
            let report = match tokio::time::timeout_at(
                deadline.into(),
                evaluate(self.cluster, self.opts, self.selection, self.started),
            )
            .await
            {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    self.ui.finish();
                    return Err(e);
                }
                Err(_) => {
                    self.ui.finish();
                    return Ok(timed_out(last, self.started.elapsed()));
                }
            };
            if is_final(&report) {
                self.ui.finish();
                return Ok(report);
            }
            self.progress(&report);
            last = report;
        }
    }

    /// Show an unhealthy intermediate report as the progress line.
    fn progress(&self, report: &Report) {
        let elapsed = self.started.elapsed();
        let line = progress_line(report, elapsed, self.opts.timeout);
        self.ui.progress(Progress::Checks {
            line: &line,
            elapsed,
            timeout: self.opts.timeout,
        });
    }
}

/// A stream that yields once per change of the release's pods or Deployments (watch
/// errors come through; the watchers resume by themselves).
fn release_changes(
    cluster: &Cluster,
    release: &str,
) -> impl futures::Stream<Item = std::result::Result<(), watcher::Error>> + Unpin + use<> {
    let selector = format!("{LABEL_INSTANCE}={release}");
    let cfg = watcher::Config::default().labels(&selector);
    let pods = watcher(
        Api::<Pod>::namespaced(cluster.client.clone(), &cluster.namespace),
        cfg.clone(),
    )
    .default_backoff()
    .map(|e| e.map(|_| ()));
    let deps = watcher(
        Api::<Deployment>::namespaced(cluster.client.clone(), &cluster.namespace),
        cfg,
    )
    .default_backoff()
    .map(|e| e.map(|_| ()));
    futures::stream::select(pods.boxed(), deps.boxed())
}

/// Wait for the next change before the deadline, then swallow the burst that follows (a
/// rollout sends many events) so that it makes one re-evaluation. `false` when the deadline
/// passed or the stream ended.
async fn next_change(
    changes: &mut (impl futures::Stream<Item = std::result::Result<(), watcher::Error>> + Unpin),
    deadline: Instant,
) -> bool {
    loop {
        match tokio::time::timeout_at(deadline.into(), changes.next()).await {
            Err(_) | Ok(None) => return false,
            Ok(Some(Err(e))) => {
                // The watcher resumes by itself; a lost watch is only logged.
                tracing::debug!("watch error, resuming: {e}");
            }
            Ok(Some(Ok(()))) => break,
        }
    }
    while let Some(Some(_)) = futures::FutureExt::now_or_never(changes.next()) {}
    true
}

/// The progress line shown while `--wait` waits: one line, no control characters.
pub fn progress_line(report: &Report, elapsed: Duration, timeout: Duration) -> String {
    let blocking: Vec<&CheckResult> = report.blocking().collect();
    let first = blocking
        .first()
        .map(|c| format!(" (first: {}: {})", c.id, c.message))
        .unwrap_or_default();
    let line = format!(
        "waiting for release {} [{:>3}s/{}s]: {} of {} checks not healthy{first}",
        report.release.name,
        elapsed.as_secs(),
        timeout.as_secs(),
        blocking.len(),
        report.checks.len()
    );
    crate::redact::printable(&line).chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_accepts_ids_groups_and_patterns() {
        let s = Selection::new(&["backend".into()], &["backend.health".into()]).unwrap();
        assert!(s.wants("backend.pods") && !s.wants("backend.health") && !s.wants("frontend.pods"));
        let s = Selection::new(&["config.*".into()], &[]).unwrap();
        assert!(
            s.wants("config.secrets")
                && s.wants("config.sealed-secret")
                && !s.wants("release.status")
        );
        let s = Selection::new(&[], &["events.warnings".into()]).unwrap();
        assert!(s.wants("cluster.reachable") && !s.wants("events.warnings"));
    }

    #[test]
    fn selection_rejects_unknown_checks() {
        let err = Selection::new(&["backend.podz".into()], &[]).unwrap_err();
        assert!(err.to_string().contains("backend.podz"));
        assert!(err.hint().unwrap().contains("backend.pods"));
        assert!(
            err.hint()
                .unwrap()
                .starts_with("did you mean backend.pods? "),
            "{:?}",
            err.hint()
        );
        let err = Selection::new(&[], &["secuirty".into()]).unwrap_err();
        assert!(
            err.hint().unwrap().starts_with("did you mean security? "),
            "{:?}",
            err.hint()
        );
        let err = Selection::new(&["nothing-like-it".into()], &[]).unwrap_err();
        assert!(err.hint().unwrap().starts_with("use a check ID"));
    }

    #[test]
    fn selection_of_no_check_is_a_usage_error() {
        let groups: Vec<String> = REGISTRY
            .iter()
            .map(|d| group_of(d.id).to_string())
            .collect();
        let err = Selection::new(&[], &groups).unwrap_err();
        assert!(err.to_string().contains("no check to run"), "{err}");
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        let err = Selection::new(&["backend".into()], &["backend".into()]).unwrap_err();
        assert!(err.to_string().contains("no check to run"), "{err}");
    }

    fn report(statuses: &[Status], strict: bool) -> Report {
        Report {
            kind: ReportKind::Verify,
            context: "c".into(),
            namespace: "todo".into(),
            server: "https://x".into(),
            release: ReleaseInfo {
                name: "todo".into(),
                revision: None,
                status: None,
                chart: None,
                chart_version: None,
                app_version: None,
            },
            checks: statuses
                .iter()
                .map(|s| CheckResult::new("backend.pods", *s, "m"))
                .collect(),
            strict,
            duration: Duration::ZERO,
            timed_out: false,
            platform: Platform::Other,
            permanent: None,
            plan: None,
        }
    }

    #[test]
    fn warnings_fail_only_with_strict() {
        assert!(report(&[Status::Pass, Status::Warn, Status::Skip], false).healthy());
        assert!(!report(&[Status::Pass, Status::Warn], true).healthy());
        assert_eq!(report(&[Status::Fail], false).exit_code(), 1);
        assert_eq!(report(&[Status::Pass], true).exit_code(), 0);
    }

    #[test]
    fn the_wait_ends_on_health_or_a_permanent_problem() {
        assert!(is_final(&report(&[Status::Pass, Status::Warn], false)));
        assert!(!is_final(&report(&[Status::Pass, Status::Warn], true)));
        let mut r = report(&[Status::Fail], false);
        assert!(!is_final(&r));
        r.permanent = Some("p/c: ErrImageNeverPull".into());
        assert!(is_final(&r));
    }

    #[test]
    fn a_timed_out_report_keeps_its_checks() {
        let r = timed_out(report(&[Status::Fail], false), Duration::from_secs(9));
        assert!(r.timed_out && r.duration == Duration::from_secs(9));
        assert_eq!(r.checks.len(), 1);
        assert_eq!(r.exit_code(), 1);
    }
}
