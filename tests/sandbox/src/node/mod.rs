//! The simulated node: schedules pods, pulls images from the node's image store or the
//! scenario's registry, resolves env from Secrets and ConfigMaps, runs the simulated apps,
//! probes readiness, restarts crashed containers with back-off, and writes pod status and
//! kubelet events.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::apps::{self, Behaviour, Lifetime};
use super::events::{Level, Source};
use super::scheduler::{self, Allocatable, Requests};
use super::{HOST_IP, SimState, meta};
use crate::resources::rt as resource_type;
use crate::scenario::{Scenario, image_tag};
use crate::state::{State, now};
use crate::store::Key;

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

/// The timing of a startup or liveness probe, in the real seconds of the probe spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeTiming {
    /// initialDelaySeconds (default 0).
    pub initial_delay: Duration,
    /// periodSeconds (default 10, at least 1).
    pub period: Duration,
    /// failureThreshold (default 3, at least 1).
    pub failure_threshold: u32,
}

impl ProbeTiming {
    /// The timing of `container`'s probe `field` (`livenessProbe`, `startupProbe`), if any.
    pub fn of(container: &Value, field: &str) -> Option<ProbeTiming> {
        let p = container.get(field).filter(|p| p.is_object())?;
        let int = |k: &str, default: u64| p.get(k).and_then(Value::as_u64).unwrap_or(default);
        Some(ProbeTiming {
            initial_delay: Duration::from_secs(int("initialDelaySeconds", 0)),
            period: Duration::from_secs(int("periodSeconds", 10).max(1)),
            failure_threshold: u32::try_from(int("failureThreshold", 3).max(1)).unwrap_or(u32::MAX),
        })
    }
}

/// When a probe runs next and how many times in a row it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeClock {
    /// The probe's timing.
    pub timing: ProbeTiming,
    /// The next probe.
    pub next: Instant,
    /// Consecutive failures.
    pub failures: u32,
}

impl ProbeClock {
    /// A probe of a container started at `started`: the first run is one period after the
    /// initial delay.
    pub fn new(timing: ProbeTiming, started: Instant) -> ProbeClock {
        ProbeClock {
            timing,
            next: started + timing.initial_delay + timing.period,
            failures: 0,
        }
    }

