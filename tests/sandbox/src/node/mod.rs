//! The simulated node: the kubelet's pod runtimes (one per pod it runs, see [`runtime`]),
//! driven by [`reconcile`]: scheduling ([`scheduler`]), image pulls ([`images`]), env
//! resolution ([`env`]), init containers and native sidecars in order ([`init`]), the
//! container state machine ([`containers`]), probes ([`probes`]), graceful termination of
//! deleted pods ([`termination`]) and pod status ([`status`]). The Node object itself is in
//! [`object`].

pub mod containers;
pub mod env;
pub mod image_store;
pub mod images;
pub mod init;
pub mod object;
pub mod phase;
pub mod probes;
pub mod pull_errors;
pub mod runtime;
pub mod scheduler;
pub mod status;
pub mod termination;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use self::probes::{liveness_due, probe, probe_due};
pub use self::runtime::{CState, ContainerRuntime, PodRuntime, Role, Slot, Terminated};
use self::status::write_status;
use crate::apps::{self, Lifetime};
use crate::events::Source;
use crate::fields::meta;
use crate::platform::{Runtime, Topology};
use crate::resources::Resource;
use crate::scenario::Scenario;
use crate::state::{SimState, State};
use crate::storage::Key;

/// One kubelet pass: the state, the time of the pass, and a copy of the scenario (without
/// faults and seed objects) so the scenario lock is not held while the pass runs.
pub struct Ctx<'a> {
    state: &'a State,
    now: Instant,
    scenario: Scenario,
}

impl Ctx<'_> {
    fn ms(&self, ms: u64) -> Instant {
        self.now + Duration::from_millis(ms)
    }

    /// The cluster's platform and nodes.
    pub fn topology(&self) -> &Topology {
        &self.state.topology
    }

    /// The position of node `name` (0 when unknown).
    pub fn node_index(&self, name: &str) -> usize {
        self.topology().node(name).map_or(0, |n| n.index)
    }

    /// The InternalIP of node `name`.
    pub fn node_ip(&self, name: &str) -> String {
        let t = self.topology();
        t.node(name).unwrap_or_else(|| t.primary()).ip.clone()
    }

    /// The nodes' container runtime.
    pub fn runtime(&self) -> Runtime {
        self.topology().runtime
    }

    /// The scheme of container ids.
    pub fn runtime_scheme(&self) -> &'static str {
        self.runtime().scheme()
    }
}

/// Reconcile the pods on the node: all of `pods` after store changes, else only the ones
/// with a transition due.
pub fn reconcile(state: &State, now: Instant, pods: Option<&[Value]>) {
    let scenario = state.scenario().for_pass();
    let ctx = Ctx {
        state,
        now,
        scenario,
    };
    if let Some(pods) = pods {
        reconcile_all_pods(&ctx, pods);
    } else {
        reconcile_due_pods(&ctx);
    }
}

/// A pass after store changes: every pod.
fn reconcile_all_pods(ctx: &Ctx<'_>, pods: &[Value]) {
    let mut sim = ctx.state.sim();
    let alive: std::collections::HashSet<&str> = pods.iter().map(|p| meta(p, "uid")).collect();
    // Forget deleted pods first, so their resources are free for pods scheduled below.
    let gone: Vec<String> = sim
        .pods
        .keys()
        .filter(|k| !alive.contains(k.as_str()))
        .cloned()
        .collect();
    for uid in gone {
        sim.pods.remove(&uid);
        sim.events.forget(&uid);
    }
    object::refresh_images(ctx.state, &ctx.scenario, &sim);
    for pod in pods {
        let uid = meta(pod, "uid").to_owned();
        let node = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !node.is_empty() && ctx.topology().node(node).is_none() {
            // Bound to a node this cluster does not have: no kubelet runs it.
            continue;
        }
        let mut rt = sim
            .pods
            .remove(&uid)
            .unwrap_or_else(|| runtime::new_runtime(pod, &ctx.scenario, ctx.now));
        step(ctx, &mut sim, pod, &mut rt);
        if rt.changed {
            rt.changed = false;
            write_status(ctx, pod, &mut rt);
        }
        sim.pods.insert(uid, rt);
    }
}

fn container_due(c: &ContainerRuntime, now: Instant, start_ms: u64, ready_ms: u64) -> bool {
    if c.stop.is_some_and(|st| now >= st.at) {
        return true;
    }
    match &c.state {
        CState::Pending => true,
        CState::Pulling { until } => now >= *until,
        CState::Creating { at } => now >= *at,
        CState::Waiting { retry, .. } => now >= *retry,
        CState::Running { since, .. } => match apps::lifetime(c.behaviour, c.role, &c.profile) {
            Lifetime::Service => probe_due(c, now, ready_ms) || liveness_due(c, now),
            _ => {
                let run = c.profile.run_ms.unwrap_or(start_ms);
                now >= *since + Duration::from_millis(run) || probe_due(c, now, ready_ms)
            }
        },
        CState::Terminated(_) => false,
    }
}

