//! The HTTP API: authentication, authorization, routing, and the REST verbs (get, list,
//! watch, create, update, patch, delete, deletecollection) plus the subresources our clients
//! use (status, scale, log, service/pod proxy).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::{Value, json};

use crate::controllers;
use crate::objects::{self, Part};
use crate::patch;
use crate::resources::{self, ResourceType};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::state::State;
use crate::status::ApiError;
use crate::store::{EventType, Key};
use crate::table;

/// Response body type.
pub type Body = BoxBody<Bytes, Infallible>;

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User {
    /// Full access.
    Admin,
    /// get/list/watch except Secrets; no writes, no proxy.
    Viewer,
}

impl User {
    fn name(self) -> &'static str {
        match self {
            User::Admin => "admin",
            User::Viewer => "viewer",
        }
    }
}

/// Per-server settings.
pub struct ServerCtx {
    /// Bearer token of the admin user.
    pub admin_token: String,
    /// Bearer token of the viewer user.
    pub viewer_token: String,
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    let mut r = Response::new(full(serde_json::to_vec(v).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json_response(e.code, &e.to_status());
    if e.code == 429 {
        r.headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    }
    r
}

fn text_response(code: u16, content_type: &str, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// Parsed query string.
struct Query(HashMap<String, String>);

impl Query {
    fn parse(q: Option<&str>) -> Self {
        Query(
            q.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        )
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true" | "1"))
    }
    fn dry_run(&self) -> bool {
        self.get("dryRun") == Some("All")
    }
}

/// The entry point for every request.
pub async fn handle(
    state: Arc<State>,
    ctx: Arc<ServerCtx>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let user = match auth(&ctx, &req) {
        Some(u) => u,
        None => return Ok(error_response(&ApiError::unauthorized())),
    };
    if let Some(rest) = path.strip_prefix("/sandbox/v1/") {
        return Ok(test_api(&state, user, rest, req).await);
    }
    state.requests.fetch_add(1, Ordering::Relaxed);
    let (latency, injected) = {
        let mut sc = state.scenario_mut();
        let latency = sc.faults.latency_ms;
        let method = req.method().as_str().to_owned();
        let pos = sc.faults.errors.iter().position(|f| {
            f.count > 0
                && (f.path_contains.is_empty() || path.contains(&f.path_contains))
                && (f.method.is_empty() || f.method.eq_ignore_ascii_case(&method))
        });
        let injected = pos.map(|i| {
            let f = &mut sc.faults.errors[i];
            f.count -= 1;
            f.code
        });
        sc.faults.errors.retain(|f| f.count > 0);
        (latency, injected)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if let Some(code) = injected {
        return Ok(error_response(&ApiError::injected(code)));
    }
    let resp = route(&state, user, req)
        .await
        .unwrap_or_else(|e| error_response(&e));
    Ok(resp)
}

fn auth(ctx: &ServerCtx, req: &Request<Incoming>) -> Option<User> {
    let h = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = h.strip_prefix("Bearer ")?.trim();
    if token == ctx.admin_token {
        Some(User::Admin)
    } else if token == ctx.viewer_token {
        Some(User::Viewer)
    } else {
        None
    }
}

async fn read_body(req: Request<Incoming>) -> Result<(http::request::Parts, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(&format!("reading body: {e}")))?
        .to_bytes();
    Ok((parts, bytes))
}

fn parse_body(bytes: &[u8], content_type: &str) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    if content_type.contains("protobuf") {
        return crate::proto::decode(bytes)
            .map_err(|e| ApiError::unsupported_media(&format!("{content_type}: {e}")));
    }
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| ApiError::bad_request("body is not UTF-8"))?;
            if content_type.contains("yaml") {
                serde_saphyr::from_str::<Value>(text)
                    .map_err(|e| ApiError::bad_request(&format!("error decoding YAML: {e}")))
            } else {
                Err(ApiError::bad_request(&format!(
                    "error decoding JSON: {json_err}"
                )))
            }
        }
    }
}

