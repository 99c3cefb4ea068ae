//! Server-side printing: `meta.k8s.io/v1` Table responses for `kubectl get`.

use serde_json::{Value, json};

use crate::resources::{Resource, ResourceType};

fn age(obj: &Value) -> String {
    let Some(ts) = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
    else {
        return "<unknown>".into();
    };
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
        return "<unknown>".into();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn i(v: Option<&Value>) -> i64 {
    v.and_then(Value::as_i64).unwrap_or(0)
}

fn columns(rt: &ResourceType) -> Vec<(&'static str, &'static str)> {
    match rt.resource {
        Resource::Pod => vec![
            ("Name", "string"),
            ("Ready", "string"),
            ("Status", "string"),
            ("Restarts", "string"),
            ("Age", "string"),
            ("IP", "string"),
            ("Node", "string"),
        ],
        Resource::Node => vec![
            ("Name", "string"),
            ("Status", "string"),
            ("Roles", "string"),
            ("Age", "string"),
            ("Version", "string"),
            ("Internal-IP", "string"),
            ("Container-Runtime", "string"),
        ],
        Resource::Deployment => vec![
            ("Name", "string"),
            ("Ready", "string"),
            ("Up-to-date", "integer"),
            ("Available", "integer"),
            ("Age", "string"),
        ],
        Resource::ReplicaSet => vec![
            ("Name", "string"),
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
            ("Age", "string"),
        ],
        Resource::Service => vec![
            ("Name", "string"),
            ("Type", "string"),
            ("Cluster-IP", "string"),
            ("External-IP", "string"),
            ("Port(s)", "string"),
            ("Age", "string"),
        ],
        Resource::Namespace => vec![("Name", "string"), ("Status", "string"), ("Age", "string")],
        Resource::Secret => vec![
            ("Name", "string"),
            ("Type", "string"),
            ("Data", "string"),
            ("Age", "string"),
        ],
        Resource::ConfigMap => vec![("Name", "string"), ("Data", "string"), ("Age", "string")],
        Resource::Event => vec![
            ("Last Seen", "string"),
            ("Type", "string"),
            ("Reason", "string"),
            ("Object", "string"),
            ("Message", "string"),
        ],
        _ => vec![("Name", "string"), ("Age", "string")],
    }
}

fn cells(rt: &ResourceType, o: &Value) -> Vec<Value> {
    let name = s(o.pointer("/metadata/name"));
    match rt.resource {
        Resource::Pod => pod_cells(o, name),
        Resource::Node => node_cells(o, name),
        Resource::Deployment => vec![
            json!(name),
            json!(format!(
                "{}/{}",
                i(o.pointer("/status/readyReplicas")),
                i(o.pointer("/spec/replicas"))
            )),
            json!(i(o.pointer("/status/updatedReplicas"))),
            json!(i(o.pointer("/status/availableReplicas"))),
            json!(age(o)),
        ],
        Resource::ReplicaSet => vec![
            json!(name),
            json!(i(o.pointer("/spec/replicas"))),
            json!(i(o.pointer("/status/replicas"))),
            json!(i(o.pointer("/status/readyReplicas"))),
            json!(age(o)),
        ],
        Resource::Service => service_cells(o, name),
        Resource::Namespace => vec![
            json!(name),
            json!(s(o.pointer("/status/phase"))),
            json!(age(o)),
        ],
        Resource::Secret => vec![
            json!(name),
            json!(s(o.get("type"))),
            json!(
                o.get("data")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len())
                    .to_string()
            ),
            json!(age(o)),
        ],
        Resource::ConfigMap => vec![
            json!(name),
            json!(
                o.get("data")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len())
                    .to_string()
            ),
            json!(age(o)),
        ],
        Resource::Event => vec![
            json!(age(o)),
            json!(s(o.get("type"))),
            json!(s(o.get("reason"))),
            json!(format!(
                "{}/{}",
                s(o.pointer("/involvedObject/kind")).to_lowercase(),
                s(o.pointer("/involvedObject/name"))
            )),
            json!(s(o.get("message"))),
        ],
        _ => vec![json!(name), json!(age(o))],
    }
}

/// `kubectl get pods` (and `-o wide`) columns.
fn pod_cells(o: &Value, name: String) -> Vec<Value> {
    let statuses: Vec<&Value> = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let total = o
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = statuses.iter().filter(|c| c["ready"] == true).count();
    let restarts: i64 = statuses.iter().map(|c| i(c.get("restartCount"))).sum();
    let reason = statuses
        .iter()
        .find_map(|c| {
            c.pointer("/state/waiting/reason")
                .or(c.pointer("/state/terminated/reason"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| s(o.pointer("/status/phase")));
    vec![
        json!(name),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts.to_string()),
        json!(age(o)),
        json!(or_none(s(o.pointer("/status/podIP")))),
        json!(or_none(s(o.pointer("/spec/nodeName")))),
    ]
}

/// `kubectl get nodes` (and `-o wide`) columns.
fn node_cells(o: &Value, name: String) -> Vec<Value> {
    let ready = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    let ip = o
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|a| a["type"] == "InternalIP")
        .map(|a| s(a.get("address")))
        .unwrap_or_default();
    vec![
        json!(name),
        json!(if ready { "Ready" } else { "NotReady" }),
        json!("control-plane"),
        json!(age(o)),
        json!(s(o.pointer("/status/nodeInfo/kubeletVersion"))),
        json!(ip),
        json!(s(o.pointer("/status/nodeInfo/containerRuntimeVersion"))),
    ]
}

/// `kubectl get services` columns.
fn service_cells(o: &Value, name: String) -> Vec<Value> {
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| match p.get("nodePort") {
            Some(np) => format!(
                "{}:{}/{}",
                s(p.get("port")),
                s(Some(np)),
                s(p.get("protocol"))
            ),
            None => format!("{}/{}", s(p.get("port")), s(p.get("protocol"))),
        })
        .collect();
    vec![
        json!(name),
        json!(s(o.pointer("/spec/type"))),
        json!(s(o.pointer("/spec/clusterIP"))),
        json!("<none>"),
        json!(ports.join(",")),
        json!(age(o)),
    ]
}

fn or_none(v: String) -> String {
    if v.is_empty() { "<none>".into() } else { v }
}

/// Columns kubectl shows only with `-o wide`.
fn priority(column: &str) -> u8 {
    u8::from(matches!(
        column,
        "IP" | "Node" | "Internal-IP" | "Container-Runtime"
    ))
}

/// A Table of `items`.
pub fn table(
    rt: &ResourceType,
    items: &[Value],
    list_meta: Option<Value>,
    include_object: bool,
) -> Value {
    let cols: Vec<Value> = columns(rt)
        .into_iter()
        .map(|(n, t)| json!({"name": n, "type": t, "format": if n == "Name" { "name" } else { "" }, "description": "", "priority": priority(n)}))
        .collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let object = if include_object {
                o.clone()
            } else {
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"].clone()})
            };
            json!({"cells": cells(rt, o), "object": object})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta.unwrap_or(json!({})), "columnDefinitions": cols, "rows": rows})
}
