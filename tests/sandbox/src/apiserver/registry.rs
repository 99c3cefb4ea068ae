//! Writes that go through the same path for API clients and controllers: metadata
//! (uid, creationTimestamp, generation, generateName), type defaults, validation, and
//! generation bumps on spec changes.

use serde_json::{Value, json};

use crate::apiserver::admission;
use crate::apiserver::status::ApiError;
use crate::resources::{Resource, Subresource};
use crate::state::{State, now};
use crate::storage::{Key, StoreError};

/// Create `obj` of type `rt` in `namespace` (ignored for cluster-scoped types). Fills in
/// metadata and defaults, validates, and stores it unless `dry_run`.
pub fn create(
    state: &State,
    rt: Resource,
    namespace: &str,
    mut obj: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    stamp_type(rt, &mut obj)?;
    let name = place(state, rt, namespace, &mut obj["metadata"])?;
    if let Some(reason) = admission::invalid_name(rt, &name) {
        return Err(ApiError::invalid(
            &rt,
            &name,
            "metadata.name",
            &format!("Invalid value: {name:?}: {reason}"),
        ));
    }
    if rt.namespaced && rt != Resource::Namespace {
        let ns_key = Key::new(Resource::Namespace, "", namespace);
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
    admission::apply(state, rt, namespace, &mut obj, None)?;
    if dry_run {
        return Ok(obj);
    }
    state
        .store
        .create(Key::new(rt, namespace, &name), obj)
        .map_err(|e| match e {
            StoreError::AlreadyExists => ApiError::already_exists(&rt, &name),
            other => ApiError::internal(&format!("{other:?}")),
        })
}

/// Body checks every write shares: a JSON object, with this type's apiVersion and kind and a
/// metadata map.
fn stamp_type(rt: Resource, obj: &mut Value) -> Result<(), ApiError> {
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
    Ok(())
}

/// A new object's namespace (the request's; a different one in the body is an error) and
/// name (or one generated from `generateName`).
fn place(
    state: &State,
    rt: Resource,
    namespace: &str,
    meta: &mut Value,
) -> Result<String, ApiError> {
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
    let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    if !name.is_empty() {
        return Ok(name.to_owned());
    }
    match meta.get("generateName").and_then(Value::as_str) {
        Some(prefix) if !prefix.is_empty() => Ok(format!("{prefix}{}", state.suffix(5))),
        _ => Err(ApiError::invalid(
            &rt,
            "",
            "metadata.name",
            "Required value: name or generateName is required",
        )),
    }
}

/// `obj[key] = value`, or no `key` when None.
fn set_or_remove(obj: &mut Value, key: &str, value: Option<Value>) {
    match value {
        Some(v) => obj[key] = v,
        None => {
            if let Some(m) = obj.as_object_mut() {
                m.remove(key);
            }
        }
    }
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
    rt: Resource,
    namespace: &str,
    name: &str,
    mut obj: Value,
    part: Part,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let key = Key::new(rt, namespace, name);
    let Some(current) = state.store.get(&key) else {
        return Err(ApiError::not_found(&rt, name));
    };
    stamp_type(rt, &mut obj)?;
    if let Some(body_name) = obj.pointer("/metadata/name").and_then(Value::as_str)
        && body_name != name
    {
        return Err(ApiError::bad_request(&format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
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
        set_or_remove(
            &mut obj["metadata"],
            field,
            current["metadata"].get(field).cloned(),
        );
    }
    set_or_remove(&mut obj["metadata"], "managedFields", None);
    match part {
        Part::Main if rt.has(Subresource::Status) => {
            set_or_remove(&mut obj, "status", current.get("status").cloned());
        }
        Part::Status => {
            let status = obj.get("status").cloned();
            let rv = obj.pointer("/metadata/resourceVersion").cloned();
            obj = current.clone();
            set_or_remove(&mut obj, "status", status);
            set_or_remove(&mut obj["metadata"], "resourceVersion", rv);
        }
        _ => {}
    }
    if part != Part::Status {
        admission::apply(state, rt, namespace, &mut obj, Some(&current))?;
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
        StoreError::Conflict => ApiError::conflict(&rt, name),
        StoreError::NotFound => ApiError::not_found(&rt, name),
        other => ApiError::internal(&format!("{other:?}")),
    })
}

/// Delete an object. Dependents are removed by the garbage collector (background
/// propagation) or orphaned (`orphan`).
pub fn delete(
    state: &State,
    rt: Resource,
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
            .ok_or_else(|| ApiError::not_found(&rt, name));
    }
    let deleted = state
        .store
        .delete(&key)
        .map_err(|_| ApiError::not_found(&rt, name))?;
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
    if rt == Resource::Namespace {
        for (k, _) in state.store.all() {
            if k.namespace == name {
                let _ = state.store.delete(&k);
            }
        }
    }
    Ok(deleted)
}
