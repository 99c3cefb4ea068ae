//! Scheduling by capacity on the one node, like kube-scheduler's `NodeResourcesFit` and
//! pod-count checks: a pod fits when the requests of the pods already bound to the node
//! (and not finished), plus its own ([`crate::quantity::pod_requests`]), fit the node's
//! allocatable. A pod that does not fit stays Pending with `PodScheduled=False`
//! (Unschedulable) and a FailedScheduling event, and is retried.

use std::time::Duration;

use serde_json::Value;

use super::{Ctx, PodRuntime, object, status};
use crate::events::{Level, Source};
use crate::fields::meta;
use crate::quantity::{Requests, milli_cpu, parse_quantity, whole};
use crate::scenario::NodeSpec;
use crate::state::{SimState, now};

/// The node's allocatable resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocatable {
    /// CPU in millicores.
    pub milli_cpu: i64,
    /// Memory in bytes.
    pub memory: i64,
    /// Pod count.
    pub pods: i64,
}

impl Allocatable {
    /// The allocatable of the scenario's node; an unparsable quantity means no limit.
    pub fn of(node: &NodeSpec) -> Allocatable {
        Allocatable {
            milli_cpu: parse_quantity(&node.cpu).map_or(i64::MAX, milli_cpu),
            memory: parse_quantity(&node.memory).map_or(i64::MAX, whole),
            pods: parse_quantity(&node.pods).map_or(i64::MAX, whole),
        }
    }
}

/// Why a pod with `pod` requests does not fit a node with `node` allocatable on which
/// `used` is requested by `bound` pods; empty when it fits. Sorted like the scheduler's.
pub fn insufficient(
    node: Allocatable,
    used: Requests,
    bound: usize,
    pod: Requests,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if pod.milli_cpu > 0 && pod.milli_cpu > node.milli_cpu.saturating_sub(used.milli_cpu) {
        out.push("Insufficient cpu");
    }
    if pod.memory > 0 && pod.memory > node.memory.saturating_sub(used.memory) {
        out.push("Insufficient memory");
    }
    if i64::try_from(bound).unwrap_or(i64::MAX).saturating_add(1) > node.pods {
        out.push("Too many pods");
    }
    out.sort_unstable();
    out
}

/// The taint the scheduler reports (`{key: value}`) when a node has a NoSchedule or
/// NoExecute taint the pod does not tolerate.
pub fn untolerated_taint(node_taints: &[Value], tolerations: &[Value]) -> Option<String> {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    node_taints
        .iter()
        .filter(|t| matches!(s(t, "effect").as_str(), "NoSchedule" | "NoExecute"))
        .find(|t| {
            !tolerations.iter().any(|tol| {
                let effect_ok = s(tol, "effect").is_empty() || s(tol, "effect") == s(t, "effect");
                let key_ok = match s(tol, "operator").as_str() {
                    "Exists" => s(tol, "key").is_empty() || s(tol, "key") == s(t, "key"),
                    _ => s(tol, "key") == s(t, "key") && s(tol, "value") == s(t, "value"),
                };
                effect_ok && key_ok
            })
        })
        .map(|t| {
            format!(
                "node(s) had untolerated taint {{{}: {}}}",
                s(t, "key"),
                s(t, "value")
            )
        })
}

/// The scheduler's FailedScheduling message: each node's reasons counted and sorted, then
/// what preemption says (nothing to preempt for resources, not helpful for a taint).
pub fn unschedulable_message(per_node: &[Vec<String>]) -> String {
    let n = per_node.len();
    let histogram = |reasons: Vec<String>| {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for r in reasons {
            *counts.entry(r).or_default() += 1;
        }
        let mut lines: Vec<String> = counts
            .into_iter()
            .map(|(r, c)| format!("{c} {r}"))
            .collect();
        lines.sort();
        lines.join(", ")
    };
    let filter = histogram(per_node.iter().flatten().cloned().collect());
    let preemption = histogram(
        per_node
            .iter()
            .map(|rs| {
                if rs
                    .iter()
                    .any(|r| r.starts_with("node(s) had untolerated taint"))
                {
                    "Preemption is not helpful for scheduling".to_owned()
                } else {
                    "No preemption victims found for incoming pod".to_owned()
                }
            })
            .collect(),
    );
    format!(
        "0/{n} nodes are available: {filter}. preemption: 0/{n} nodes are available: {preemption}."
    )
}