/// A timer pass: only pods with a transition due; a passing probe of a ready container
/// changes nothing and needs no store read.
fn reconcile_due_pods(ctx: &Ctx<'_>) {
    let t = &ctx.scenario.timings;
    let now = ctx.now;
    let mut sim = ctx.state.sim();
    let due: Vec<String> = sim
        .pods
        .iter()
        .filter(|(_, rt)| {
            if rt.terminating.is_some() {
                true
            } else if rt.scheduled {
                rt.all()
                    .any(|c| container_due(c, now, t.start_ms, t.ready_ms))
            } else {
                now >= rt.schedule_at
            }
        })
        .map(|(k, _)| k.clone())
        .collect();
    for uid in due {
        let Some(mut rt) = sim.pods.remove(&uid) else {
            continue;
        };
        let probes_only = rt.scheduled
            && rt.terminating.is_none()
            && !rt.all().any(|c| liveness_due(c, now))
            && rt.all().all(|c| {
                !container_due(c, now, t.start_ms, t.ready_ms)
                    || (apps::lifetime(c.behaviour, c.role, &c.profile) == Lifetime::Service
                        && probe_due(c, now, t.ready_ms))
            });
        if probes_only
            && rt
                .all()
                .filter(|c| probe_due(c, now, t.ready_ms))
                .all(|c| c.ready && probe(ctx, &sim, c).is_ok())
        {
            for c in rt
                .init
                .iter_mut()
                .chain(rt.containers.iter_mut())
                .filter(|c| probe_due(c, now, t.ready_ms))
            {
                c.next_probe = now + Duration::from_millis(t.ready_ms.max(20));
            }
            sim.pods.insert(uid, rt);
            continue;
        }
        let pod = ctx
            .state
            .store
            .get(&Key::new(Resource::Pod, &rt.namespace, &rt.name));
        let Some(pod) = pod.filter(|p| meta(p, "uid") == uid) else {
            sim.pods.insert(uid, rt);
            continue;
        };
        step(ctx, &mut sim, &pod, &mut rt);
        if rt.changed {
            rt.changed = false;
            write_status(ctx, &pod, &mut rt);
        }
        sim.pods.insert(uid, rt);
    }
}

/// The event source of the kubelet about `pod`, or about its container `c`.
fn src<'a>(pod: &'a Value, c: Option<&ContainerRuntime>) -> Source<'a> {
    Source {
        object: pod,
        field_path: c.map(|c| format!("spec.{}{{{}}}", c.role.field(), c.name)),
        component: "kubelet",
    }
}

/// The pod as the kubelet sees it once bound: with `spec.nodeName` (so its events name the
/// node even before the binding is written).
fn bound_view(pod: &Value, rt: &PodRuntime) -> Option<Value> {
    let bound = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if bound || rt.node.is_empty() {
        return None;
    }
    let mut view = pod.clone();
    view["spec"]["nodeName"] = json!(rt.node);
    Some(view)
}

fn step(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime) {
    if !rt.scheduled && !scheduler::schedule(ctx, sim, pod, rt) {
        return;
    }
    let view = bound_view(pod, rt);
    let pod = view.as_ref().unwrap_or(pod);
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        termination::step(ctx, sim, pod, rt);
        return;
    }
    if init::step(ctx, sim, pod, rt) {
        for i in 0..rt.containers.len() {
            containers::step(ctx, sim, pod, rt, Slot::App(i));
        }
        termination::stop_sidecars_when_done(ctx, sim, pod, rt);
    }
}

/// Why a container has no log to show (the kubelet's answers, worded by the API server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoLog {
    /// No such pod or container.
    NotFound,
    /// `previous` asked, but no instance terminated yet.
    NoPrevious,
    /// Not started yet (the reason is in the pod status).
    Waiting,
}

/// The log of container `container` of a pod, as the kubelet picks it: the running or
/// terminated instance, or the last terminated one while it waits to restart; `previous`
/// asks for the last terminated instance.
pub fn container_log(
    state: &State,
    namespace: &str,
    pod: &str,
    container: &str,
    previous: bool,
) -> Result<Vec<String>, NoLog> {
    let obj = state
        .store
        .get(&Key::new(Resource::Pod, namespace, pod))
        .ok_or(NoLog::NotFound)?;
    let sim = state.sim();
    let Some(rt) = sim.pods.get(meta(&obj, "uid")) else {
        return Err(if previous {
            NoLog::NoPrevious
        } else {
            NoLog::Waiting
        });
    };
    let c = rt
        .all()
        .find(|c| c.name == container)
        .ok_or(NoLog::NotFound)?;
    if previous {
        return match (&c.last_terminated, &c.previous_logs) {
            (Some(_), Some(lines)) => Ok(lines.clone()),
            _ => Err(NoLog::NoPrevious),
        };
    }
    match &c.state {
        CState::Running { .. } | CState::Terminated(_) => Ok(c.logs.clone()),
        _ if c.last_terminated.is_some() => Ok(c.previous_logs.clone().unwrap_or_default()),
        _ => Err(NoLog::Waiting),
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::registry;
    use crate::fields::pod_ready;
    use crate::test_support::{fast_state, run_until};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn missing_secret_gives_create_container_config_error_until_created() {
        let state = fast_state();
        let pod = json!({"metadata": {"name": "p", "namespace": "demo"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
            "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "A"}}}]}]}});
        state.scenario_mut().node.images.push("nginx:1.27".into());
        registry::create(&state, Resource::Pod, "demo", pod, false).unwrap();
        let key = Key::new(Resource::Pod, "demo", "p");
        let waiting = |state: &Arc<State>| {
            state
                .store
                .get(&key)
                .unwrap()
                .pointer("/status/containerStatuses/0/state/waiting/reason")
                .cloned()
        };
        assert!(run_until(&state, || waiting(&state)
            == Some(json!("CreateContainerConfigError"))));
        registry::create(
            &state,
            Resource::Secret,
            "demo",
            json!({"metadata": {"name": "s"}, "data": {"A": "eA=="}}),
            false,
        )
        .unwrap();
        assert!(run_until(&state, || pod_ready(
            &state.store.get(&key).unwrap()
        )));
    }
}
