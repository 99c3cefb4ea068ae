//! Service networking: what kube-proxy and the API server's proxy do with a Service port: pick
//! a ready pod the selector matches (round-robin), resolve the target port (named ports through
//! the pod's container ports) and ask the simulated application in that container. Used by the
//! API server's service and pod proxies and by in-cluster clients (the http-check app).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::addons::sealed_secrets;
use crate::apps;
use crate::fields::{meta, pod_ready, terminating};
use crate::resources::Resource;
use crate::selectors::service_selects;
use crate::state::{SimState, State};
use crate::storage::Key;

/// An answer from a simulated application.
#[derive(Debug, Clone)]
pub struct ProxyResponse {
    /// HTTP status.
    pub status: u16,
    /// Content-Type.
    pub content_type: String,
    /// Body.
    pub body: Vec<u8>,
}

impl ProxyResponse {
    /// A JSON answer.
    pub fn json(status: u16, body: &Value) -> Self {
        ProxyResponse {
            status,
            content_type: "application/json".into(),
            body: body.to_string().into_bytes(),
        }
    }
    /// A text answer.
    pub fn text(status: u16, content_type: &str, body: &str) -> Self {
        ProxyResponse {
            status,
            content_type: content_type.into(),
            body: body.as_bytes().to_vec(),
        }
    }
}

/// A request for an application behind the proxy.
#[derive(Debug, Clone, Copy)]
pub struct AppRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path (with the query).
    pub path: &'a str,
    /// The request body.
    pub body: &'a [u8],
}

impl<'a> AppRequest<'a> {
    /// A GET of `path`.
    pub fn get(path: &'a str) -> Self {
        AppRequest {
            method: "GET",
            path,
            body: &[],
        }
    }
}

/// Why the proxy could not reach an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyError {
    /// No such Service.
    ServiceNotFound,
    /// The Service has no such port.
    PortNotFound(String),
    /// No ready endpoint.
    NoEndpoints,
    /// No such pod.
    PodNotFound,
    /// The pod is not running.
    PodNotRunning,
}

fn service_port<'a>(svc: &'a Value, port: Option<&str>) -> Result<&'a Value, ProxyError> {
    let ports = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    match port.filter(|p| !p.is_empty()) {
        None => ports
            .first()
            .ok_or_else(|| ProxyError::PortNotFound(String::new())),
        Some(p) => ports
            .iter()
            .find(|sp| {
                sp.get("name").and_then(Value::as_str) == Some(p)
                    || sp
                        .get("port")
                        .and_then(Value::as_i64)
                        .map(|n| n.to_string())
                        .as_deref()
                        == Some(p)
            })
            .ok_or_else(|| ProxyError::PortNotFound(p.to_owned())),
    }
}

