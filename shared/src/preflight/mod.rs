//! `kubectl todo preflight`: what `helm install` (or upgrade) of these values would run into
//! on this cluster, known before it runs.
//!
//! Three steps, one direction:
//! - [`values`] computes `.Values` as Helm would (the chart's values.yaml, each `-f`, then
//!   `--set`) and validates it against `values.schema.json`;
//! - [`plan`] reads what the chart would render off those values (images, replicas, requests,
//!   NodePorts, secrets mode, kinds of object), pure;
//! - [`reads`] makes every read in one concurrent round, and [`checks`] turns plan and
//!   cluster into verify's [`CheckResult`]s, rendered by [`crate::render`] like verify's
//!   (exit 0 ready, 1 something will fail, 2 usage or connection).

pub mod checks;
pub mod plan;
pub mod reads;
pub mod strvals;
pub mod values;

use std::time::Instant;

use crate::cluster::{Cluster, ClusterError};
use crate::error::UserError;
use crate::platform::Platform;
use crate::secrets::controller::Controller;
use crate::verify::{CheckResult, ReleaseInfo, Report, ReportKind};

pub use checks::PREFLIGHT;

/// The release name preflight checks when `--release` is not given: the name the README's
/// `helm install` uses.
pub const DEFAULT_RELEASE: &str = "todo";

