//! The cluster, the values and the release: is the API there, would Helm render these
//! values, is the name free (or which revision the upgrade makes), does the namespace exist.

use super::{Context, unread_result};
use crate::chart::CHART_NAME;
use crate::names::{self, NameKind};
use crate::redact::printable;
use crate::verify::CheckResult;

pub(super) fn reachable(ctx: &Context<'_>) -> CheckResult {
    let v = &ctx.obs.version;
    CheckResult::pass(
        "cluster.reachable",
        format!(
            "{} answers (Kubernetes {}), context {}, platform {}",
            ctx.server,
            printable(&v.git_version),
            printable(&ctx.context),
            ctx.platform.name()
        ),
    )
}

pub(super) fn values_valid(ctx: &Context<'_>) -> CheckResult {
    let id = "values.valid";
    let mut details: Vec<String> = ctx
        .schema
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    details.extend(ctx.plan.render_failures.iter().cloned());
    if details.is_empty() {
        return CheckResult::pass(
            id,
            format!(
                "the values pass {}'s schema and templates' checks",
                ctx.plan.chart.origin
            ),
        );
    }
    let n = details.len();
    CheckResult::fail(
        id,
        format!(
            "{n} problem{} in the values: helm would refuse to render",
            if n == 1 { "" } else { "s" }
        ),
        "fix them in your -f file or --set, and run preflight again",
    )
    .with_details(details)
}

pub(super) fn release_name(ctx: &Context<'_>) -> CheckResult {
    let id = "release.name";
    let plan = ctx.plan;
    if let Err(e) = names::check(NameKind::Release, &plan.release) {
        return CheckResult::fail(
            id,
            e.to_string(),
            "choose a name of lowercase letters, digits and `-` (at most 53), e.g. --release todo",
        );
    }
    let state = match &ctx.obs.release {
        Ok(s) => s,
        Err(u) => return unread_result(ctx, id, "read Helm's release records", u),
    };
    let Some((rev, status)) = &state.latest else {
        return CheckResult::pass(
            id,
            format!(
                "no release {} in namespace {}: helm install creates revision 1",
                plan.release,
                ctx.ns()
            ),
        );
    };
    let status = printable(status);
    if let Some(chart) = &state.deployed_chart
        && !chart.starts_with(&format!("{CHART_NAME}-"))
    {
        return CheckResult::fail(
            id,
            format!(
                "release {} in namespace {} is {}, another chart: an upgrade would replace it",
                plan.release,
                ctx.ns(),
                printable(chart)
            ),
            "choose another name with --release (and use it with helm install)",
        );
    }
    if status.starts_with("pending-") || status == "uninstalling" {
        return CheckResult::fail(
            id,
            format!(
                "release {} revision {rev} is {status}: helm refuses while another operation is in progress (or was interrupted)",
                plan.release
            ),
            format!(
                "see `helm history {} -n {}{}`; when nothing is running, `helm rollback {} -n {}{}` unblocks it",
                plan.release,
                ctx.ns(),
                ctx.helm_flags,
                plan.release,
                ctx.ns(),
                ctx.helm_flags
            ),
        );
    }
    let next = rev.saturating_add(1);
    let message = format!(
        "release {} exists (revision {rev}, {status}): this is an upgrade to revision {next} (`helm install` refuses a name in use: use `helm upgrade --install`)",
        plan.release
    );
    if status == "failed" {
        CheckResult::warn(
            id,
            message,
            format!(
                "revision {rev} failed; `helm history {} -n {}{}` says why before you upgrade again",
                plan.release,
                ctx.ns(),
                ctx.helm_flags
            ),
        )
    } else {
        CheckResult::pass(id, message)
    }
}

pub(super) fn release_namespace(ctx: &Context<'_>) -> CheckResult {
    let id = "release.namespace";
    let ns = ctx.ns();
    match &ctx.obs.namespace {
        Err(u) => unread_result(ctx, id, "read the namespace", u),
        Ok(None) if ctx.create_namespace => CheckResult::pass(
            id,
            format!("namespace {ns} does not exist yet: --create-namespace creates it"),
        ),
        Ok(None) => CheckResult::fail(
            id,
            format!("namespace {ns} does not exist: helm install fails without --create-namespace"),
            format!(
                "add --create-namespace to helm install (and to preflight), or `kubectl create namespace {ns}{}`",
                ctx.kubectl_flags
            ),
        ),
        Ok(Some(n)) => {
            let phase = n.status.as_ref().and_then(|s| s.phase.as_deref());
            if phase == Some("Terminating") {
                CheckResult::fail(
                    id,
                    format!("namespace {ns} is being deleted: nothing can be created in it"),
                    format!(
                        "wait for `kubectl get namespace {ns}{}` to report NotFound, then install with --create-namespace",
                        ctx.kubectl_flags
                    ),
                )
            } else {
                CheckResult::pass(id, format!("namespace {ns} exists"))
            }
        }
    }
}
