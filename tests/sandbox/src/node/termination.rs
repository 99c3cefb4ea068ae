//! Graceful termination, as the kubelet does it for a pod with a deletionTimestamp: the app
//! containers get SIGTERM (event `Killing`, `Stopping container <name>`) and exit after their
//! preStop sleep and shutdown (`timings.stopMs`), or are killed (137) when the grace period
//! ends (`deletionGracePeriodSeconds` × `timings.gracePeriodScale`); the sidecars are
//! stopped after the app containers, in reverse order. Once nothing runs, containers that
//! never started are reported as `ContainerStatusUnknown`, the pod gets its terminal phase
//! (Succeeded when every app container exited 0, else Failed) and is then removed from the
//! API. Also: the sidecars of a pod whose app containers all finished are stopped.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::runtime::{Role, Slot, Stop, Termination};
use super::{CState, Ctx, PodRuntime, Terminated, containers, src};
use crate::apiserver::delete;
use crate::events::Level;
use crate::fields::meta;
use crate::resources::Resource;
use crate::state::SimState;
use crate::storage::Key;

/// Real time for `seconds` of grace, scaled by the scenario.
fn scaled(ctx: &Ctx<'_>, seconds: f64) -> Duration {
    let scale = ctx.scenario.timings.grace_period_scale;
    let scale = if scale.is_finite() && scale >= 0.0 {
        scale
    } else {
        1.0
    };
    Duration::from_secs_f64((seconds * scale).clamp(0.0, 86_400.0))
}

/// A container's preStop `sleep` hook, in seconds (0 without one).
fn pre_stop_sleep(spec: &Value) -> f64 {
    spec.pointer("/lifecycle/preStop/sleep/seconds")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
        .max(0.0)
}

/// Send SIGTERM to the container in `slot` if it runs: it exits cleanly after its preStop
/// sleep and shutdown, unless it ignores SIGTERM or the deadline comes first.
fn sigterm(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
    slot: Slot,
    deadline: Instant,
) {
    let c = rt.get(slot);
    if !c.is_running() || c.stop.is_some() {
        return;
    }
    let msg = format!("Stopping container {}", c.name);
    sim.events.emit(
        ctx.state,
        &src(pod, Some(c)),
        Level::Normal,
        "Killing",
        &msg,
    );
    let shutdown =
        scaled(ctx, pre_stop_sleep(&c.spec)) + Duration::from_millis(ctx.scenario.timings.stop_ms);
    let stop = if c.profile.ignores_sigterm || ctx.now + shutdown > deadline {
        Stop {
            at: deadline,
            exit_code: 137,
        }
    } else {
        Stop {
            at: ctx.now + shutdown,
            exit_code: 0,
        }
    };
    rt.get_mut(slot).stop = Some(stop);
}

/// Containers whose SIGTERM is due exit now; an earlier deadline kills them sooner.
fn reap(ctx: &Ctx<'_>, rt: &mut PodRuntime, deadline: Instant) {
    for slot in rt.slots() {
        let c = rt.get_mut(slot);
        if let Some(stop) = c.stop.as_mut()
            && stop.at > deadline
        {
            *stop = Stop {
                at: deadline,
                exit_code: 137,
            };
        }
        let Some(stop) = c.stop.filter(|s| ctx.now >= s.at) else {
            continue;
        };
        let reason = crate::apps::exit_reason(stop.exit_code);
        let term = containers::terminated_now(rt, slot, stop.exit_code, reason);
        let c = rt.get_mut(slot);
        c.state = CState::Terminated(term);
        c.ready = false;
        c.stop = None;
        rt.changed = true;
    }
}

