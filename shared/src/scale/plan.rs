//! The pure decision step of a scale: given the resolved Deployments, the HPAs of the
//! namespace and the nodes' free room, decide per Deployment what to do (HPA refusal or
//! patch, no-op), and which warnings to give (capacity, zero replicas). No I/O: unit-tested
//! without a cluster.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

use super::ScaleError;
use super::hpa::{self, HpaDecision};
use crate::chart::Component;
use crate::quantity::{self, NodeRoom};

/// One resolved Deployment to scale.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The Deployment as listed.
    pub deployment: Deployment,
    /// Its name.
    pub name: String,
    /// Its component, when it belongs to the chart.
    pub component: Option<Component>,
    /// Its todo-chatbot release, when it belongs to one.
    pub release: Option<String>,
}

/// What to do to one Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Index into the resolved Deployments.
    pub index: usize,
    /// What to do about an HPA.
    pub hpa: HpaDecision,
    /// `spec.replicas` as listed.
    pub current: i32,
    /// Already at the requested count with no HPA to move: nothing to change.
    pub no_op: bool,
}

/// The decisions of a scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One step per resolved Deployment, in order.
    pub steps: Vec<Step>,
    /// Warnings to show before applying (capacity, HPAs not checked).
    pub warnings: Vec<String>,
    /// The warning that needs a confirmation (scaling to 0), when it applies.
    pub zero_warning: Option<String>,
}

/// Decide the scale of `resolved` to `replicas`. `hpas` is `Err(note)` when the HPAs could
/// not be listed (a warning, not a refusal); `rooms` is `None` when capacity was not read.
pub fn plan(
    resolved: &[Resolved],
    hpas: Result<&[HorizontalPodAutoscaler], String>,
    rooms: Option<&[NodeRoom]>,
    replicas: i32,
    allow_hpa: bool,
) -> Result<Plan, ScaleError> {
    let mut warnings = Vec::new();
    let hpas = hpas.unwrap_or_else(|note| {
        warnings.push(note);
        &[]
    });
    let mut steps = Vec::new();
    for (index, r) in resolved.iter().enumerate() {
        let found = hpa::targeting(hpas, &r.name).into_iter().next();
        let decision = hpa::decide(found, replicas, allow_hpa);
        match &decision {
            HpaDecision::Refuse(bounds) => {
                return Err(ScaleError::HpaManaged {
                    deployment: r.name.clone(),
                    hpa: bounds.clone(),
                });
            }
            HpaDecision::Patch { before, .. } if replicas == 0 => {
                return Err(ScaleError::HpaZero {
                    deployment: r.name.clone(),
                    hpa: before.name.clone(),
                });
            }
            _ => {}
        }
        let current = crate::rollout::replicas(&r.deployment).desired;
        if let Some(rooms) = rooms
            && let Some(w) = capacity_warning(r, rooms, current, replicas)
        {
            warnings.push(w);
        }
        let no_op = current == replicas && decision == HpaDecision::NoHpa;
        steps.push(Step {
            index,
            hpa: decision,
            current,
            no_op,
        });
    }
    let changing: Vec<&str> = steps
        .iter()
        .filter(|s| !s.no_op)
        .map(|s| resolved[s.index].name.as_str())
        .collect();
    let zero_warning = (replicas == 0 && !changing.is_empty()).then(|| {
        format!(
            "scaling {} to 0 replicas: the app stops serving until scaled up again",
            changing.join(", ")
        )
    });
    Ok(Plan {
        steps,
        warnings,
        zero_warning,
    })
}

fn capacity_warning(r: &Resolved, rooms: &[NodeRoom], current: i32, n: i32) -> Option<String> {
    let per_pod = r
        .deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(quantity::pod_requests)
        .unwrap_or_default();
    let extra = u64::try_from(n - current).unwrap_or(0);
    quantity::capacity_shortfall(rooms, per_pod, extra)
        .map(|w| format!("deployment.apps/{}: {w}", r.name))
}