async fn test_api(
    state: &Arc<State>,
    user: User,
    rest: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    if user != User::Admin {
        return error_response(&ApiError::forbidden(
            user.name(),
            "use",
            None,
            None,
            None,
            None,
        ));
    }
    let method = req.method().clone();
    let body = match read_body(req).await {
        Ok((_, b)) => b,
        Err(e) => return error_response(&e),
    };
    match (method, rest) {
        (Method::GET, "stats") => json_response(
            200,
            &json!({"requests": state.requests.load(Ordering::Relaxed)}),
        ),
        (Method::POST, "stats/reset") => {
            state.requests.store(0, Ordering::Relaxed);
            json_response(200, &json!({"requests": 0}))
        }
        (Method::PUT, "faults") => match serde_json::from_slice(&body) {
            Ok(f) => {
                state.scenario_mut().faults = f;
                json_response(200, &json!({"ok": true}))
            }
            Err(e) => error_response(&ApiError::bad_request(&e.to_string())),
        },
        (Method::PUT, "databases") => match serde_json::from_slice(&body) {
            Ok(d) => {
                state.scenario_mut().databases = d;
                json_response(200, &json!({"ok": true}))
            }
            Err(e) => error_response(&ApiError::bad_request(&e.to_string())),
        },
        (Method::PUT, "images") => match serde_json::from_slice(&body) {
            Ok(i) => {
                state.scenario_mut().node.images = i;
                json_response(200, &json!({"ok": true}))
            }
            Err(e) => error_response(&ApiError::bad_request(&e.to_string())),
        },
        _ => error_response(&ApiError::no_route()),
    }
}

/// A resource request, parsed from the path.
struct Target {
    rt: &'static ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
    rest: String,
}

fn version_info() -> Value {
    json!({
        "major": "1", "minor": "33", "gitVersion": "v1.33.1", "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
        "gitTreeState": "clean", "buildDate": "2025-05-15T08:19:08Z", "goVersion": "go1.24.2",
        "compiler": "gc", "platform": "linux/amd64", "emulationMajor": "1", "emulationMinor": "33",
        "minCompatibilityMajor": "1", "minCompatibilityMinor": "32"
    })
}