/// The container port number a pod exposes for `target` (a number or a port name).
pub fn resolve_target_port(pod: &Value, target: &Value) -> Option<i64> {
    if let Some(n) = target.as_i64() {
        return Some(n);
    }
    let name = target.as_str()?;
    if let Ok(n) = name.parse::<i64>() {
        return Some(n);
    }
    pod.pointer("/spec/containers")?
        .as_array()?
        .iter()
        .flat_map(|c| {
            c.get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|p| p.get("containerPort").and_then(Value::as_i64))
}

/// Which container of `pod` listens on `port` (the first container when none declares it).
fn container_for_port(pod: &Value, port: Option<i64>) -> Option<String> {
    let containers = pod.pointer("/spec/containers").and_then(Value::as_array)?;
    let by_port = port.and_then(|port| {
        containers.iter().find(|c| {
            c.get("ports").and_then(Value::as_array).is_some_and(|ps| {
                ps.iter()
                    .any(|p| p.get("containerPort").and_then(Value::as_i64) == Some(port))
            })
        })
    });
    by_port
        .or(containers.first())
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Ask the app in container `container` of the pod with uid `uid`.
fn ask_app(
    state: &State,
    sim: &SimState,
    pod: &Value,
    container: &str,
    req: AppRequest<'_>,
) -> Result<ProxyResponse, ProxyError> {
    let rt = sim
        .pods
        .get(meta(pod, "uid"))
        .ok_or(ProxyError::PodNotRunning)?;
    let c = rt
        .all()
        .find(|c| c.name == container)
        .ok_or(ProxyError::PodNotRunning)?;
    if !c.is_running() {
        return Err(ProxyError::PodNotRunning);
    }
    let scenario = state.scenario();
    Ok(apps::handle(
        c.behaviour,
        &c.env,
        &scenario,
        sim,
        req.method,
        req.path,
        req.body,
    ))
}

/// The service proxy without waiting: used by the simulated `http-check` app and by
/// [`service_proxy`].
pub fn service_proxy_now(
    state: &State,
    sim: &SimState,
    namespace: &str,
    service: &str,
    port: Option<&str>,
    req: AppRequest<'_>,
) -> Result<ProxyResponse, ProxyError> {
    let svc = state
        .store
        .get(&Key::new(Resource::Service, namespace, service))
        .ok_or(ProxyError::ServiceNotFound)?;
    let sp = service_port(&svc, port)?;
    let target = sp
        .get("targetPort")
        .cloned()
        .or_else(|| sp.get("port").cloned())
        .unwrap_or(Value::Null);
    let selector = svc.pointer("/spec/selector");
    let (pods, _) = state.store.list(Resource::Pod, Some(namespace));
    let ready: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            service_selects(selector, p.pointer("/metadata/labels"))
                && pod_ready(p)
                && !terminating(p)
        })
        .collect();
    if ready.is_empty() {
        return Err(ProxyError::NoEndpoints);
    }
    let pick = ready[sim.proxy_rr % ready.len()];
    let port_no = resolve_target_port(pick, &target);
    let container = container_for_port(pick, port_no).ok_or(ProxyError::PodNotRunning)?;
    ask_app(state, sim, pick, &container, req)
}

/// The API server's service proxy.
pub async fn service_proxy(
    state: &Arc<State>,
    namespace: &str,
    service: &str,
    port: Option<&str>,
    req: AppRequest<'_>,
) -> Result<ProxyResponse, ProxyError> {
    let sealed_cert = sealed_secrets::is_cert_request(namespace, service, req.path);
    // The controller answers once its key exists and its pod is ready; wait for start-up
    // as a client retrying would, instead of failing the first second after start.
    let deadline = Instant::now() + Duration::from_secs(if sealed_cert { 120 } else { 0 });
    loop {
        let result = {
            let mut sim = state.sim();
            sim.proxy_rr = sim.proxy_rr.wrapping_add(1);
            service_proxy_now(state, &sim, namespace, service, port, req)
        };
        let retry = sealed_cert
            && match &result {
                Err(ProxyError::NoEndpoints) | Err(ProxyError::PodNotRunning) => true,
                Ok(r) => r.status == 503,
                Err(_) => false,
            };
        if !retry || Instant::now() >= deadline {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The API server's pod proxy.
pub async fn pod_proxy(
    state: &Arc<State>,
    namespace: &str,
    pod: &str,
    port: Option<&str>,
    req: AppRequest<'_>,
) -> Result<ProxyResponse, ProxyError> {
    let obj = state
        .store
        .get(&Key::new(Resource::Pod, namespace, pod))
        .ok_or(ProxyError::PodNotFound)?;
    let port_no = port
        .filter(|p| !p.is_empty())
        .and_then(|p| resolve_target_port(&obj, &json!(p)));
    let container = container_for_port(&obj, port_no).ok_or(ProxyError::PodNotRunning)?;
    let sim = state.sim();
    ask_app(state, &sim, &obj, &container, req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_target_port_resolves_through_container_ports() {
        let pod = json!({"spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8000}]}]}});
        assert_eq!(resolve_target_port(&pod, &json!("http")), Some(8000));
        assert_eq!(resolve_target_port(&pod, &json!(3000)), Some(3000));
        assert_eq!(resolve_target_port(&pod, &json!("grpc")), None);
    }
}