/// The scheduler's turn for a pod not yet bound: bind it to a node (true) or leave it
/// Pending as Unschedulable until the next attempt (false). A pod created with
/// `spec.nodeName` is bound without checks, as the kubelet admits it directly.
pub fn schedule(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime) -> bool {
    if ctx.now < rt.schedule_at {
        return false;
    }
    let source = Source {
        object: pod,
        field_path: None,
        component: "default-scheduler",
    };
    if !rt.node_preset {
        match pick_node(ctx, sim, pod, rt) {
            Ok(node) => rt.node = node,
            Err(msg) => {
                // Retried soon, as the scheduler does on cluster events.
                rt.schedule_at =
                    ctx.now + Duration::from_millis(ctx.scenario.timings.schedule_ms.max(100));
                if rt.unschedulable.as_deref() != Some(msg.as_str()) {
                    rt.unschedulable = Some(msg.clone());
                    status::set_condition(rt, "PodScheduled", false);
                    rt.changed = true;
                }
                let every = Duration::from_secs(10);
                sim.events.record(
                    ctx.state,
                    &source,
                    Level::Warning,
                    "FailedScheduling",
                    &msg,
                    every,
                );
                return false;
            }
        }
    }
    rt.unschedulable = None;
    rt.scheduled = true;
    rt.start_time = now();
    let index = ctx.node_index(&rt.node);
    let n = sim.next_ip.entry(rt.node.clone()).or_insert(0);
    rt.ip = format!("{}.{index}.{}", ctx.topology().pod_net(), *n % 250 + 3);
    *n += 1;
    rt.changed = true;
    let msg = format!(
        "Successfully assigned {}/{} to {}",
        meta(pod, "namespace"),
        meta(pod, "name"),
        rt.node
    );
    sim.events
        .emit(ctx.state, &source, Level::Normal, "Scheduled", &msg);
    true
}

