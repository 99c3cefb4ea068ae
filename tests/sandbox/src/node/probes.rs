//! Probes, as the kubelet runs them: readiness (every `readyMs` of the scenario once the
//! container has run that long), and startup and liveness probes on their own spec'd
//! schedule (initialDelaySeconds, periodSeconds, failureThreshold) that kill the container
//! when they keep failing. HTTP probes ask the simulated app; tcpSocket and exec probes pass
//! when the app is healthy.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{CState, ContainerRuntime, Ctx, PodRuntime, Slot, containers, src};
use crate::apps;
use crate::events::Level;
use crate::state::SimState;

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

/// Whether a readiness probe of a running container is due.
pub fn probe_due(c: &ContainerRuntime, now: Instant, ready_ms: u64) -> bool {
    matches!(c.state, CState::Running { since, .. } if now >= c.next_probe && now >= since + Duration::from_millis(ready_ms))
}

/// Run the readiness probe.
pub fn probe(ctx: &Ctx<'_>, sim: &SimState, c: &ContainerRuntime) -> Result<(), String> {
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
        let resp = apps::handle(c.behaviour, &c.env, &ctx.scenario, sim, "GET", path, &[]);
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

/// Whether a startup or liveness probe of a running container is due.
pub fn liveness_due(c: &ContainerRuntime, now: Instant) -> bool {
    c.is_running()
        && match &c.startup {
            Some(s) => s.due(now),
            None => c.liveness.as_ref().is_some_and(|l| l.due(now)),
        }
}

/// Run a due startup or liveness probe; kill the container when its failure threshold is
/// reached (then true). Liveness probes start once the startup probe succeeded.
pub fn liveness(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
    slot: Slot,
) -> bool {
    let now = ctx.now;
    let c = rt.get(slot);
    if !liveness_due(c, now) {
        return false;
    }
    let (field, label, kind) = if c.startup.is_some() {
        ("startupProbe", "Startup", "startup")
    } else {
        ("livenessProbe", "Liveness", "liveness")
    };
    let result = probe_kind(ctx, sim, c, field, label);
    let c = rt.get_mut(slot);
    let clock = if kind == "startup" {
        c.startup.as_mut()
    } else {
        c.liveness.as_mut()
    };
    let Some(clock) = clock else { return false };
    let exceeded = clock.record(now, result.is_ok());
    match result {
        Ok(()) => {
            if kind == "startup" {
                c.startup = None;
                // `started` turns true: the status (and the next init container) follow.
                rt.changed = true;
                let c = rt.get_mut(slot);
                if let Some(l) = c.liveness.as_mut() {
                    l.next = l.next.max(now + l.timing.period);
                }
            }
            false
        }
        Err(msg) => {
            let c = rt.get(slot);
            let source = src(pod, Some(c));
            sim.events
                .emit(ctx.state, &source, Level::Warning, "Unhealthy", &msg);
            if !exceeded {
                return false;
            }
            let text = format!(
                "Container {} failed {kind} probe, will be restarted",
                c.name
            );
            sim.events
                .emit(ctx.state, &source, Level::Normal, "Killing", &text);
            containers::exit(ctx, sim, pod, rt, slot, 137, "Error");
            true
        }
    }
}

/// Run a due readiness probe and update the container's readiness (and the backend's log).
pub fn readiness(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    rt: &mut PodRuntime,
    slot: Slot,
    since: Instant,
) {
    let timings = &ctx.scenario.timings;
    let c = rt.get(slot);
    if ctx.now < since + Duration::from_millis(timings.ready_ms) || ctx.now < c.next_probe {
        return;
    }
    // A container is not ready before its startup probe passed.
    let result = if c.startup.is_some() {
        Err(String::new())
    } else {
        probe(ctx, sim, c)
    };
    let c = rt.get_mut(slot);
    c.next_probe = ctx.now + Duration::from_millis(timings.ready_ms.max(20));
    match result {
        Ok(()) => {
            if !c.ready {
                c.ready = true;
                rt.changed = true;
            }
        }
        Err(msg) => {
            let was_ready = std::mem::replace(&mut c.ready, false);
            if !msg.is_empty()
                && let Some(line) = apps::failed_check_log(c.behaviour, &c.env, &ctx.scenario)
            {
                c.log(line);
            }
            rt.changed |= was_ready;
            if msg.is_empty() {
                return;
            }
            let c = rt.get(slot);
            sim.events.emit(
                ctx.state,
                &src(pod, Some(c)),
                Level::Warning,
                "Unhealthy",
                &msg,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
