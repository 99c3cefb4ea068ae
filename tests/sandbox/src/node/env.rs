//! Container environment, resolved like the kubelet: `envFrom` (ConfigMaps and Secrets, with
//! prefixes), then `env` (values with `$(VAR)` expansion, `valueFrom` key references, field
//! references); a missing object or key that is not optional fails with the kubelet's words
//! (the container then waits in CreateContainerConfigError).

use std::collections::BTreeMap;

use serde_json::Value;

use super::HOST_IP;
use crate::fields::meta;

fn decode_b64(v: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Key/value data of a Secret (decoded) or ConfigMap.
fn object_data(obj: &Value, secret: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if secret {
        if let Some(d) = obj.get("data").and_then(Value::as_object) {
            for (k, v) in d {
                if let Some(s) = v.as_str().and_then(decode_b64) {
                    out.insert(k.clone(), s);
                }
            }
        }
        if let Some(d) = obj.get("stringData").and_then(Value::as_object) {
            for (k, v) in d {
                out.insert(k.clone(), v.as_str().unwrap_or("").to_owned());
            }
        }
    } else {
        if let Some(d) = obj.get("data").and_then(Value::as_object) {
            for (k, v) in d {
                out.insert(k.clone(), v.as_str().unwrap_or("").to_owned());
            }
        }
        if let Some(d) = obj.get("binaryData").and_then(Value::as_object) {
            for (k, v) in d {
                if let Some(s) = v.as_str().and_then(decode_b64) {
                    out.insert(k.clone(), s);
                }
            }
        }
    }
    out
}

/// How the kubelet looks up a ConfigMap (`false`) or Secret (`true`) by name in the pod's
/// namespace.
pub type Lookup<'a> = &'a dyn Fn(bool, &str) -> Option<Value>;

fn what(secret: bool) -> &'static str {
    if secret { "secret" } else { "configmap" }
}

fn optional(r: &Value) -> bool {
    r.get("optional").and_then(Value::as_bool).unwrap_or(false)
}

/// Resolve a container's environment like the kubelet: `envFrom` then `env`. A missing
/// Secret/ConfigMap or key (unless `optional: true`) is an error with the kubelet's wording.
pub fn resolve_env(
    lookup: Lookup<'_>,
    namespace: &str,
    pod: &Value,
    container: &Value,
) -> Result<BTreeMap<String, String>, String> {
    let mut env = BTreeMap::new();
    let list = |field: &str| {
        container
            .get(field)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    };
    for src in list("envFrom") {
        env_from(lookup, src, &mut env)?;
    }
    for var in list("env") {
        let Some(name) = var.get("name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(v) = var.get("value").and_then(Value::as_str) {
            let expanded = expand(v, &env);
            env.insert(name.to_owned(), expanded);
            continue;
        }
        let Some(from) = var.get("valueFrom") else {
            env.insert(name.to_owned(), String::new());
            continue;
        };
        if let Some(v) = value_from(lookup, namespace, pod, from)? {
            env.insert(name.to_owned(), v);
        }
    }
    Ok(env)
}

/// One `envFrom` source: every key of the ConfigMap or Secret, with the prefix.
fn env_from(
    lookup: Lookup<'_>,
    src: &Value,
    env: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let prefix = src.get("prefix").and_then(Value::as_str).unwrap_or("");
    for (field, secret) in [("configMapRef", false), ("secretRef", true)] {
        let Some(r) = src.get(field) else { continue };
        let name = r.get("name").and_then(Value::as_str).unwrap_or("");
        match lookup(secret, name) {
            Some(obj) => {
                for (k, v) in object_data(&obj, secret) {
                    env.insert(format!("{prefix}{k}"), v);
                }
            }
            None if optional(r) => {}
            None => return Err(format!("{} {name:?} not found", what(secret))),
        }
    }
    Ok(())
}

