//! What the kubelet keeps per pod it runs: the pod's containers (init containers, native
//! sidecars and app containers, each with its state machine's state, logs and probe clocks),
//! its scheduling, its conditions and, once deleted, its termination.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::images;
use super::probes::ProbeClock;
use crate::apps::{self, Behaviour, Profile};
use crate::fields::meta;
use crate::quantity::{self, Requests};
use crate::scenario::Scenario;

/// Keep at most this many log lines per container.
const MAX_LOG_LINES: usize = 2000;

/// A terminated container instance.
#[derive(Debug, Clone)]
pub struct Terminated {
    /// Exit code.
    pub exit_code: i32,
    /// Error, OOMKilled, Completed, ContainerStatusUnknown.
    pub reason: String,
    /// A message (only the kubelet's own, for containers it could not find at the end).
    pub message: Option<String>,
    /// startedAt ("" when the container never ran).
    pub started: String,
    /// finishedAt ("" when the container never ran).
    pub finished: String,
    /// containerID ("" when the container never ran).
    pub container_id: String,
}

/// A container's state.
#[derive(Debug, Clone)]
pub enum CState {
    /// Not yet prepared (pod not scheduled, or an earlier init container not done).
    Pending,
    /// Pulling its image until `until` (then prepared again).
    Pulling {
        /// When the pull ends.
        until: Instant,
    },
    /// Image and env are ready; starts at `at`.
    Creating {
        /// When the container starts.
        at: Instant,
    },
    /// Waiting with a reason; reconsidered at `retry`.
    Waiting {
        /// ErrImagePull, ImagePullBackOff, ErrImageNeverPull, InvalidImageName,
        /// CreateContainerConfigError, CrashLoopBackOff.
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
    /// Finished for good (restart policy, or the pod is being deleted).
    Terminated(Terminated),
}

/// Which list of the pod spec a container comes from, and how it restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `spec.containers`.
    App,
    /// `spec.initContainers` without `restartPolicy: Always`: runs to completion, in order.
    Init,
    /// `spec.initContainers` with `restartPolicy: Always` (a native sidecar): started in
    /// order, then keeps running, always restarted, counted for readiness.
    Sidecar,
}

impl Role {
    /// The spec field the container is in.
    pub fn field(self) -> &'static str {
        match self {
            Role::App => "containers",
            Role::Init | Role::Sidecar => "initContainers",
        }
    }
}

/// Where a container sits in its pod's runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `init[i]`.
    Init(usize),
    /// `containers[i]`.
    App(usize),
}

/// A SIGTERM sent to a running container: when it will have exited, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    /// When the container exits.
    pub at: Instant,
    /// Its exit code (0 after a clean shutdown, 137 when killed at the end of the grace).
    pub exit_code: i32,
}

/// One container's runtime.
#[derive(Debug, Clone)]
pub struct ContainerRuntime {
    /// Container name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Init, sidecar or app container.
    pub role: Role,
    /// Effective pull policy.
    pub pull_policy: String,
    /// Simulated behaviour.
    pub behaviour: Behaviour,
    /// The scenario's overrides for this container (exit code, logs, run time, SIGTERM).
    pub profile: Profile,
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
    /// The image's digest once on the node (for imageID).
    pub image_id: String,
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
    /// The SIGTERM sent during the pod's termination, if any.
    pub stop: Option<Stop>,
}

impl ContainerRuntime {
    /// Whether the container is running.
    pub fn is_running(&self) -> bool {
        matches!(self.state, CState::Running { .. })
    }

    /// Whether it runs and its startup probe (if any) passed: the `started` field.
    pub fn started(&self) -> bool {
        self.is_running() && self.startup.is_none()
    }

    /// Whether it finished for good with exit code 0.
    pub fn completed(&self) -> bool {
        matches!(&self.state, CState::Terminated(t) if t.exit_code == 0)
    }

    /// Whether it finished for good.
    pub fn terminated(&self) -> bool {
        matches!(self.state, CState::Terminated(_))
    }

    /// Append a log line of the current instance.
    pub fn log(&mut self, line: String) {
        self.logs.push(line);
        if self.logs.len() > MAX_LOG_LINES {
            let extra = self.logs.len() - MAX_LOG_LINES;
            self.logs.drain(..extra);
        }
    }
}