async fn route(
    state: &Arc<State>,
    user: User,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let get = req.method() == Method::GET;
    match segs.as_slice() {
        ["version"] if get => return Ok(json_response(200, &version_info())),
        ["healthz"] | ["livez"] | ["readyz"] if get => {
            return Ok(text_response(200, "text/plain", b"ok".to_vec()));
        }
        ["api"] if get => return Ok(json_response(200, &resources::api_versions())),
        ["apis"] if get => return Ok(json_response(200, &resources::api_group_list())),
        ["apis", g] if get => {
            return resources::api_group(g)
                .map(|v| json_response(200, &v))
                .ok_or_else(ApiError::no_route);
        }
        ["api", v] if get => {
            return resources::resource_list("", v)
                .map(|v| json_response(200, &v))
                .ok_or_else(ApiError::no_route);
        }
        ["apis", g, v] if get => {
            return resources::resource_list(g, v)
                .map(|v| json_response(200, &v))
                .ok_or_else(ApiError::no_route);
        }
        ["openapi", "v3"] if get => return Ok(json_response(200, &resources::openapi_v3_root())),
        ["openapi", "v3", rest @ ..] if get => {
            return resources::openapi_v3_doc(&rest.join("/"))
                .map(|v| json_response(200, &v))
                .ok_or_else(ApiError::no_route);
        }
        _ => {}
    }
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return Err(ApiError::no_route()),
    };
    let target = parse_target(group, version, rest).ok_or_else(ApiError::no_route)?;
    let method = req.method().clone();
    let query = Query::parse(req.uri().query());
    let verb = match (&method, &target.name, &target.sub) {
        (&Method::GET, None, _) if query.flag("watch") => "watch",
        (&Method::GET, None, _) => "list",
        (&Method::GET, Some(_), _) => "get",
        (&Method::POST, None, _) => "create",
        (&Method::PUT, Some(_), _) => "update",
        (&Method::PATCH, Some(_), _) => "patch",
        (&Method::DELETE, Some(_), _) => "delete",
        (&Method::DELETE, None, _) => "deletecollection",
        (_, _, Some(s)) if s == "proxy" => "proxy",
        _ => return Err(ApiError::method_not_allowed()),
    };
    authorize(user, verb, &target)?;
    if target.rt.plural == "selfsubjectaccessreviews" {
        if verb != "create" {
            return Err(ApiError::method_not_allowed());
        }
        let ct = content_type(&req);
        let (_, body) = read_body(req).await?;
        let review = parse_body(&body, &ct)?;
        return Ok(json_response(201, &access_review(user, &review)));
    }
    let ns = target.namespace.clone().unwrap_or_default();
    let rt = target.rt;
    match (target.sub.as_deref(), verb) {
        (Some("proxy"), _) => return proxy(state, &target, req).await,
        (Some("log"), "get") => return pod_log(state, &target, &query),
        (Some("scale"), _) => return scale(state, &target, req, &query).await,
        (Some(sub), _) if sub != "status" => return Err(ApiError::no_route()),
        _ => {}
    }
    let part = if target.sub.as_deref() == Some("status") {
        Part::Status
    } else {
        Part::Main
    };
    match verb {
        "get" => {
            let name = target.name.as_deref().unwrap_or("");
            let obj = state
                .store
                .get(&Key::new(rt, &ns, name))
                .ok_or_else(|| ApiError::not_found(rt, name))?;
            Ok(respond_object(&req, 200, obj))
        }
        "list" => list(state, rt, target.namespace.as_deref(), &query, &req),
        "watch" => watch(state, rt, target.namespace.clone(), &query).await,
        "create" => {
            let dry = query.dry_run();
            let ct = content_type(&req);
            let (_, body) = read_body(req).await?;
            let obj = parse_body(&body, &ct)?;
            let created = objects::create(state, rt, &ns, obj, dry)?;
            Ok(json_response(201, &created))
        }
        "update" => {
            let dry = query.dry_run();
            let name = target.name.clone().unwrap_or_default();
            let ct = content_type(&req);
            let (_, body) = read_body(req).await?;
            let obj = parse_body(&body, &ct)?;
            let updated = objects::update(state, rt, &ns, &name, obj, part, dry)?;
            Ok(json_response(200, &updated))
        }
        "patch" => {
            let name = target.name.clone().unwrap_or_default();
            let ct = content_type(&req);
            let (_, body) = read_body(req).await?;
            let (code, obj) = patch_object(state, rt, &ns, &name, &ct, &body, &query, part)?;
            Ok(json_response(code, &obj))
        }
        "delete" => {
            let name = target.name.clone().unwrap_or_default();
            let dry = query.dry_run();
            let ct = content_type(&req);
            let (_, body) = read_body(req).await?;
            let opts = parse_body(&body, &ct).unwrap_or(Value::Null);
            let policy = query
                .get("propagationPolicy")
                .map(str::to_owned)
                .or_else(|| {
                    opts.get("propagationPolicy")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            let orphan = policy.as_deref() == Some("Orphan")
                || opts.get("orphanDependents") == Some(&json!(true));
            let deleted = objects::delete(state, rt, &ns, &name, orphan, dry)?;
            Ok(json_response(200, &deleted))
        }
        "deletecollection" => {
            let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
                .map_err(|e| ApiError::bad_request(&e))?;
            let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))
                .map_err(|e| ApiError::bad_request(&e))?;
            let (items, _) = state.store.list(rt.key, target.namespace.as_deref());
            let mut deleted = Vec::new();
            for item in items
                .into_iter()
                .filter(|o| labels.matches_object(o) && fields.matches(o))
            {
                let name = item
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let ins = item
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if let Ok(d) = objects::delete(state, rt, &ins, &name, false, query.dry_run()) {
                    deleted.push(d);
                }
            }
            Ok(json_response(
                200,
                &json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": {}, "items": deleted}),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn content_type(req: &Request<Incoming>) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned()
}

fn parse_target(group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let find = |plural: &str| resources::find(group, version, plural);
    // /namespaces/{ns}/{plural}/...
    if rest.len() >= 3
        && rest[0] == "namespaces"
        && let Some(rt) = find(rest[2]).filter(|rt| rt.namespaced)
    {
        return Some(Target {
            rt,
            namespace: Some(rest[1].to_owned()),
            name: rest.get(3).map(|s| (*s).to_owned()),
            sub: rest.get(4).map(|s| (*s).to_owned()),
            rest: rest.get(5..).map(|r| r.join("/")).unwrap_or_default(),
        });
    }
    let rt = find(rest.first()?)?;
    Some(Target {
        rt,
        namespace: None,
        name: rest.get(1).map(|s| (*s).to_owned()),
        sub: rest.get(2).map(|s| (*s).to_owned()),
        rest: rest.get(3..).map(|r| r.join("/")).unwrap_or_default(),
    })
}

/// The sandbox's RBAC: the admin may do anything; the viewer is Kubernetes' `view` role
/// (get/list/watch, including pods/log, but no Secrets and no proxy).
fn allowed(user: User, verb: &str, plural: &str, sub: Option<&str>) -> bool {
    if user == User::Admin {
        return true;
    }
    let read = matches!(verb, "get" | "list" | "watch");
    match (plural, sub) {
        ("selfsubjectaccessreviews", None) => verb == "create",
        ("secrets", _) => false,
        (_, Some("proxy")) => false,
        _ => read,
    }
}

/// `kubectl auth can-i`: answer a SelfSubjectAccessReview with the sandbox's RBAC.
fn access_review(user: User, review: &Value) -> Value {
    let attrs = review.pointer("/spec/resourceAttributes");
    let allowed_now = match attrs {
        Some(a) => {
            let verb = a.get("verb").and_then(Value::as_str).unwrap_or("");
            let resource = a.get("resource").and_then(Value::as_str).unwrap_or("");
            let sub = a
                .get("subresource")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            allowed(user, verb, resource, sub)
        }
        None => {
            review
                .pointer("/spec/nonResourceAttributes/verb")
                .and_then(Value::as_str)
                == Some("get")
        }
    };
    let mut out = json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": review.get("spec").cloned().unwrap_or(json!({})),
        "status": {"allowed": allowed_now},
    });
    if allowed_now && user == User::Admin {
        out["status"]["reason"] = json!("sandbox: the admin user may do anything");
    }
    out
}

fn authorize(user: User, verb: &str, t: &Target) -> Result<(), ApiError> {
    if allowed(user, verb, t.rt.plural, t.sub.as_deref()) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            user.name(),
            verb,
            Some(t.rt),
            t.sub.as_deref(),
            t.name.as_deref(),
            t.namespace.as_deref(),
        ))
    }
}

