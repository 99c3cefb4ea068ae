//! Reading the fields every controller reads from API objects held as JSON: metadata,
//! owner references, conditions, and grouping by namespace or owner.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::resources::Resource;
use crate::storage::Key;

/// `metadata.<field>` as a string ("" when absent).
pub fn meta<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The uid of the controller owner, if any.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|r| r.get("uid"))
        .and_then(Value::as_str)
}

/// An ownerReference to `owner` (controller, blockOwnerDeletion).
pub fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": owner.get("kind").cloned().unwrap_or(Value::Null),
        "name": meta(owner, "name"),
        "uid": meta(owner, "uid"),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Whether a pod's Ready condition is True.
pub fn pod_ready(pod: &Value) -> bool {
    condition_true(pod, "Ready")
}

/// Whether `status.conditions` has `type` with status "True".
pub fn condition_true(obj: &Value, ty: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some(ty)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// Whether a pod is finished (Succeeded or Failed).
pub fn pod_finished(pod: &Value) -> bool {
    matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    )
}

/// Group objects by namespace.
pub fn by_namespace(items: &[Value]) -> HashMap<&str, Vec<&Value>> {
    let mut out: HashMap<&str, Vec<&Value>> = HashMap::new();
    for it in items {
        out.entry(meta(it, "namespace")).or_default().push(it);
    }
    out
}

/// Group objects by their controller owner uid.
pub fn by_owner(items: &[Value]) -> HashMap<&str, Vec<&Value>> {
    let mut out: HashMap<&str, Vec<&Value>> = HashMap::new();
    for it in items {
        if let Some(uid) = controller_uid(it) {
            out.entry(uid).or_default().push(it);
        }
    }
    out
}

/// The storage key of `obj`, an object of type `resource`.
pub fn key_of(resource: Resource, obj: &Value) -> Key {
    Key::new(resource, meta(obj, "namespace"), meta(obj, "name"))
}
