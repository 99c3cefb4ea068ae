//! `security.posture`: the pod templates run as non-root (UID >= 1000) without privilege
//! escalation, drop capabilities, set resources and probes, and pin image tags.

use k8s_openapi::api::core::v1::{Container, PodSpec};

use crate::chart::Component;
use crate::verify::CheckResult;
use crate::verify::collect::Snapshot;

const ID: &str = "security.posture";

/// `probes`: whether the container may carry probes (app containers and native sidecars;
/// Kubernetes forbids probes on other init containers).
fn container_findings(spec: &PodSpec, c: &Container, probes: bool) -> Vec<String> {
    let mut out = Vec::new();
    let psc = spec.security_context.as_ref();
    let csc = c.security_context.as_ref();
    let non_root = csc
        .and_then(|s| s.run_as_non_root)
        .or(psc.and_then(|s| s.run_as_non_root))
        .unwrap_or(false);
    let uid = csc
        .and_then(|s| s.run_as_user)
        .or(psc.and_then(|s| s.run_as_user));
    match uid {
        Some(u) if u < 1000 => out.push(format!("runs as UID {u} (want >= 1000)")),
        None if !non_root => out.push("may run as root (no runAsNonRoot, no runAsUser)".into()),
        _ => {}
    }
    if csc.and_then(|s| s.privileged) == Some(true) {
        out.push("privileged".into());
    }
    if csc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
        out.push("allowPrivilegeEscalation is not false".into());
    }
    let drops_all = csc
        .and_then(|s| s.capabilities.as_ref())
        .and_then(|c| c.drop.as_ref())
        .is_some_and(|d| d.iter().any(|x| x.eq_ignore_ascii_case("ALL")));
    if !drops_all {
        out.push("capabilities not dropped (drop: [ALL])".into());
    }
    let res = c.resources.as_ref();
    let has = |m: Option<
        &std::collections::BTreeMap<
            String,
            k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        >,
    >,
               k: &str| { m.is_some_and(|m| m.contains_key(k)) };
    let requests = res.and_then(|r| r.requests.as_ref());
    let limits = res.and_then(|r| r.limits.as_ref());
    let mut missing = Vec::new();
    for k in ["cpu", "memory"] {
        if !has(requests, k) {
            missing.push(format!("requests.{k}"));
        }
    }
    if !has(limits, "memory") {
        missing.push("limits.memory".into());
    }
    if !missing.is_empty() {
        out.push(format!("no resources {}", missing.join(", ")));
    }
    if probes && c.liveness_probe.is_none() {
        out.push("no livenessProbe".into());
    }
    if probes && c.readiness_probe.is_none() {
        out.push("no readinessProbe".into());
    }
    let image = c.image.as_deref().unwrap_or("");
    if !image.contains('@') {
        let last = image.rsplit('/').next().unwrap_or(image);
        match last.split_once(':') {
            None => out.push(format!("image {image:?} has no tag (means latest)")),
            Some((_, "latest")) => out.push(format!("image {image:?} uses the latest tag")),
            _ => {}
        }
    }
    out
}

/// See the module docs. Findings warn: the chart's defaults satisfy every one.
pub fn posture(s: &Snapshot) -> CheckResult {
    let mut findings = Vec::new();
    let mut checked = Vec::new();
    for comp in Component::ALL {
        let Some(spec) = s
            .deployment(comp)
            .and_then(|d| d.spec.as_ref())
            .and_then(|sp| sp.template.spec.as_ref())
        else {
            continue;
        };
        checked.push(comp.name());
        let init = spec.init_containers.iter().flatten().map(|c| {
            // A native sidecar (restartPolicy Always) runs beside the app and takes probes.
            (c, c.restart_policy.as_deref() == Some("Always"))
        });
        for (c, probes) in init.chain(spec.containers.iter().map(|c| (c, true))) {
            findings.extend(
                container_findings(spec, c, probes)
                    .into_iter()
                    .map(|f| format!("{}/{}: {f}", comp.name(), c.name)),
            );
        }
    }
    if checked.is_empty() {
        return CheckResult::skip(ID, "no Deployments to inspect");
    }
    if findings.is_empty() {
        return CheckResult::pass(
            ID,
            format!(
                "{}: non-root, no privilege escalation, capabilities dropped, resources, probes, pinned tags",
                checked.join(", ")
            ),
        );
    }
    CheckResult::warn(
        ID,
        format!("{} finding(s): {}", findings.len(), findings.first().cloned().unwrap_or_default()),
        "the chart's defaults satisfy all of these; remove overrides of podSecurityContext, containerSecurityContext, <component>.resources or <component>.image.tag from your values",
    )
    .with_details(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;
    use crate::verify::checks::fixture;

    #[test]
    fn chart_defaults_pass() {
        assert_eq!(posture(&fixture::snapshot()).status, Status::Pass);
    }

    #[test]
    fn root_escalation_latest_and_missing_resources_warn() {
        let mut s = fixture::snapshot();
        let spec = s.deployments[0]
            .spec
            .as_mut()
            .unwrap()
            .template
            .spec
            .as_mut()
            .unwrap();
        spec.security_context = None;
        let c = &mut spec.containers[0];
        c.security_context = None;
        c.resources = None;
        c.readiness_probe = None;
        c.image = Some("todo-chatbot-backend:latest".into());
        let r = posture(&s);
        assert_eq!(r.status, Status::Warn);
        let all = r.details.join("\n");
        for want in [
            "may run as root",
            "allowPrivilegeEscalation",
            "capabilities",
            "requests.cpu",
            "readinessProbe",
            "latest tag",
        ] {
            assert!(all.contains(want), "{want} in {all}");
        }
    }

    #[test]
    fn init_containers_are_not_asked_for_probes_but_sidecars_are() {
        let mut s = fixture::snapshot();
        let spec = s.deployments[0]
            .spec
            .as_mut()
            .unwrap()
            .template
            .spec
            .as_mut()
            .unwrap();
        let mut migrate = spec.containers[0].clone();
        migrate.name = "migrate".into();
        migrate.liveness_probe = None;
        migrate.readiness_probe = None;
        let mut sidecar = migrate.clone();
        sidecar.name = "proxy".into();
        sidecar.restart_policy = Some("Always".into());
        spec.init_containers = Some(vec![migrate, sidecar]);
        let r = posture(&s);
        let all = r.details.join("\n");
        assert!(!all.contains("migrate"), "{all}");
        assert!(all.contains("proxy: no livenessProbe"), "{all}");
    }

    #[test]
    fn low_uid_is_flagged() {
        let mut s = fixture::snapshot();
        let spec = s.deployments[1]
            .spec
            .as_mut()
            .unwrap()
            .template
            .spec
            .as_mut()
            .unwrap();
        spec.containers[0]
            .security_context
            .as_mut()
            .unwrap()
            .run_as_user = Some(0);
        assert!(posture(&s).details.iter().any(|d| d.contains("UID 0")));
    }
}
