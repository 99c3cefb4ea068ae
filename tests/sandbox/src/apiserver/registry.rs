//! Writes that go through the same path for API clients and controllers: metadata
//! (uid, creationTimestamp, generation, generateName), type defaults, validation, and
//! generation bumps on spec changes. Deletes are in [`super::delete`].

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
    let key = Key::new(rt, namespace, &name);
    if dry_run {
        // As the dry-run storage does: an existing name still conflicts; nothing is kept.
        if state.store.get(&key).is_some() {
            return Err(ApiError::already_exists(&rt, &name));
        }
        return Ok(obj);
    }
    state.store.create(key, obj).map_err(|e| match e {
        StoreError::AlreadyExists => ApiError::already_exists(&rt, &name),
        other => ApiError::internal(&format!("{other:?}")),
    })
}

/// `obj` with what an update of `part` may not change taken from `current`: the immutable
/// metadata (uid, creationTimestamp, namespace, name, generation, deletionTimestamp), no
/// managedFields; the stored status for the main resource of a type with a status
/// subresource; for the status subresource, the stored object with only the new status (and
/// the body's resourceVersion, the precondition).
fn kept_for_update(rt: Resource, current: &Value, mut obj: Value, part: Part) -> Value {
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
    obj
}

/// metadata.generation + 1 when the spec of a type that counts generations changed.
fn bump_generation(rt: Resource, current: &Value, obj: &mut Value) {
    if rt.generation && obj.get("spec") != current.get("spec") {
        let generation = current
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        obj["metadata"]["generation"] = json!(generation + 1);
    }
}

/// A dry-run update: the resourceVersion precondition still applies (409), and the object
/// keeps the stored resourceVersion.
fn dry_run_update(
    rt: Resource,
    name: &str,
    current: &Value,
    mut obj: Value,
) -> Result<Value, ApiError> {
    let stored_rv = current.pointer("/metadata/resourceVersion").cloned();
    if let Some(rv) = obj
        .pointer("/metadata/resourceVersion")
        .filter(|v| *v != "")
        && Some(rv) != stored_rv.as_ref()
    {
        return Err(ApiError::conflict(&rt, name));
    }
    if let Some(rv) = stored_rv {
        obj["metadata"]["resourceVersion"] = rv;
    }
    Ok(obj)
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
///
/// The steps: check the body's name, keep what the update may not change (`kept_for_update`),
/// admit it (not for status), bump the generation on a spec change, then store it (or, with
/// `dry_run`, check the precondition only: `dry_run_update`).
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
    obj = kept_for_update(rt, &current, obj, part);
    if part != Part::Status {
        admission::apply(state, rt, namespace, &mut obj, Some(&current))?;
    }
    bump_generation(rt, &current, &mut obj);
    if dry_run {
        return dry_run_update(rt, name, &current, obj);
    }
    state.store.update(&key, obj).map_err(|e| match e {
        StoreError::Conflict => ApiError::conflict(&rt, name),
        StoreError::NotFound => ApiError::not_found(&rt, name),
        other => ApiError::internal(&format!("{other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "todo", "uid": "u1", "generation": 2,
                         "resourceVersion": "7"},
            "spec": {"replicas": 1},
            "status": {"replicas": 1}
        })
    }

    #[test]
    fn an_update_keeps_immutable_metadata_and_the_stored_status() {
        assert!(Resource::Deployment.has(Subresource::Status));
        let body = json!({
            "metadata": {"name": "web", "uid": "forged", "managedFields": [{}],
                         "resourceVersion": "7"},
            "spec": {"replicas": 3},
            "status": {"replicas": 9}
        });
        let kept = kept_for_update(Resource::Deployment, &stored(), body, Part::Main);
        assert_eq!(kept["metadata"]["uid"], "u1");
        assert_eq!(kept["metadata"]["namespace"], "todo");
        assert_eq!(kept["metadata"]["generation"], 2);
        assert!(kept["metadata"].get("managedFields").is_none());
        assert_eq!(kept["spec"]["replicas"], 3);
        assert_eq!(kept["status"]["replicas"], 1);
    }

    #[test]
    fn a_status_update_changes_only_the_status() {
        let body = json!({
            "metadata": {"name": "web", "resourceVersion": "7"},
            "spec": {"replicas": 5},
            "status": {"replicas": 2}
        });
        let kept = kept_for_update(Resource::Deployment, &stored(), body, Part::Status);
        assert_eq!(kept["spec"]["replicas"], 1);
        assert_eq!(kept["status"]["replicas"], 2);
        assert_eq!(kept["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn the_generation_moves_only_with_the_spec() {
        let current = stored();
        let mut same = current.clone();
        bump_generation(Resource::Deployment, &current, &mut same);
        assert_eq!(same["metadata"]["generation"], 2);
        let mut changed = current.clone();
        changed["spec"]["replicas"] = json!(4);
        bump_generation(Resource::Deployment, &current, &mut changed);
        assert_eq!(changed["metadata"]["generation"], 3);
    }

    #[test]
    fn a_dry_run_update_checks_the_precondition_and_keeps_the_version() {
        let current = stored();
        let mut stale = current.clone();
        stale["metadata"]["resourceVersion"] = json!("6");
        assert!(dry_run_update(Resource::Deployment, "web", &current, stale).is_err());
        let mut unset = current.clone();
        unset["metadata"]["resourceVersion"] = json!("");
        let out = dry_run_update(Resource::Deployment, "web", &current, unset).unwrap();
        assert_eq!(out["metadata"]["resourceVersion"], "7");
    }
}
