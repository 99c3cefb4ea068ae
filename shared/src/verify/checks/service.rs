//! `<component>.service`: the Service selects the pods, its target port is a container port,
//! the NodePort is the configured one, and ready endpoints stand behind it.

use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::chart::Component;
use crate::verify::CheckResult;
use crate::verify::collect::Snapshot;
use crate::verify::registry::Aspect;

/// See the module docs. The findings come from the steps below (each pure over the
/// snapshot); this function only picks the verdict.
pub fn service(s: &Snapshot, c: Component) -> CheckResult {
    let id = Aspect::Service.id(c);
    let name = format!("{}-{}", s.fullname, c.name());
    let ns = &s.namespace;
    let kf = &s.kubectl_flags;
    let Some(svc) = s.service(c) else {
        return CheckResult::fail(
            id,
            format!("Service {name} not found"),
            format!(
                "`{}` recreates it; `kubectl get svc -n {ns}{kf}` lists what exists",
                s.helm_upgrade("")
            ),
        );
    };
    let spec = svc.spec.clone().unwrap_or_default();
    let ports = spec.ports.clone().unwrap_or_default();
    let Some(port) = ports
        .iter()
        .find(|p| p.name.as_deref() == Some("http"))
        .or(ports.first())
    else {
        return CheckResult::fail(
            id,
            format!("Service {name} has no ports"),
            format!("`{}` restores it", s.helm_upgrade("")),
        );
    };
    let target = port
        .target_port
        .clone()
        .unwrap_or(IntOrString::Int(port.port));
    let target_text = match &target {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(n) => n.clone(),
    };
    let problems: Vec<String> = [
        target_port_problem(&target, &container_ports(s, c)),
        selector_problem(&spec, s, c),
    ]
    .into_iter()
    .flatten()
    .collect();
    let svc_type = spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
    let (node_port_text, warning) = node_port(s, c, &svc_type, port);
    let ready = ready_endpoints(s, &name);
    let summary = format!(
        "{name} {svc_type} port {}→{target_text}{node_port_text}, {ready} ready endpoints",
        port.port
    );
    if !problems.is_empty() {
        return CheckResult::fail(id, format!("{name}: {}", problems.join("; ")), format!(
            "the chart renders matching ports and selectors; check overrides of {}.service / {}.containerPort in your values and upgrade with them: `{}`",
            c.name(), c.name(), s.helm_upgrade(" -f VALUES")
        ))
        .with_details(vec![summary]);
    }
    if ready == 0 {
        return CheckResult::fail(
            id,
            format!("{summary}: no ready pod behind the Service"),
            format!("`{}.pods` says why no pod is ready", c.name()),
        )
        .caused_by(&[Aspect::Pods.id(c)]);
    }
    if let Some(warning) = warning {
        return CheckResult::warn(
            id,
            format!("{summary}; {warning}"),
            format!(
                "set {}.service.nodePort, or free the port; `kubectl get svc {name} -n {ns}{kf}`",
                c.name()
            ),
        );
    }
    CheckResult::pass(id, summary)
}

/// `(name, number)` of every container port of the component's pod template.
fn container_ports(s: &Snapshot, c: Component) -> Vec<(Option<String>, i32)> {
    s.deployment(c)
        .and_then(|d| d.spec.as_ref())
        .and_then(|sp| sp.template.spec.as_ref())
        .map(|ps| {
            ps.containers
                .iter()
                .flat_map(|ct| ct.ports.iter().flatten())
                .map(|p| (p.name.clone(), p.container_port))
                .collect()
        })
        .unwrap_or_default()
}

/// The targetPort must name or number a container port of the pod template (not checked
/// when the template has no ports).
fn target_port_problem(
    target: &IntOrString,
    container_ports: &[(Option<String>, i32)],
) -> Option<String> {
    let (ok, text) = match target {
        IntOrString::Int(n) => (container_ports.iter().any(|(_, p)| p == n), n.to_string()),
        IntOrString::String(n) => (
            container_ports
                .iter()
                .any(|(pn, _)| pn.as_deref() == Some(n.as_str())),
            n.clone(),
        ),
    };
    if ok || container_ports.is_empty() {
        return None;
    }
    let have: Vec<String> = container_ports
        .iter()
        .map(|(n, p)| {
            format!(
                "{}{p}",
                n.as_ref().map(|n| format!("{n}/")).unwrap_or_default()
            )
        })
        .collect();
    Some(format!(
        "targetPort {text} matches no container port ({})",
        have.join(", ")
    ))
}