/// The node the scheduler binds `rt` to (the feasible one with the most CPU left, then
/// memory, then the first), or the FailedScheduling message.
fn pick_node(
    ctx: &Ctx<'_>,
    sim: &SimState,
    pod: &Value,
    rt: &PodRuntime,
) -> Result<String, String> {
    let tolerations: Vec<Value> = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut per_node = Vec::new();
    let mut best: Option<(i64, i64, String)> = None;
    for node in &ctx.topology().nodes {
        let taints = object::taints(ctx.topology(), node.index);
        if let Some(t) = untolerated_taint(&taints, &tolerations) {
            per_node.push(vec![t]);
            continue;
        }
        let bound: Vec<&PodRuntime> = sim
            .pods
            .values()
            .filter(|p| p.scheduled && !p.finished() && p.node == node.name)
            .collect();
        let used = bound
            .iter()
            .fold(Requests::default(), |acc, p| acc.plus(p.requests));
        let alloc = Allocatable::of(&ctx.scenario.node_spec(node.index));
        let reasons = insufficient(alloc, used, bound.len(), rt.requests);
        if reasons.is_empty() {
            let free = (
                alloc.milli_cpu.saturating_sub(used.milli_cpu),
                alloc.memory.saturating_sub(used.memory),
            );
            if best
                .as_ref()
                .is_none_or(|(c, m, _)| (free.0, free.1) > (*c, *m))
            {
                best = Some((free.0, free.1, node.name.clone()));
            }
        }
        per_node.push(reasons.into_iter().map(str::to_owned).collect());
    }
    best.map(|(_, _, name)| name)
        .ok_or_else(|| unschedulable_message(&per_node))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::registry;
    use crate::controllers::reconcile_all;
    use crate::fields::{condition_true, pod_ready};
    use crate::resources::Resource;
    use crate::state::State;
    use crate::storage::Key;
    use crate::test_support::{fast_state, run_until};
    use serde_json::{Value, json};
    use std::sync::Arc;

    const MI: i64 = 1024 * 1024;
    const GI: i64 = 1024 * MI;

    #[test]
    fn fit_checks_cpu_memory_and_pod_count() {
        let node = Allocatable {
            milli_cpu: 2000,
            memory: 3920 * MI,
            pods: 3,
        };
        let used = Requests {
            milli_cpu: 1500,
            memory: 3 * GI,
        };
        let small = Requests {
            milli_cpu: 500,
            memory: 128 * MI,
        };
        assert!(insufficient(node, used, 1, small).is_empty());
        let big = Requests {
            milli_cpu: 501,
            memory: GI,
        };
        assert_eq!(
            insufficient(node, used, 1, big),
            ["Insufficient cpu", "Insufficient memory"]
        );
        // No requests: always fits, except for the pod count.
        assert!(insufficient(node, used, 2, Requests::default()).is_empty());
        assert_eq!(
            insufficient(node, used, 3, Requests::default()),
            ["Too many pods"]
        );
        // Over-committed node (pods without requests never count).
        let over = Requests {
            milli_cpu: 5000,
            memory: 0,
        };
        assert!(insufficient(node, over, 0, Requests::default()).is_empty());
    }

    #[test]
    fn unschedulable_message_matches_the_scheduler() {
        let one = |rs: &[&str]| vec![rs.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>()];
        assert_eq!(
            unschedulable_message(&one(&["Insufficient cpu"])),
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        );
        assert_eq!(
            unschedulable_message(&one(&["Insufficient cpu", "Insufficient memory"])),
            "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        );
    }

    #[test]
    fn the_message_counts_reasons_across_nodes_and_says_what_preemption_cannot_do() {
        let taint = "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }";
        let m = unschedulable_message(&[
            vec![taint.to_owned()],
            vec!["Insufficient cpu".to_owned()],
            vec![
                "Insufficient cpu".to_owned(),
                "Insufficient memory".to_owned(),
            ],
        ]);
        assert_eq!(
            m,
            "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
        );
    }

    #[test]
    fn tolerations_match_taints_by_key_value_and_effect() {
        let cp = [json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})];
        assert!(untolerated_taint(&cp, &[]).is_some());
        let exists = json!({"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"});
        assert!(untolerated_taint(&cp, &[exists]).is_none());
        let everything = json!({"operator": "Exists"});
        assert!(untolerated_taint(&cp, &[everything]).is_none());
        let other_effect = json!({"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoExecute"});
        assert!(untolerated_taint(&cp, &[other_effect]).is_some());
        let prefer = [json!({"key": "k", "effect": "PreferNoSchedule"})];
        assert!(
            untolerated_taint(&prefer, &[]).is_none(),
            "only NoSchedule/NoExecute block"
        );
        let equal = [json!({"key": "k", "value": "v", "effect": "NoSchedule"})];
        assert!(untolerated_taint(&equal, &[json!({"key": "k", "value": "v"})]).is_none());
        assert!(untolerated_taint(&equal, &[json!({"key": "k", "value": "w"})]).is_some());
    }

    #[test]
    fn pods_spread_to_the_node_with_the_most_room() {
        let state = crate::test_support::fast_state_with("nodes: [{cpu: \"4\"}, {cpu: \"2\"}]\n");
        let pods = Resource::Pod;
        for (name, cpu) in [("a", "1"), ("b", "1"), ("c", "1")] {
            registry::create(&state, pods, "demo", cpu_pod(name, cpu), false).unwrap();
        }
        let node_of = |n: &str| {
            state
                .store
                .get(&Key::new(pods, "demo", n))
                .and_then(|p| p["spec"]["nodeName"].as_str().map(str::to_owned))
        };
        assert!(run_until(&state, || ["a", "b", "c"]
            .iter()
            .all(|n| node_of(n).is_some())));
        let on_first = ["a", "b", "c"]
            .iter()
            .filter(|n| node_of(n).as_deref() == Some("minikube"))
            .count();
        assert_eq!(
            on_first, 2,
            "3 left on minikube, 2 on minikube-m02, then 2 and 2, then 1 and 2"
        );
    }

    #[test]
    fn default_node_allocatable_parses() {
        let a = Allocatable::of(&NodeSpec::default());
        assert_eq!(a.milli_cpu, 2000);
        assert_eq!(a.memory, 3920 * 1024 * 1024);
        assert_eq!(a.pods, 110);
    }

    fn cpu_pod(name: &str, cpu: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "demo"}, "spec": {"containers": [{"name": "c",
            "image": "todo-chatbot-frontend:1.0.0", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}})
    }

    #[test]
    fn pods_that_do_not_fit_stay_pending_until_capacity_frees_up() {
        let state = fast_state();
        let pods = Resource::Pod;
        registry::create(&state, pods, "demo", cpu_pod("big", "1500m"), false).unwrap();
        let big = Key::new(pods, "demo", "big");
        assert!(run_until(&state, || pod_ready(
            &state.store.get(&big).unwrap()
        )));
        registry::create(&state, pods, "demo", cpu_pod("next", "600m"), false).unwrap();
        registry::create(&state, pods, "demo", cpu_pod("free", "0"), false).unwrap();
        let next = Key::new(pods, "demo", "next");
        let free = Key::new(pods, "demo", "free");
        let unschedulable = |state: &Arc<State>| {
            state
                .store
                .get(&next)
                .unwrap()
                .pointer("/status/conditions/0/reason")
                == Some(&json!("Unschedulable"))
        };
        assert!(run_until(&state, || unschedulable(&state)
            && pod_ready(&state.store.get(&free).unwrap())));
        let p = state.store.get(&next).unwrap();
        assert_eq!(p["status"]["phase"], json!("Pending"));
        assert_eq!(p["status"]["conditions"][0]["type"], json!("PodScheduled"));
        assert_eq!(p["status"]["conditions"][0]["status"], json!("False"));
        let msg = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
        assert_eq!(p["status"]["conditions"][0]["message"], json!(msg));
        assert!(p.pointer("/spec/nodeName").is_none());
        // Many more passes: still one FailedScheduling event (aggregated).
        for _ in 0..50 {
            reconcile_all(&state, true);
        }
        let (evs, _) = state.store.list(Resource::Event, Some("demo"));
        let failed: Vec<&Value> = evs
            .iter()
            .filter(|e| e["reason"] == json!("FailedScheduling"))
            .collect();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0]["message"], json!(msg));
        assert_eq!(failed[0]["type"], json!("Warning"));
        assert_eq!(failed[0]["source"]["component"], json!("default-scheduler"));
        crate::apiserver::delete::remove(&state, &Key::new(pods, "demo", "big"), false).unwrap();
        assert!(run_until(&state, || pod_ready(
            &state.store.get(&next).unwrap()
        )));
        let p = state.store.get(&next).unwrap();
        assert_eq!(p["spec"]["nodeName"], json!("minikube"));
        assert!(condition_true(&p, "PodScheduled"));
    }

    #[test]
    fn pod_count_and_memory_are_checked_too() {
        let state = fast_state();
        state.scenario_mut().node.pods = "1".into();
        let pods = Resource::Pod;
        registry::create(&state, pods, "demo", cpu_pod("a", "0"), false).unwrap();
        assert!(run_until(&state, || pod_ready(
            &state.store.get(&Key::new(pods, "demo", "a")).unwrap()
        )));
        let mut b = cpu_pod("b", "3");
        b["spec"]["containers"][0]["resources"]["requests"]["memory"] = json!("8Gi");
        registry::create(&state, pods, "demo", b, false).unwrap();
        let key = Key::new(pods, "demo", "b");
        assert!(run_until(&state, || state
            .store
            .get(&key)
            .unwrap()
            .pointer("/status/conditions/0/message")
            .is_some()));
        assert_eq!(
            state.store.get(&key).unwrap()["status"]["conditions"][0]["message"],
            json!(
                "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
            )
        );
    }
}
