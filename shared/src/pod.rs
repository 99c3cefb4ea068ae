//! Facts about a Pod that several checks read: whether it is Ready (the one definition the
//! suite uses, kubectl's), since when, its restarts, its component. Pure.

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::jiff::Timestamp;

use crate::chart::{Component, LABEL_COMPONENT};

fn ready_condition(p: &Pod) -> Option<&PodCondition> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// Ready as `kubectl get pods` counts it: phase Running and the `Ready` condition True. A
/// Terminating pod can still be Ready (see [`is_terminating`]).
pub fn is_ready(p: &Pod) -> bool {
    phase(p) == "Running" && ready_condition(p).is_some_and(|c| c.status == "True")
}

/// When the pod last became Ready, if it is.
pub fn ready_since(p: &Pod) -> Option<Timestamp> {
    ready_condition(p)
        .filter(|c| c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
}

/// `status.phase`, or `Unknown`.
pub fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

/// The sum of the app containers' restart counts.
pub fn restarts(p: &Pod) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}

/// The pod's name, or `<unnamed>`.
pub fn name(p: &Pod) -> &str {
    p.metadata.name.as_deref().unwrap_or("<unnamed>")
}

/// The chart component the pod belongs to, by its `app.kubernetes.io/component` label.
pub fn component(p: &Pod) -> Option<Component> {
    p.metadata
        .labels
        .as_ref()?
        .get(LABEL_COMPONENT)
        .and_then(|v| Component::from_name(v))
}

/// Whether the pod is being deleted (Terminating).
pub fn is_terminating(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn pod(phase: &str, ready: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                labels: Some(
                    [(LABEL_COMPONENT.to_owned(), "backend".to_owned())]
                        .into_iter()
                        .collect(),
                ),
                ..Default::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: ready.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn ready_needs_running_and_the_ready_condition() {
        assert!(is_ready(&pod("Running", "True")));
        assert!(!is_ready(&pod("Running", "False")));
        assert!(!is_ready(&pod("Pending", "True")));
        let mut terminating = pod("Running", "True");
        terminating.metadata.deletion_timestamp = Some(Time(Timestamp::now()));
        assert!(is_ready(&terminating) && is_terminating(&terminating));
    }

    #[test]
    fn component_comes_from_the_label() {
        assert_eq!(component(&pod("Running", "True")), Some(Component::Backend));
    }
}
