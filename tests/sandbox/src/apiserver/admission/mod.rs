//! Defaulting and validation at admission, for the types whose defaults clients read
//! (Deployments, Pods, Services, Secrets, Namespaces).

use base64::Engine;
use serde_json::{Value, json};

use crate::resources::ResourceType;
use crate::scenario::image_tag;
use crate::selectors::LabelSelector;
use crate::state::State;
use crate::status::ApiError;

/// Why `name` is not a valid object name for `rt`, if it is not.
pub fn invalid_name(rt: &ResourceType, name: &str) -> Option<String> {
    let label_only = matches!(rt.kind, "Namespace" | "Service");
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

fn set_default(obj: &mut Value, key: &str, value: Value) {
    if let Some(m) = obj.as_object_mut()
        && m.get(key).is_none_or(Value::is_null)
    {
        m.insert(key.to_owned(), value);
    }
}

fn name_of(obj: &Value) -> String {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// Apply defaults and validate. `old` is the stored object on updates.
pub fn apply(
    state: &State,
    rt: &ResourceType,
    namespace: &str,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    match rt.kind {
        "Namespace" => {
            let name = name_of(obj);
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            set_default(obj, "spec", json!({"finalizers": ["kubernetes"]}));
            if old.is_none() {
                obj["status"] = json!({"phase": "Active"});
            }
        }
        "Secret" => {
            set_default(obj, "type", json!("Opaque"));
            if let Some(Value::Object(sd)) =
                obj.as_object_mut().and_then(|m| m.remove("stringData"))
            {
                for (k, v) in sd {
                    let text = v.as_str().unwrap_or("").to_owned();
                    obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
                }
            }
            if let Some(data) = obj.get("data").and_then(Value::as_object) {
                for (k, v) in data {
                    let valid = v.as_str().is_some_and(|s| {
                        base64::engine::general_purpose::STANDARD.decode(s).is_ok()
                    });
                    if !valid {
                        return Err(ApiError::bad_request(&format!(
                            "illegal base64 data in Secret data[{k:?}]"
                        )));
                    }
                }
            }
        }
        "Service" => service(state, rt, namespace, obj, old)?,
        "Deployment" | "ReplicaSet" => {
            let spec = obj.get_mut("spec").ok_or_else(|| {
                ApiError::invalid(rt, &name_of(&Value::Null), "spec", "Required value")
            })?;
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            if rt.kind == "Deployment" {
                set_default(spec, "progressDeadlineSeconds", json!(600));
                set_default(spec, "strategy", json!({}));
                set_default(&mut spec["strategy"], "type", json!("RollingUpdate"));
                if spec["strategy"]["type"] == "RollingUpdate" {
                    set_default(&mut spec["strategy"], "rollingUpdate", json!({}));
                    set_default(
                        &mut spec["strategy"]["rollingUpdate"],
                        "maxSurge",
                        json!("25%"),
                    );
                    set_default(
                        &mut spec["strategy"]["rollingUpdate"],
                        "maxUnavailable",
                        json!("25%"),
                    );
                }
            }
            let name = name_of(obj);
            let spec = &mut obj["spec"];
            let selector = spec.get("selector").cloned().unwrap_or(Value::Null);
            if selector.is_null() {
                return Err(ApiError::invalid(
                    rt,
                    &name,
                    "spec.selector",
                    "Required value",
                ));
            }
            let labels = spec.pointer("/template/metadata/labels").cloned();
            if !LabelSelector::from_object(&selector).matches(labels.as_ref()) {
                return Err(ApiError::invalid(
                    rt,
                    &name,
                    "spec.template.metadata.labels",
                    &format!(
                        "Invalid value: {}: `selector` does not match template `labels`",
                        labels.unwrap_or(Value::Null)
                    ),
                ));
            }
            if let Some(old) = old
                && old.pointer("/spec/selector") != Some(&selector)
                && rt.kind == "Deployment"
            {
                return Err(ApiError::invalid(
                    rt,
                    &name,
                    "spec.selector",
                    &format!("Invalid value: {selector}: field is immutable"),
                ));
            }
            if let Some(pod_spec) = spec.pointer_mut("/template/spec") {
                pod_spec_defaults(pod_spec);
                validate_pod_spec(rt, &name, "spec.template.spec", pod_spec)?;
            } else {
                return Err(ApiError::invalid(
                    rt,
                    &name,
                    "spec.template.spec.containers",
                    "Required value",
                ));
            }
        }
        "Pod" => {
            let name = name_of(obj);
            let Some(spec) = obj.get_mut("spec") else {
                return Err(ApiError::invalid(
                    rt,
                    &name,
                    "spec.containers",
                    "Required value",
                ));
            };
            pod_spec_defaults(spec);
            validate_pod_spec(rt, &name, "spec", spec)?;
            if old.is_none() {
                let qos = qos_class(spec);
                obj["status"] = json!({"phase": "Pending", "qosClass": qos});
            }
        }
        _ => {}
    }
    Ok(())
}

fn pod_spec_defaults(spec: &mut Value) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    for field in ["containers", "initContainers"] {
        if let Some(cs) = spec.get_mut(field).and_then(Value::as_array_mut) {
            for c in cs {
                let image = c
                    .get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let policy = if image_tag(&image) == "latest" {
                    "Always"
                } else {
                    "IfNotPresent"
                };
                set_default(c, "imagePullPolicy", json!(policy));
                set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
                set_default(c, "terminationMessagePolicy", json!("File"));
                set_default(c, "resources", json!({}));
                if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports {
                        set_default(p, "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
}

fn validate_pod_spec(
    rt: &ResourceType,
    name: &str,
    path: &str,
    spec: &Value,
) -> Result<(), ApiError> {
    let containers = spec.get("containers").and_then(Value::as_array);
    if containers.is_none_or(|c| c.is_empty()) {
        return Err(ApiError::invalid(
            rt,
            name,
            &format!("{path}.containers"),
            "Required value",
        ));
    }
    for (i, c) in containers.into_iter().flatten().enumerate() {
        if c.get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::invalid(
                rt,
                name,
                &format!("{path}.containers[{i}].name"),
                "Required value",
            ));
        }
        if c.get("image")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::invalid(
                rt,
                name,
                &format!("{path}.containers[{i}].image"),
                "Required value",
            ));
        }
    }
    Ok(())
}

fn qos_class(spec: &Value) -> &'static str {
    let cs: Vec<&Value> = spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let has = |c: &Value, kind: &str| {
        c.pointer(&format!("/resources/{kind}"))
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
    };
    if cs.iter().all(|c| !has(c, "requests") && !has(c, "limits")) {
        "BestEffort"
    } else if cs.iter().all(|c| {
        has(c, "limits")
            && c.pointer("/resources/limits/cpu").is_some()
            && c.pointer("/resources/limits/memory").is_some()
            && (!has(c, "requests")
                || c.pointer("/resources/requests") == c.pointer("/resources/limits"))
    }) {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn service(
    state: &State,
    rt: &ResourceType,
    namespace: &str,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let name = name_of(obj);
    set_default(obj, "spec", json!({}));
    let spec = &mut obj["spec"];
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    set_default(spec, "ipFamilies", json!(["IPv4"]));
    set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
    set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    let kind = spec["type"].as_str().unwrap_or("ClusterIP").to_owned();
    if !matches!(
        kind.as_str(),
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName"
    ) {
        return Err(ApiError::invalid(
            rt,
            &name,
            "spec.type",
            &format!(
                "Unsupported value: {kind:?}: supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
            ),
        ));
    }
    if kind != "ExternalName" {
        let ip = old
            .and_then(|o| o.pointer("/spec/clusterIP").cloned())
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .or_else(|| {
                spec.get("clusterIP")
                    .cloned()
                    .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            })
            .unwrap_or_else(|| {
                let n = state
                    .serial
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                json!(format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 2))
            });
        spec["clusterIP"] = ip.clone();
        spec["clusterIPs"] = json!([ip]);
    }
    if kind == "NodePort" || kind == "LoadBalancer" {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    let mut used: Vec<i64> = Vec::new();
    let (services, _) = state.store.list("v1/services", None);
    for s in &services {
        let same = s.pointer("/metadata/namespace").and_then(Value::as_str) == Some(namespace)
            && name_of(s) == name;
        if same {
            continue;
        }
        for p in s
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
                used.push(np);
            }
        }
    }
    let old_ports: Vec<Value> = old
        .and_then(|o| o.pointer("/spec/ports").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for (i, p) in ports.iter_mut().enumerate() {
            set_default(p, "protocol", json!("TCP"));
            let port = p.get("port").cloned().unwrap_or(Value::Null);
            if !port.is_i64() {
                return Err(ApiError::invalid(
                    rt,
                    &name,
                    &format!("spec.ports[{i}].port"),
                    "Required value",
                ));
            }
            set_default(p, "targetPort", port.clone());
            if kind == "NodePort" || kind == "LoadBalancer" {
                match p.get("nodePort").and_then(Value::as_i64) {
                    Some(np) => {
                        if !(30000..=32767).contains(&np) {
                            return Err(ApiError::invalid(
                                rt,
                                &name,
                                &format!("spec.ports[{i}].nodePort"),
                                &format!(
                                    "Invalid value: {np}: provided port is not in the valid range. The range of valid ports is 30000-32767"
                                ),
                            ));
                        }
                        if used.contains(&np) {
                            return Err(ApiError::invalid(
                                rt,
                                &name,
                                &format!("spec.ports[{i}].nodePort"),
                                &format!("Invalid value: {np}: provided port is already allocated"),
                            ));
                        }
                        used.push(np);
                    }
                    None => {
                        let keep = old_ports
                            .iter()
                            .find(|o| o.get("port") == Some(&port))
                            .and_then(|o| o.get("nodePort").and_then(Value::as_i64));
                        let np = keep.unwrap_or_else(|| {
                            (30000..=32767).find(|n| !used.contains(n)).unwrap_or(32767)
                        });
                        used.push(np);
                        p["nodePort"] = json!(np);
                    }
                }
            } else if let Some(m) = p.as_object_mut() {
                m.remove("nodePort");
            }
        }
    }
    if old.is_none() {
        obj["status"] = json!({"loadBalancer": {}});
    }
    Ok(())
}
