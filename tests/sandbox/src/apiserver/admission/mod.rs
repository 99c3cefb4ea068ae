//! Admission: the defaulting and validation of what clients (and controllers) write, for the
//! types whose defaults clients read: Namespaces and Secrets here, Services in [`service`],
//! Pods, Deployments and ReplicaSets in [`pods`]; and the rules for object names.

mod pods;
mod service;

use base64::Engine;
use serde_json::{Value, json};

use crate::apiserver::status::ApiError;
use crate::resources::Resource;
use crate::state::State;

/// Why `name` is not a valid object name for `rt`, if it is not.
pub fn invalid_name(rt: Resource, name: &str) -> Option<String> {
    let label_only = matches!(rt, Resource::Namespace | Resource::Service);
    let max = if label_only { 63 } else { 253 };
    let ok_chars = name.chars().all(|c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (!label_only && c == '.')
    });
    let ends_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.len() > max || !ok_chars || !ends_ok {
        Some(if label_only {
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character".into()
        } else {
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character".into()
        })
    } else {
        None
    }
}

pub(super) fn set_default(obj: &mut Value, key: &str, value: Value) {
    if let Some(m) = obj.as_object_mut()
        && m.get(key).is_none_or(Value::is_null)
    {
        m.insert(key.to_owned(), value);
    }
}

pub(super) fn name_of(obj: &Value) -> String {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// Apply defaults and validate. `old` is the stored object on updates.
pub fn apply(
    state: &State,
    rt: Resource,
    namespace: &str,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    match rt {
        Resource::Namespace => {
            let name = name_of(obj);
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            set_default(obj, "spec", json!({"finalizers": ["kubernetes"]}));
            if old.is_none() {
                obj["status"] = json!({"phase": "Active"});
            }
            Ok(())
        }
        Resource::Secret => secret(obj),
        Resource::Service => service::admit(state, namespace, obj, old),
        Resource::Deployment | Resource::ReplicaSet => pods::admit_workload(rt, obj, old),
        Resource::Pod => pods::admit_pod(obj, old),
        _ => Ok(()),
    }
}

/// `type: Opaque` by default, `stringData` folded into `data`, and `data` must be base64.
fn secret(obj: &mut Value) -> Result<(), ApiError> {
    set_default(obj, "type", json!("Opaque"));
    if let Some(Value::Object(sd)) = obj.as_object_mut().and_then(|m| m.remove("stringData")) {
        for (k, v) in sd {
            let text = v.as_str().unwrap_or("").to_owned();
            obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
    }
    for (k, v) in obj
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let valid = v
            .as_str()
            .is_some_and(|s| base64::engine::general_purpose::STANDARD.decode(s).is_ok());
        if !valid {
            return Err(ApiError::bad_request(&format!(
                "illegal base64 data in Secret data[{k:?}]"
            )));
        }
    }
    Ok(())
}
