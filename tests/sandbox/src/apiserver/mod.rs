//! The API server: authentication and authorization ([`auth`]), discovery ([`discovery`]),
//! the sandbox's control API ([`control`]), fault injection per request
//! ([`crate::faults`]), and routing of resource requests to the REST verbs ([`rest`],
//! [`watch`], [`patch`]) and the subresources ([`scale`], [`logs`], [`proxy`]). Writes go
//! through [`registry`] (metadata, [`admission`], generation) to [`crate::storage`].

pub mod admission;
pub mod auth;
pub mod control;
pub mod discovery;
pub mod http;
pub mod logs;
pub mod merge;
pub mod patch;
pub mod proto;
pub mod proxy;
pub mod registry;
pub mod rest;
pub mod scale;
pub mod status;
pub mod table;
pub mod watch;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ::http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::Value;

pub use self::auth::{ServerCtx, User};
pub use self::http::Body;

use self::auth::Verb;
use self::http::{Query, error_response, json_response, read_object, text_response};
use self::registry::Part;
use self::status::ApiError;
use crate::faults;
use crate::resources::{self, Resource, Subresource};
use crate::state::State;

/// A resource request, parsed from the path.
pub struct Target {
    /// The type.
    pub rt: Resource,
    /// The namespace in the path, if any.
    pub namespace: Option<String>,
    /// The object's name, if any.
    pub name: Option<String>,
    /// The subresource, if any (one the type serves).
    pub sub: Option<Subresource>,
    /// The path after the subresource (the proxied path).
    pub rest: String,
}

impl Target {
    /// The namespace, "" when none.
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }
    /// The name, "" when none.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

/// The entry point for every request.
pub async fn handle(
    state: Arc<State>,
    ctx: Arc<ServerCtx>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let Some(user) = auth::authenticate(&ctx, &req) else {
        return Ok(error_response(&ApiError::unauthorized()));
    };
    if let Some(rest) = path.strip_prefix("/sandbox/v1/") {
        return Ok(control::serve(&state, user, rest, req).await);
    }
    state.requests.fetch_add(1, Ordering::Relaxed);
    let fault = faults::before_request(&state, req.method().as_str(), &path);
    if !fault.latency.is_zero() {
        tokio::time::sleep(fault.latency).await;
    }
    if let Some(code) = fault.error {
        return Ok(error_response(&faults::injected_error(code)));
    }
    let resp = route(&state, user, req)
        .await
        .unwrap_or_else(|e| error_response(&e));
    Ok(resp)
}

/// Non-resource paths: version, health, discovery, OpenAPI.
fn non_resource(segs: &[&str]) -> Option<Result<Response<Body>, ApiError>> {
    let found = |v: Option<Value>| {
        v.map(|v| json_response(200, &v))
            .ok_or_else(ApiError::no_route)
    };
    Some(match segs {
        ["version"] => Ok(json_response(200, &discovery::version_info())),
        ["healthz"] | ["livez"] | ["readyz"] => {
            Ok(text_response(200, "text/plain", b"ok".to_vec()))
        }
        ["api"] => Ok(json_response(200, &discovery::api_versions())),
        ["apis"] => Ok(json_response(200, &discovery::api_group_list())),
        ["apis", g] => found(discovery::api_group(g)),
        ["api", v] => found(discovery::resource_list("", v)),
        ["apis", g, v] => found(discovery::resource_list(g, v)),
        ["openapi", "v3"] => Ok(json_response(200, &discovery::openapi_v3_root())),
        ["openapi", "v3", rest @ ..] => found(discovery::openapi_v3_doc(&rest.join("/"))),
        _ => return None,
    })
}

