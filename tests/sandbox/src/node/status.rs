//! Pod status as the kubelet writes it: phase, conditions (PodReadyToStartContainers,
//! Initialized, Ready, ContainersReady, PodScheduled), container statuses, IPs, and the
//! QoS class (one definition, also used at admission).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{CState, ContainerRuntime, Ctx, HOST_IP, PodRuntime, Terminated};
use crate::apps;
use crate::fields::meta;
use crate::quantity::json_quantity;
use crate::resources::Resource;
use crate::state::now;
use crate::storage::Key;

/// The pod's QoS class from its (defaulted) PodSpec, as Kubernetes' `ComputePodQOS`: over app
/// and init containers, CPU and memory only, zero quantities ignored. BestEffort without any
/// request or limit; Guaranteed when every container limits both CPU and memory and the summed
/// requests equal the summed limits; else Burstable.
pub fn qos_class(spec: &Value) -> &'static str {
    let mut requests: BTreeMap<&str, f64> = BTreeMap::new();
    let mut limits: BTreeMap<&str, f64> = BTreeMap::new();
    let mut guaranteed = true;
    let containers = ["containers", "initContainers"]
        .into_iter()
        .filter_map(|f| spec.get(f).and_then(Value::as_array))
        .flatten();
    for c in containers {
        let mut limited = 0;
        for res in ["cpu", "memory"] {
            let get = |kind: &str| {
                c.pointer(&format!("/resources/{kind}/{res}"))
                    .and_then(json_quantity)
                    .filter(|q| *q > 0.0)
            };
            if let Some(q) = get("requests") {
                *requests.entry(res).or_default() += q;
            }
            if let Some(q) = get("limits") {
                *limits.entry(res).or_default() += q;
                limited += 1;
            }
        }
        guaranteed &= limited == 2;
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    let same = |a: f64, b: f64| (a - b).abs() <= a.abs().max(b.abs()) * 1e-12;
    guaranteed &= requests
        .iter()
        .all(|(res, req)| limits.get(res).is_some_and(|lim| same(*req, *lim)));
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Record a pod condition's status, keeping its transition time while it does not change.
pub fn set_condition(rt: &mut PodRuntime, ty: &'static str, status: bool) {
    match rt.conditions.get(ty) {
        Some((s, _)) if *s == status => {}
        _ => {
            rt.conditions.insert(ty, (status, now()));
        }
    }
}

fn container_status(c: &ContainerRuntime) -> Value {
    let term_json = |t: &Terminated| json!({"terminated": {"exitCode": t.exit_code, "reason": t.reason, "startedAt": t.started, "finishedAt": t.finished, "containerID": t.container_id}});
    let state = match &c.state {
        CState::Pending | CState::Creating { .. } => {
            json!({"waiting": {"reason": "ContainerCreating"}})
        }
        CState::Waiting {
            reason, message, ..
        } => json!({"waiting": {"reason": reason, "message": message}}),
        CState::Running { started, .. } => json!({"running": {"startedAt": started}}),
        CState::Terminated(t) => term_json(t),
    };
    let mut v = json!({
        "name": c.name,
        "image": c.image,
        "imageID": if c.image_ready { format!("docker://sha256:{}", apps::digest(&c.image)) } else { String::new() },
        "ready": c.ready,
        "started": c.is_running(),
        "restartCount": c.restart_count,
        "state": state,
        "lastState": c.last_terminated.as_ref().map(term_json).unwrap_or_else(|| json!({})),
    });
    let cid = match &c.state {
        CState::Terminated(t) => t.container_id.clone(),
        CState::Running { .. } => c.container_id.clone(),
        _ => c
            .last_terminated
            .as_ref()
            .map(|t| t.container_id.clone())
            .unwrap_or_default(),
    };
    if !cid.is_empty() {
        v["containerID"] = json!(cid);
    }
    v
}

/// Write the pod's status (and, once bound, `spec.nodeName`) if the pod is still the one
/// this runtime belongs to.
pub fn write_status(ctx: &Ctx<'_>, pod: &Value, rt: &mut PodRuntime) {
    let qos = qos_class(&pod["spec"]);
    let status = if rt.scheduled {
        bound_status(rt, qos)
    } else {
        pending_status(rt, qos)
    };
    let node = ctx.scenario.node.name.clone();
    let scheduled = rt.scheduled;
    ctx.state.store.modify(
        &Key::new(Resource::Pod, meta(pod, "namespace"), meta(pod, "name")),
        |p| {
            if p.pointer("/metadata/uid") != pod.pointer("/metadata/uid") {
                return false;
            }
            if scheduled
                && p.pointer("/spec/nodeName")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                && let Some(spec) = p.get_mut("spec").and_then(Value::as_object_mut)
            {
                spec.insert("nodeName".into(), json!(node));
            }
            p["status"] = status;
            true
        },
    );
}

/// An unscheduled pod: Pending, with the Unschedulable condition once the scheduler failed.
fn pending_status(rt: &PodRuntime, qos: &str) -> Value {
    let mut status = json!({"phase": "Pending", "qosClass": qos});
    if let Some(msg) = &rt.unschedulable {
        let ts = rt
            .conditions
            .get("PodScheduled")
            .map(|(_, ts)| ts.clone())
            .unwrap_or_else(now);
        status["conditions"] = json!([{
            "type": "PodScheduled",
            "status": "False",
            "lastProbeTime": null,
            "lastTransitionTime": ts,
            "reason": "Unschedulable",
            "message": msg,
        }]);
    }
    status
}

/// A bound pod: phase from its containers, conditions, IPs and container statuses.
fn bound_status(rt: &mut PodRuntime, qos: &str) -> Value {
    let all_done = !rt.containers.is_empty()
        && rt
            .containers
            .iter()
            .all(|c| matches!(c.state, CState::Terminated(_)));
    let phase =
        if all_done {
            if rt
                .containers
                .iter()
                .all(|c| matches!(&c.state, CState::Terminated(t) if t.exit_code == 0))
            {
                "Succeeded"
            } else {
                "Failed"
            }
        } else if rt.containers.iter().any(|c| {
            c.is_running() || c.restart_count > 0 || matches!(c.state, CState::Terminated(_))
        }) {
            "Running"
        } else {
            "Pending"
        };
    let ready = !all_done && rt.containers.iter().all(|c| c.ready);
    let sandbox = !all_done;
    set_condition(rt, "PodReadyToStartContainers", sandbox);
    set_condition(rt, "Initialized", true);
    set_condition(rt, "Ready", ready);
    set_condition(rt, "ContainersReady", ready);
    set_condition(rt, "PodScheduled", true);
    let conditions = conditions(rt, all_done);
    json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": HOST_IP,
        "hostIPs": [{"ip": HOST_IP}],
        "podIP": rt.ip,
        "podIPs": [{"ip": rt.ip}],
        "startTime": rt.start_time,
        "containerStatuses": rt.containers.iter().map(container_status).collect::<Vec<_>>(),
        "qosClass": qos,
    })
}

