//! The pure decision steps of a scale: given the resolved Deployments, the HPAs of the
//! namespace and the nodes' free room, decide per Deployment what to do (HPA refusal or
//! patch, no-op), and which warnings to give (capacity, zero replicas); after the apply,
//! decide what the wait looks for and how each Deployment's scale ended ([`summarize`]).
//! No I/O: unit-tested without a cluster.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

use super::hpa::{self, HpaDecision};
use super::wait::WaitEnd;
use super::{HpaChange, Outcome, ScaleError, TargetSummary};
use crate::chart::Component;
use crate::diagnose::PodProblem;
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
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// One step per resolved Deployment, in order.
    pub steps: Vec<Step>,
    /// Warnings to show before applying (capacity, HPAs not checked).
    pub warnings: Vec<String>,
    /// The warning that needs a confirmation (scaling to 0), when it applies.
    pub zero_warning: Option<String>,
    /// Each schedulable node's allocatable CPU and memory (empty when capacity was not
    /// read): the wait ends at a pod no node can ever hold.
    pub allocatable: Vec<crate::quantity::Resources>,
    /// The images the nodes hold (empty when the nodes were not read): the diagnosis tells
    /// a typo'd tag from an image never loaded, as verify's does.
    pub node_images: Vec<String>,
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
                    flags: String::new(),
                });
            }
            HpaDecision::Patch { before, .. } if replicas == 0 => {
                return Err(ScaleError::HpaZero {
                    deployment: r.name.clone(),
                    hpa: before.name.clone(),
                    flags: String::new(),
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
        allocatable: rooms
            .unwrap_or_default()
            .iter()
            .map(|r| r.allocatable)
            .collect(),
        node_images: Vec::new(),
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

    /// The warnings of the plan in the order the summary lists them: the capacity and HPA
    /// warnings, then the zero-replicas warning.
    pub fn all_warnings(&self) -> Vec<String> {
        let mut warnings = self.warnings.clone();
        warnings.extend(self.zero_warning.iter().cloned());
        warnings
    }
}

/// What the apply step did to one Deployment.
#[derive(Debug, Clone)]
pub struct Applied<'a> {
    /// The Deployment as resolved.
    pub resolved: &'a Resolved,
    /// `spec.replicas` before the change (as listed, for a no-op).
    pub from: i32,
    /// 409 Conflicts retried while applying the scale.
    pub conflicts: u32,
    /// The HPA whose bounds were changed (`--hpa`).
    pub hpa: Option<HpaChange>,
    /// Nothing was changed: it already had the requested count.
    pub no_op: bool,
}

/// The replica count the wait must see in each applied Deployment's spec before it can end:
/// `None` where an HPA was moved (the autoscaler decides the count).
pub fn wait_wants(applied: &[Applied<'_>], replicas: i32) -> Vec<Option<i32>> {
    applied
        .iter()
        .map(|a| {
            if a.hpa.is_some() {
                None
            } else {
                Some(replicas)
            }
        })
        .collect()
}

/// The ends of a wait that is not run (`--dry-run` or `--no-wait`): each Deployment as
/// resolved, [`Outcome::DryRun`] or [`Outcome::NotWaited`].
pub fn unwaited(applied: &[Applied<'_>], dry_run: bool) -> Vec<WaitEnd> {
    let outcome = if dry_run {
        Outcome::DryRun
    } else {
        Outcome::NotWaited
    };
    applied
        .iter()
        .map(|a| WaitEnd {
            outcome,
            deployment: Some(a.resolved.deployment.clone()),
            message: String::new(),
            elapsed: std::time::Duration::ZERO,
        })
        .collect()
}

/// Whether a Deployment whose wait ended so is diagnosed (its pods' problems listed).
pub fn needs_diagnosis(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Failed | Outcome::TimedOut)
}

/// How one Deployment's scale ended: a no-op that settled (or was not waited for) is
/// [`Outcome::Unchanged`]; anything else is what the wait saw.
pub fn final_outcome(no_op: bool, waited: Outcome) -> Outcome {
    if no_op
        && matches!(
            waited,
            Outcome::Complete | Outcome::NotWaited | Outcome::DryRun
        )
    {
        Outcome::Unchanged
    } else {
        waited
    }
}

/// One [`TargetSummary`] per applied Deployment, from what the apply did, how its wait
/// ended and the problems of its pods (all three in the same order).
pub fn summarize(
    applied: &[Applied<'_>],
    ends: Vec<WaitEnd>,
    problems: Vec<Vec<PodProblem>>,
    replicas: i32,
) -> Vec<TargetSummary> {
    applied
        .iter()
        .zip(ends)
        .zip(problems)
        .map(|((a, end), problems)| TargetSummary {
            deployment: a.resolved.name.clone(),
            component: a.resolved.component,
            from: a.from,
            to: replicas,
            hpa: a.hpa.clone(),
            conflicts_retried: a.conflicts,
            outcome: final_outcome(a.no_op, end.outcome),
            replicas: end
                .deployment
                .as_ref()
                .map(crate::rollout::replicas)
                .unwrap_or_default(),
            message: end.message,
            elapsed_ms: end.elapsed.as_millis() as u64,
            problems,
        })
        .collect()
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
    fn the_hpa_refusals_hint_at_the_autoscaler_where_the_user_scaled() {
        use crate::error::UserError as _;
        let rs = [resolved("web", 1, "100m")];
        let hpas = [hpa_for("web")];
        let flags = " --kubeconfig /k --context dev -n shop";
        let managed = plan(&rs, Ok(&hpas), None, 3, false).unwrap_err();
        let hint = managed.for_user(flags).hint().unwrap();
        assert!(
            hint.ends_with(&format!("`kubectl edit hpa web-hpa{flags}`")),
            "{hint}"
        );
        let zero = plan(&rs, Ok(&hpas), None, 0, true).unwrap_err();
        let hint = zero.for_user(flags).hint().unwrap();
        assert!(
            hint.ends_with(&format!("`kubectl delete hpa web-hpa{flags}`")),
            "{hint}"
        );
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

    fn applied(r: &Resolved, from: i32, hpa: bool, no_op: bool) -> Applied<'_> {
        let bounds = |min| hpa::HpaBounds {
            name: "web-hpa".into(),
            min_replicas: min,
            max_replicas: 4,
        };
        Applied {
            resolved: r,
            from,
            conflicts: 0,
            hpa: hpa.then(|| HpaChange {
                before: bounds(1),
                after: bounds(3),
            }),
            no_op,
        }
    }

    #[test]
    fn the_wait_wants_the_count_unless_an_hpa_decides() {
        let rs = [resolved("web", 1, "100m"), resolved("api", 1, "100m")];
        let a = [
            applied(&rs[0], 1, true, false),
            applied(&rs[1], 1, false, false),
        ];
        assert_eq!(wait_wants(&a, 3), vec![None, Some(3)]);
    }

    #[test]
    fn an_unwaited_scale_is_a_dry_run_or_not_waited() {
        let rs = [resolved("web", 1, "100m")];
        let a = [applied(&rs[0], 1, false, false)];
        let ends = unwaited(&a, true);
        assert_eq!(ends[0].outcome, Outcome::DryRun);
        assert!(ends[0].deployment.is_some() && ends[0].message.is_empty());
        assert_eq!(unwaited(&a, false)[0].outcome, Outcome::NotWaited);
    }

    #[test]
    fn a_settled_no_op_is_unchanged_and_a_failure_stays_a_failure() {
        for o in [Outcome::Complete, Outcome::NotWaited, Outcome::DryRun] {
            assert_eq!(final_outcome(true, o), Outcome::Unchanged);
            assert_eq!(final_outcome(false, o), o);
        }
        for o in [Outcome::Failed, Outcome::TimedOut, Outcome::Interrupted] {
            assert_eq!(final_outcome(true, o), o);
        }
        assert!(needs_diagnosis(Outcome::Failed) && needs_diagnosis(Outcome::TimedOut));
        assert!(!needs_diagnosis(Outcome::Complete) && !needs_diagnosis(Outcome::Interrupted));
    }

    #[test]
    fn the_summary_joins_apply_wait_and_problems_in_order() {
        let rs = [resolved("web", 2, "100m"), resolved("api", 1, "100m")];
        let a = [
            applied(&rs[0], 2, false, true),
            applied(&rs[1], 1, true, false),
        ];
        let ends = vec![
            WaitEnd {
                outcome: Outcome::Complete,
                deployment: Some(rs[0].deployment.clone()),
                message: "done".into(),
                elapsed: std::time::Duration::from_millis(1500),
            },
            WaitEnd {
                outcome: Outcome::TimedOut,
                deployment: None,
                message: "late".into(),
                elapsed: std::time::Duration::ZERO,
            },
        ];
        let problem = PodProblem {
            pod: "api-1".into(),
            container: "app".into(),
            reason: "CrashLoopBackOff".into(),
            message: "m".into(),
            hint: String::new(),
            log_tail: Vec::new(),
            restarts: 3,
            init: false,
            never_fits: false,
        };
        let t = summarize(&a, ends, vec![Vec::new(), vec![problem]], 2);
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].deployment.as_str(), t[0].outcome),
            ("web", Outcome::Unchanged)
        );
        assert_eq!((t[0].from, t[0].to, t[0].elapsed_ms), (2, 2, 1500));
        assert_eq!(t[0].replicas.desired, 2);
        assert_eq!(
            (t[1].deployment.as_str(), t[1].outcome),
            ("api", Outcome::TimedOut)
        );
        assert!(t[1].hpa.is_some() && t[1].problems.len() == 1 && t[1].message == "late");
        assert_eq!(t[1].replicas, crate::rollout::Replicas::default());
    }

    #[test]
    fn the_zero_warning_comes_after_the_others() {
        let rs = [resolved("web", 1, "100m")];
        let p = plan(&rs, Err("hpas not checked".into()), None, 0, false).unwrap();
        let w = p.all_warnings();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0], "hpas not checked");
        assert!(w[1].contains("to 0 replicas"), "{w:?}");
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