/// What stops preflight (exit 2): values that cannot be computed, a cluster that does not
/// answer. A release that would fail is not an error: it is a report with failures (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// The values could not be computed (a file, a `--set`, the chart).
    #[error(transparent)]
    Values(#[from] values::ValuesError),
    /// The command line is wrong.
    #[error(transparent)]
    Usage(#[from] crate::error::UsageError),
    /// The API server did not answer.
    #[error(transparent)]
    Cluster {
        /// What went wrong.
        #[from]
        source: ClusterError,
    },
    /// The API server did not answer, on a local cluster whose kubeconfig may be stale.
    #[error("{source}")]
    Stale {
        /// What went wrong.
        source: ClusterError,
        /// The platform's refresh command.
        refresh: String,
    },
}

impl UserError for PreflightError {
    fn hint(&self) -> Option<String> {
        match self {
            PreflightError::Values(e) => e.hint(),
            PreflightError::Usage(e) => e.hint(),
            PreflightError::Cluster { source } => source.hint(),
            PreflightError::Stale { source, refresh } => Some(format!(
                "the kubeconfig may point at a stale endpoint (the cluster restarted on another port or certificate): refresh it with {refresh}; {}",
                source.hint().unwrap_or_default()
            )),
        }
    }

    fn exit_code(&self) -> u8 {
        match self {
            PreflightError::Values(e) => e.exit_code(),
            PreflightError::Usage(e) => e.exit_code(),
            PreflightError::Cluster { source } | PreflightError::Stale { source, .. } => {
                source.exit_code()
            }
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct PreflightOptions {
    /// `--release` (default [`DEFAULT_RELEASE`]).
    pub release: Option<String>,
    /// The chart, `-f`, `--set`, `--set-string`.
    pub values: values::ValuesInput,
    /// `--create-namespace` will be passed to Helm.
    pub create_namespace: bool,
    /// `--strict`: warnings count as failures.
    pub strict: bool,
    /// The sealed-secrets controller to ask.
    pub controller: Controller,
}

/// Refuse a `--set`/`--set-string` that puts a plaintext secret (`secrets.inline.*`) on the
/// command line, where `ps` and shell history see it; sealed ciphertext and key names are
/// fine. The message names the flag's position, never its value.
pub fn no_secret_in_argv(values: &values::ValuesInput) -> Result<(), crate::error::UsageError> {
    let flags = values
        .set
        .iter()
        .map(|s| ("--set", s))
        .chain(values.set_string.iter().map(|s| ("--set-string", s)));
    for (i, (flag, text)) in flags.enumerate() {
        let Ok(tree) = strvals::parse(text, false) else {
            continue; // a malformed --set is values' error to report
        };
        let inline = tree
            .get("secrets")
            .and_then(|s| s.get("inline"))
            .and_then(serde_json::Value::as_object);
        if inline.is_some_and(|m| !m.is_empty()) {
            return Err(crate::error::UsageError::new(
                format!(
                    "{flag} argument {} sets secrets.inline: a secret on the command line is seen by `ps` and kept in shell history",
                    i + 1
                ),
                "put inline values in a -f file (mode 0600, gitignored), or seal them: `helm todo-secrets init`",
            ));
        }
    }
    Ok(())
}

/// Whether an error of the version read is the stale-kubeconfig kind (refused, unreachable,
/// TLS mismatch) and the platform has a command that refreshes it.
fn stale(source: ClusterError, platform: &Platform) -> PreflightError {
    let connection = matches!(
        source,
        ClusterError::Refused { .. } | ClusterError::Unreachable { .. } | ClusterError::Tls { .. }
    );
    match platform.update_context_hint() {
        Some(refresh) if connection => PreflightError::Stale { source, refresh },
        _ => PreflightError::Cluster { source },
    }
}

/// Run preflight: compute the values, read the cluster once, check.
pub async fn run(cluster: &Cluster, opts: &PreflightOptions) -> Result<Report, PreflightError> {
    let started = Instant::now();
    crate::names::check_target(&cluster.namespace, opts.release.as_deref())?;
    no_secret_in_argv(&opts.values)?;
    let computed = values::compute(&opts.values)?;
    let release = opts
        .release
        .clone()
        .unwrap_or_else(|| DEFAULT_RELEASE.to_owned());
    let plan = plan::Plan::new(
        &computed.tree,
        &computed.chart,
        &release,
        &cluster.namespace,
    );
    let obs = reads::observe(cluster, &plan, &opts.controller)
        .await
        .map_err(|e| stale(e, &cluster.platform))?;
    let platform = match &obs.nodes {
        Ok(nodes) => Platform::detect(&cluster.facts, nodes),
        Err(_) => cluster.platform.clone(),
    };
    let values_file = opts
        .values
        .files
        .last()
        .map(|f| crate::cluster::shell_word(&f.display().to_string()))
        .unwrap_or_else(|| crate::chart::DEFAULT_SEALED_FILE.to_owned());
    let chart_ref = match &opts.values.chart {
        values::ChartSource::Dir(d) => crate::cluster::shell_word(&d.display().to_string()),
        values::ChartSource::Embedded => crate::chart::DEFAULT_CHART_DIR.to_owned(),
    };
    let ctx = checks::Context {
        plan: &plan,
        obs: &obs,
        schema: &computed.schema_errors,
        platform: platform.clone(),
        server: cluster.server.clone(),
        context: cluster.context.clone(),
        kubectl_flags: cluster.context_flags(),
        helm_flags: cluster.helm_flags(),
        create_namespace: opts.create_namespace,
        values_file,
        chart_ref,
        controller: opts.controller.clone(),
    };
    let results: Vec<CheckResult> = checks::evaluate(&ctx);
    let latest = obs.release.as_ref().ok().and_then(|s| s.latest.clone());
    Ok(Report {
        kind: ReportKind::Preflight,
        context: cluster.context.clone(),
        namespace: cluster.namespace.clone(),
        server: cluster.server.clone(),
        release: ReleaseInfo {
            name: release,
            revision: latest.as_ref().map(|(r, _)| *r),
            status: latest.map(|(_, s)| s),
            chart: Some(computed.chart.name.clone()),
            chart_version: Some(computed.chart.version.clone()),
            app_version: computed.chart.app_version.clone(),
        },
        checks: results,
        strict: opts.strict,
        duration: started.elapsed(),
        timed_out: false,
        platform,
        permanent: None,
        plan: Some(plan.summary()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input(set: &[&str], set_string: &[&str]) -> values::ValuesInput {
        values::ValuesInput {
            chart: values::ChartSource::Embedded,
            files: Vec::new(),
            set: set.iter().map(|s| (*s).to_owned()).collect(),
            set_string: set_string.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_plaintext_secret_in_argv_is_refused_without_being_echoed() {
        let err = no_secret_in_argv(&input(
            &["backend.replicaCount=2"],
            &["secrets.inline.DATABASE_URL=postgresql://u:SNTL@h/db"],
        ))
        .unwrap_err();
        assert!(
            err.message
                .contains("--set-string argument 2 sets secrets.inline"),
            "{err}"
        );
        assert!(!err.to_string().contains("SNTL"));
        // Sealed ciphertext, the mode and other values are fine.
        no_secret_in_argv(&input(
            &["secrets.mode=inline,secrets.sealed.encryptedData.DATABASE_URL=AgBy"],
            &[],
        ))
        .unwrap();
    }
}
