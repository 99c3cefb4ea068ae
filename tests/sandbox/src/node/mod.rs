//! The simulated node: the kubelet's pod runtimes (one per pod it runs), driven by
//! [`reconcile`]: scheduling ([`scheduler`]), image pulls ([`images`]), env resolution
//! ([`env`]), the container state machine ([`containers`]), probes ([`probes`]) and pod status
//! ([`status`]). The Node object itself is in [`object`].

pub mod containers;
pub mod env;
pub mod images;
pub mod object;
pub mod probes;
pub mod scheduler;
pub mod status;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use self::probes::{ProbeClock, liveness_due, probe, probe_due};
use self::status::write_status;
use crate::apps::{self, Behaviour, Lifetime};
use crate::events::Source;
use crate::fields::meta;
use crate::quantity::{self, Requests};
use crate::resources::Resource;
use crate::scenario::Scenario;
use crate::state::{SimState, State};
use crate::storage::Key;

/// The node's internal IP (minikube's default).
pub const HOST_IP: &str = "192.168.49.2";

/// Keep at most this many log lines per container.
const MAX_LOG_LINES: usize = 2000;

/// A terminated container instance.
#[derive(Debug, Clone)]
pub struct Terminated {
    /// Exit code.
    pub exit_code: i32,
    /// Error, OOMKilled, Completed.
    pub reason: String,
    /// startedAt.
    pub started: String,
    /// finishedAt.
    pub finished: String,
    /// containerID.
    pub container_id: String,
}

/// A container's state.
#[derive(Debug, Clone)]
pub enum CState {
    /// Not yet prepared (pod not scheduled).
    Pending,
    /// Image and env are ready; starts at `at`.
    Creating {
        /// When the container starts.
        at: Instant,
    },
    /// Waiting with a reason; reconsidered at `retry`.
    Waiting {
        /// ErrImagePull, ImagePullBackOff, ErrImageNeverPull, CreateContainerConfigError, CrashLoopBackOff.
        reason: &'static str,
        /// Message.
        message: String,
        /// When to reconsider.
        retry: Instant,
    },
    /// Running.
    Running {
        /// Since when.
        since: Instant,
        /// startedAt.
        started: String,
    },
    /// Finished for good (restartPolicy Never/OnFailure).
    Terminated(Terminated),
}

/// One container's runtime.
#[derive(Debug, Clone)]
pub struct ContainerRuntime {
    /// Container name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Effective pull policy.
    pub pull_policy: String,
    /// Simulated behaviour.
    pub behaviour: Behaviour,
    /// State.
    pub state: CState,
    /// Restarts.
    pub restart_count: u32,
    /// Logs of the current instance.
    pub logs: Vec<String>,
    /// Logs of the previous instance.
    pub previous_logs: Option<Vec<String>>,
    /// The previous instance's end.
    pub last_terminated: Option<Terminated>,
    /// Resolved environment.
    pub env: BTreeMap<String, String>,
    /// Whether the image is on the node.
    pub image_ready: bool,
    /// Current container id.
    pub container_id: String,
    /// Readiness.
    pub ready: bool,
    /// Next readiness probe.
    pub next_probe: Instant,
    /// Back-offs so far.
    pub backoff_n: u32,
    /// The container spec.
    pub spec: Value,
    /// Startup probe of the current instance (None: none, or it succeeded).
    pub startup: Option<ProbeClock>,
    /// Liveness probe of the current instance.
    pub liveness: Option<ProbeClock>,
}

impl ContainerRuntime {
    /// Whether the container is running.
    pub fn is_running(&self) -> bool {
        matches!(self.state, CState::Running { .. })
    }

    fn log(&mut self, line: String) {
        self.logs.push(line);
        if self.logs.len() > MAX_LOG_LINES {
            let extra = self.logs.len() - MAX_LOG_LINES;
            self.logs.drain(..extra);
        }
    }
}

/// One pod's runtime.
#[derive(Debug, Clone)]
pub struct PodRuntime {
    /// Pod namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// When the kubelet first saw the pod.
    pub seen: Instant,
    /// Whether scheduled.
    pub scheduled: bool,
    /// startTime.
    pub start_time: String,
    /// Pod IP.
    pub ip: String,
    /// Always, OnFailure, Never.
    pub restart_policy: String,
    /// Containers.
    pub containers: Vec<ContainerRuntime>,
    /// Condition type → (status, lastTransitionTime).
    pub conditions: BTreeMap<&'static str, (bool, String)>,
    /// Status needs writing.
    pub changed: bool,
    /// The pod's effective resource requests.
    pub requests: Requests,
    /// The next scheduling attempt.
    pub schedule_at: Instant,
    /// Why the last scheduling attempt failed.
    pub unschedulable: Option<String>,
    /// Created with spec.nodeName set: bound without the scheduler.
    pub node_preset: bool,
}

impl PodRuntime {
    /// Whether every container finished for good (phase Succeeded or Failed).
    pub fn finished(&self) -> bool {
        !self.containers.is_empty()
            && self
                .containers
                .iter()
                .all(|c| matches!(c.state, CState::Terminated(_)))
    }
}

