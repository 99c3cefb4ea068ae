//! `<component>.health`: GET the health path through the API server's service proxy;
//! 2xx within the budget passes, with the latency.

use std::time::Duration;

use crate::chart::Component;
use crate::verify::CheckResult;
use crate::verify::collect::{HealthOutcome, HealthProbe, Snapshot};
use crate::verify::registry::Aspect;

/// See the module docs.
pub fn health(s: &Snapshot, c: Component) -> CheckResult {
    let id = Aspect::Health.id(c);
    let Some(probe) = s.health.iter().find(|h| h.component == c) else {
        return CheckResult::skip(id, "not probed");
    };
    let target = format!("GET {} on Service {}", probe.path, probe.service);
    let logs_hint = format!(
        "`kubectl logs deploy/{} -n {}{}`",
        probe.service, s.namespace, s.kubectl_flags
    );
    match &probe.outcome {
        HealthOutcome::Answered { code, latency, .. } if (200..300).contains(code) => {
            CheckResult::pass(
                id,
                format!("{target}: {code} in {} ms", latency.as_millis()),
            )
        }
        HealthOutcome::Answered {
            code,
            latency,
            body,
        } => unhealthy_answer(id, c, probe, &target, &logs_hint, (*code, *latency, body)),
        HealthOutcome::NoEndpoints(msg) => CheckResult::fail(
            id,
            format!("{target}: no ready pod behind the Service (503: {msg})"),
            format!("`{}.pods` says why no pod is ready", c.name()),
        ),
        HealthOutcome::TimedOut(after) => CheckResult::fail(
            id,
            format!("{target}: no answer within {} s", after.as_secs_f64()),
            format!("the app is slow or hung; {logs_hint}"),
        )
        .with_details(probe.log_tail.iter().map(|l| format!("  | {l}")).collect()),
        HealthOutcome::Unread(u) => CheckResult::warn(
            id,
            format!("{target}: not checked: {}", u.message),
            u.hint.clone().unwrap_or_else(|| {
                "retry; `kubectl get --raw` on the proxy path shows the API server's answer".into()
            }),
        ),
        HealthOutcome::NotFound(_) if s.service(c).is_none() => CheckResult::skip(
            id,
            format!(
                "Service {} does not exist (see {}.service)",
                probe.service,
                c.name()
            ),
        ),
        HealthOutcome::NotFound(message) => proxy_not_found(s, id, probe, &target, message),
    }
}

/// The app answered, but not with 2xx: fail with its response body and last log lines.
fn unhealthy_answer(
    id: &'static str,
    c: Component,
    probe: &HealthProbe,
    target: &str,
    logs_hint: &str,
    (code, latency, body): (u16, Duration, &str),
) -> CheckResult {
    let hint = match c {
        Component::Backend => format!(
            "the backend reports itself unhealthy; its log (below) says why; a database error means DATABASE_URL is wrong or the database unreachable (see config.secrets); {logs_hint}"
        ),
        Component::Frontend => {
            format!("the frontend reports itself unhealthy; {logs_hint}")
        }
    };
    let mut details = Vec::new();
    if !body.is_empty() {
        details.push(format!("response: {body}"));
    }
    if !probe.log_tail.is_empty() {
        details.push("last log lines:".into());
        details.extend(probe.log_tail.iter().map(|l| format!("  | {l}")));
    }
    CheckResult::fail(
        id,
        format!("{target}: {code} in {} ms", latency.as_millis()),
        hint,
    )
    .with_details(details)
}

/// A 404 from the proxy path although the Service was listed a moment ago: not a missing
/// Service (a proxy or gateway in front of the API server that does not pass
/// `services/proxy`, or the Service was deleted in between), so a warning.
fn proxy_not_found(
    s: &Snapshot,
    id: &'static str,
    probe: &HealthProbe,
    target: &str,
    message: &str,
) -> CheckResult {
    CheckResult::warn(
        id,
        format!(
            "{target}: not checked: the service proxy answered 404 ({}) although Service {} exists",
            crate::redact::printable(message),
            probe.service
        ),
        format!(
            "check the proxy path yourself: `kubectl get --raw /api/v1/namespaces/{}/services/{}:http/proxy{}{}`; a proxy in front of the API server may not pass services/proxy",
            s.namespace, probe.service, probe.path, s.kubectl_flags
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_404_for_a_listed_service_is_not_a_missing_service() {
        let mut s = fixture::snapshot();
        s.health[0].outcome =
            HealthOutcome::NotFound("the server could not find the requested resource".into());
        let r = health(&s, Component::Backend);
        assert_eq!(r.status, Status::Warn, "{r:?}");
        assert!(!r.message.contains("does not exist"), "{r:?}");
        assert!(r.hint.unwrap().contains("kubectl get --raw"));
        s.services
            .retain(|svc| svc.metadata.name.as_deref() != Some("todo-todo-chatbot-backend"));
        let r = health(&s, Component::Backend);
        assert_eq!(r.status, Status::Skip);
        assert!(r.message.contains("does not exist"));
    }
    use crate::verify::Status;
    use crate::verify::checks::fixture;
    use crate::verify::collect::Unread;
    use std::time::Duration;

    #[test]
    fn ok_answer_passes_with_latency() {
        let r = health(&fixture::snapshot(), Component::Backend);
        assert_eq!(r.status, Status::Pass);
        assert!(r.message.contains("200 in 7 ms"), "{}", r.message);
    }

    #[test]
    fn app_error_fails_with_log_tail_and_database_hint() {
        let mut s = fixture::snapshot();
        s.health[0].outcome = HealthOutcome::Answered {
            code: 503,
            latency: Duration::from_millis(3),
            body: "{\"status\":\"error\"}".into(),
        };
        s.health[0].log_tail = vec!["cannot connect to postgresql://u:***@h/db".into()];
        let r = health(&s, Component::Backend);
        assert_eq!(r.status, Status::Fail);
        assert!(r.hint.unwrap().contains("DATABASE_URL"));
        assert!(r.details.iter().any(|d| d.contains("cannot connect")));
    }

    #[test]
    fn no_endpoints_points_at_the_pods_check() {
        let mut s = fixture::snapshot();
        s.health[1].outcome =
            HealthOutcome::NoEndpoints("no endpoints available for service \"x\"".into());
        let r = health(&s, Component::Frontend);
        assert_eq!(r.status, Status::Fail);
        assert!(r.hint.unwrap().contains("frontend.pods"));
    }

    #[test]
    fn forbidden_proxy_warns_naming_verb_and_resource() {
        let mut s = fixture::snapshot();
        s.health[0].outcome = HealthOutcome::Unread(Unread {
            message: "forbidden: cannot get services/proxy in namespace \"todo\": denied".into(),
            hint: None,
            forbidden: true,
        });
        let r = health(&s, Component::Backend);
        assert_eq!(r.status, Status::Warn);
        assert!(r.message.contains("get services/proxy"));
    }
}
