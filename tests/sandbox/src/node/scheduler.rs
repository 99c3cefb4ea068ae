//! Scheduling by capacity on the one node, like kube-scheduler's `NodeResourcesFit` and
//! pod-count checks: a pod fits when the requests of the pods already bound to the node
//! (and not finished), plus its own ([`crate::quantity::pod_requests`]), fit the node's
//! allocatable. A pod that does not fit stays Pending with `PodScheduled=False`
//! (Unschedulable) and a FailedScheduling event, and is retried.

use std::time::Duration;

use serde_json::Value;

use super::{Ctx, PodRuntime, status};
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

/// The scheduler's FailedScheduling message for a one-node cluster.
pub fn unschedulable_message(reasons: &[&str]) -> String {
    let list: Vec<String> = reasons.iter().map(|r| format!("1 {r}")).collect();
    format!(
        "0/1 nodes are available: {}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        list.join(", ")
    )
}

/// The scheduler's turn for a pod not yet bound: bind it to the node (true) or leave it
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
    if !rt.node_preset
        && let Some(msg) = unschedulable(ctx, sim, rt)
    {
        // Retried soon, as the scheduler does on cluster events.
        rt.schedule_at = ctx.now + Duration::from_millis(ctx.scenario.timings.schedule_ms.max(100));
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
    rt.unschedulable = None;
    rt.scheduled = true;
    rt.start_time = now();
    let n = sim.next_ip;
    sim.next_ip += 1;
    rt.ip = format!("10.244.{}.{}", n / 250, n % 250 + 3);
    rt.changed = true;
    let msg = format!(
        "Successfully assigned {}/{} to {}",
        meta(pod, "namespace"),
        meta(pod, "name"),
        ctx.scenario.node.name
    );
    sim.events
        .emit(ctx.state, &source, Level::Normal, "Scheduled", &msg);
    true
}

/// The scheduler's verdict for `rt` given the pods already bound to the node: `None` when
/// it fits, else the FailedScheduling message.
fn unschedulable(ctx: &Ctx<'_>, sim: &SimState, rt: &PodRuntime) -> Option<String> {
    let bound: Vec<&PodRuntime> = sim
        .pods
        .values()
        .filter(|p| p.scheduled && !p.finished())
        .collect();
    let used = bound
        .iter()
        .fold(Requests::default(), |acc, p| acc.plus(p.requests));
    let reasons = insufficient(
        Allocatable::of(&ctx.scenario.node),
        used,
        bound.len(),
        rt.requests,
    );
    (!reasons.is_empty()).then(|| unschedulable_message(&reasons))
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
        assert_eq!(
            unschedulable_message(&["Insufficient cpu"]),
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
        );
        assert_eq!(
            unschedulable_message(&["Insufficient cpu", "Insufficient memory"]),
            "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
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
        registry::delete(&state, pods, "demo", "big", false, false).unwrap();
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
