//! HorizontalPodAutoscalers that target a Deployment, and what a scale does about them.
//!
//! An HPA owns the replica count of its target: a plain scale would be undone at the next
//! sync. So by default the scale refuses; with `--hpa` it moves the HPA's bounds instead.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

/// The bounds of an HPA that targets the Deployment being scaled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaBounds {
    /// The HPA's name.
    pub name: String,
    /// `spec.minReplicas` (defaults to 1).
    pub min_replicas: i32,
    /// `spec.maxReplicas`.
    pub max_replicas: i32,
}

/// What to do about an HPA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HpaDecision {
    /// No HPA targets the Deployment: scale it.
    NoHpa,
    /// An HPA targets it and `--hpa` was not given: refuse, explaining why.
    Refuse(HpaBounds),
    /// `--hpa`: set the HPA's bounds to these (`before` → `after`).
    Patch {
        /// The bounds now.
        before: HpaBounds,
        /// The bounds to set: min = N, max = max(N, current max).
        after: HpaBounds,
    },
}

/// The HPAs (autoscaling/v2) whose `scaleTargetRef` names this Deployment.
pub fn targeting<'a>(
    hpas: &'a [HorizontalPodAutoscaler],
    deployment: &str,
) -> Vec<&'a HorizontalPodAutoscaler> {
    hpas.iter()
        .filter(|h| {
            h.spec.as_ref().is_some_and(|s| {
                s.scale_target_ref.kind == "Deployment"
                    && s.scale_target_ref.name == deployment
                    && s.scale_target_ref
                        .api_version
                        .as_deref()
                        .is_none_or(|v| v == "apps/v1" || v.starts_with("apps/"))
            })
        })
        .collect()
}

/// The bounds of one HPA.
pub fn bounds(hpa: &HorizontalPodAutoscaler) -> HpaBounds {
    let spec = hpa.spec.as_ref();
    HpaBounds {
        name: hpa.metadata.name.clone().unwrap_or_default(),
        min_replicas: spec.and_then(|s| s.min_replicas).unwrap_or(1),
        max_replicas: spec.map(|s| s.max_replicas).unwrap_or(1),
    }
}

/// Decide what the scale does about `hpa` for the requested count `n`.
pub fn decide(hpa: Option<&HorizontalPodAutoscaler>, n: i32, allow_hpa: bool) -> HpaDecision {
    let Some(hpa) = hpa else {
        return HpaDecision::NoHpa;
    };
    let before = bounds(hpa);
    if !allow_hpa {
        return HpaDecision::Refuse(before);
    }
    let after = HpaBounds {
        name: before.name.clone(),
        min_replicas: n,
        max_replicas: n.max(before.max_replicas),
    };
    HpaDecision::Patch { before, after }
}

/// The merge patch that sets an HPA's bounds.
pub fn bounds_patch(after: &HpaBounds) -> serde_json::Value {
    serde_json::json!({"spec": {"minReplicas": after.min_replicas, "maxReplicas": after.max_replicas}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::autoscaling::v2::{
        CrossVersionObjectReference, HorizontalPodAutoscalerSpec,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn hpa(
        name: &str,
        kind: &str,
        target: &str,
        min: Option<i32>,
        max: i32,
    ) -> HorizontalPodAutoscaler {
        HorizontalPodAutoscaler {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some("apps/v1".into()),
                    kind: kind.into(),
                    name: target.into(),
                },
                min_replicas: min,
                max_replicas: max,
                ..Default::default()
            }),
            status: None,
        }
    }

    #[test]
    fn only_hpas_naming_the_deployment_target_it() {
        let hpas = [
            hpa("a", "Deployment", "web", None, 5),
            hpa("b", "StatefulSet", "web", None, 5),
            hpa("c", "Deployment", "api", None, 5),
        ];
        let found = targeting(&hpas, "web");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].metadata.name.as_deref(), Some("a"));
    }

    #[test]
    fn without_hpa_flag_an_hpa_refuses() {
        let h = hpa("web", "Deployment", "web", Some(2), 5);
        assert_eq!(
            decide(Some(&h), 3, false),
            HpaDecision::Refuse(HpaBounds {
                name: "web".into(),
                min_replicas: 2,
                max_replicas: 5
            })
        );
        assert_eq!(decide(None, 3, false), HpaDecision::NoHpa);
    }

    #[test]
    fn hpa_flag_sets_min_and_keeps_larger_max() {
        let h = hpa("web", "Deployment", "web", None, 5);
        let HpaDecision::Patch { before, after } = decide(Some(&h), 3, true) else {
            panic!("expected a patch")
        };
        assert_eq!(before.min_replicas, 1);
        assert_eq!((after.min_replicas, after.max_replicas), (3, 5));
        let HpaDecision::Patch { after, .. } = decide(Some(&h), 8, true) else {
            panic!("expected a patch")
        };
        assert_eq!((after.min_replicas, after.max_replicas), (8, 8));
        assert_eq!(
            bounds_patch(&after),
            serde_json::json!({"spec": {"minReplicas": 8, "maxReplicas": 8}})
        );
    }
}