/// The kubelet's turn on a pod being deleted.
pub fn step(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime) {
    let grace = pod
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .max(0);
    let t = match rt.terminating {
        Some(t) if t.finished => {
            remove(ctx, pod);
            return;
        }
        Some(mut t) if grace < t.grace_seconds => {
            // A shorter grace period restarts the kill with it: the deadline moves earlier,
            // never later.
            t.deadline = t.deadline.min(ctx.now + scaled(ctx, grace as f64));
            t.grace_seconds = grace;
            t
        }
        Some(t) => t,
        None => Termination {
            since: ctx.now,
            deadline: ctx.now + scaled(ctx, grace as f64),
            grace_seconds: grace,
            finished: false,
        },
    };
    rt.terminating = Some(t);
    stop_in_order(ctx, sim, pod, rt, t.deadline);
    if rt.all().all(|c| c.terminated() || !c.is_running()) && rt.all().all(|c| c.stop.is_none()) {
        finish(rt);
        if let Some(t) = rt.terminating.as_mut() {
            t.finished = true;
        }
    }
}

/// SIGTERM the app (and init) containers first, the sidecars once those stopped, last one
/// first; reap what is due.
fn stop_in_order(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
    deadline: Instant,
) {
    for slot in rt.slots() {
        if rt.get(slot).role != Role::Sidecar {
            sigterm(ctx, sim, pod, rt, slot, deadline);
        }
    }
    reap(ctx, rt, deadline);
    let others_done = rt.all().all(|c| c.role == Role::Sidecar || !c.is_running());
    if others_done {
        let sidecars: Vec<Slot> = (0..rt.init.len())
            .rev()
            .map(Slot::Init)
            .filter(|s| rt.get(*s).role == Role::Sidecar)
            .collect();
        // Reverse order: a sidecar is stopped once the ones after it stopped.
        if let Some(slot) = sidecars.into_iter().find(|s| rt.get(*s).is_running()) {
            sigterm(ctx, sim, pod, rt, slot, deadline);
        }
        reap(ctx, rt, deadline);
    }
}

/// Nothing runs any more: what never started or waits to restart is reported as the
/// kubelet reports containers it cannot find at the end.
fn finish(rt: &mut PodRuntime) {
    for slot in rt.slots() {
        let c = rt.get_mut(slot);
        let ran = matches!(c.state, CState::Terminated(_));
        let init_done = c.role == Role::Init && c.completed();
        if ran || init_done || (c.role == Role::Init && matches!(c.state, CState::Pending)) {
            continue;
        }
        c.state = CState::Terminated(Terminated {
            exit_code: 137,
            reason: "ContainerStatusUnknown".into(),
            message: Some("The container could not be located when the pod was terminated".into()),
            started: String::new(),
            finished: String::new(),
            container_id: String::new(),
        });
        c.ready = false;
    }
    rt.changed = true;
}

/// The kubelet's final delete of a stopped pod (grace period 0).
fn remove(ctx: &Ctx<'_>, pod: &Value) {
    let key = Key::new(Resource::Pod, meta(pod, "namespace"), meta(pod, "name"));
    let same = ctx
        .state
        .store
        .get(&key)
        .is_some_and(|p| meta(&p, "uid") == meta(pod, "uid"));
    if same {
        let _ = delete::remove(ctx.state, &key, false);
    }
}

/// A pod whose app containers all finished for good (a job with sidecars): stop the
/// sidecars, so the pod can complete.
pub fn stop_sidecars_when_done(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
) {
    let apps_done = !rt.containers.is_empty() && rt.containers.iter().all(|c| c.terminated());
    if !apps_done
        || !rt
            .init
            .iter()
            .any(|c| c.role == Role::Sidecar && c.is_running())
    {
        return;
    }
    let grace = pod
        .pointer("/spec/terminationGracePeriodSeconds")
        .and_then(Value::as_f64)
        .unwrap_or(30.0);
    let deadline = ctx.now + scaled(ctx, grace);
    let sidecars: Vec<Slot> = (0..rt.init.len())
        .map(Slot::Init)
        .filter(|s| rt.get(*s).role == Role::Sidecar)
        .collect();
    for slot in sidecars {
        sigterm(ctx, sim, pod, rt, slot, deadline);
    }
    reap(ctx, rt, deadline);
}
