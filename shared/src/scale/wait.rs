//! Watch Deployments until their scale settles ([`crate::rollout::scale_settled`]), fails
//! (progress deadline), the timeout passes or Ctrl-C is pressed.
//!
//! Uses `kube::runtime::watcher` on each Deployment (field selector `metadata.name`): one
//! list, then a watch; when the server drops the watch, the watcher resumes from the last
//! resourceVersion it saw (and relists only if that version is gone, 410). No sleep-polling.

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use super::Outcome;
use super::ScaleError as Error;
use crate::cluster::{Action, Cluster};
use crate::diagnose::{self, FailFast};
use crate::rollout::{self, RolloutState};
use crate::ui::{Progress, Ui};

/// How the wait for one Deployment ended.
#[derive(Debug, Clone)]
pub struct WaitEnd {
    /// Complete, Failed, TimedOut, Interrupted (or NotWaited / DryRun when no wait ran).
    pub outcome: Outcome,
    /// The last version of the Deployment seen.
    pub deployment: Option<Deployment>,
    /// Where the rollout stands, in words.
    pub message: String,
    /// From the start of the wait to this Deployment's end.
    pub elapsed: Duration,
}

/// What a wait needs: the cluster, the Deployments' API, the fail-fast policy and the UI.
pub struct Watch<'a> {
    /// The cluster.
    pub cluster: &'a Cluster,
    /// The namespace's Deployments.
    pub api: &'a Api<Deployment>,
    /// End as soon as a pod problem is permanent (`None`: wait anyway).
    pub fail_fast: Option<FailFast>,
    /// Each schedulable node's allocatable resources, to tell a pod no node can hold.
    pub allocatable: &'a [crate::quantity::Resources],
    /// Progress goes here.
    pub ui: &'a dyn Ui,
}

/// Whether a Deployment seen by the watch is done: settled by the scale criteria, with
/// the requested count in the spec when `want` is given (a stale read cannot end the wait).
pub fn judge(d: &Deployment, want: Option<i32>) -> (Option<Outcome>, String) {
    let state = rollout::scale_settled(d);
    let desired = rollout::replicas(d).desired;
    match state {
        RolloutState::Complete if want.is_none_or(|w| w == desired) => (
            Some(Outcome::Complete),
            format!("{desired}/{desired} replicas ready"),
        ),
        RolloutState::Complete => (
            None,
            format!(
                "waiting for spec.replicas to become {}",
                want.unwrap_or(desired)
            ),
        ),
        RolloutState::Failed(m) => (Some(Outcome::Failed), m),
        RolloutState::Waiting(m) => (None, m),
    }
}

#[derive(Default)]
struct Slot {
    latest: Option<Deployment>,
    end: Option<(Outcome, String, Duration)>,
    message: String,
}

/// Wait for every named Deployment. `want[i]` is the replica count to see in the spec of
/// `names[i]` (`None` when an HPA decides it). Errors only for fatal watch errors (RBAC,
/// the Deployment's API gone); everything else becomes an [`Outcome`].
impl Watch<'_> {
    /// Wait for every named Deployment (see the module doc).
    pub async fn wait_all(
        &self,
        names: &[String],
        want: &[Option<i32>],
        timeout: Duration,
    ) -> Result<Vec<WaitEnd>, Error> {
        wait_all(self, names, want, timeout).await
    }
}

