//! Rollout criteria, exactly as `kubectl rollout status` decides them, plus the stricter
//! "every desired replica is ready and available" that a scale waits for.
//!
//! Pure functions over a Deployment: no I/O, so verify and scale agree by construction.

use k8s_openapi::api::apps::v1::Deployment;

/// Where a Deployment's rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutState {
    /// Not finished; the message says what is awaited (kubectl's wording).
    Waiting(String),
    /// Finished successfully.
    Complete,
    /// Failed: the progress deadline was exceeded.
    Failed(String),
}

impl RolloutState {
    /// Whether the rollout is finished successfully.
    pub fn is_complete(&self) -> bool {
        matches!(self, RolloutState::Complete)
    }
}

/// Replica counts of a Deployment, defaults applied (spec.replicas defaults to 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Replicas {
    /// `spec.replicas`.
    pub desired: i32,
    /// `status.replicas` (all pods, old and new).
    pub current: i32,
    /// `status.updatedReplicas`.
    pub updated: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `status.availableReplicas`.
    pub available: i32,
}

/// Read the replica counts of a Deployment.
pub fn replicas(d: &Deployment) -> Replicas {
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let st = d.status.clone().unwrap_or_default();
    Replicas {
        desired,
        current: st.replicas.unwrap_or(0),
        updated: st.updated_replicas.unwrap_or(0),
        ready: st.ready_replicas.unwrap_or(0),
        available: st.available_replicas.unwrap_or(0),
    }
}

/// The verdict of `kubectl rollout status` for this Deployment.
pub fn rollout_state(d: &Deployment) -> RolloutState {
    let name = d.metadata.name.as_deref().unwrap_or("<unnamed>");
    let generation = d.metadata.generation.unwrap_or(0);
    let status = d.status.clone().unwrap_or_default();
    if generation > status.observed_generation.unwrap_or(0) {
        return RolloutState::Waiting(
            "Waiting for deployment spec update to be observed...".into(),
        );
    }
    let deadline_exceeded = status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if deadline_exceeded {
        return RolloutState::Failed(format!(
            "deployment {name:?} exceeded its progress deadline"
        ));
    }
    let r = replicas(d);
    let has_spec_replicas = d.spec.as_ref().and_then(|s| s.replicas).is_some();
    if has_spec_replicas && r.updated < r.desired {
        return RolloutState::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {} out of {} new replicas have been updated...",
            r.updated, r.desired
        ));
    }
    if r.current > r.updated {
        return RolloutState::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            r.current - r.updated
        ));
    }
    if r.available < r.updated {
        return RolloutState::Waiting(format!(
            "Waiting for deployment {name:?} rollout to finish: {} of {} updated replicas are available...",
            r.available, r.updated
        ));
    }
    RolloutState::Complete
}

/// Stricter than [`rollout_state`]: complete and every desired replica ready and available.
/// A pure scale does not refresh the Progressing condition, so only the counts tell.
pub fn scale_settled(d: &Deployment) -> RolloutState {
    match rollout_state(d) {
        RolloutState::Complete => {
            let r = replicas(d);
            if r.ready == r.desired && r.available == r.desired && r.current == r.desired {
                RolloutState::Complete
            } else {
                RolloutState::Waiting(format!(
                    "{} of {} replicas ready ({} available, {} total)",
                    r.ready, r.desired, r.available, r.current
                ))
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentSpec, DeploymentStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn deployment(
        generation: i64,
        observed: i64,
        desired: i32,
        cur: i32,
        upd: i32,
        ready: i32,
        avail: i32,
    ) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("web".into()),
                generation: Some(generation),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(desired),
                ..Default::default()
            }),
            status: Some(DeploymentStatus {
                observed_generation: Some(observed),
                replicas: Some(cur),
                updated_replicas: Some(upd),
                ready_replicas: Some(ready),
                available_replicas: Some(avail),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn unobserved_generation_waits() {
        let d = deployment(2, 1, 2, 2, 2, 2, 2);
        assert!(matches!(rollout_state(&d), RolloutState::Waiting(m) if m.contains("observed")));
    }

    #[test]
    fn fewer_updated_than_desired_waits() {
        let d = deployment(2, 2, 3, 3, 1, 3, 3);
        assert!(matches!(rollout_state(&d), RolloutState::Waiting(m) if m.contains("1 out of 3")));
    }

    #[test]
    fn old_replicas_terminating_waits() {
        let d = deployment(2, 2, 2, 3, 2, 2, 2);
        assert!(
            matches!(rollout_state(&d), RolloutState::Waiting(m) if m.contains("pending termination"))
        );
    }

    #[test]
    fn unavailable_updated_replicas_wait() {
        let d = deployment(2, 2, 2, 2, 2, 1, 1);
        assert!(matches!(rollout_state(&d), RolloutState::Waiting(m) if m.contains("1 of 2")));
    }

    #[test]
    fn all_counts_met_is_complete() {
        assert_eq!(
            rollout_state(&deployment(3, 3, 2, 2, 2, 2, 2)),
            RolloutState::Complete
        );
    }

    #[test]
    fn progress_deadline_exceeded_fails() {
        let mut d = deployment(2, 2, 2, 2, 1, 1, 1);
        d.status.as_mut().unwrap().conditions = Some(vec![DeploymentCondition {
            type_: "Progressing".into(),
            status: "False".into(),
            reason: Some("ProgressDeadlineExceeded".into()),
            ..Default::default()
        }]);
        assert!(matches!(rollout_state(&d), RolloutState::Failed(_)));
    }

    #[test]
    fn scale_waits_for_ready_count_even_when_rollout_complete() {
        // A scale-up: 3 desired, 3 updated, but available counts lag behind the desired.
        let d = deployment(1, 1, 3, 2, 2, 2, 2);
        assert!(matches!(rollout_state(&d), RolloutState::Waiting(_)));
        let d = deployment(1, 1, 3, 3, 3, 3, 3);
        assert_eq!(scale_settled(&d), RolloutState::Complete);
    }
}
