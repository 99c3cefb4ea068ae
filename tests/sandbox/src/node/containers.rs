//! The container state machine: Pending → Creating (image pulled, env resolved) → Running,
//! waiting states with back-off (image pulls, config errors, CrashLoopBackOff), exits with the
//! restart policy, and the simulated app's lifetime (services run, crashers exit, jobs
//! complete).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::images::{self, Pull};
use super::probes::{self, ProbeClock, ProbeTiming};
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

fn new_container_id() -> String {
    let a: u128 = rand::random();
    let b: u128 = rand::random();
    format!("docker://{a:032x}{b:032x}")
}

/// The sandbox's real back-off: the scenario's crash back-off, doubling, capped at 8x.
fn backoff(ctx: &Ctx<'_>, n: u32) -> Duration {
    Duration::from_millis(ctx.scenario.timings.crash_backoff_ms.max(1) << n.min(3))
}

/// Advance container `i` of the pod by what is due now.
pub fn step(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, i: usize) {
    match rt.containers[i].state.clone() {
        CState::Pending => prepare(ctx, sim, pod, rt, i),
        CState::Creating { at } if ctx.now >= at => start(ctx, sim, pod, rt, i),
        CState::Creating { .. } | CState::Terminated(_) => {}
        CState::Waiting { retry, .. } if ctx.now < retry => {}
        CState::Waiting {
            reason: "ErrImagePull",
            ..
        } => {
            let c = &mut rt.containers[i];
            c.state = CState::Waiting {
                reason: "ImagePullBackOff",
                message: format!("Back-off pulling image {:?}", c.image),
                retry: ctx.now + backoff(ctx, c.backoff_n),
            };
            c.backoff_n += 1;
            rt.changed = true;
            let (name, image) = (c.name.clone(), c.image.clone());
            images::back_off_events(ctx, sim, pod, &name, &image);
        }
        CState::Waiting {
            reason: reason @ ("ImagePullBackOff" | "ErrImageNeverPull"),
            message,
            ..
        } => retry_pull(ctx, sim, pod, rt, i, reason, message),
        CState::Waiting { .. } => prepare(ctx, sim, pod, rt, i),
        CState::Running { since, .. } => running(ctx, sim, pod, rt, i, since),
    }
}

/// Pull the image and resolve env; on success the container is Creating.
fn prepare(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, i: usize) {
    if !rt.containers[i].image_ready {
        rt.changed = true;
        if !images::pull(ctx, sim, pod, &mut rt.containers[i]) {
            return;
        }
    }
    configure(ctx, sim, pod, rt, i);
}

/// Resolve the container's environment: Creating, or CreateContainerConfigError.
fn configure(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, i: usize) {
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
    let c = &mut rt.containers[i];
    let msg = match env::resolve_env(&lookup, ns, pod, &c.spec) {
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
    let source = src(pod, Some(&c.name));
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
    i: usize,
    reason: &'static str,
    message: String,
) {
    if matches!(
        images::decide(ctx, sim, &rt.containers[i]),
        Pull::Present | Pull::Pulled
    ) {
        prepare(ctx, sim, pod, rt, i);
        return;
    }
    let c = &mut rt.containers[i];
    let delay = backoff(ctx, c.backoff_n);
    c.backoff_n += 1;
    c.state = CState::Waiting {
        reason,
        message,
        retry: ctx.now + delay,
    };
    let (name, image) = (c.name.clone(), c.image.clone());
    if reason == "ImagePullBackOff" {
        images::back_off_events(ctx, sim, pod, &name, &image);
    } else {
        images::never_pull(ctx, sim, pod, &name, &image);
    }
}

/// Creating → Running: a new container id, the app's start-up logs, the probes' clocks.
fn start(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, i: usize) {
    let now_i = ctx.now;
    let c = &mut rt.containers[i];
    c.container_id = new_container_id();
    c.state = CState::Running {
        since: now_i,
        started: now(),
    };
    c.next_probe = now_i + Duration::from_millis(ctx.scenario.timings.ready_ms);
    c.ready = false;
    c.startup = ProbeTiming::of(&c.spec, "startupProbe").map(|t| ProbeClock::new(t, now_i));
    c.liveness = ProbeTiming::of(&c.spec, "livenessProbe").map(|t| ProbeClock::new(t, now_i));
    for line in apps::startup_logs(c.behaviour, &c.env, &ctx.scenario, &c.name) {
        c.log(line);
    }
    rt.changed = true;
    let name = c.name.clone();
    let source = src(pod, Some(&name));
    let created = format!("Created container: {name}");
    sim.events
        .emit(ctx.state, &source, Level::Normal, "Created", &created);
    let started = format!("Started container {name}");
    sim.events
        .emit(ctx.state, &source, Level::Normal, "Started", &started);
}

/// A running container: what its app does by itself (crash, complete) and its probes.
fn running(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
    i: usize,
    since: Instant,
) {
    let ran_long_enough = ctx.now >= since + Duration::from_millis(ctx.scenario.timings.start_ms);
    match apps::lifetime(rt.containers[i].behaviour) {
        Lifetime::Crash(code, reason) if ran_long_enough => {
            exit(ctx, sim, pod, rt, i, code, reason);
        }
        Lifetime::Crash(..) => probes::readiness(ctx, sim, pod, rt, i, since),
        Lifetime::Job if ran_long_enough => run_job(ctx, sim, pod, rt, i),
        Lifetime::Job => {}
        Lifetime::Service => {
            if !probes::liveness(ctx, sim, pod, rt, i) {
                probes::readiness(ctx, sim, pod, rt, i, since);
            }
        }
    }
}

/// The job app runs its command line to completion.
fn run_job(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime, i: usize) {
    let c = &rt.containers[i];
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
    let (code, lines) = apps::http_check::run(ctx.state, sim, meta(pod, "namespace"), &argv);
    let c = &mut rt.containers[i];
    for l in lines {
        c.log(l);
    }
    let reason = if code == 0 { "Completed" } else { "Error" };
    exit(ctx, sim, pod, rt, i, code, reason);
}

/// The container exited with `code`: restart it after a back-off (CrashLoopBackOff) or, as
/// the restart policy says, leave it terminated.
pub fn exit(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_backoff_doubles_from_ten_seconds() {
        assert_eq!(shown_backoff(0), "10s");
        assert_eq!(shown_backoff(3), "1m20s");
        assert_eq!(shown_backoff(9), "5m0s");
    }
}