fn wants_table(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

fn respond_object(req: &Request<Incoming>, code: u16, obj: Value) -> Response<Body> {
    if wants_table(req) {
        let rt = resources::by_kind(
            obj["apiVersion"].as_str().unwrap_or(""),
            obj["kind"].as_str().unwrap_or(""),
        );
        if let Some(rt) = rt {
            return json_response(code, &table::table(rt, &[obj], None, include_object(req)));
        }
    }
    json_response(code, &obj)
}

fn include_object(req: &Request<Incoming>) -> bool {
    req.uri()
        .query()
        .is_some_and(|q| q.contains("includeObject=Object"))
}

fn list(
    state: &Arc<State>,
    rt: &'static ResourceType,
    ns: Option<&str>,
    query: &Query,
    req: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
        .map_err(|e| ApiError::bad_request(&e))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))
        .map_err(|e| ApiError::bad_request(&e))?;
    let (items, rv) = state.store.list(rt.key, ns);
    let mut items: Vec<Value> = items
        .into_iter()
        .filter(|o| labels.matches_object(o) && fields.matches(o))
        .collect();
    let offset: usize = query
        .get("continue")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let total = items.len();
    let end = offset.saturating_add(limit).min(total);
    items = items
        .into_iter()
        .skip(offset)
        .take(end.saturating_sub(offset))
        .collect();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if end < total {
        meta["continue"] = json!(end.to_string());
        meta["remainingItemCount"] = json!(total - end);
    }
    if wants_table(req) {
        return Ok(json_response(
            200,
            &table::table(rt, &items, Some(meta), include_object(req)),
        ));
    }
    Ok(json_response(
        200,
        &json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": meta, "items": items}),
    ))
}