fn new_runtime(pod: &Value, scenario: &Scenario, now: Instant) -> PodRuntime {
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let image = c
                .get("image")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let pull_policy = c
                .get("imagePullPolicy")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| images::default_pull_policy(&image).to_owned());
            ContainerRuntime {
                name: c
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                behaviour: apps::behaviour_for(scenario, &image),
                image,
                pull_policy,
                state: CState::Pending,
                restart_count: 0,
                logs: Vec::new(),
                previous_logs: None,
                last_terminated: None,
                env: BTreeMap::new(),
                image_ready: false,
                container_id: String::new(),
                ready: false,
                next_probe: now,
                backoff_n: 0,
                spec: c.clone(),
                startup: None,
                liveness: None,
            }
        })
        .collect();
    PodRuntime {
        namespace: meta(pod, "namespace").to_owned(),
        name: meta(pod, "name").to_owned(),
        seen: now,
        scheduled: false,
        start_time: String::new(),
        ip: String::new(),
        restart_policy: pod
            .pointer("/spec/restartPolicy")
            .and_then(Value::as_str)
            .unwrap_or("Always")
            .to_owned(),
        containers,
        conditions: BTreeMap::new(),
        changed: true,
        requests: quantity::pod_requests(&pod["spec"]),
        schedule_at: now + Duration::from_millis(scenario.timings.schedule_ms),
        unschedulable: None,
        node_preset: pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty()),
    }
}

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
}

/// Reconcile the pods on the node: all of `pods` after store changes, else only the ones
/// with a transition due.
pub fn reconcile(state: &State, now: Instant, pods: Option<&[Value]>) {
    let scenario = {
        let sc = state.scenario();
        Scenario {
            timings: sc.timings.clone(),
            node: sc.node.clone(),
            registry: sc.registry.clone(),
            apps: sc.apps.clone(),
            databases: sc.databases.clone(),
            faults: Default::default(),
            minikube: sc.minikube,
            objects: Vec::new(),
        }
    };
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
    for pod in pods {
        let uid = meta(pod, "uid").to_owned();
        let node = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !node.is_empty() && node != ctx.scenario.node.name {
            continue;
        }
        let mut rt = sim
            .pods
            .remove(&uid)
            .unwrap_or_else(|| new_runtime(pod, &ctx.scenario, ctx.now));
        step(ctx, &mut sim, pod, &mut rt);
        if rt.changed {
            rt.changed = false;
            write_status(ctx, pod, &mut rt);
        }
        sim.pods.insert(uid, rt);
    }
}

fn container_due(c: &ContainerRuntime, now: Instant, start_ms: u64, ready_ms: u64) -> bool {
    match &c.state {
        CState::Pending => true,
        CState::Creating { at } => now >= *at,
        CState::Waiting { retry, .. } => now >= *retry,
        CState::Running { since, .. } => match apps::lifetime(c.behaviour) {
            Lifetime::Service => probe_due(c, now, ready_ms) || liveness_due(c, now),
            _ => now >= *since + Duration::from_millis(start_ms) || probe_due(c, now, ready_ms),
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
            if rt.scheduled {
                rt.containers
                    .iter()
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
            && !rt.containers.iter().any(|c| liveness_due(c, now))
            && rt.containers.iter().all(|c| {
                !container_due(c, now, t.start_ms, t.ready_ms)
                    || (apps::lifetime(c.behaviour) == Lifetime::Service
                        && probe_due(c, now, t.ready_ms))
            });
        if probes_only
            && rt
                .containers
                .iter()
                .filter(|c| probe_due(c, now, t.ready_ms))
                .all(|c| c.ready && probe(ctx, &sim, c).is_ok())
        {
            for c in rt
                .containers
                .iter_mut()
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

fn src<'a>(pod: &'a Value, container: Option<&str>) -> Source<'a> {
    Source {
        object: pod,
        field_path: container.map(|c| format!("spec.containers{{{c}}}")),
        component: "kubelet",
    }
}

fn step(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime) {
    if !rt.scheduled && !scheduler::schedule(ctx, sim, pod, rt) {
        return;
    }
    for i in 0..rt.containers.len() {
        containers::step(ctx, sim, pod, rt, i);
    }
}

/// Logs of a container (`None` if no such pod/container); `previous` = the last terminated
/// instance.
pub fn container_log(
    state: &State,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    previous: bool,
) -> Option<Vec<String>> {
    let obj = state.store.get(&Key::new(Resource::Pod, namespace, pod))?;
    let names: Vec<&str> = obj
        .pointer("/spec/containers")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let name = match container {
        Some(c) => names.iter().find(|n| **n == c).copied()?,
        None => names.first().copied()?,
    };
    let sim = state.sim();
    let Some(rt) = sim.pods.get(meta(&obj, "uid")) else {
        return if previous { None } else { Some(Vec::new()) };
    };
    let c = rt.containers.iter().find(|c| c.name == name)?;
    if previous {
        c.previous_logs.clone()
    } else {
        Some(c.logs.clone())
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
