//! RBAC: one SelfSubjectAccessReview per kind the chart renders.

use super::Context;
use crate::verify::CheckResult;

pub(super) fn rbac(ctx: &Context<'_>) -> CheckResult {
    let id = "rbac.create";
    let upgrade = ctx.upgrade();
    let create_ns = matches!(ctx.obs.namespace, Ok(None));
    let wanted = crate::preflight::reads::verbs(ctx.plan, upgrade, create_ns);
    let mut denied = Vec::new();
    let mut unknown = Vec::new();
    for (kind, verb) in &wanted {
        match ctx
            .obs
            .access
            .iter()
            .find(|a| a.kind == *kind && a.verb == *verb)
            .map(|a| &a.allowed)
        {
            Some(Ok((true, _))) => {}
            Some(Ok((false, _))) => denied.push(format!("{verb} {}", kind.shown())),
            Some(Err(u)) => unknown.push(format!("{verb} {} ({})", kind.shown(), u.message)),
            None => unknown.push(format!("{verb} {}", kind.shown())),
        }
    }
    if let Some(first) = denied.first() {
        let mut parts = first.splitn(2, ' ');
        let (verb, what) = (parts.next().unwrap_or("create"), parts.next().unwrap_or(""));
        return CheckResult::fail(
            id,
            format!(
                "you may not {} in namespace {}: helm would stop with 403 Forbidden",
                denied.join(", "),
                ctx.ns()
            ),
            format!(
                "ask the cluster's admin for a Role with these verbs; `kubectl auth can-i {verb} {what}{}` confirms",
                ctx.kflags()
            ),
        );
    }
    if !unknown.is_empty() {
        return CheckResult::warn(
            id,
            format!(
                "could not ask the API whether you may {}",
                unknown.join(", ")
            ),
            format!(
                "`kubectl auth can-i --list{}` shows what you may do",
                ctx.kflags()
            ),
        );
    }
    let verb = if upgrade { "patch (upgrade)" } else { "create" };
    CheckResult::pass(
        id,
        format!(
            "you may {verb} all {} kinds the chart renders",
            wanted.len()
        ),
    )
    .with_details(vec![
        wanted
            .iter()
            .map(|(k, v)| format!("{v} {}", k.shown()))
            .collect::<Vec<_>>()
            .join(", "),
    ])
}