fn watch_line(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

async fn watch(
    state: &Arc<State>,
    rt: &'static ResourceType,
    ns: Option<String>,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
        .map_err(|e| ApiError::bad_request(&e))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""))
        .map_err(|e| ApiError::bad_request(&e))?;
    let bookmarks = query.flag("allowWatchBookmarks");
    let send_initial = query.flag("sendInitialEvents");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|t| *t > 0)
        .unwrap_or(1800);
    let rv_param = query.get("resourceVersion").unwrap_or("").to_owned();
    let drop_after = state.scenario().faults.drop_watches_after_ms;

    let matches = {
        let ns = ns.clone();
        move |o: &Value| {
            ns.as_deref()
                .is_none_or(|n| o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(n))
                && labels.matches_object(o)
                && fields.matches(o)
        }
    };
    let mut initial = Vec::new();
    let start_rv: u64 = if rv_param.is_empty() || rv_param == "0" || send_initial {
        let (items, rv) = state.store.list(rt.key, ns.as_deref());
        initial = items.into_iter().filter(|o| matches(o)).collect();
        rv
    } else {
        rv_param
            .parse()
            .map_err(|_| ApiError::bad_request(&format!("invalid resourceVersion {rv_param:?}")))?
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
    let subscription = state.store.watch_from(start_rv);
    let kind = rt.kind;
    let api_version = rt.api_version();
    tokio::spawn(async move {
        let (backlog, mut events) = match subscription {
            Ok(s) => s,
            Err(()) => {
                let _ = tx
                    .send(watch_line("ERROR", &ApiError::gone(start_rv).to_status()))
                    .await;
                return;
            }
        };
        for o in initial {
            if tx.send(watch_line("ADDED", &o)).await.is_err() {
                return;
            }
        }
        let mut last_rv = start_rv;
        let bookmark = |rv: u64, initial_end: bool| {
            let mut meta = json!({"resourceVersion": rv.to_string()});
            if initial_end {
                meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            }
            watch_line(
                "BOOKMARK",
                &json!({"kind": kind, "apiVersion": api_version, "metadata": meta}),
            )
        };
        if send_initial && bookmarks && tx.send(bookmark(start_rv, true)).await.is_err() {
            return;
        }
        for ev in backlog {
            last_rv = last_rv.max(ev.rv);
            if ev.resource == rt.key
                && let Some(kind) = watch_kind(&ev, &matches)
                && tx.send(watch_line(kind, &ev.object)).await.is_err()
            {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        let drop_at = (drop_after > 0)
            .then(|| tokio::time::Instant::now() + Duration::from_millis(drop_after));
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            let stop_at = drop_at.map_or(deadline, |d| d.min(deadline));
            tokio::select! {
                _ = tokio::time::sleep_until(stop_at) => return,
                _ = tx.closed() => return,
                _ = tick.tick() => {
                    if bookmarks && tx.send(bookmark(last_rv, false)).await.is_err() {
                        return;
                    }
                }
                ev = events.recv() => match ev {
                    Ok(ev) => {
                        if ev.rv <= last_rv {
                            continue;
                        }
                        last_rv = ev.rv;
                        if ev.resource == rt.key
                            && let Some(kind) = watch_kind(&ev, &matches)
                            && tx.send(watch_line(kind, &ev.object)).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(watch_line("ERROR", &ApiError::gone(last_rv).to_status())).await;
                        return;
                    }
                    Err(_) => return,
                }
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let body = StreamBody::new(futures::StreamExt::map(stream, |b| {
        Ok::<_, Infallible>(Frame::data(b))
    }));
    let mut r = Response::new(BodyExt::boxed(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache, private"),
    );
    Ok(r)
}

/// The watch event a filtered watcher sees for a store event: a modification that makes an
/// object start or stop matching the selectors is an ADDED or DELETED, as in Kubernetes.
fn watch_kind(ev: &crate::store::Event, matches: &impl Fn(&Value) -> bool) -> Option<&'static str> {
    let now = matches(&ev.object);
    match ev.kind {
        EventType::Modified => match (ev.old.as_ref().map(matches), now) {
            (Some(false), true) => Some("ADDED"),
            (Some(true), false) => Some("DELETED"),
            (_, true) => Some("MODIFIED"),
            _ => None,
        },
        other => now.then_some(other.as_str()),
    }
}

#[allow(clippy::too_many_arguments)]
fn patch_object(
    state: &Arc<State>,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
    ct: &str,
    body: &[u8],
    query: &Query,
    part: Part,
) -> Result<(u16, Value), ApiError> {
    let dry = query.dry_run();
    let key = Key::new(rt, ns, name);
    let current = state.store.get(&key);
    let ct = ct.split(';').next().unwrap_or("").trim();
    let patch_doc = parse_body(body, ct)?;
    if ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor" {
        let manager = query.get("fieldManager").unwrap_or("").to_owned();
        if manager.is_empty() {
            return Err(ApiError::bad_request(
                "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests",
            ));
        }
        let mut applied = patch_doc;
        if let Some(m) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        let slot = (key.clone(), manager);
        let result = match current {
            None => (201, objects::create(state, rt, ns, applied.clone(), dry)?),
            Some(mut obj) => {
                let previous = state
                    .applied
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&slot)
                    .cloned();
                if let Some(previous) = previous {
                    patch::prune_unapplied(&mut obj, &previous, &applied);
                }
                patch::strategic(&mut obj, &applied);
                (200, objects::update(state, rt, ns, name, obj, part, dry)?)
            }
        };
        if !dry {
            state
                .applied
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(slot, applied);
        }
        return Ok(result);
    }
    let Some(mut obj) = current else {
        return Err(ApiError::not_found(rt, name));
    };
    let had_rv = patch_doc.pointer("/metadata/resourceVersion").is_some();
    match ct {
        "application/merge-patch+json" => patch::merge(&mut obj, &patch_doc),
        "application/strategic-merge-patch+json" => patch::strategic(&mut obj, &patch_doc),
        "application/json-patch+json" => patch::json(&mut obj, &patch_doc)
            .map_err(|e| ApiError::invalid(rt, name, "patch", &e))?,
        other => return Err(ApiError::unsupported_media(other)),
    }
    if !had_rv && let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    Ok((200, objects::update(state, rt, ns, name, obj, part, dry)?))
}

fn scale_of(obj: &Value) -> Value {
    let sel = obj
        .pointer("/spec/selector")
        .map(LabelSelectorText::from)
        .map(|s| s.0)
        .unwrap_or_default();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"], "uid": obj["metadata"]["uid"],
            "resourceVersion": obj["metadata"]["resourceVersion"], "creationTimestamp": obj["metadata"]["creationTimestamp"]
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": sel}
    })
}

struct LabelSelectorText(String);
impl From<&Value> for LabelSelectorText {
    fn from(sel: &Value) -> Self {
        let mut parts: Vec<String> = sel
            .get("matchLabels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        for e in sel
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let vals: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let key = e["key"].as_str().unwrap_or("");
            parts.push(match e["operator"].as_str().unwrap_or("") {
                "In" => format!("{key} in ({})", vals.join(",")),
                "NotIn" => format!("{key} notin ({})", vals.join(",")),
                "Exists" => key.to_owned(),
                _ => format!("!{key}"),
            });
        }
        LabelSelectorText(parts.join(","))
    }
}

async fn scale(
    state: &Arc<State>,
    t: &Target,
    req: Request<Incoming>,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let rt = t.rt;
    let ns = t.namespace.clone().unwrap_or_default();
    let name = t.name.clone().unwrap_or_default();
    let key = Key::new(rt, &ns, &name);
    let current = state
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(rt, &name))?;
    let method = req.method().clone();
    if method == Method::GET {
        return Ok(json_response(200, &scale_of(&current)));
    }
    let ct = content_type(&req);
    let (_, body) = read_body(req).await?;
    let doc = parse_body(&body, &ct)?;
    let new_scale = if method == Method::PUT {
        doc
    } else {
        let mut s = scale_of(&current);
        if let Some(m) = s.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => {
                patch::json(&mut s, &doc).map_err(|e| ApiError::invalid(rt, &name, "patch", &e))?
            }
            "application/strategic-merge-patch+json" | "application/apply-patch+yaml" => {
                patch::strategic(&mut s, &doc)
            }
            _ => patch::merge(&mut s, &doc),
        }
        s
    };
    let replicas = new_scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if replicas < 0 {
        return Err(ApiError::invalid(
            rt,
            &name,
            "spec.replicas",
            &format!("Invalid value: {replicas}: must be greater than or equal to 0"),
        ));
    }
    let mut obj = current;
    obj["spec"]["replicas"] = json!(replicas);
    match new_scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(rv) => obj["metadata"]["resourceVersion"] = json!(rv),
        None => {
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
        }
    }
    let updated = objects::update(state, rt, &ns, &name, obj, Part::Main, query.dry_run())?;
    Ok(json_response(200, &scale_of(&updated)))
}

