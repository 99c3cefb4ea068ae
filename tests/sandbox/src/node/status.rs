//! Pod status as the kubelet writes it: phase and conditions (PodReadyToStartContainers,
//! Initialized, Ready, ContainersReady, PodScheduled; computed in [`super::phase`]), init and
//! app container statuses, IPs, and the QoS class (one definition, also used at admission).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::image_store;
use super::phase;
use super::runtime::Role;
use super::{CState, ContainerRuntime, Ctx, PodRuntime, Terminated};
use crate::fields::meta;
use crate::image_ref::ImageRef;
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

fn terminated_json(t: &Terminated) -> Value {
    let time = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
    let mut v = json!({"exitCode": t.exit_code, "reason": t.reason,
        "startedAt": time(&t.started), "finishedAt": time(&t.finished)});
    if let Some(m) = &t.message {
        v["message"] = json!(m);
    }
    if !t.container_id.is_empty() {
        v["containerID"] = json!(t.container_id);
    }
    json!({"terminated": v})
}

/// A container's status as the kubelet reports it. Containers not created yet wait in
/// PodInitializing when the pod has init containers, else in ContainerCreating; a regular
/// init container is ready once it completed; a sidecar is ready once started and ready.
fn container_status(ctx: &Ctx<'_>, c: &ContainerRuntime, has_init: bool) -> Value {
    let default_reason = if has_init {
        "PodInitializing"
    } else {
        "ContainerCreating"
    };
    let state = match &c.state {
        CState::Pending | CState::Pulling { .. } | CState::Creating { .. } => {
            json!({"waiting": {"reason": default_reason}})
        }
        CState::Waiting {
            reason, message, ..
        } => json!({"waiting": {"reason": reason, "message": message}}),
        CState::Running { started, .. } => json!({"running": {"startedAt": started}}),
        CState::Terminated(t) => terminated_json(t),
    };
    let ready = match c.role {
        Role::Init => c.completed(),
        Role::Sidecar => c.started() && c.ready,
        Role::App => c.ready,
    };
    let image = ImageRef::parse(&c.image)
        .map(|r| image_store::status_image(&r, ctx.runtime()))
        .unwrap_or_else(|_| c.image.clone());
    let mut v = json!({
        "name": c.name,
        "image": image,
        "imageID": c.image_id,
        "ready": ready,
        "started": c.started(),
        "restartCount": c.restart_count,
        "state": state,
        "lastState": c.last_terminated.as_ref().map(terminated_json).unwrap_or_else(|| json!({})),
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
        bound_status(ctx, pod, rt, qos)
    } else {
        pending_status(rt, qos)
    };
    let node = rt.node.clone();
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
fn bound_status(ctx: &Ctx<'_>, pod: &Value, rt: &mut PodRuntime, qos: &str) -> Value {
    let has_init = !rt.init.is_empty();
    let init: Vec<Value> = rt
        .init
        .iter()
        .map(|c| container_status(ctx, c, has_init))
        .collect();
    let apps: Vec<Value> = rt
        .containers
        .iter()
        .map(|c| container_status(ctx, c, has_init))
        .collect();
    let terminal = rt.terminating.is_some_and(|t| t.finished) || rt.finished();
    let spec = &pod["spec"];
    let phase = phase::phase(spec, &init, &apps, terminal);
    let conds = phase::conditions(spec, &init, &apps, phase);
    for (ty, c) in &conds {
        set_condition(rt, ty, c.status);
    }
    set_condition(rt, "PodReadyToStartContainers", !terminal);
    set_condition(rt, "PodScheduled", true);
    let host_ip = ctx.node_ip(&rt.node);
    let mut status = json!({
        "phase": phase,
        "conditions": condition_list(rt, &conds),
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": rt.ip,
        "podIPs": [{"ip": rt.ip}],
        "startTime": rt.start_time,
        "containerStatuses": apps,
        "qosClass": qos,
    });
    if has_init {
        status["initContainerStatuses"] = Value::Array(init);
    }
    status
}

/// The pod's conditions in the kubelet's order, with their reasons and messages.
fn condition_list(rt: &PodRuntime, conds: &[(&'static str, phase::Condition)]) -> Vec<Value> {
    let mut out = Vec::new();
    for ty in [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ] {
        let (s, ts) = rt.conditions.get(ty).cloned().unwrap_or((true, now()));
        let mut c = json!({"type": ty, "status": if s { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": ts});
        if let Some((_, cond)) = conds.iter().find(|(t, _)| *t == ty) {
            if let Some(r) = &cond.reason {
                c["reason"] = json!(r);
            }
            if let Some(m) = &cond.message {
                c["message"] = json!(m);
            }
        }
        out.push(c);
    }
    out
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
