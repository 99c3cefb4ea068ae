//! The REST verbs on a resource or its `status` subresource: get, list (label and field
//! selectors, `limit`/`continue` paging, Table output), create, update, patch, delete (with
//! propagation policy) and deletecollection. Watch is in [`super::watch`].

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::auth::Verb;
use super::http::{
    Body, Query, include_object, json_response, read_body, read_object, wants_table,
};
use super::registry::{self, Part};
use super::status::ApiError;
use super::{Target, patch, table, watch};
use crate::fields::meta;
use crate::resources::{self, Resource};
use crate::selectors::Selection;
use crate::state::State;
use crate::storage::Key;

/// Serve `verb` on `t` (the main resource or, with `Part::Status`, its status).
pub async fn serve(
    state: &Arc<State>,
    t: &Target,
    verb: Verb,
    part: Part,
    req: Request<Incoming>,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let (rt, ns, name) = (t.rt, t.ns(), t.name());
    let dry = query.dry_run();
    match verb {
        Verb::Get => {
            let obj = state
                .store
                .get(&Key::new(rt, ns, name))
                .ok_or_else(|| ApiError::not_found(&rt, name))?;
            Ok(respond_object(&req, obj))
        }
        Verb::List => list(state, rt, t.namespace.as_deref(), query, &req),
        Verb::Watch => watch::serve(state, rt, t.namespace.clone(), query),
        Verb::Create => {
            let obj = read_object(req).await?;
            Ok(json_response(
                201,
                &registry::create(state, rt, ns, obj, dry)?,
            ))
        }
        Verb::Update => {
            let obj = read_object(req).await?;
            let updated = registry::update(state, rt, ns, name, obj, part, dry)?;
            Ok(json_response(200, &updated))
        }
        Verb::Patch => {
            let ct = super::http::content_type(&req);
            let body = read_body(req).await?;
            let (code, obj) = patch::apply(state, t, &ct, &body, query, part)?;
            Ok(json_response(code, &obj))
        }
        Verb::Delete => {
            let opts = read_object(req).await.unwrap_or(Value::Null);
            let deleted = registry::delete(state, rt, ns, name, orphans(query, &opts), dry)?;
            Ok(json_response(200, &deleted))
        }
        Verb::DeleteCollection => delete_collection(state, t, query),
        Verb::Proxy => Err(ApiError::method_not_allowed()),
    }
}

/// Whether a delete orphans the dependents (`propagationPolicy: Orphan`, in the query or the
/// DeleteOptions body, or the old `orphanDependents: true`).
fn orphans(query: &Query, opts: &Value) -> bool {
    let policy = query
        .get("propagationPolicy")
        .or_else(|| opts.get("propagationPolicy").and_then(Value::as_str));
    policy == Some("Orphan") || opts.get("orphanDependents") == Some(&json!(true))
}

pub(crate) fn selection(query: &Query) -> Result<Selection, ApiError> {
    Selection::parse(
        query.get("labelSelector").unwrap_or(""),
        query.get("fieldSelector").unwrap_or(""),
    )
    .map_err(|e| ApiError::bad_request(&e))
}

/// An object, or a one-row Table when asked.
fn respond_object(req: &Request<Incoming>, obj: Value) -> Response<Body> {
    if wants_table(req)
        && let Some(rt) = resources::by_kind(
            obj["apiVersion"].as_str().unwrap_or(""),
            obj["kind"].as_str().unwrap_or(""),
        )
    {
        return json_response(200, &table::table(&rt, &[obj], None, include_object(req)));
    }
    json_response(200, &obj)
}

fn list(
    state: &Arc<State>,
    rt: Resource,
    ns: Option<&str>,
    query: &Query,
    req: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let selection = selection(query)?;
    let (items, rv) = state.store.list(rt, ns);
    let items: Vec<Value> = items.into_iter().filter(|o| selection.matches(o)).collect();
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
    let page: Vec<Value> = items
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
            &table::table(&rt, &page, Some(meta), include_object(req)),
        ));
    }
    Ok(json_response(200, &list_object(rt, meta, page)))
}

fn list_object(rt: Resource, meta: Value, items: Vec<Value>) -> Value {
    json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": meta, "items": items})
}

fn delete_collection(
    state: &Arc<State>,
    t: &Target,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let selection = selection(query)?;
    let (items, _) = state.store.list(t.rt, t.namespace.as_deref());
    let deleted: Vec<Value> = items
        .iter()
        .filter(|o| selection.matches(o))
        .filter_map(|item| {
            let (ns, name) = (meta(item, "namespace"), meta(item, "name"));
            registry::delete(state, t.rt, ns, name, false, query.dry_run()).ok()
        })
        .collect();
    Ok(json_response(200, &list_object(t.rt, json!({}), deleted)))
}
