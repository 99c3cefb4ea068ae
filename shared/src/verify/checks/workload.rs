//! `<component>.rollout` and `<component>.pods`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use crate::chart::Component;
use crate::diagnose::{HintContext, PodProblem, pod_problems_in};
use crate::rollout::{RolloutState, replicas, rollout_state};
use crate::verify::CheckResult;
use crate::verify::collect::Snapshot;
use crate::verify::registry::{Aspect, CONFIG_SEALED, CONFIG_SECRETS};

/// The Deployment is rolled out by `kubectl rollout status`'s criteria, and every desired
/// replica is ready and available.
pub fn rollout(s: &Snapshot, c: Component) -> CheckResult {
    let id = Aspect::Rollout.id(c);
    let name = format!("{}-{}", s.fullname, c.name());
    let ns = &s.namespace;
    let kf = &s.kubectl_flags;
    let Some(d) = s.deployment(c) else {
        return CheckResult::fail(
            id,
            format!("Deployment {name} not found"),
            format!(
                "`{}` recreates it; `kubectl get deploy -n {ns}{kf} -l app.kubernetes.io/instance={}` lists what exists",
                s.helm_upgrade(""),
                s.release_name
            ),
        );
    };
    let r = replicas(d);
    let pods_hint = format!(
        "`{}.pods` says why pods are not ready; `kubectl todo verify --wait -n {}{}` waits for the rollout",
        c.name(),
        s.namespace,
        s.kubectl_flags
    );
    match rollout_state(d) {
        RolloutState::Failed(msg) => CheckResult::fail(id, msg, pods_hint),
        RolloutState::Waiting(msg) => CheckResult::fail(id, msg, pods_hint),
        RolloutState::Complete if r.desired == 0 => CheckResult::warn(
            id,
            format!("{name} is scaled to 0 replicas"),
            scale_up(s, c),
        ),
        RolloutState::Complete if r.ready < r.desired || r.available < r.desired => {
            CheckResult::fail(
                id,
                format!(
                    "{name}: {} of {} replicas ready ({} available)",
                    r.ready, r.desired, r.available
                ),
                pods_hint,
            )
        }
        RolloutState::Complete => CheckResult::pass(
            id,
            format!(
                "{name} rolled out: {}/{} replicas ready and available",
                r.ready, r.desired
            ),
        ),
    }
}

fn is_ready(p: &Pod) -> bool {
    let st = p.status.as_ref();
    st.and_then(|s| s.phase.as_deref()) == Some("Running")
        && st
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn restarts(p: &Pod) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}

fn name(p: &Pod) -> &str {
    p.metadata.name.as_deref().unwrap_or("<unnamed>")
}

/// Every pod of the component is Running and Ready; any unhealthy container is diagnosed
/// (image pulls, crash loops with their last log lines, OOM kills, missing Secret keys,
/// scheduling); restarts warn. The verdicts, in order of precedence, are the steps below.
pub fn pods(s: &Snapshot, c: Component) -> CheckResult {
    let id = Aspect::Pods.id(c);
    let pods: Vec<Pod> = s
        .pods_of(c)
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .cloned()
        .collect();
    if pods.is_empty() {
        return no_pods(s, c, id);
    }
    let total = pods.len();
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    let problems = diagnosed(s, &pods);
    if !problems.is_empty() {
        return problems_result(id, c, total, &problems);
    }
    if ready < total {
        return not_ready_result(s, c, id, &pods, (ready, total));
    }
    if let Some(r) = restarts_result(s, c, id, &pods, (ready, total)) {
        return r;
    }
    CheckResult::pass(
        id,
        format!(
            "{ready}/{total} {} pods Running and Ready, no restarts",
            c.name()
        ),
    )
}

/// The fix for a component scaled to 0: scale it back to one replica, where verify looked.
fn scale_up(s: &Snapshot, c: Component) -> String {
    format!(
        "`kubectl todo scale {} 1 -n {}{}`",
        c.name(),
        s.namespace,
        s.kubectl_flags
    )
}