impl Plan {
    /// Whether nothing changes at all.
    pub fn is_no_op(&self) -> bool {
        self.steps.iter().all(|s| s.no_op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DeploymentSpec;
    use k8s_openapi::api::autoscaling::v2::{
        CrossVersionObjectReference, HorizontalPodAutoscalerSpec,
    };
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn resolved(name: &str, replicas: i32, cpu: &str) -> Resolved {
        let container = Container {
            name: "app".into(),
            resources: Some(ResourceRequirements {
                requests: Some([("cpu".to_string(), Quantity(cpu.into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        Resolved {
            deployment: Deployment {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    ..Default::default()
                },
                spec: Some(DeploymentSpec {
                    replicas: Some(replicas),
                    template: PodTemplateSpec {
                        spec: Some(PodSpec {
                            containers: vec![container],
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    ..Default::default()
                }),
                status: None,
            },
            name: name.into(),
            component: None,
            release: None,
        }
    }

    fn hpa_for(target: &str) -> HorizontalPodAutoscaler {
        HorizontalPodAutoscaler {
            metadata: ObjectMeta {
                name: Some(format!("{target}-hpa")),
                ..Default::default()
            },
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some("apps/v1".into()),
                    kind: "Deployment".into(),
                    name: target.into(),
                },
                min_replicas: Some(1),
                max_replicas: 4,
                ..Default::default()
            }),
            status: None,
        }
    }

    fn room(cpu: f64) -> NodeRoom {
        NodeRoom {
            node: "n1".into(),
            allocatable: quantity::Resources { cpu, memory: 1e12 },
            requested: quantity::Resources::default(),
        }
    }

    #[test]
    fn an_hpa_refuses_unless_allowed_and_never_to_zero() {
        let rs = [resolved("web", 1, "100m")];
        let hpas = [hpa_for("web")];
        assert!(matches!(
            plan(&rs, Ok(&hpas), None, 3, false),
            Err(ScaleError::HpaManaged { .. })
        ));
        let p = plan(&rs, Ok(&hpas), None, 3, true).unwrap();
        assert!(matches!(p.steps[0].hpa, HpaDecision::Patch { .. }));
        assert!(!p.steps[0].no_op);
        assert!(matches!(
            plan(&rs, Ok(&hpas), None, 0, true),
            Err(ScaleError::HpaZero { .. })
        ));
    }

    #[test]
    fn unlisted_hpas_are_a_warning_not_a_refusal() {
        let rs = [resolved("web", 1, "100m")];
        let p = plan(&rs, Err("could not check".into()), None, 2, false).unwrap();
        assert_eq!(p.warnings, vec!["could not check".to_string()]);
    }

    #[test]
    fn same_count_is_a_no_op_and_zero_asks_only_for_real_changes() {
        let rs = [resolved("web", 2, "100m"), resolved("api", 0, "100m")];
        let p = plan(&rs, Ok(&[]), None, 2, false).unwrap();
        assert!(p.steps[0].no_op && !p.steps[1].no_op && !p.is_no_op());
        let p = plan(&rs, Ok(&[]), None, 0, false).unwrap();
        let w = p.zero_warning.unwrap();
        assert!(w.contains("web") && !w.contains("api"), "{w}");
        let p = plan(&rs[1..], Ok(&[]), None, 0, false).unwrap();
        assert!(p.is_no_op() && p.zero_warning.is_none());
    }

    #[test]
    fn capacity_warns_when_the_extra_pods_do_not_fit() {
        let rs = [resolved("web", 1, "500m")];
        let rooms = [room(1.0)];
        let p = plan(&rs, Ok(&[]), Some(&rooms), 5, false).unwrap();
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(p.warnings[0].starts_with("deployment.apps/web: "));
        let p = plan(&rs, Ok(&[]), Some(&rooms), 2, false).unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        // Scaling down never warns about capacity.
        let p = plan(&rs, Ok(&[]), Some(&[room(0.0)]), 0, false).unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }
}
