//! `<component>.service`: the Service selects the pods, its target port is a container port,
//! the NodePort is the configured one, and ready endpoints stand behind it.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::chart::Component;
use crate::verify::CheckResult;
use crate::verify::collect::Snapshot;
use crate::verify::registry::Aspect;

/// See the module docs.
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
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    // targetPort must name or number a container port of the pod template.
    let container_ports: Vec<(Option<String>, i32)> = s
        .deployment(c)
        .and_then(|d| d.spec.as_ref())
        .and_then(|sp| sp.template.spec.as_ref())
        .map(|ps| {
            ps.containers
                .iter()
                .flat_map(|ct| ct.ports.iter().flatten())
                .map(|p| (p.name.clone(), p.container_port))
                .collect()
        })
        .unwrap_or_default();
    let target = port
        .target_port
        .clone()
        .unwrap_or(IntOrString::Int(port.port));
    let target_ok = match &target {
        IntOrString::Int(n) => container_ports.iter().any(|(_, p)| p == n),
        IntOrString::String(n) => container_ports
            .iter()
            .any(|(pn, _)| pn.as_deref() == Some(n.as_str())),
    };
    let target_text = match &target {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(n) => n.clone(),
    };
    if !target_ok && !container_ports.is_empty() {
        let have: Vec<String> = container_ports
            .iter()
            .map(|(n, p)| {
                format!(
                    "{}{p}",
                    n.as_ref().map(|n| format!("{n}/")).unwrap_or_default()
                )
            })
            .collect();
        problems.push(format!(
            "targetPort {target_text} matches no container port ({})",
            have.join(", ")
        ));
    }

    // The selector must select the component's pods.
    let template_labels = s
        .deployment(c)
        .and_then(|d| d.spec.as_ref())
        .and_then(|sp| sp.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    if let Some(selector) = &spec.selector
        && !template_labels.is_empty()
        && !selector
            .iter()
            .all(|(k, v)| template_labels.get(k) == Some(v))
    {
        problems.push("its selector does not match the Deployment's pod labels".to_owned());
    }

    // NodePort as configured.
    let svc_type = spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
    let mut node_port_text = String::new();
    if svc_type == "NodePort" || svc_type == "LoadBalancer" {
        let configured = s
            .release
            .as_ref()
            .ok()
            .and_then(|r| r.value(&format!("{}.service.nodePort", c.name())))
            .and_then(|v| v.as_i64())
            .map(|v| v as i32)
            .unwrap_or(c.default_node_port());
        match port.node_port {
            Some(np) if np == configured => node_port_text = format!(", nodePort {np}"),
            Some(np) => {
                node_port_text = format!(", nodePort {np}");
                warnings.push(format!("nodePort is {np}, the values say {configured}"));
            }
            None => warnings.push("no nodePort assigned".into()),
        }
    }

    // Ready endpoints (EndpointSlices; v1 Endpoints is deprecated).
    let ready = s
        .endpoint_slices
        .iter()
        .filter(|sl| {
            sl.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"))
                == Some(&name)
        })
        .flat_map(|sl| sl.endpoints.iter())
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
        .count();
    let summary = format!(
        "{name} {svc_type} port {}→{target_text}{node_port_text}, {ready} ready endpoints",
        port.port
    );
    if !problems.is_empty() {
        return CheckResult::fail(id, format!("{name}: {}", problems.join("; ")), format!(
            "the chart renders matching ports and selectors; check overrides of {}.service / {}.containerPort in your values and `helm upgrade`",
            c.name(), c.name()
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
    if !warnings.is_empty() {
        return CheckResult::warn(
            id,
            format!("{summary}; {}", warnings.join("; ")),
            format!(
                "set {}.service.nodePort, or free the port; `kubectl get svc {name} -n {ns}{kf}`",
                c.name()
            ),
        );
    }
    CheckResult::pass(id, summary)
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
}