/// No live pod: a warning when the Deployment is scaled to 0, else a failure.
fn no_pods(s: &Snapshot, c: Component, id: &'static str) -> CheckResult {
    let (ns, kf) = (&s.namespace, &s.kubectl_flags);
    if s.deployment(c).is_some_and(|d| replicas(d).desired == 0) {
        return CheckResult::warn(
            id,
            format!("no {} pods: scaled to 0", c.name()),
            scale_up(s, c),
        );
    }
    CheckResult::fail(
        id,
        format!("no {} pods exist", c.name()),
        format!(
            "the ReplicaSet cannot create them: `kubectl describe rs -n {ns}{kf} -l app.kubernetes.io/instance={},app.kubernetes.io/component={}`",
            s.release_name,
            c.name()
        ),
    )
}

/// The pods' problems with the hints that fit the snapshot, each with its container's last
/// log lines when they were read.
fn diagnosed(s: &Snapshot, pods: &[Pod]) -> Vec<PodProblem> {
    let ctx = HintContext {
        platform: &s.platform,
        kubectl_flags: &s.kubectl_flags,
        helm_flags: &s.helm_flags,
        node_images: &s.node_images,
        fullname: Some(&s.fullname),
        allocatable: &s.allocatable,
    };
    let mut problems = pod_problems_in(pods, &ctx);
    for p in &mut problems {
        if let Some(tail) = s.logs.get(&(p.pod.clone(), p.container.clone())) {
            p.log_tail = tail.clone();
        }
    }
    problems
}

/// Some pods are not ready and none reports a problem: list them, with the log of the
/// first one whose log was read.
fn not_ready_result(
    s: &Snapshot,
    c: Component,
    id: &'static str,
    pods: &[Pod],
    (ready, total): (usize, usize),
) -> CheckResult {
    let (ns, kf) = (&s.namespace, &s.kubectl_flags);
    let not_ready: Vec<&Pod> = pods.iter().filter(|p| !is_ready(p)).collect();
    let mut details: Vec<String> = not_ready
        .iter()
        .map(|p| {
            let phase = p
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .unwrap_or("Unknown");
            format!("{}: {phase}, not ready", name(p))
        })
        .collect();
    let first = not_ready.first().map(|p| name(p)).unwrap_or("");
    let log = not_ready.iter().find_map(|p| {
        s.logs
            .get(&(name(p).to_owned(), c.name().to_owned()))
            .map(|l| (name(p), l))
    });
    let hint = if let Some((pod, lines)) = log {
        details.push(format!("last log lines of {pod}:"));
        details.extend(lines.iter().map(|l| format!("  | {l}")));
        format!(
            "the readiness probe fails; the log (below) says why (for the backend, a database error means DATABASE_URL is wrong or the database unreachable); `kubectl describe pod {first} -n {ns}{kf}`"
        )
    } else {
        format!(
            "starting pods become ready by themselves (`kubectl todo verify --wait -n {ns}{kf}`); otherwise the readiness probe fails: `kubectl describe pod {first} -n {ns}{kf}`"
        )
    };
    // A backend that is not ready usually cannot reach its database.
    CheckResult::fail(
        id,
        format!("{ready} of {total} {} pods ready", c.name()),
        hint,
    )
    .with_details(details)
    .caused_by(&[CONFIG_SECRETS])
}

/// `, last exit: REASON (code N)` for a pod whose container last terminated, else nothing.
fn last_exit(p: &Pod) -> String {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find_map(|c| c.last_state.as_ref()?.terminated.as_ref())
        })
        .map(|t| {
            format!(
                ", last exit: {} (code {})",
                t.reason.as_deref().unwrap_or("?"),
                t.exit_code
            )
        })
        .unwrap_or_default()
}