async fn wait_all(
    watch: &Watch<'_>,
    names: &[String],
    want: &[Option<i32>],
    timeout: Duration,
) -> Result<Vec<WaitEnd>, Error> {
    let started = Instant::now();
    let ui = watch.ui;
    let slots: Vec<Mutex<Slot>> = names.iter().map(|_| Mutex::new(Slot::default())).collect();
    let waits = join_all(
        names
            .iter()
            .zip(want)
            .zip(&slots)
            .map(|((name, want), slot)| wait_one(watch, name, *want, slot, started)),
    );
    let interrupted = tokio::select! {
        results = waits => {
            for r in results {
                r?;
            }
            None
        }
        _ = tokio::time::sleep(timeout) => Some(Outcome::TimedOut),
        _ = tokio::signal::ctrl_c() => Some(Outcome::Interrupted),
    };
    ui.finish();
    Ok(slots
        .into_iter()
        .map(|slot| {
            let slot = slot.into_inner().unwrap_or_else(|p| p.into_inner());
            let (outcome, message, elapsed) = match (slot.end, interrupted) {
                (Some(end), _) => end,
                (None, Some(Outcome::TimedOut)) => (
                    Outcome::TimedOut,
                    format!(
                        "timed out after {}: {}",
                        crate::duration::format_duration(timeout),
                        slot.message
                    ),
                    started.elapsed(),
                ),
                (None, Some(o)) => (o, slot.message, started.elapsed()),
                (None, None) => (Outcome::TimedOut, slot.message, started.elapsed()),
            };
            WaitEnd {
                outcome,
                deployment: slot.latest,
                message,
                elapsed,
            }
        })
        .collect())
}

/// Watch one Deployment, and its pods when failing fast, until it ends.
async fn wait_one(
    watch: &Watch<'_>,
    name: &str,
    want: Option<i32>,
    slot: &Mutex<Slot>,
    started: Instant,
) -> Result<(), Error> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut deployments = pin!(watcher::watcher(watch.api.clone(), config).default_backoff());
    let pods_api: Api<Pod> =
        Api::namespaced(watch.cluster.client.clone(), &watch.cluster.namespace);
    let mut pods: BTreeMap<String, Pod> = BTreeMap::new();
    let mut pod_stream = None;
    let end = |outcome: Outcome, message: String| {
        let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
        s.end = Some((outcome, message, started.elapsed()));
    };
    loop {
        let pod_event = async {
            match pod_stream.as_mut() {
                Some(stream) => StreamExt::next(stream).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = deployments.next() => {
                let Some(event) = event else { return Ok(()) };
                let d = match event {
                    Ok(Event::Apply(d)) | Ok(Event::InitApply(d)) => d,
                    Ok(Event::Delete(d)) if d.metadata.name.as_deref() == Some(name) => {
                        end(Outcome::Failed, format!("deployment {name:?} was deleted while waiting"));
                        return Ok(());
                    }
                    Ok(_) => continue,
                    Err(e) => match fatal(watch.cluster, name, e) {
                        Some(fatal) => return Err(fatal),
                        None => continue,
                    },
                };
                // The server applies the field selector; check anyway (cheap, and some API
                // servers ignore unsupported selectors).
                if d.metadata.name.as_deref() != Some(name) {
                    continue;
                }
                if watch.fail_fast.is_some() && pod_stream.is_none() && let Some(selector) = selector_of(&d) {
                    let config = watcher::Config::default().labels(&selector);
                    pod_stream = Some(Box::pin(watcher::watcher(pods_api.clone(), config).default_backoff()));
                }
                if let Some(outcome) = show(watch.ui, name, &d, want, slot) {
                    let message = slot.lock().unwrap_or_else(|p| p.into_inner()).message.clone();
                    end(outcome, message);
                    return Ok(());
                }
            }
            event = pod_event => {
                match event {
                    Some(Ok(Event::Apply(p))) | Some(Ok(Event::InitApply(p))) => {
                        pods.insert(p.metadata.name.clone().unwrap_or_default(), p);
                    }
                    Some(Ok(Event::Delete(p))) => {
                        pods.remove(p.metadata.name.as_deref().unwrap_or_default());
                    }
                    Some(Ok(Event::Init)) => pods.clear(),
                    Some(_) => continue,
                    None => { pod_stream = None; continue; }
                }
                if let Some(policy) = watch.fail_fast
                    && let Some(problem) = permanent_problem(&pods, &watch.cluster.platform, watch.allocatable, &policy)
                {
                    end(Outcome::Failed, problem);
                    return Ok(());
                }
            }
        }
    }
}