/// A `valueFrom`: a ConfigMap or Secret key, a field of the pod, or a resource field
/// (always "0" here). None when an optional reference is missing.
fn value_from(
    lookup: Lookup<'_>,
    namespace: &str,
    pod: &Value,
    from: &Value,
) -> Result<Option<String>, String> {
    let mut value = None;
    for (field, secret) in [("configMapKeyRef", false), ("secretKeyRef", true)] {
        let Some(r) = from.get(field) else { continue };
        let obj_name = r.get("name").and_then(Value::as_str).unwrap_or("");
        let key = r.get("key").and_then(Value::as_str).unwrap_or("");
        match lookup(secret, obj_name).map(|obj| object_data(&obj, secret).remove(key)) {
            Some(Some(v)) => value = Some(v),
            Some(None) | None if optional(r) => {}
            Some(None) => {
                let kind = if secret { "Secret" } else { "ConfigMap" };
                return Err(format!(
                    "couldn't find key {key} in {kind} {namespace}/{obj_name}"
                ));
            }
            None => return Err(format!("{} {obj_name:?} not found", what(secret))),
        }
    }
    if let Some(path) = from.pointer("/fieldRef/fieldPath").and_then(Value::as_str) {
        value = Some(field_ref(namespace, pod, path));
    }
    if from.get("resourceFieldRef").is_some() {
        value = Some("0".to_owned());
    }
    Ok(value)
}

/// The value of a `fieldRef` (downward API).
fn field_ref(namespace: &str, pod: &Value, path: &str) -> String {
    let field = |p: &str, default: &str| {
        pod.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    match path {
        "metadata.name" => meta(pod, "name").to_owned(),
        "metadata.namespace" => namespace.to_owned(),
        "metadata.uid" => meta(pod, "uid").to_owned(),
        "spec.nodeName" => field("/spec/nodeName", "minikube"),
        "spec.serviceAccountName" => field("/spec/serviceAccountName", "default"),
        "status.podIP" => field("/status/podIP", ""),
        "status.hostIP" => HOST_IP.to_owned(),
        _ => String::new(),
    }
}

/// `$(VAR)` expansion of env values.
fn expand(v: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find("$(") {
        out.push_str(&rest[..i]);
        match rest[i + 2..].find(')') {
            Some(j) => {
                let name = &rest[i + 2..i + 2 + j];
                match env.get(name) {
                    Some(val) => out.push_str(val),
                    None => out.push_str(&rest[i..i + 3 + j]),
                }
                rest = &rest[i + 3 + j..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup_fixture(secret: bool, name: &str) -> Option<Value> {
        match (secret, name) {
            (true, "db") => Some(json!({"data": {"DATABASE_URL": "cG9zdGdyZXNxbDovL2gvZA=="}})),
            (false, "cfg") => Some(json!({"data": {"LOG_LEVEL": "info"}})),
            _ => None,
        }
    }

    #[test]
    fn env_resolves_secret_and_configmap_refs() {
        let c = json!({
            "envFrom": [{"configMapRef": {"name": "cfg"}}],
            "env": [
                {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "DATABASE_URL"}}},
                {"name": "X", "value": "$(LOG_LEVEL)-x"},
                {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": true}}}
            ]
        });
        let env = resolve_env(&lookup_fixture, "todo", &json!({}), &c).unwrap();
        assert_eq!(env["DATABASE_URL"], "postgresql://h/d");
        assert_eq!(env["LOG_LEVEL"], "info");
        assert_eq!(env["X"], "info-x");
        assert!(!env.contains_key("OPT"));
    }

    #[test]
    fn env_reports_missing_secret_and_key_like_the_kubelet() {
        let missing = json!({"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "todo-secrets", "key": "A"}}}]});
        assert_eq!(
            resolve_env(&lookup_fixture, "todo", &json!({}), &missing).unwrap_err(),
            "secret \"todo-secrets\" not found"
        );
        let no_key = json!({"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": "OPENAI_API_KEY"}}}]});
        assert_eq!(
            resolve_env(&lookup_fixture, "todo", &json!({}), &no_key).unwrap_err(),
            "couldn't find key OPENAI_API_KEY in Secret todo/db"
        );
        let cm = json!({"envFrom": [{"configMapRef": {"name": "todo-config"}}]});
        assert_eq!(
            resolve_env(&lookup_fixture, "todo", &json!({}), &cm).unwrap_err(),
            "configmap \"todo-config\" not found"
        );
    }
}
