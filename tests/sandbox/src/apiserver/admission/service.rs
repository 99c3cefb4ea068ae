//! Service admission: type and traffic-policy defaults, a cluster IP from 10.96.0.0/12 kept
//! across updates, target ports defaulting to the port, and node ports (30000-32767) checked
//! or allocated for NodePort and LoadBalancer Services.

use serde_json::{Value, json};

use super::{name_of, set_default};
use crate::apiserver::status::ApiError;
use crate::resources::Resource;
use crate::state::State;

const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// Default and validate a Service; `old` is the stored one on updates.
pub fn admit(
    state: &State,
    namespace: &str,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let name = name_of(obj);
    let invalid =
        |field: &str, detail: &str| ApiError::invalid(&Resource::Service, &name, field, detail);
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
        return Err(invalid(
            "spec.type",
            &format!(
                "Unsupported value: {kind:?}: supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
            ),
        ));
    }
    if kind != "ExternalName" {
        let ip = cluster_ip(state, spec, old);
        spec["clusterIP"] = ip.clone();
        spec["clusterIPs"] = json!([ip]);
    }
    let node_ports = kind == "NodePort" || kind == "LoadBalancer";
    if node_ports {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    let mut used = node_ports_in_use(state, namespace, &name);
    let old_ports: Vec<Value> = old
        .and_then(|o| o.pointer("/spec/ports").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for (i, p) in ports.iter_mut().enumerate() {
            set_default(p, "protocol", json!("TCP"));
            let port = p.get("port").cloned().unwrap_or(Value::Null);
            if !port.is_i64() {
                return Err(invalid(&format!("spec.ports[{i}].port"), "Required value"));
            }
            set_default(p, "targetPort", port.clone());
            if node_ports {
                let np = node_port(p, &port, &old_ports, &used)
                    .map_err(|detail| invalid(&format!("spec.ports[{i}].nodePort"), &detail))?;
                used.push(np);
                p["nodePort"] = json!(np);
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

/// The stored cluster IP on updates, else the one asked for, else a new one.
fn cluster_ip(state: &State, spec: &Value, old: Option<&Value>) -> Value {
    let set = |v: Option<&Value>| {
        v.filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .cloned()
    };
    set(old.and_then(|o| o.pointer("/spec/clusterIP")))
        .or_else(|| set(spec.get("clusterIP")))
        .unwrap_or_else(|| {
            let n = state
                .serial
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            json!(format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 2))
        })
}

/// Node ports of every other Service.
fn node_ports_in_use(state: &State, namespace: &str, name: &str) -> Vec<i64> {
    let (services, _) = state.store.list(Resource::Service, None);
    services
        .iter()
        .filter(|s| {
            !(s.pointer("/metadata/namespace").and_then(Value::as_str) == Some(namespace)
                && name_of(s) == name)
        })
        .flat_map(|s| {
            s.pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
        .collect()
}

/// The port's node port: the one asked for (in range and free), the one it had, or the
/// first free one.
fn node_port(p: &Value, port: &Value, old_ports: &[Value], used: &[i64]) -> Result<i64, String> {
    if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
        if !NODE_PORTS.contains(&np) {
            return Err(format!(
                "Invalid value: {np}: provided port is not in the valid range. The range of valid ports is 30000-32767"
            ));
        }
        if used.contains(&np) {
            return Err(format!(
                "Invalid value: {np}: provided port is already allocated"
            ));
        }
        return Ok(np);
    }
    let keep = old_ports
        .iter()
        .find(|o| o.get("port") == Some(port))
        .and_then(|o| o.get("nodePort").and_then(Value::as_i64));
    Ok(keep.unwrap_or_else(|| {
        NODE_PORTS
            .clone()
            .find(|n| !used.contains(n))
            .unwrap_or(32767)
    }))
}
