//! `wiring.backend-url`: the frontend's BACKEND_URL names an existing Service and one of its
//! ports.

use k8s_openapi::api::core::v1::Container;

use crate::chart::Component;
use crate::redact::sanitize as redact;
use crate::verify::CheckResult;
use crate::verify::collect::Snapshot;

const ID: &str = "wiring.backend-url";

/// See the module docs. The value comes from the container's env, else from a ConfigMap it
/// loads with envFrom.
pub fn backend_url(s: &Snapshot) -> CheckResult {
    let Some(container) = s
        .deployment(Component::Frontend)
        .and_then(|d| d.spec.as_ref())
        .and_then(|sp| sp.template.spec.as_ref())
        .and_then(|ps| ps.containers.first())
    else {
        return CheckResult::skip(ID, "no frontend Deployment (see frontend.rollout)");
    };
    let Some((value, source)) = backend_url_of(s, container) else {
        return CheckResult::fail(
            ID,
            "the frontend gets no BACKEND_URL (neither env nor its ConfigMap)",
            format!(
                "`{}` restores ConfigMap {}-config",
                s.helm_upgrade(""),
                s.fullname
            ),
        );
    };
    let shown = redact(&value);
    let fix = format!(
        "BACKEND_URL is computed by the chart as http://{}-backend:<backend.service.port>; remove the overrides (config.extra.BACKEND_URL, frontend.extraEnv) from your values and upgrade with them: `{}`",
        s.fullname,
        s.helm_upgrade(" -f VALUES")
    );
    let url = match url::Url::parse(&value) {
        Ok(u) => u,
        Err(e) => {
            return CheckResult::fail(
                ID,
                format!("BACKEND_URL {shown:?} from {source} is not a URL: {e}"),
                fix,
            );
        }
    };
    let svc_name = service_name(url.host_str().unwrap_or(""), &s.namespace);
    let port = url.port_or_known_default().map(i32::from);
    let Some(svc) = s
        .services
        .iter()
        .find(|svc| svc.metadata.name.as_deref() == Some(svc_name))
    else {
        return CheckResult::fail(
            ID,
            format!(
                "BACKEND_URL {shown} from {source} names Service {svc_name:?}, which is not the release's backend Service"
            ),
            fix,
        );
    };
    let ports: Vec<i32> = svc
        .spec
        .as_ref()
        .and_then(|sp| sp.ports.as_ref())
        .map(|ps| ps.iter().map(|p| p.port).collect())
        .unwrap_or_default();
    match port {
        Some(p) if ports.contains(&p) => CheckResult::pass(
            ID,
            format!("BACKEND_URL {shown} from {source} → Service {svc_name} port {p}"),
        ),
        _ => CheckResult::fail(
            ID,
            format!(
                "BACKEND_URL {shown} from {source} uses port {}, Service {svc_name} listens on {ports:?}",
                port.map(|p| p.to_string()).unwrap_or_else(|| "none".into())
            ),
            fix,
        ),
    }
}

/// The container's BACKEND_URL and where it comes from: its env, else the first ConfigMap
/// it loads with envFrom that has the key.
fn backend_url_of(s: &Snapshot, container: &Container) -> Option<(String, String)> {
    let direct = container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "BACKEND_URL")
        .and_then(|e| e.value.clone());
    if let Some(v) = direct {
        return Some((v, "the container env".to_owned()));
    }
    container
        .env_from
        .iter()
        .flatten()
        .filter_map(|ef| ef.config_map_ref.as_ref())
        .find_map(|r| {
            s.config_maps
                .iter()
                .find(|cm| cm.metadata.name.as_deref() == Some(r.name.as_str()))
                .and_then(|cm| cm.data.as_ref()?.get("BACKEND_URL").cloned())
                .map(|v| (v, format!("ConfigMap {}", r.name)))
        })
}

/// The Service a URL's host names in namespace `ns`: the host without a
/// `.NS.svc.cluster.local`, `.NS.svc` or `.NS` suffix.
fn service_name<'h>(host: &'h str, ns: &str) -> &'h str {
    [
        format!(".{ns}.svc.cluster.local"),
        format!(".{ns}.svc"),
        format!(".{ns}"),
    ]
    .iter()
    .find_map(|suffix| host.strip_suffix(suffix.as_str()))
    .unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;
    use crate::verify::checks::fixture;

    fn with_url(url: &str) -> CheckResult {
        let mut s = fixture::snapshot();
        s.config_maps[0]
            .data
            .as_mut()
            .unwrap()
            .insert("BACKEND_URL".into(), url.into());
        backend_url(&s)
    }

    #[test]
    fn contract_url_passes() {
        let r = with_url("http://todo-todo-chatbot-backend:8000");
        assert_eq!(r.status, Status::Pass, "{r:?}");
        assert_eq!(
            with_url("http://todo-todo-chatbot-backend.todo.svc.cluster.local:8000").status,
            Status::Pass
        );
    }

    #[test]
    fn wrong_port_or_service_fails() {
        let r = with_url("http://todo-todo-chatbot-backend:8080");
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("port 8080"));
        let r = with_url("http://todo-backend:8000");
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("\"todo-backend\""));
    }

    #[test]
    fn service_names_drop_the_namespace_suffixes() {
        assert_eq!(service_name("api", "todo"), "api");
        assert_eq!(service_name("api.todo", "todo"), "api");
        assert_eq!(service_name("api.todo.svc", "todo"), "api");
        assert_eq!(service_name("api.todo.svc.cluster.local", "todo"), "api");
        assert_eq!(service_name("api.other.svc", "todo"), "api.other.svc");
    }

    #[test]
    fn a_missing_or_unparsable_url_fails() {
        assert!(with_url("not a url").message.contains("is not a URL"));
        let mut s = fixture::snapshot();
        s.config_maps[0]
            .data
            .as_mut()
            .unwrap()
            .remove("BACKEND_URL");
        let r = backend_url(&s);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("no BACKEND_URL"), "{}", r.message);
    }
}