/// All pods ready, but some containers restarted: a warning listing them (`None` when no
/// container restarted).
fn restarts_result(
    s: &Snapshot,
    c: Component,
    id: &'static str,
    pods: &[Pod],
    (ready, total): (usize, usize),
) -> Option<CheckResult> {
    let (ns, kf) = (&s.namespace, &s.kubectl_flags);
    let restarted: Vec<(&Pod, i32)> = pods
        .iter()
        .map(|p| (p, restarts(p)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let (first, _) = restarted.first()?;
    let first = name(first);
    let sum: i32 = restarted.iter().map(|(_, n)| n).sum();
    let details = restarted
        .iter()
        .map(|(p, n)| format!("{}: {n} restarts{}", name(p), last_exit(p)))
        .collect();
    Some(
        CheckResult::warn(
            id,
            format!(
                "{ready}/{total} {} pods ready, but {sum} container restarts",
                c.name()
            ),
            format!("see why they restarted: `kubectl logs {first} -n {ns}{kf} --previous`"),
        )
        .with_details(details),
    )
}

fn problems_result(
    id: &'static str,
    c: Component,
    total: usize,
    problems: &[PodProblem],
) -> CheckResult {
    // Group replicas with the same problem: "2 of 2 backend pods: ImagePullBackOff".
    let mut groups: BTreeMap<(&str, &str), Vec<&PodProblem>> = BTreeMap::new();
    for p in problems {
        groups
            .entry((p.container.as_str(), p.reason.as_str()))
            .or_default()
            .push(p);
    }
    let summary: Vec<String> = groups
        .values()
        .map(|ps| {
            let mut pods: Vec<&str> = ps.iter().map(|p| p.pod.as_str()).collect();
            pods.dedup();
            format!(
                "{} of {total} {} pods: {}",
                pods.len(),
                c.name(),
                ps[0].shown_reason()
            )
        })
        .collect();
    let first = groups.values().next().and_then(|ps| ps.first().copied());
    let mut details = Vec::new();
    let mut shown_logs = false;
    for p in problems {
        let who = p.who();
        details.push(format!("{who}: {}: {}", p.shown_reason(), p.message));
        if !p.log_tail.is_empty() && !shown_logs {
            details.push(format!("last log lines of {who}:"));
            details.extend(p.log_tail.iter().map(|l| format!("  | {l}")));
            shown_logs = true;
        }
    }
    let message = match first {
        Some(p) => format!("{} ({})", summary.join("; "), p.message),
        None => summary.join("; "),
    };
    // A missing Secret or key is what the config checks diagnose (and, in sealed mode, the
    // SealedSecret behind it).
    let causes: &[&'static str] = if problems
        .iter()
        .any(|p| p.reason == "CreateContainerConfigError")
    {
        &[CONFIG_SEALED, CONFIG_SECRETS]
    } else {
        &[]
    };
    CheckResult::fail(
        id,
        message,
        first.map(|p| p.hint.clone()).unwrap_or_default(),
    )
    .with_details(details)
    .caused_by(causes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::tests::waiting;
    use crate::verify::Status;
    use crate::verify::checks::fixture;
    use k8s_openapi::api::core::v1::{ContainerState, ContainerStateTerminated};

    fn set_state(pod: &mut Pod, state: ContainerState, last: Option<ContainerState>) {
        let st = pod.status.as_mut().unwrap();
        st.phase = Some("Running".into());
        st.conditions = None;
        let cs = &mut st.container_statuses.as_mut().unwrap()[0];
        cs.state = Some(state);
        cs.last_state = last;
        cs.ready = false;
        cs.restart_count = 4;
    }

    #[test]
    fn healthy_pods_pass() {
        let r = pods(&fixture::snapshot(), Component::Backend);
        assert_eq!(r.status, Status::Pass, "{r:?}");
        assert!(r.message.contains("2/2"));
    }

    #[test]
    fn never_pull_fails_with_minikube_fix() {
        let mut s = fixture::snapshot();
        for p in s.pods.iter_mut().take(2) {
            set_state(
                p,
                waiting(
                    "ErrImageNeverPull",
                    "Container image \"todo-chatbot-backend:1.0.0\" is not present with pull policy of Never",
                ),
                None,
            );
        }
        let r = pods(&s, Component::Backend);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message.contains("2 of 2 backend pods: ErrImageNeverPull"),
            "{}",
            r.message
        );
        assert!(
            r.hint
                .unwrap()
                .contains("minikube image load todo-chatbot-backend:1.0.0")
        );
    }

    #[test]
    fn crash_loop_shows_redacted_log_lines() {
        let mut s = fixture::snapshot();
        let terminated = ContainerState {
            terminated: Some(ContainerStateTerminated {
                reason: Some("Error".into()),
                exit_code: 1,
                ..Default::default()
            }),
            ..Default::default()
        };
        set_state(
            &mut s.pods[0],
            waiting("CrashLoopBackOff", "back-off"),
            Some(terminated),
        );
        let pod = s.pods[0].metadata.name.clone().unwrap();
        s.logs.insert(
            (pod, "backend".into()),
            vec!["Traceback: db postgresql://u:***@h/d".into()],
        );
        let r = pods(&s, Component::Backend);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.details.iter().any(|d| d.contains("Traceback")),
            "{:?}",
            r.details
        );
    }

    #[test]
    fn starting_pod_fails_with_wait_hint() {
        let mut s = fixture::snapshot();
        s.pods[1].status.as_mut().unwrap().conditions = None;
        let r = pods(&s, Component::Backend);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("1 of 2"));
        assert!(r.hint.unwrap().contains("--wait"));
    }

    #[test]
    fn restarts_warn() {
        let mut s = fixture::snapshot();
        s.pods[2]
            .status
            .as_mut()
            .unwrap()
            .container_statuses
            .as_mut()
            .unwrap()[0]
            .restart_count = 2;
        let r = pods(&s, Component::Frontend);
        assert_eq!(r.status, Status::Warn);
        assert!(r.message.contains("2 container restarts"));
    }

    #[test]
    fn rollout_complete_passes_and_missing_deployment_fails() {
        let mut s = fixture::snapshot();
        assert_eq!(rollout(&s, Component::Backend).status, Status::Pass);
        s.deployments.remove(0);
        let r = rollout(&s, Component::Backend);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("todo-todo-chatbot-backend not found"));
    }

    #[test]
    fn rollout_in_progress_fails() {
        let mut s = fixture::snapshot();
        s.deployments[0].status.as_mut().unwrap().available_replicas = Some(1);
        let r = rollout(&s, Component::Backend);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message.contains("1 of 2 updated replicas are available"),
            "{}",
            r.message
        );
    }

    #[test]
    fn restarts_list_each_pod_with_its_last_exit() {
        let mut s = fixture::snapshot();
        let terminated = ContainerState {
            terminated: Some(ContainerStateTerminated {
                reason: Some("Error".into()),
                exit_code: 3,
                ..Default::default()
            }),
            ..Default::default()
        };
        let cs = &mut s.pods[2]
            .status
            .as_mut()
            .unwrap()
            .container_statuses
            .as_mut()
            .unwrap()[0];
        cs.restart_count = 1;
        cs.last_state = Some(terminated);
        let r = pods(&s, Component::Frontend);
        assert_eq!(r.status, Status::Warn);
        assert!(
            r.details
                .iter()
                .any(|d| d.ends_with(": 1 restarts, last exit: Error (code 3)")),
            "{:?}",
            r.details
        );
        assert!(
            restarts_result(&fixture::snapshot(), Component::Frontend, "x", &[], (0, 0)).is_none()
        );
    }

    #[test]
    fn no_pods_warns_when_scaled_to_zero_and_fails_otherwise() {
        let mut s = fixture::snapshot();
        s.pods.clear();
        assert_eq!(pods(&s, Component::Backend).status, Status::Fail);
        s.deployments[0].spec.as_mut().unwrap().replicas = Some(0);
        let r = pods(&s, Component::Backend);
        assert_eq!(r.status, Status::Warn);
        assert!(r.message.contains("scaled to 0"), "{}", r.message);
    }
}