/// Judge a Deployment seen by the watch, record it in the slot and show the progress.
fn show(
    ui: &dyn Ui,
    name: &str,
    d: &Deployment,
    want: Option<i32>,
    slot: &Mutex<Slot>,
) -> Option<Outcome> {
    let (end, message) = judge(d, want);
    let replicas = rollout::replicas(d);
    let state = match end {
        Some(Outcome::Complete) => RolloutState::Complete,
        Some(_) => RolloutState::Failed(message.clone()),
        None => RolloutState::Waiting(message.clone()),
    };
    ui.progress(Progress::Rollout {
        deployment: name,
        replicas: &replicas,
        state: &state,
    });
    let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
    s.latest = Some(d.clone());
    s.message = message;
    end
}

/// The label selector of a Deployment's pods (`matchLabels`), as `k=v,k=v`.
pub fn selector_of(d: &Deployment) -> Option<String> {
    let labels = d.spec.as_ref()?.selector.match_labels.as_ref()?;
    Some(
        labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// The first permanent problem of these pods, in words (pure: unit-tested).
pub fn permanent_problem(
    pods: &BTreeMap<String, Pod>,
    platform: &crate::platform::Platform,
    allocatable: &[crate::quantity::Resources],
    policy: &FailFast,
) -> Option<String> {
    let pods: Vec<Pod> = pods.values().cloned().collect();
    let ctx = diagnose::HintContext {
        allocatable,
        ..diagnose::HintContext::platform(platform)
    };
    diagnose::pod_problems_in(&pods, &ctx)
        .into_iter()
        .find(|p| p.is_permanent(policy))
        .map(|p| {
            let container = if p.container.is_empty() {
                String::new()
            } else {
                format!(" container {}", p.container)
            };
            crate::redact::printable(&format!(
                "pod {}{container}: {}: {} (permanent: not waiting for it to heal)",
                p.pod, p.reason, p.message
            ))
        })
}

/// Watch errors that retrying cannot fix (401, 403, 404 on the list or watch) end the wait
/// with an error; the rest (dropped connections, 5xx, 410 Gone) are retried by the watcher.
fn fatal(cluster: &Cluster, name: &str, err: watcher::Error) -> Option<Error> {
    let ns = cluster.namespace.as_str();
    let (verb, e) = match err {
        watcher::Error::InitialListFailed(e) => ("list", e),
        watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => ("watch", e),
        watcher::Error::WatchError(status) => ("watch", kube::Error::Api(status)),
        watcher::Error::NoResourceVersion => {
            tracing::debug!("watch of {name}: no resourceVersion");
            return None;
        }
    };
    match &e {
        kube::Error::Api(s) if matches!(s.code, 401 | 403 | 404) => Some(
            cluster
                .error(&Action::new(verb, "deployments", Some(ns)), e)
                .into(),
        ),
        _ => {
            tracing::debug!("watch of deployment {name} interrupted, resuming: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn deployment(desired: i32, ready: i32) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("web".into()),
                generation: Some(2),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(desired),
                ..Default::default()
            }),
            status: Some(DeploymentStatus {
                observed_generation: Some(2),
                replicas: Some(desired),
                updated_replicas: Some(desired),
                ready_replicas: Some(ready),
                available_replicas: Some(ready),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn settled_at_the_requested_count_completes() {
        assert_eq!(judge(&deployment(3, 3), Some(3)).0, Some(Outcome::Complete));
        assert_eq!(judge(&deployment(3, 3), None).0, Some(Outcome::Complete));
    }

    #[test]
    fn settled_at_an_old_count_keeps_waiting() {
        let (end, message) = judge(&deployment(1, 1), Some(3));
        assert_eq!(end, None);
        assert!(message.contains("spec.replicas"), "{message}");
    }

    #[test]
    fn unready_replicas_keep_waiting() {
        assert_eq!(judge(&deployment(3, 2), Some(3)).0, None);
    }
}