    /// Whether the probe is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// Record a result at `now`; true when the failure threshold is reached.
    pub fn record(&mut self, now: Instant, ok: bool) -> bool {
        self.next += self.timing.period;
        if self.next <= now {
            self.next = now + self.timing.period;
        }
        if ok {
            self.failures = 0;
            false
        } else {
            self.failures = self.failures.saturating_add(1);
            self.failures >= self.timing.failure_threshold
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

/// What the kubelet does about an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    /// Already on the node.
    Present,
    /// Pulled from the registry.
    Pulled,
    /// Not on the node, and policy Never.
    NeverMissing,
    /// The pull fails.
    Fails,
}

/// The default pull policy: Always for `:latest` or no tag, else IfNotPresent.
pub fn default_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    if image_tag(image) == "latest" {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// The kubelet's image decision. `Always` asks the registry even when the node has the
/// image, so a locally built `:latest` image fails offline, as on minikube.
pub fn pull_decision(policy: &str, on_node: bool, in_registry: bool) -> Pull {
    match policy {
        "Never" if on_node => Pull::Present,
        "Never" => Pull::NeverMissing,
        "Always" if in_registry => Pull::Pulled,
        "Always" => Pull::Fails,
        _ if on_node => Pull::Present,
        _ if in_registry => Pull::Pulled,
        _ => Pull::Fails,
    }
}

fn decode_b64(v: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Key/value data of a Secret (decoded) or ConfigMap.
fn object_data(obj: &Value, secret: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if secret {
        if let Some(d) = obj.get("data").and_then(Value::as_object) {
            for (k, v) in d {
                if let Some(s) = v.as_str().and_then(decode_b64) {
                    out.insert(k.clone(), s);
                }
            }
        }
        if let Some(d) = obj.get("stringData").and_then(Value::as_object) {
            for (k, v) in d {
                out.insert(k.clone(), v.as_str().unwrap_or("").to_owned());
            }
        }
    } else {
        if let Some(d) = obj.get("data").and_then(Value::as_object) {
            for (k, v) in d {
                out.insert(k.clone(), v.as_str().unwrap_or("").to_owned());
            }
        }
        if let Some(d) = obj.get("binaryData").and_then(Value::as_object) {
            for (k, v) in d {
                if let Some(s) = v.as_str().and_then(decode_b64) {
                    out.insert(k.clone(), s);
                }
            }
        }
    }
    out
}

/// Resolve a container's environment like the kubelet: `envFrom` then `env`. A missing
/// Secret/ConfigMap or key (unless `optional: true`) is an error with the kubelet's wording.
pub fn resolve_env(
    lookup: &dyn Fn(bool, &str) -> Option<Value>,
    namespace: &str,
    pod: &Value,
    container: &Value,
) -> Result<BTreeMap<String, String>, String> {
    let mut env = BTreeMap::new();
    let what = |secret: bool| if secret { "secret" } else { "configmap" };
    let kind = |secret: bool| if secret { "Secret" } else { "ConfigMap" };
    for src in container
        .get("envFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let prefix = src.get("prefix").and_then(Value::as_str).unwrap_or("");
        for (field, secret) in [("configMapRef", false), ("secretRef", true)] {
            let Some(r) = src.get(field) else { continue };
            let name = r.get("name").and_then(Value::as_str).unwrap_or("");
            let optional = r.get("optional").and_then(Value::as_bool).unwrap_or(false);
            match lookup(secret, name) {
                Some(obj) => {
                    for (k, v) in object_data(&obj, secret) {
                        env.insert(format!("{prefix}{k}"), v);
                    }
                }
                None if optional => {}
                None => return Err(format!("{} {name:?} not found", what(secret))),
            }
        }
    }
    for var in container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = var.get("name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(v) = var.get("value").and_then(Value::as_str) {
            let expanded = expand(v, &env);
            env.insert(name.to_owned(), expanded);
            continue;
        }
        let Some(from) = var.get("valueFrom") else {
            env.insert(name.to_owned(), String::new());
            continue;
        };
        for (field, secret) in [("configMapKeyRef", false), ("secretKeyRef", true)] {
            let Some(r) = from.get(field) else { continue };
            let obj_name = r.get("name").and_then(Value::as_str).unwrap_or("");
            let key = r.get("key").and_then(Value::as_str).unwrap_or("");
            let optional = r.get("optional").and_then(Value::as_bool).unwrap_or(false);
            match lookup(secret, obj_name) {
                Some(obj) => match object_data(&obj, secret).remove(key) {
                    Some(v) => {
                        env.insert(name.to_owned(), v);
                    }
                    None if optional => {}
                    None => {
                        return Err(format!(
                            "couldn't find key {key} in {} {namespace}/{obj_name}",
                            kind(secret)
                        ));
                    }
                },
                None if optional => {}
                None => return Err(format!("{} {obj_name:?} not found", what(secret))),
            }
        }
        if let Some(path) = from.pointer("/fieldRef/fieldPath").and_then(Value::as_str) {
            let v = match path {
                "metadata.name" => meta(pod, "name").to_owned(),
                "metadata.namespace" => namespace.to_owned(),
                "metadata.uid" => meta(pod, "uid").to_owned(),
                "spec.nodeName" => pod
                    .pointer("/spec/nodeName")
                    .and_then(Value::as_str)
                    .unwrap_or("minikube")
                    .to_owned(),
                "spec.serviceAccountName" => pod
                    .pointer("/spec/serviceAccountName")
                    .and_then(Value::as_str)
                    .unwrap_or("default")
                    .to_owned(),
                "status.podIP" => pod
                    .pointer("/status/podIP")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                "status.hostIP" => HOST_IP.to_owned(),
                _ => String::new(),
            };
            env.insert(name.to_owned(), v);
        }
        if from.get("resourceFieldRef").is_some() {
            env.insert(name.to_owned(), "0".to_owned());
        }
    }
    Ok(env)
}

/// `$(VAR)` expansion of env values.
fn expand(v: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find("$(") {
        out.push_str(&rest[..i]);
        match rest[i + 2..].find(')') {
            Some(j) => {
                let name = &rest[i + 2..i + 2 + j];
                match env.get(name) {
                    Some(val) => out.push_str(val),
                    None => out.push_str(&rest[i..i + 3 + j]),
                }
                rest = &rest[i + 3 + j..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The Kubernetes-side back-off shown in messages (10s doubling, capped at 5m).
fn shown_backoff(n: u32) -> String {
    let secs = (10u64 << n.min(5)).min(300);
    if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

fn qos_class(pod: &Value) -> &'static str {
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut any = false;
    let mut guaranteed = !containers.is_empty();
    for c in containers {
        let req = c.pointer("/resources/requests").and_then(Value::as_object);
        let lim = c.pointer("/resources/limits").and_then(Value::as_object);
        if req.is_some_and(|r| !r.is_empty()) || lim.is_some_and(|l| !l.is_empty()) {
            any = true;
        }
        for res in ["cpu", "memory"] {
            let l = lim.and_then(|l| l.get(res));
            let r = req.and_then(|r| r.get(res)).or(l);
            if l.is_none() || r != l {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn new_container_id() -> String {
    let a: u128 = rand::random();
    let b: u128 = rand::random();
    format!("docker://{a:032x}{b:032x}")
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
                .unwrap_or_else(|| default_pull_policy(&image).to_owned());
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
        requests: scheduler::pod_requests(pod),
        schedule_at: now + Duration::from_millis(scenario.timings.schedule_ms),
        unschedulable: None,
        node_preset: pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty()),
    }
}

struct Ctx<'a> {
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

fn probe_due(c: &ContainerRuntime, now: Instant, ready_ms: u64) -> bool {
    matches!(c.state, CState::Running { since, .. } if now >= c.next_probe && now >= since + Duration::from_millis(ready_ms))
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
            .get(&Key::new(rt_pods(), &rt.namespace, &rt.name));
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

/// Record that `image` is missing and the pull policy is Never (the kubelet's events), and
/// return the container's waiting message.
fn never_pull(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    container: &str,
    image: &str,
) -> String {
    let msg = format!("Container image {image:?} is not present with pull policy of Never");
    let source = src(pod, Some(container));
    sim.events.emit(
        ctx.state,
        &source,
        Level::Warning,
        "ErrImageNeverPull",
        &msg,
    );
    sim.events.emit(
        ctx.state,
        &source,
        Level::Warning,
        "Failed",
        "Error: ErrImageNeverPull",
    );
    msg
}

fn src<'a>(pod: &'a Value, container: Option<&str>) -> Source<'a> {
    Source {
        object: pod,
        field_path: container.map(|c| format!("spec.containers{{{c}}}")),
        component: "kubelet",
    }
}

fn step(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime) {
    let timings = &ctx.scenario.timings;
    if !rt.scheduled {
        if ctx.now < rt.schedule_at {
            return;
        }
        if !rt.node_preset
            && let Some(msg) = unschedulable(ctx, sim, rt)
        {
            // Retried soon, as the scheduler does on cluster events.
            rt.schedule_at = ctx.now + Duration::from_millis(timings.schedule_ms.max(100));
            if rt.unschedulable.as_deref() != Some(msg.as_str()) {
                rt.unschedulable = Some(msg.clone());
                set_condition(rt, "PodScheduled", false);
                rt.changed = true;
            }
            sim.events.record(
                ctx.state,
                &Source {
                    object: pod,
                    field_path: None,
                    component: "default-scheduler",
                },
                Level::Warning,
                "FailedScheduling",
                &msg,
                Duration::from_secs(10),
            );
            return;
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
        sim.events.emit(
            ctx.state,
            &Source {
                object: pod,
                field_path: None,
                component: "default-scheduler",
            },
            Level::Normal,
            "Scheduled",
            &msg,
        );
    }
    for i in 0..rt.containers.len() {
        step_container(ctx, sim, pod, rt, i);
    }
}

/// The scheduler's verdict for `rt` given the pods already bound to the node: `None` when
/// it fits, else the FailedScheduling message.
fn unschedulable(ctx: &Ctx<'_>, sim: &SimState, rt: &PodRuntime) -> Option<String> {
    let bound: Vec<&PodRuntime> = sim
        .pods
        .values()
        .filter(|p| p.scheduled && !p.finished())
        .collect();
    let used = bound.iter().fold(Requests::default(), |acc, p| Requests {
        milli_cpu: acc.milli_cpu.saturating_add(p.requests.milli_cpu),
        memory: acc.memory.saturating_add(p.requests.memory),
    });
    let reasons = scheduler::insufficient(
        Allocatable::of(&ctx.scenario.node),
        used,
        bound.len(),
        rt.requests,
    );
    (!reasons.is_empty()).then(|| scheduler::unschedulable_message(&reasons))
}

fn backoff(ctx: &Ctx<'_>, n: u32) -> Duration {
    Duration::from_millis(ctx.scenario.timings.crash_backoff_ms.max(1) << n.min(3))
}

/// Pull the image and resolve env; on success the container is Creating.
fn prepare(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, i: usize) {
    let ns = meta(pod, "namespace").to_owned();
    let c = &mut rt.containers[i];
    let name = c.name.clone();
    let image = c.image.clone();
    if !c.image_ready {
        rt.changed = true;
        let on_node = sim.node_has_image(&ctx.scenario, &image);
        let in_registry = ctx.scenario.registry_has_image(&image);
        match pull_decision(&c.pull_policy, on_node, in_registry) {
            Pull::Present => {
                c.image_ready = true;
                sim.events.emit(
                    ctx.state,
                    &src(pod, Some(&name)),
                    Level::Normal,
                    "Pulled",
                    &format!("Container image {image:?} already present on machine"),
                );
            }
            Pull::Pulled => {
                c.image_ready = true;
                sim.extra_images
                    .insert(crate::scenario::normalize_image(&image));
                sim.events.emit(
                    ctx.state,
                    &src(pod, Some(&name)),
                    Level::Normal,
                    "Pulling",
                    &format!("Pulling image {image:?}"),
                );
                sim.events.emit(
                    ctx.state,
                    &src(pod, Some(&name)),
                    Level::Normal,
                    "Pulled",
                    &format!("Successfully pulled image {image:?} in 812ms (812ms including waiting). Image size: 52428800 bytes."),
                );
            }
            Pull::NeverMissing => {
                let msg = never_pull(ctx, sim, pod, &name, &image);
                c.state = CState::Waiting {
                    reason: "ErrImageNeverPull",
                    message: msg,
                    retry: ctx.ms(ctx.scenario.timings.crash_backoff_ms),
                };
                return;
            }
            Pull::Fails => {
                let full = crate::scenario::normalize_image(&image);
                let qualified = if full.contains('/')
                    && full
                        .split('/')
                        .next()
                        .is_some_and(|h| h.contains('.') || h.contains(':') || h == "localhost")
                {
                    full.clone()
                } else if full.contains('/') {
                    format!("docker.io/{full}")
                } else {
                    format!("docker.io/library/{full}")
                };
                let reason = format!(
                    "Error response from daemon: pull access denied for {}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied (manifest for {qualified} not found)",
                    crate::scenario::image_repository(&image)
                );
                c.state = CState::Waiting {
                    reason: "ErrImagePull",
                    message: reason.clone(),
                    retry: ctx.ms(ctx.scenario.timings.crash_backoff_ms),
                };
                sim.events.emit(
                    ctx.state,
                    &src(pod, Some(&name)),
                    Level::Normal,
                    "Pulling",
                    &format!("Pulling image {image:?}"),
                );
                sim.events.emit(
                    ctx.state,
                    &src(pod, Some(&name)),
                    Level::Warning,
                    "Failed",
                    &format!("Failed to pull image {image:?}: {reason}"),
                );
                sim.events.emit(
                    ctx.state,
                    &src(pod, Some(&name)),
                    Level::Warning,
                    "Failed",
                    "Error: ErrImagePull",
                );
                return;
            }
        }
    }
    let store = &ctx.state.store;
    let lookup = |secret: bool, name: &str| {
        let resource = if secret {
            "v1/secrets"
        } else {
            "v1/configmaps"
        };
        store.get(&Key::new(resource_type(resource), &ns, name))
    };
    let c = &mut rt.containers[i];
    let spec = c.spec.clone();
    match resolve_env(&lookup, &ns, pod, &spec) {
        Ok(env) => {
            c.env = env;
            c.state = CState::Creating {
                at: ctx.ms(ctx.scenario.timings.start_ms),
            };
            rt.changed = true;
        }
        Err(msg) => {
            let first = !matches!(
                c.state,
                CState::Waiting {
                    reason: "CreateContainerConfigError",
                    ..
                }
            );
            let changed_msg =
                !matches!(&c.state, CState::Waiting { message, .. } if *message == msg);
            c.state = CState::Waiting {
                reason: "CreateContainerConfigError",
                message: msg.clone(),
                retry: ctx.ms(ctx.scenario.timings.schedule_ms.max(20)),
            };
            let interval = if first || changed_msg {
                Duration::ZERO
            } else {
                Duration::from_secs(1)
            };
            sim.events.record(
                ctx.state,
                &src(pod, Some(&name)),
                Level::Warning,
                "Failed",
                &format!("Error: {msg}"),
                interval,
            );
            if first || changed_msg {
                rt.changed = true;
            }
        }
    }
}

fn exit(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
    i: usize,
    code: i32,
    reason: &str,
) {
    let policy = rt.restart_policy.clone();
    let c = &mut rt.containers[i];
    let started = match &c.state {
        CState::Running { started, .. } => started.clone(),
        _ => now(),
    };
    let term = Terminated {
        exit_code: code,
        reason: reason.to_owned(),
        started,
        finished: now(),
        container_id: c.container_id.clone(),
    };
    c.ready = false;
    rt.changed = true;
    let restart = policy == "Always" || (policy == "OnFailure" && code != 0);
    if !restart {
        c.state = CState::Terminated(term);
        return;
    }
    c.last_terminated = Some(term);
    c.restart_count += 1;
    c.previous_logs = Some(std::mem::take(&mut c.logs));
    let delay = backoff(ctx, c.backoff_n);
    let shown = shown_backoff(c.backoff_n);
    c.backoff_n += 1;
    let pod_ref = format!(
        "{}_{}({})",
        meta(pod, "name"),
        meta(pod, "namespace"),
        meta(pod, "uid")
    );
    c.state = CState::Waiting {
        reason: "CrashLoopBackOff",
        message: format!(
            "back-off {shown} restarting failed container={} pod={pod_ref}",
            c.name
        ),
        retry: ctx.now + delay,
    };
    let name = c.name.clone();
    sim.events.emit(
        ctx.state,
        &src(pod, Some(&name)),
        Level::Warning,
        "BackOff",
        &format!("Back-off restarting failed container {name} in pod {pod_ref}"),
    );
}

fn probe(ctx: &Ctx<'_>, sim: &SimState, c: &ContainerRuntime) -> Result<(), String> {
    probe_kind(ctx, sim, c, "readinessProbe", "Readiness")
}

/// Run `c`'s probe `field`; `label` starts the failure message (`Liveness probe failed: ...`).
fn probe_kind(
    ctx: &Ctx<'_>,
    sim: &SimState,
    c: &ContainerRuntime,
    field: &str,
    label: &str,
) -> Result<(), String> {
    let Some(p) = c.spec.get(field).filter(|p| p.is_object()) else {
        return Ok(());
    };
    if let Some(http) = p.get("httpGet") {
        let path = http.get("path").and_then(Value::as_str).unwrap_or("/");
        let resp = apps::handle(c.behaviour, &c.env, &ctx.scenario, sim, "GET", path);
        return if (200..400).contains(&resp.status) {
            Ok(())
        } else {
            Err(format!(
                "{label} probe failed: HTTP probe failed with statuscode: {}",
                resp.status
            ))
        };
    }
    if apps::healthy(c.behaviour, &c.env, &ctx.scenario) {
        Ok(())
    } else if p.get("tcpSocket").is_some() {
        let port = p
            .pointer("/tcpSocket/port")
            .map(|v| v.to_string().trim_matches('"').to_owned())
            .unwrap_or_default();
        Err(format!(
            "{label} probe failed: dial tcp 10.244.0.1:{port}: connect: connection refused"
        ))
    } else {
        Err(format!(
            "{label} probe failed: command exited with non-zero status 1"
        ))
    }
}

fn step_container(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, i: usize) {
    let now_i = ctx.now;
    let timings = ctx.scenario.timings.clone();
    let name = rt.containers[i].name.clone();
    let image = rt.containers[i].image.clone();
    match rt.containers[i].state.clone() {
        CState::Pending => prepare(ctx, sim, pod, rt, i),
        CState::Creating { at } if now_i >= at => {
            let c = &mut rt.containers[i];
            c.container_id = new_container_id();
            c.state = CState::Running {
                since: now_i,
                started: now(),
            };
            c.next_probe = now_i + Duration::from_millis(timings.ready_ms);
            c.ready = false;
            c.startup = ProbeTiming::of(&c.spec, "startupProbe").map(|t| ProbeClock::new(t, now_i));
            c.liveness =
                ProbeTiming::of(&c.spec, "livenessProbe").map(|t| ProbeClock::new(t, now_i));
            let lines = apps::startup_logs(c.behaviour, &c.env, &ctx.scenario, &c.name);
            for l in lines {
                c.log(l);
            }
            rt.changed = true;
            sim.events.emit(
                ctx.state,
                &src(pod, Some(&name)),
                Level::Normal,
                "Created",
                &format!("Created container: {name}"),
            );
            sim.events.emit(
                ctx.state,
                &src(pod, Some(&name)),
                Level::Normal,
                "Started",
                &format!("Started container {name}"),
            );
        }
        CState::Creating { .. } | CState::Terminated(_) => {}
        CState::Waiting { retry, .. } if now_i < retry => {}
        CState::Waiting {
            reason: "ErrImagePull",
            message,
            ..
        } => {
            let c = &mut rt.containers[i];
            let _ = message;
            c.state = CState::Waiting {
                reason: "ImagePullBackOff",
                message: format!("Back-off pulling image {image:?}"),
                retry: now_i + backoff(ctx, c.backoff_n),
            };
            c.backoff_n += 1;
            rt.changed = true;
            sim.events.emit(
                ctx.state,
                &src(pod, Some(&name)),
                Level::Normal,
                "BackOff",
                &format!("Back-off pulling image {image:?}"),
            );
            sim.events.emit(
                ctx.state,
                &src(pod, Some(&name)),
                Level::Warning,
                "Failed",
                "Error: ImagePullBackOff",
            );
        }
        CState::Waiting {
            reason: reason @ ("ImagePullBackOff" | "ErrImageNeverPull"),
            message,
            ..
        } => {
            let c = &rt.containers[i];
            let on_node = sim.node_has_image(&ctx.scenario, &image);
            let in_registry = ctx.scenario.registry_has_image(&image);
            let decision = pull_decision(&c.pull_policy, on_node, in_registry);
            if matches!(decision, Pull::Present | Pull::Pulled) {
                prepare(ctx, sim, pod, rt, i);
                return;
            }
            let c = &mut rt.containers[i];
            let delay = backoff(ctx, c.backoff_n);
            c.backoff_n += 1;
            c.state = CState::Waiting {
                reason,
                message,
                retry: now_i + delay,
            };
            if reason == "ImagePullBackOff" {
                sim.events.emit(
                    ctx.state,
                    &src(pod, Some(&name)),
                    Level::Normal,
                    "BackOff",
                    &format!("Back-off pulling image {image:?}"),
                );
                sim.events.emit(
                    ctx.state,
                    &src(pod, Some(&name)),
                    Level::Warning,
                    "Failed",
                    "Error: ImagePullBackOff",
                );
            } else {
                never_pull(ctx, sim, pod, &name, &image);
            }
        }
        CState::Waiting { .. } => prepare(ctx, sim, pod, rt, i),
        CState::Running { since, .. } => match apps::lifetime(rt.containers[i].behaviour) {
            Lifetime::Crash(code, reason) => {
                if now_i >= since + Duration::from_millis(timings.start_ms) {
                    exit(ctx, sim, pod, rt, i, code, reason);
                } else {
                    readiness(ctx, sim, pod, rt, i, since);
                }
            }
            Lifetime::Job => {
                if now_i >= since + Duration::from_millis(timings.start_ms) {
                    let c = &rt.containers[i];
                    let mut argv: Vec<String> = Vec::new();
                    for f in ["command", "args"] {
                        argv.extend(
                            c.spec
                                .get(f)
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(str::to_owned),
                        );
                    }
                    let (code, lines) =
                        apps::http_check(ctx.state, sim, meta(pod, "namespace"), &argv);
                    let c = &mut rt.containers[i];
                    for l in lines {
                        c.log(l);
                    }
                    exit(
                        ctx,
                        sim,
                        pod,
                        rt,
                        i,
                        code,
                        if code == 0 { "Completed" } else { "Error" },
                    );
                }
            }
            Lifetime::Service => {
                if !liveness(ctx, sim, pod, rt, i) {
                    readiness(ctx, sim, pod, rt, i, since);
                }
            }
        },
    }
}

/// Whether a startup or liveness probe of a running container is due.
fn liveness_due(c: &ContainerRuntime, now: Instant) -> bool {
    c.is_running()
        && match &c.startup {
            Some(s) => s.due(now),
            None => c.liveness.as_ref().is_some_and(|l| l.due(now)),
        }
}

/// Run a due startup or liveness probe; kill the container when its failure threshold is
/// reached (then true). Liveness probes start once the startup probe succeeded.
fn liveness(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, i: usize) -> bool {
    let now = ctx.now;
    let c = &rt.containers[i];
    if !liveness_due(c, now) {
        return false;
    }
    let (field, label, kind) = if c.startup.is_some() {
        ("startupProbe", "Startup", "startup")
    } else {
        ("livenessProbe", "Liveness", "liveness")
    };
    let result = probe_kind(ctx, sim, c, field, label);
    let c = &mut rt.containers[i];
    let clock = if kind == "startup" {
        c.startup.as_mut()
    } else {
        c.liveness.as_mut()
    };
    let Some(clock) = clock else { return false };
    let exceeded = clock.record(now, result.is_ok());
    let name = c.name.clone();
    match result {
        Ok(()) => {
            if kind == "startup" {
                c.startup = None;
                if let Some(l) = c.liveness.as_mut() {
                    l.next = l.next.max(now + l.timing.period);
                }
            }
            false
        }
        Err(msg) => {
            sim.events.emit(
                ctx.state,
                &src(pod, Some(&name)),
                Level::Warning,
                "Unhealthy",
                &msg,
            );
            if !exceeded {
                return false;
            }
            sim.events.emit(
                ctx.state,
                &src(pod, Some(&name)),
                Level::Normal,
                "Killing",
                &format!("Container {name} failed {kind} probe, will be restarted"),
            );
            exit(ctx, sim, pod, rt, i, 137, "Error");
            true
        }
    }
}

fn readiness(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
    i: usize,
    since: Instant,
) {
    let timings = &ctx.scenario.timings;
    let c = &rt.containers[i];
    if ctx.now < since + Duration::from_millis(timings.ready_ms) || ctx.now < c.next_probe {
        return;
    }
    let result = probe(ctx, sim, c);
    let c = &mut rt.containers[i];
    c.next_probe = ctx.now + Duration::from_millis(timings.ready_ms.max(20));
    match result {
        Ok(()) => {
            if !c.ready {
                c.ready = true;
                rt.changed = true;
            }
        }
        Err(msg) => {
            if c.ready {
                c.ready = false;
                rt.changed = true;
            }
            if let Some(line) = apps::failed_check_log(c.behaviour, &c.env, &ctx.scenario) {
                c.log(line);
            }
            let name = c.name.clone();
            sim.events.emit(
                ctx.state,
                &src(pod, Some(&name)),
                Level::Warning,
                "Unhealthy",
                &msg,
            );
        }
    }
}

fn set_condition(rt: &mut PodRuntime, ty: &'static str, status: bool) {
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

fn write_status(ctx: &Ctx<'_>, pod: &Value, rt: &mut PodRuntime) {
    let qos = qos_class(pod);
    let status = if !rt.scheduled {
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
    } else {
        let all_done = !rt.containers.is_empty()
            && rt
                .containers
                .iter()
                .all(|c| matches!(c.state, CState::Terminated(_)));
        let phase = if all_done {
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
    };
    let node = ctx.scenario.node.name.clone();
    let scheduled = rt.scheduled;
    ctx.state.store.modify(
        &Key::new(rt_pods(), meta(pod, "namespace"), meta(pod, "name")),
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

fn rt_pods() -> &'static crate::resources::ResourceType {
    resource_type("v1/pods")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_or_untagged_images_default_to_always() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("todo-chatbot-backend:latest"), "Always");
        assert_eq!(
            default_pull_policy("todo-chatbot-backend:1.0.0"),
            "IfNotPresent"
        );
        assert_eq!(default_pull_policy("localhost:5000/app"), "Always");
    }

    #[test]
    fn pull_decisions_follow_policy_node_store_and_registry() {
        assert_eq!(pull_decision("IfNotPresent", true, false), Pull::Present);
        assert_eq!(pull_decision("IfNotPresent", false, true), Pull::Pulled);
        assert_eq!(pull_decision("IfNotPresent", false, false), Pull::Fails);
        assert_eq!(pull_decision("Never", true, false), Pull::Present);
        assert_eq!(pull_decision("Never", false, true), Pull::NeverMissing);
        assert_eq!(pull_decision("Always", true, false), Pull::Fails);
        assert_eq!(pull_decision("Always", false, true), Pull::Pulled);
    }

    fn lookup_fixture(secret: bool, name: &str) -> Option<Value> {
        match (secret, name) {
            (true, "db") => Some(json!({"data": {"DATABASE_URL": "cG9zdGdyZXNxbDovL2gvZA=="}})),
            (false, "cfg") => Some(json!({"data": {"LOG_LEVEL": "info"}})),
            _ => None,
        }
    }

    #[test]
    fn env_resolves_secret_and_configmap_refs() {
        let c = json!({
            "envFrom": [{"configMapRef": {"name": "cfg"}}],
            "env": [
                {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "DATABASE_URL"}}},
                {"name": "X", "value": "$(LOG_LEVEL)-x"},
                {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": true}}}
            ]
        });
        let env = resolve_env(&lookup_fixture, "todo", &json!({}), &c).unwrap();
        assert_eq!(env["DATABASE_URL"], "postgresql://h/d");
        assert_eq!(env["LOG_LEVEL"], "info");
        assert_eq!(env["X"], "info-x");
        assert!(!env.contains_key("OPT"));
    }

    #[test]
    fn env_reports_missing_secret_and_key_like_the_kubelet() {
        let missing = json!({"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "todo-secrets", "key": "A"}}}]});
        assert_eq!(
            resolve_env(&lookup_fixture, "todo", &json!({}), &missing).unwrap_err(),
            "secret \"todo-secrets\" not found"
        );
        let no_key = json!({"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": "OPENAI_API_KEY"}}}]});
        assert_eq!(
            resolve_env(&lookup_fixture, "todo", &json!({}), &no_key).unwrap_err(),
            "couldn't find key OPENAI_API_KEY in Secret todo/db"
        );
        let cm = json!({"envFrom": [{"configMapRef": {"name": "todo-config"}}]});
        assert_eq!(
            resolve_env(&lookup_fixture, "todo", &json!({}), &cm).unwrap_err(),
            "configmap \"todo-config\" not found"
        );
    }

    #[test]
    fn probe_timing_uses_kubernetes_defaults() {
        let c = json!({"livenessProbe": {"httpGet": {"path": "/health", "port": "http"}}});
        assert_eq!(
            ProbeTiming::of(&c, "livenessProbe"),
            Some(ProbeTiming {
                initial_delay: Duration::ZERO,
                period: Duration::from_secs(10),
                failure_threshold: 3
            })
        );
        assert_eq!(ProbeTiming::of(&c, "startupProbe"), None);
        let c = json!({"livenessProbe": {"initialDelaySeconds": 10, "periodSeconds": 0, "failureThreshold": 0}});
        let t = ProbeTiming::of(&c, "livenessProbe").unwrap();
        assert_eq!(t.initial_delay, Duration::from_secs(10));
        assert_eq!(t.period, Duration::from_secs(1));
        assert_eq!(t.failure_threshold, 1);
    }

    #[test]
    fn liveness_kills_after_initial_delay_plus_threshold_periods_of_failure() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let timing = ProbeTiming {
            initial_delay: s(5),
            period: s(10),
            failure_threshold: 3,
        };
        let mut clock = ProbeClock::new(timing, t0);
        assert!(!clock.due(t0 + s(14)));
        assert!(clock.due(t0 + s(15)));
        assert!(!clock.record(t0 + s(15), false));
        assert!(!clock.due(t0 + s(24)));
        // A success in between resets the count.
        assert!(!clock.record(t0 + s(25), true));
        assert!(!clock.record(t0 + s(35), false));
        assert!(!clock.record(t0 + s(45), false));
        assert!(clock.record(t0 + s(55), false));
        // Continuous failure from the start: killed at 5 + 10 * 3 s.
        let mut clock = ProbeClock::new(timing, t0);
        let mut killed_at = None;
        for sec in 0..60 {
            let now = t0 + s(sec);
            if clock.due(now) && clock.record(now, false) {
                killed_at = Some(sec);
                break;
            }
        }
        assert_eq!(killed_at, Some(35));
        // A late pass does not run the missed probes in a burst.
        let mut clock = ProbeClock::new(timing, t0);
        clock.record(t0 + s(100), false);
        assert_eq!(clock.next, t0 + s(110));
    }

    #[test]
    fn shown_backoff_doubles_from_ten_seconds() {
        assert_eq!(shown_backoff(0), "10s");
        assert_eq!(shown_backoff(3), "1m20s");
        assert_eq!(shown_backoff(9), "5m0s");
    }
}
