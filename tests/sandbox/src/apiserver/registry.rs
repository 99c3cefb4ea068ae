//! Writes that go through the same path for API clients and controllers: metadata
//! (uid, creationTimestamp, generation, generateName), type defaults, validation, and
//! generation bumps on spec changes.

use serde_json::{Value, json};

use crate::defaults;
use crate::resources::ResourceType;
use crate::state::{State, now};
use crate::status::ApiError;
use crate::store::{Key, StoreError};

/// Create `obj` of type `rt` in `namespace` (ignored for cluster-scoped types). Fills in
/// metadata and defaults, validates, and stores it unless `dry_run`.
pub fn create(
    state: &State,
    rt: &ResourceType,
    namespace: &str,
    mut obj: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let meta = &mut obj["metadata"];
    if rt.namespaced {
        if let Some(ns) = meta.get("namespace").and_then(Value::as_str)
            && !ns.is_empty()
            && ns != namespace
        {
            return Err(ApiError::bad_request(&format!(
                "the namespace of the provided object does not match the namespace sent on the request ({ns} != {namespace})"
            )));
        }
        meta["namespace"] = json!(namespace);
    } else if let Some(m) = meta.as_object_mut() {
        m.remove("namespace");
    }
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let name = if name.is_empty() {
        match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => format!("{prefix}{}", state.suffix(5)),
            _ => {
                return Err(ApiError::invalid(
                    rt,
                    "",
                    "metadata.name",
                    "Required value: name or generateName is required",
                ));
            }
        }
    } else {
        name
    };
    if let Some(reason) = defaults::invalid_name(rt, &name) {
        return Err(ApiError::invalid(
            rt,
            &name,
            "metadata.name",
            &format!("Invalid value: {name:?}: {reason}"),
        ));
    }
    if rt.namespaced && rt.kind != "Namespace" {
        let ns_key = Key {
            resource: "v1/namespaces",
            namespace: String::new(),
            name: namespace.to_owned(),
        };
        if state.store.get(&ns_key).is_none() {
            return Err(ApiError::not_found_ns(namespace));
        }
    }
    let meta = &mut obj["metadata"];
    meta["name"] = json!(name);
    meta["uid"] = json!(state.uid());
    meta["creationTimestamp"] = json!(now());
    if let Some(m) = meta.as_object_mut() {
        m.remove("resourceVersion");
        m.remove("deletionTimestamp");
        m.remove("managedFields");
    }
    if rt.generation {
        obj["metadata"]["generation"] = json!(1);
    }
    defaults::apply(state, rt, namespace, &mut obj, None)?;
    if dry_run {
        return Ok(obj);
    }
    state
        .store
        .create(Key::new(rt, namespace, &name), obj)
        .map_err(|e| match e {
            StoreError::AlreadyExists => ApiError::already_exists(rt, &name),
            other => ApiError::internal(&format!("{other:?}")),
        })
}

/// Which part of an object an update may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The main resource: status is kept as stored.
    Main,
    /// The status subresource: only status changes.
    Status,
    /// Everything (controllers).
    All,
}

/// Replace an object. `obj`'s resourceVersion, when set, must match (409 otherwise).
pub fn update(
    state: &State,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    mut obj: Value,
    part: Part,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let key = Key::new(rt, namespace, name);
    let Some(current) = state.store.get(&key) else {
        return Err(ApiError::not_found(rt, name));
    };
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    if let Some(body_name) = obj.pointer("/metadata/name").and_then(Value::as_str)
        && body_name != name
    {
        return Err(ApiError::bad_request(&format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    // Immutable metadata is kept from the stored object.
    for field in [
        "uid",
        "creationTimestamp",
        "namespace",
        "name",
        "generation",
        "deletionTimestamp",
    ] {
        match current["metadata"].get(field) {
            Some(v) => obj["metadata"][field] = v.clone(),
            None => {
                if let Some(m) = obj["metadata"].as_object_mut() {
                    m.remove(field);
                }
            }
        }
    }
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    match part {
        Part::Main if rt.subresources.contains(&"status") => match current.get("status") {
            Some(s) => obj["status"] = s.clone(),
            None => {
                if let Some(o) = obj.as_object_mut() {
                    o.remove("status");
                }
            }
        },
        Part::Status => {
            let status = obj.get("status").cloned();
            let rv = obj.pointer("/metadata/resourceVersion").cloned();
            obj = current.clone();
            match status {
                Some(s) => obj["status"] = s,
                None => {
                    if let Some(o) = obj.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
            match rv {
                Some(rv) => obj["metadata"]["resourceVersion"] = rv,
                None => {
                    if let Some(m) = obj["metadata"].as_object_mut() {
                        m.remove("resourceVersion");
                    }
                }
            }
        }
        _ => {}
    }
    if part != Part::Status {
        defaults::apply(state, rt, namespace, &mut obj, Some(&current))?;
    }
    if rt.generation && obj.get("spec") != current.get("spec") {
        let generation = current
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        obj["metadata"]["generation"] = json!(generation + 1);
    }
    if dry_run {
        return Ok(obj);
    }
    state.store.update(&key, obj).map_err(|e| match e {
        StoreError::Conflict => ApiError::conflict(rt, name),
        StoreError::NotFound => ApiError::not_found(rt, name),
        other => ApiError::internal(&format!("{other:?}")),
    })
}

/// Delete an object. Dependents are removed by the garbage collector (background
/// propagation) or orphaned (`orphan`).
pub fn delete(
    state: &State,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    orphan: bool,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let key = Key::new(rt, namespace, name);
    if dry_run {
        return state
            .store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(rt, name));
    }
    let deleted = state
        .store
        .delete(&key)
        .map_err(|_| ApiError::not_found(rt, name))?;
    let uid = deleted
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if orphan {
        for (k, v) in state.store.all() {
            let owned = v
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid.as_str()));
            if owned {
                state.store.modify(&k, |o| {
                    if let Some(refs) = o
                        .pointer_mut("/metadata/ownerReferences")
                        .and_then(Value::as_array_mut)
                    {
                        refs.retain(|r| r["uid"] != uid.as_str());
                    }
                    true
                });
            }
        }
    }
    if rt.kind == "Namespace" {
        for (k, _) in state.store.all() {
            if k.namespace == name {
                let _ = state.store.delete(&k);
            }
        }
    }
    Ok(deleted)
}