/// The pod's conditions in the kubelet's order, with the reasons for not being ready.
fn conditions(rt: &PodRuntime, all_done: bool) -> Vec<Value> {
    let unready: Vec<&str> = rt
        .containers
        .iter()
        .filter(|c| !c.ready)
        .map(|c| c.name.as_str())
        .collect();
    let mut conditions = Vec::new();
    for ty in [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ] {
        let (s, ts) = rt.conditions.get(ty).cloned().unwrap_or((true, now()));
        let mut c = json!({"type": ty, "status": if s { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": ts});
        if !s && (ty == "Ready" || ty == "ContainersReady") {
            if all_done {
                c["reason"] = json!("PodCompleted");
            } else {
                c["reason"] = json!("ContainersNotReady");
                c["message"] = json!(format!(
                    "containers with unready status: [{}]",
                    unready.join(" ")
                ));
            }
        }
        conditions.push(c);
    }
    conditions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(containers: Value) -> Value {
        json!({"containers": containers})
    }

    #[test]
    fn qos_is_best_effort_without_requests_or_limits() {
        assert_eq!(qos_class(&spec(json!([{"name": "a"}]))), "BestEffort");
        let zero = json!([{"name": "a", "resources": {"requests": {"cpu": "0"}}}]);
        assert_eq!(qos_class(&spec(zero)), "BestEffort");
    }

    #[test]
    fn qos_is_guaranteed_when_requests_equal_limits_by_value() {
        let c = json!([{"name": "a", "resources": {
            "requests": {"cpu": "1", "memory": "1Gi"},
            "limits": {"cpu": "1000m", "memory": "1073741824"}}}]);
        assert_eq!(qos_class(&spec(c)), "Guaranteed");
    }

    #[test]
    fn qos_is_burstable_otherwise() {
        let lower = json!([{"name": "a", "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "1", "memory": "1Gi"}}}]);
        assert_eq!(qos_class(&spec(lower)), "Burstable");
        let cpu_only =
            json!([{"name": "a", "resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}}]);
        assert_eq!(qos_class(&spec(cpu_only)), "Burstable");
        let init = json!({"containers": [{"name": "a", "resources": {
            "requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1"}}}]});
        assert_eq!(qos_class(&init), "Burstable");
    }
}