async fn route(
    state: &Arc<State>,
    user: User,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if req.method() == Method::GET
        && let Some(resp) = non_resource(&segs)
    {
        return resp;
    }
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return Err(ApiError::no_route()),
    };
    let target = parse_target(group, version, rest).ok_or_else(ApiError::no_route)?;
    let query = Query::parse(req.uri().query());
    let verb = verb_of(req.method(), &target, &query)?;
    auth::authorize(user, verb, &target)?;
    if target.rt == Resource::SelfSubjectAccessReview {
        if verb != Verb::Create {
            return Err(ApiError::method_not_allowed());
        }
        let review = read_object(req).await?;
        return Ok(json_response(201, &auth::access_review(user, &review)));
    }
    match (target.sub, verb) {
        (Some(Subresource::Proxy), _) => proxy::serve(state, &target, req).await,
        (Some(Subresource::Log), Verb::Get) => logs::serve(state, &target, &query),
        (Some(Subresource::Log), _) => Err(ApiError::no_route()),
        (Some(Subresource::Scale), _) => scale::serve(state, &target, req, &query).await,
        (Some(Subresource::Status), _) => {
            rest::serve(state, &target, verb, Part::Status, req, &query).await
        }
        (None, _) => rest::serve(state, &target, verb, Part::Main, req, &query).await,
    }
}

/// The RBAC verb of a request (a proxy request not matched by method is `proxy`).
fn verb_of(method: &Method, target: &Target, query: &Query) -> Result<Verb, ApiError> {
    Ok(match (method, &target.name, target.sub) {
        (&Method::GET, None, _) if query.flag("watch") => Verb::Watch,
        (&Method::GET, None, _) => Verb::List,
        (&Method::GET, Some(_), _) => Verb::Get,
        (&Method::POST, None, _) => Verb::Create,
        (&Method::PUT, Some(_), _) => Verb::Update,
        (&Method::PATCH, Some(_), _) => Verb::Patch,
        (&Method::DELETE, Some(_), _) => Verb::Delete,
        (&Method::DELETE, None, _) => Verb::DeleteCollection,
        (_, _, Some(Subresource::Proxy)) => Verb::Proxy,
        _ => return Err(ApiError::method_not_allowed()),
    })
}

/// `[namespaces/{ns}/]{plural}[/{name}[/{subresource}[/{rest}]]]` under a group-version.
/// None (404) for an unknown type, or a subresource the type does not serve.
fn parse_target(group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let find = |plural: &str| resources::find(group, version, plural);
    let (rt, namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..] if find(plural).is_some_and(|r| r.namespaced) => {
            (find(plural)?, Some((*ns).to_owned()), tail)
        }
        [plural, tail @ ..] => (find(plural)?, None, tail),
        [] => return None,
    };
    let sub = match rest.get(1) {
        Some(s) => Some(Subresource::parse(s).filter(|s| rt.has(*s))?),
        None => None,
    };
    Some(Target {
        rt,
        namespace,
        name: rest.first().map(|s| (*s).to_owned()),
        sub,
        rest: rest.get(2..).map(|r| r.join("/")).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_type_namespace_object_and_subresource() {
        let t = parse_target("", "v1", &["namespaces", "demo", "pods", "p", "log"]).unwrap();
        assert_eq!(t.rt, Resource::Pod);
        assert_eq!((t.ns(), t.name()), ("demo", "p"));
        assert_eq!(t.sub, Some(Subresource::Log));
        let t = parse_target(
            "",
            "v1",
            &[
                "namespaces",
                "demo",
                "services",
                "s:http",
                "proxy",
                "a",
                "b",
            ],
        )
        .unwrap();
        assert_eq!((t.sub, t.rest.as_str()), (Some(Subresource::Proxy), "a/b"));
        let t = parse_target("", "v1", &["namespaces"]).unwrap();
        assert_eq!(
            (t.rt, t.namespace, t.name),
            (Resource::Namespace, None, None)
        );
        let t = parse_target("", "v1", &["namespaces", "demo"]).unwrap();
        assert_eq!((t.rt, t.name()), (Resource::Namespace, "demo"));
    }

    #[test]
    fn unknown_types_and_subresources_a_type_does_not_serve_are_not_found() {
        assert!(parse_target("", "v1", &["widgets"]).is_none());
        assert!(parse_target("apps", "v1", &["pods"]).is_none());
        assert!(
            parse_target("", "v1", &["namespaces", "d", "configmaps", "c", "status"]).is_none()
        );
        assert!(parse_target("", "v1", &["namespaces", "d", "pods", "p", "scale"]).is_none());
        assert!(parse_target("", "v1", &["namespaces", "d", "pods", "p", "exec"]).is_none());
    }
}