/// The selector must select the component's pods (not checked without template labels).
fn selector_problem(spec: &ServiceSpec, s: &Snapshot, c: Component) -> Option<String> {
    let template_labels = s
        .deployment(c)
        .and_then(|d| d.spec.as_ref())
        .and_then(|sp| sp.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let selector = spec.selector.as_ref()?;
    (!template_labels.is_empty()
        && !selector
            .iter()
            .all(|(k, v)| template_labels.get(k) == Some(v)))
    .then(|| "its selector does not match the Deployment's pod labels".to_owned())
}

/// For a NodePort or LoadBalancer Service: the `, nodePort N` part of the summary, and a
/// warning when it is not the configured one (or none is assigned).
fn node_port(
    s: &Snapshot,
    c: Component,
    svc_type: &str,
    port: &ServicePort,
) -> (String, Option<String>) {
    if svc_type != "NodePort" && svc_type != "LoadBalancer" {
        return (String::new(), None);
    }
    let configured = s
        .release
        .as_ref()
        .ok()
        .and_then(|r| r.value(&format!("{}.service.nodePort", c.name())))
        .and_then(|v| v.as_i64())
        .map(|v| v as i32)
        .unwrap_or(c.default_node_port());
    match port.node_port {
        Some(np) if np == configured => (format!(", nodePort {np}"), None),
        Some(np) => (
            format!(", nodePort {np}"),
            Some(format!("nodePort is {np}, the values say {configured}")),
        ),
        None => (String::new(), Some("no nodePort assigned".into())),
    }
}

/// Ready endpoints behind the Service `name` (EndpointSlices; v1 Endpoints is deprecated).
fn ready_endpoints(s: &Snapshot, name: &str) -> usize {
    s.endpoint_slices
        .iter()
        .filter(|sl| {
            sl.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"))
                .map(String::as_str)
                == Some(name)
        })
        .flat_map(|sl| sl.endpoints.iter())
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;
    use crate::verify::checks::fixture;

    #[test]
    fn matching_service_with_endpoints_passes() {
        let r = service(&fixture::snapshot(), Component::Backend);
        assert_eq!(r.status, Status::Pass, "{r:?}");
        assert!(r.message.contains("nodePort 30081") && r.message.contains("2 ready endpoints"));
    }

    #[test]
    fn wrong_target_port_fails() {
        let mut s = fixture::snapshot();
        s.services[0].spec.as_mut().unwrap().ports.as_mut().unwrap()[0].target_port =
            Some(IntOrString::Int(8080));
        let r = service(&s, Component::Backend);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message
                .contains("targetPort 8080 matches no container port (http/8000)"),
            "{}",
            r.message
        );
    }

    #[test]
    fn no_ready_endpoints_fails() {
        let mut s = fixture::snapshot();
        s.endpoint_slices[1].endpoints.clear();
        let r = service(&s, Component::Frontend);
        assert_eq!(r.status, Status::Fail);
        assert!(r.hint.unwrap().contains("frontend.pods"));
    }

    #[test]
    fn unexpected_node_port_warns() {
        let mut s = fixture::snapshot();
        s.services[1].spec.as_mut().unwrap().ports.as_mut().unwrap()[0].node_port = Some(31999);
        let r = service(&s, Component::Frontend);
        assert_eq!(r.status, Status::Warn);
        assert!(r.message.contains("values say 30080"));
    }

    #[test]
    fn target_ports_match_by_number_or_name() {
        let ports = [(Some("http".to_string()), 8000)];
        assert_eq!(target_port_problem(&IntOrString::Int(8000), &ports), None);
        assert_eq!(
            target_port_problem(&IntOrString::String("http".into()), &ports),
            None
        );
        assert_eq!(
            target_port_problem(&IntOrString::String("web".into()), &ports).as_deref(),
            Some("targetPort web matches no container port (http/8000)")
        );
        assert_eq!(
            target_port_problem(&IntOrString::Int(1), &[(None, 80)]).as_deref(),
            Some("targetPort 1 matches no container port (80)")
        );
        // A template without ports is not checked.
        assert_eq!(target_port_problem(&IntOrString::Int(1), &[]), None);
    }

    #[test]
    fn a_selector_that_misses_the_pods_fails() {
        let mut s = fixture::snapshot();
        s.services[0].spec.as_mut().unwrap().selector =
            Some([("app".to_string(), "other".to_string())].into());
        let r = service(&s, Component::Backend);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message.contains("selector does not match"),
            "{}",
            r.message
        );
    }

    #[test]
    fn a_cluster_ip_service_has_no_node_port_check() {
        let s = fixture::snapshot();
        let port = ServicePort {
            port: 80,
            ..Default::default()
        };
        assert_eq!(
            node_port(&s, Component::Frontend, "ClusterIP", &port),
            (String::new(), None)
        );
        assert_eq!(
            node_port(&s, Component::Frontend, "NodePort", &port)
                .1
                .as_deref(),
            Some("no nodePort assigned")
        );
    }
}
