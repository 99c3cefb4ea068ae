//! PATCH: JSON merge patch, strategic merge patch, JSON patch, and server-side apply (which
//! creates a missing object, requires a field manager, and removes what the same manager
//! applied before and no longer applies). The merge algorithms are in [`super::merge`].

use std::sync::Arc;

use serde_json::Value;

use super::http::{Query, parse_body};
use super::registry::{self, Part};
use super::status::ApiError;
use super::{Target, merge};
use crate::state::State;
use crate::storage::Key;

/// Patch `t` with `body` of content type `ct`; the status code (201 when apply created the
/// object) and the result.
pub fn apply(
    state: &Arc<State>,
    t: &Target,
    ct: &str,
    body: &[u8],
    query: &Query,
    part: Part,
) -> Result<(u16, Value), ApiError> {
    let (rt, ns, name) = (t.rt, t.ns(), t.name());
    let ct = ct.split(';').next().unwrap_or("").trim();
    let doc = parse_body(body, ct)?;
    if ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor" {
        return server_side_apply(state, t, doc, query, part);
    }
    let Some(mut obj) = state.store.get(&Key::new(rt, ns, name)) else {
        return Err(ApiError::not_found(&rt, name));
    };
    let had_rv = doc.pointer("/metadata/resourceVersion").is_some();
    match ct {
        "application/merge-patch+json" => merge::merge(&mut obj, &doc),
        "application/strategic-merge-patch+json" => merge::strategic(&mut obj, &doc),
        "application/json-patch+json" => {
            merge::json(&mut obj, &doc).map_err(|e| ApiError::invalid(&rt, name, "patch", &e))?
        }
        other => return Err(ApiError::unsupported_media(other)),
    }
    // A patch without a resourceVersion does not conflict.
    if !had_rv && let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    let dry = query.dry_run();
    Ok((200, registry::update(state, rt, ns, name, obj, part, dry)?))
}

fn server_side_apply(
    state: &Arc<State>,
    t: &Target,
    mut applied: Value,
    query: &Query,
    part: Part,
) -> Result<(u16, Value), ApiError> {
    let (rt, ns, name) = (t.rt, t.ns(), t.name());
    let manager = query.get("fieldManager").unwrap_or("").to_owned();
    if manager.is_empty() {
        return Err(ApiError::bad_request(
            "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests",
        ));
    }
    if let Some(m) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    let dry = query.dry_run();
    let key = Key::new(rt, ns, name);
    let slot = (key.clone(), manager);
    let applied_by = || state.applied.lock().unwrap_or_else(|p| p.into_inner());
    let result = match state.store.get(&key) {
        None => (201, registry::create(state, rt, ns, applied.clone(), dry)?),
        Some(mut obj) => {
            let previous = applied_by().get(&slot).cloned();
            if let Some(previous) = previous {
                merge::prune_unapplied(&mut obj, &previous, &applied);
            }
            merge::strategic(&mut obj, &applied);
            (200, registry::update(state, rt, ns, name, obj, part, dry)?)
        }
    };
    if !dry {
        applied_by().insert(slot, applied);
    }
    Ok(result)
}
