//! The `scale` subresource: an autoscaling/v1 Scale view of `spec.replicas` (with
//! `status.selector` in the API server's string form), read, replaced or patched.

use std::sync::Arc;

use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::http::{Body, Query, content_type, json_response, read_object};
use super::registry::{self, Part};
use super::status::ApiError;
use super::{Target, merge};
use crate::selectors::LabelSelector;
use crate::state::State;
use crate::storage::Key;

/// The Scale of a Deployment or ReplicaSet.
fn scale_of(obj: &Value) -> Value {
    let sel = obj
        .pointer("/spec/selector")
        .map(|s| LabelSelector::from_object(s).to_string())
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

/// Get, replace or patch the Scale of `t`.
pub async fn serve(
    state: &Arc<State>,
    t: &Target,
    req: Request<Incoming>,
    query: &Query,
) -> Result<Response<Body>, ApiError> {
    let (rt, ns, name) = (t.rt, t.ns(), t.name());
    let key = Key::new(rt, ns, name);
    let current = state
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&rt, name))?;
    let method = req.method().clone();
    if method == Method::GET {
        return Ok(json_response(200, &scale_of(&current)));
    }
    let ct = content_type(&req);
    let doc = read_object(req).await?;
    let new_scale = if method == Method::PUT {
        doc
    } else {
        let mut s = scale_of(&current);
        if let Some(m) = s.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => {
                merge::json(&mut s, &doc).map_err(|e| ApiError::invalid(&rt, name, "patch", &e))?
            }
            "application/strategic-merge-patch+json" | "application/apply-patch+yaml" => {
                merge::strategic(&mut s, &doc)
            }
            _ => merge::merge(&mut s, &doc),
        }
        s
    };
    let replicas = new_scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if replicas < 0 {
        return Err(ApiError::invalid(
            &rt,
            name,
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
    let updated = registry::update(state, rt, ns, name, obj, Part::Main, query.dry_run())?;
    Ok(json_response(200, &scale_of(&updated)))
}