/// The kubelet's record of a pod's termination.
#[derive(Debug, Clone, Copy)]
pub struct Termination {
    /// When the kubelet saw the deletion.
    pub since: Instant,
    /// When the grace period (scaled by the scenario) ends: every container is killed then.
    pub deadline: Instant,
    /// The grace period it was given, in seconds (a later, shorter one moves the deadline).
    pub grace_seconds: i64,
    /// The final status is written: the pod is removed from the API at the next pass.
    pub finished: bool,
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
    /// The node it is bound to ("" until scheduled).
    pub node: String,
    /// startTime.
    pub start_time: String,
    /// Pod IP.
    pub ip: String,
    /// Always, OnFailure, Never.
    pub restart_policy: String,
    /// Init containers and sidecars, in spec order.
    pub init: Vec<ContainerRuntime>,
    /// App containers.
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
    /// Set once the pod has a deletionTimestamp.
    pub terminating: Option<Termination>,
}

impl PodRuntime {
    /// The container in `slot`.
    pub fn get(&self, slot: Slot) -> &ContainerRuntime {
        match slot {
            Slot::Init(i) => &self.init[i],
            Slot::App(i) => &self.containers[i],
        }
    }

    /// The container in `slot`, mutably.
    pub fn get_mut(&mut self, slot: Slot) -> &mut ContainerRuntime {
        match slot {
            Slot::Init(i) => &mut self.init[i],
            Slot::App(i) => &mut self.containers[i],
        }
    }

    /// Every slot: init containers first, then app containers.
    pub fn slots(&self) -> Vec<Slot> {
        (0..self.init.len())
            .map(Slot::Init)
            .chain((0..self.containers.len()).map(Slot::App))
            .collect()
    }

    /// Every container: init containers first.
    pub fn all(&self) -> impl Iterator<Item = &ContainerRuntime> {
        self.init.iter().chain(self.containers.iter())
    }

    /// Whether the pod is finished for good (phase Succeeded or Failed): every app container
    /// terminated, or a failed init container that will not be restarted.
    pub fn finished(&self) -> bool {
        let init_failed = self.restart_policy == "Never"
            && self
                .init
                .iter()
                .any(|c| c.role == Role::Init && c.terminated() && !c.completed());
        init_failed
            || (!self.containers.is_empty() && self.containers.iter().all(|c| c.terminated()))
    }

    /// Whether every init container completed and every sidecar started (the regular
    /// containers may start).
    pub fn initialized(&self) -> bool {
        self.init.iter().all(|c| match c.role {
            Role::Sidecar => c.started(),
            _ => c.completed(),
        }) || self
            .containers
            .iter()
            .any(|c| c.restart_count > 0 || c.is_running() || c.terminated())
    }
}

fn container_runtime(c: &Value, role: Role, scenario: &Scenario, now: Instant) -> ContainerRuntime {
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let image = s("image");
    let name = s("name");
    let pull_policy = Some(s("imagePullPolicy"))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| images::default_pull_policy(&image).to_owned());
    let (behaviour, profile) = apps::behaviour_for(scenario, &image, &name);
    ContainerRuntime {
        name,
        behaviour,
        profile,
        image,
        role,
        pull_policy,
        state: CState::Pending,
        restart_count: 0,
        logs: Vec::new(),
        previous_logs: None,
        last_terminated: None,
        env: BTreeMap::new(),
        image_ready: false,
        image_id: String::new(),
        container_id: String::new(),
        ready: false,
        next_probe: now,
        backoff_n: 0,
        spec: c.clone(),
        startup: None,
        liveness: None,
        stop: None,
    }
}

/// Whether an init container is a native sidecar (`restartPolicy: Always`).
pub fn is_sidecar(c: &Value) -> bool {
    c.get("restartPolicy").and_then(Value::as_str) == Some("Always")
}

/// The runtime of a pod the kubelet sees for the first time.
pub fn new_runtime(pod: &Value, scenario: &Scenario, now: Instant) -> PodRuntime {
    let list = |f: &str| {
        pod.pointer(&format!("/spec/{f}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let init = list("initContainers")
        .iter()
        .map(|c| {
            let role = if is_sidecar(c) {
                Role::Sidecar
            } else {
                Role::Init
            };
            container_runtime(c, role, scenario, now)
        })
        .collect();
    let containers = list("containers")
        .iter()
        .map(|c| container_runtime(c, Role::App, scenario, now))
        .collect();
    let node_name = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    PodRuntime {
        namespace: meta(pod, "namespace").to_owned(),
        name: meta(pod, "name").to_owned(),
        seen: now,
        scheduled: false,
        node_preset: !node_name.is_empty(),
        node: node_name,
        start_time: String::new(),
        ip: String::new(),
        restart_policy: pod
            .pointer("/spec/restartPolicy")
            .and_then(Value::as_str)
            .unwrap_or("Always")
            .to_owned(),
        init,
        containers,
        conditions: BTreeMap::new(),
        changed: true,
        requests: quantity::pod_requests(&pod["spec"]),
        schedule_at: now + Duration::from_millis(scenario.timings.schedule_ms),
        unschedulable: None,
        terminating: None,
    }
}
