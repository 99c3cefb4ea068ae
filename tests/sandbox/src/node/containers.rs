//! The container state machine: Pending → (Pulling) → Creating (image pulled, env resolved) →
//! Running, waiting states with back-off (image pulls, config errors, CrashLoopBackOff), exits
//! with the restart rules of the container's role (app containers follow the pod's
//! restartPolicy, init containers restart only on failure and never under `Never`, sidecars
//! always), and the simulated app's lifetime (services run, crashers exit, jobs complete).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::images::{self, Pull};
use super::probes::{self, ProbeClock, ProbeTiming};
use super::runtime::{Role, Slot};
use super::{CState, Ctx, PodRuntime, Terminated, env, src};
use crate::apps::{self, Lifetime};
use crate::events::Level;
use crate::fields::meta;
use crate::resources::Resource;
use crate::state::{SimState, now};
use crate::storage::Key;

/// The Kubernetes-side back-off shown in messages (10s doubling, capped at 5m).
fn shown_backoff(n: u32) -> String {
    let secs = (10u64 << n.min(5)).min(300);
    if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// A new container id, with the runtime's scheme (`docker://`, `containerd://`).
fn new_container_id(scheme: &str) -> String {
    let a: u128 = rand::random();
    let b: u128 = rand::random();
    format!("{scheme}://{a:032x}{b:032x}")
}

/// The sandbox's real back-off: the scenario's crash back-off, doubling, capped at 8x.
pub fn backoff(ctx: &Ctx<'_>, n: u32) -> Duration {
    Duration::from_millis(ctx.scenario.timings.crash_backoff_ms.max(1) << n.min(3))
}

/// Advance the container in `slot` by what is due now.
pub fn step(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, slot: Slot) {
    match rt.get(slot).state.clone() {
        CState::Pending => prepare(ctx, sim, pod, rt, slot),
        CState::Pulling { until } if ctx.now >= until => prepare(ctx, sim, pod, rt, slot),
        CState::Creating { at } if ctx.now >= at => start(ctx, sim, pod, rt, slot),
        CState::Pulling { .. } | CState::Creating { .. } | CState::Terminated(_) => {}
        CState::Waiting { retry, .. } if ctx.now < retry => {}
        CState::Waiting {
            reason: "ErrImagePull",
            message,
            ..
        } => {
            let delay = backoff(ctx, rt.get(slot).backoff_n);
            let c = rt.get_mut(slot);
            c.state = CState::Waiting {
                reason: "ImagePullBackOff",
                message: images::back_off_message(&c.image, &message),
                retry: ctx.now + delay,
            };
            c.backoff_n += 1;
            rt.changed = true;
            images::back_off_events(ctx, sim, pod, rt.get(slot));
        }
        CState::Waiting {
            reason: reason @ ("ImagePullBackOff" | "ErrImageNeverPull"),
            message,
            ..
        } => retry_pull(ctx, sim, pod, rt, slot, reason, message),
        CState::Waiting {
            reason: "InvalidImageName",
            ..
        } => {}
        CState::Waiting { .. } => prepare(ctx, sim, pod, rt, slot),
        CState::Running { since, .. } => running(ctx, sim, pod, rt, slot, since),
    }
}

/// Pull the image and resolve env; on success the container is Creating.
fn prepare(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, slot: Slot) {
    if !rt.get(slot).image_ready {
        rt.changed = true;
        let node = rt.node.clone();
        if !images::pull(ctx, sim, pod, rt.get_mut(slot), &node) {
            return;
        }
    }
    configure(ctx, sim, pod, rt, slot);
}

/// Resolve the container's environment: Creating, or CreateContainerConfigError.
fn configure(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, slot: Slot) {
    let ns = meta(pod, "namespace");
    let store = &ctx.state.store;
    let lookup = |secret: bool, name: &str| {
        let resource = if secret {
            Resource::Secret
        } else {
            Resource::ConfigMap
        };
        store.get(&Key::new(resource, ns, name))
    };
    // The downward API sees the node the pod runs on.
    let mut view = pod.clone();
    view["status"]["hostIP"] = serde_json::json!(ctx.node_ip(&rt.node));
    let c = rt.get_mut(slot);
    let msg = match env::resolve_env(&lookup, ns, &view, &c.spec) {
        Ok(env) => {
            c.env = env;
            c.state = CState::Creating {
                at: ctx.ms(ctx.scenario.timings.start_ms),
            };
            rt.changed = true;
            return;
        }
        Err(msg) => msg,
    };
    let first = !matches!(
        c.state,
        CState::Waiting {
            reason: "CreateContainerConfigError",
            ..
        }
    );
    let changed_msg = !matches!(&c.state, CState::Waiting { message, .. } if *message == msg);
    c.state = CState::Waiting {
        reason: "CreateContainerConfigError",
        message: msg.clone(),
        retry: ctx.ms(ctx.scenario.timings.schedule_ms.max(20)),
    };
    // A repeated failure is reported at most once a second.
    let interval = if first || changed_msg {
        rt.changed = true;
        Duration::ZERO
    } else {
        Duration::from_secs(1)
    };
    let source = src(pod, Some(rt.get(slot)));
    let text = format!("Error: {msg}");
    sim.events.record(
        ctx.state,
        &source,
        Level::Warning,
        "Failed",
        &text,
        interval,
    );
}

/// A pull back-off or missing image is due again: pull if the image can now be had, else
/// back off further.
fn retry_pull(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
    slot: Slot,
    reason: &'static str,
    message: String,
) {
    let pullable = matches!(
        images::decide(ctx, sim, rt.get(slot), &rt.node),
        Pull::Present(_) | Pull::Pulled(_)
    );
    // After a back-off the kubelet pulls again (and may fail again: ErrImagePull).
    if pullable || reason == "ImagePullBackOff" {
        rt.get_mut(slot).state = CState::Pending;
        prepare(ctx, sim, pod, rt, slot);
        return;
    }
    let delay = backoff(ctx, rt.get(slot).backoff_n);
    let c = rt.get_mut(slot);
    c.backoff_n += 1;
    c.state = CState::Waiting {
        reason,
        message,
        retry: ctx.now + delay,
    };
    images::never_pull(ctx, sim, pod, rt.get(slot));
}

/// Creating → Running: a new container id, the app's start-up logs, the probes' clocks.
fn start(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, slot: Slot) {
    let now_i = ctx.now;
    let scheme = ctx.runtime_scheme();
    let c = rt.get_mut(slot);
    c.container_id = new_container_id(scheme);
    c.state = CState::Running {
        since: now_i,
        started: now(),
    };
    c.next_probe = now_i + Duration::from_millis(ctx.scenario.timings.ready_ms);
    c.ready = false;
    // Probes run on app containers and sidecars only (the API refuses them elsewhere).
    let probed = c.role != Role::Init;
    let clock = |field| {
        ProbeTiming::of(&c.spec, field)
            .filter(|_| probed)
            .map(|t| ProbeClock::new(t, now_i))
    };
    c.startup = clock("startupProbe");
    c.liveness = clock("livenessProbe");
    // A job logs what it does as it starts (the http-check job when it has run); services
    // and crashers log their start-up.
    let job = apps::lifetime(c.behaviour, c.role, &c.profile) == Lifetime::Job;
    let lines = c.profile.logs.clone().unwrap_or_else(|| {
        if job {
            apps::complete(c.behaviour, &c.profile, &c.env, &ctx.scenario)
                .map(|(_, lines)| lines)
                .unwrap_or_default()
        } else {
            apps::startup_logs(c.behaviour, &c.env, &ctx.scenario, &c.name)
        }
    });
    for line in lines {
        c.log(line);
    }
    rt.changed = true;
    let c = rt.get(slot);
    let source = src(pod, Some(c));
    let created = format!("Created container: {}", c.name);
    sim.events
        .emit(ctx.state, &source, Level::Normal, "Created", &created);
    let started = format!("Started container {}", c.name);
    sim.events
        .emit(ctx.state, &source, Level::Normal, "Started", &started);
}

/// A running container: what its app does by itself (crash, complete) and its probes.
fn running(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
    slot: Slot,
    since: Instant,
) {
    let c = rt.get(slot);
    let run = c.profile.run_ms.unwrap_or(ctx.scenario.timings.start_ms);
    let ran_long_enough = ctx.now >= since + Duration::from_millis(run);
    match apps::lifetime(c.behaviour, c.role, &c.profile) {
        Lifetime::Crash(code, reason) if ran_long_enough => {
            exit(ctx, sim, pod, rt, slot, code, reason);
        }
        Lifetime::Crash(..) if c.role != Role::Init => {
            probes::readiness(ctx, sim, pod, rt, slot, since);
        }
        Lifetime::Job if ran_long_enough => run_job(ctx, sim, pod, rt, slot),
        Lifetime::Crash(..) | Lifetime::Job => {}
        Lifetime::Service => {
            if !probes::liveness(ctx, sim, pod, rt, slot) {
                probes::readiness(ctx, sim, pod, rt, slot, since);
            }
        }
    }
}

/// A job runs to completion: the http-check app runs its command line, others do what
/// [`apps::complete`] says.
fn run_job(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, slot: Slot) {
    let c = rt.get(slot);
    // Lines other than the http-check's were logged at start.
    let outcome = apps::complete(c.behaviour, &c.profile, &c.env, &ctx.scenario)
        .map(|(code, _)| (code, Vec::new()));
    let (code, lines) = outcome.unwrap_or_else(|| {
        let argv: Vec<String> = ["command", "args"]
            .iter()
            .flat_map(|f| {
                c.spec
                    .get(*f)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        apps::http_check::run(ctx.state, sim, meta(pod, "namespace"), &argv)
    });
    let c = rt.get_mut(slot);
    for l in lines {
        c.log(l);
    }
    exit(ctx, sim, pod, rt, slot, code, apps::exit_reason(code));
}

/// Whether a container of `role` that exited with `code` is started again: app containers
/// as the pod's restartPolicy says, init containers only after a failure (never under
/// `Never`), sidecars always.
pub fn restarts(role: Role, policy: &str, code: i32) -> bool {
    match role {
        Role::Sidecar => true,
        Role::Init => code != 0 && policy != "Never",
        Role::App => policy == "Always" || (policy == "OnFailure" && code != 0),
    }
}

/// The container's current instance as terminated with `code` and `reason`.
pub fn terminated_now(rt: &PodRuntime, slot: Slot, code: i32, reason: &str) -> Terminated {
    let c = rt.get(slot);
    let started = match &c.state {
        CState::Running { started, .. } => started.clone(),
        _ => now(),
    };
    Terminated {
        exit_code: code,
        reason: reason.to_owned(),
        message: None,
        started,
        finished: now(),
        container_id: c.container_id.clone(),
    }
}

/// The container exited with `code`: restart it after a back-off (CrashLoopBackOff) or, as
/// its role and the restart policy say (or because the pod is being deleted), leave it
/// terminated.
pub fn exit(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
    slot: Slot,
    code: i32,
    reason: &str,
) {
    let term = terminated_now(rt, slot, code, reason);
    let restart = rt.terminating.is_none() && restarts(rt.get(slot).role, &rt.restart_policy, code);
    rt.changed = true;
    let c = rt.get_mut(slot);
    c.ready = false;
    c.startup = None;
    c.liveness = None;
    if !restart {
        c.state = CState::Terminated(term);
        return;
    }
    c.last_terminated = Some(term);
    c.restart_count += 1;
    // The kubelet ensures the image again before each start (an event, or a pull for Always).
    c.image_ready = false;
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
    let c = rt.get(slot);
    let msg = format!(
        "Back-off restarting failed container {} in pod {pod_ref}",
        c.name
    );
    sim.events.emit(
        ctx.state,
        &src(pod, Some(c)),
        Level::Warning,
        "BackOff",
        &msg,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_backoff_doubles_from_ten_seconds() {
        assert_eq!(shown_backoff(0), "10s");
        assert_eq!(shown_backoff(3), "1m20s");
        assert_eq!(shown_backoff(9), "5m0s");
    }

    #[test]
    fn init_containers_restart_only_after_failures_and_sidecars_always() {
        assert!(restarts(Role::App, "Always", 0));
        assert!(!restarts(Role::App, "OnFailure", 0));
        assert!(restarts(Role::App, "OnFailure", 1));
        assert!(!restarts(Role::App, "Never", 1));
        assert!(!restarts(Role::Init, "Always", 0));
        assert!(restarts(Role::Init, "Always", 1));
        assert!(restarts(Role::Init, "OnFailure", 2));
        assert!(!restarts(Role::Init, "Never", 1));
        assert!(restarts(Role::Sidecar, "Never", 0));
    }
}
