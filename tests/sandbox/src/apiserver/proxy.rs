//! The `proxy` subresource of Services and pods: the API server forwards the request to a
//! ready endpoint ([`crate::network`]) and answers with the application's own status, or 503
//! "no endpoints available" (with kube-apiserver's wording).

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;

use super::Target;
use super::http::{Body, read_body, text_response};
use super::status::ApiError;
use crate::network::{self, ProxyError};
use crate::resources::Resource;
use crate::state::State;
use crate::storage::Key;

/// Proxy a request to a Service (`[scheme:]name[:port]`) or a pod (`name[:port]`).
pub async fn serve(
    state: &Arc<State>,
    t: &Target,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let (ns, raw) = (t.ns(), t.name());
    let parts: Vec<&str> = raw.split(':').collect();
    let (name, port) = match parts.as_slice() {
        [n] => (*n, None),
        [n, p] if *n == "http" || *n == "https" => (*p, None),
        [n, p] => (*n, Some(*p)),
        [_, n, p] => (*n, if p.is_empty() { None } else { Some(*p) }),
        _ => {
            return Err(ApiError::bad_request(&format!(
                "invalid service name {raw:?}"
            )));
        }
    };
    let path = format!("/{}", t.rest);
    let method = req.method().as_str().to_owned();
    if state.store.get(&Key::new(t.rt, ns, name)).is_none() {
        return Err(ApiError::not_found(&t.rt, name));
    }
    // The request body goes to the application (POST /v1/verify to sealed-secrets).
    let body = read_body(req).await?;
    let app = network::AppRequest {
        method: &method,
        path: &path,
        body: &body,
    };
    let result = if t.rt == Resource::Service {
        network::service_proxy(state, ns, name, port, app).await
    } else {
        network::pod_proxy(state, ns, name, port, app).await
    };
    match result {
        Ok(r) => Ok(text_response(r.status, &r.content_type, r.body)),
        Err(ProxyError::ServiceNotFound) => Err(ApiError::not_found(&t.rt, name)),
        Err(ProxyError::PodNotFound) => Err(ApiError::not_found(&t.rt, name)),
        Err(ProxyError::NoEndpoints) | Err(ProxyError::PortNotFound(_)) => {
            Err(ApiError::no_endpoints(name))
        }
        Err(ProxyError::PodNotRunning) => Err(ApiError::bad_request(&format!(
            "pod {name:?} is not running"
        ))),
    }
}