fn pod_log(state: &Arc<State>, t: &Target, query: &Query) -> Result<Response<Body>, ApiError> {
    let ns = t.namespace.clone().unwrap_or_default();
    let name = t.name.clone().unwrap_or_default();
    let pod = state
        .store
        .get(&Key::new(t.rt, &ns, &name))
        .ok_or_else(|| ApiError::not_found(t.rt, &name))?;
    let containers: Vec<String> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    let container = match query.get("container") {
        Some(c) => c.to_owned(),
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(&format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    if !containers.contains(&container) {
        return Err(ApiError::bad_request(&format!(
            "container {container} is not valid for pod {name}"
        )));
    }
    let previous = query.flag("previous");
    let lines = controllers::pod_log(state, &ns, &name, Some(&container), previous);
    let Some(mut lines) = lines else {
        let waiting = pod
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| c["name"] == container.as_str())
            .and_then(|c| {
                c.pointer("/state/waiting/reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "ContainerCreating".into());
        if previous {
            return Err(ApiError::bad_request(&format!(
                "previous terminated container {container:?} in pod {name:?} not found"
            )));
        }
        return Err(ApiError::bad_request(&format!(
            "container {container:?} in pod {name:?} is waiting to start: {waiting}"
        )));
    };
    if let Some(tail) = query.get("tailLines").and_then(|t| t.parse::<usize>().ok()) {
        let skip = lines.len().saturating_sub(tail);
        lines.drain(..skip);
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    Ok(text_response(200, "text/plain", text.into_bytes()))
}

async fn proxy(
    state: &Arc<State>,
    t: &Target,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let ns = t.namespace.clone().unwrap_or_default();
    let raw = t.name.clone().unwrap_or_default();
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
    let result = if t.rt.kind == "Service" {
        if state.store.get(&Key::new(t.rt, &ns, name)).is_none() {
            return Err(ApiError::not_found(t.rt, name));
        }
        controllers::service_proxy(state, &ns, name, port, &method, &path).await
    } else {
        if state.store.get(&Key::new(t.rt, &ns, name)).is_none() {
            return Err(ApiError::not_found(t.rt, name));
        }
        controllers::pod_proxy(state, &ns, name, port, &method, &path).await
    };
    match result {
        Ok(r) => Ok(text_response(r.status, &r.content_type, r.body)),
        Err(controllers::ProxyError::ServiceNotFound) => Err(ApiError::not_found(t.rt, name)),
        Err(controllers::ProxyError::PodNotFound) => Err(ApiError::not_found(t.rt, name)),
        Err(controllers::ProxyError::NoEndpoints)
        | Err(controllers::ProxyError::PortNotFound(_)) => Err(ApiError::no_endpoints(name)),
        Err(controllers::ProxyError::PodNotRunning) => Err(ApiError::bad_request(&format!(
            "pod {name:?} is not running"
        ))),
    }
}
