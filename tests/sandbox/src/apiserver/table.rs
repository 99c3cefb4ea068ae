//! Server-side printing: `meta.k8s.io/v1` Table responses for `kubectl get`.

use serde_json::{Value, json};

use crate::resources::{Resource, ResourceType};

/// apimachinery's `HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let secs = secs.max(0);
    let (minutes, hours) = (secs / 60, secs / 3600);
    let with = |big: i64, unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{unit}")
        } else {
            format!("{big}{unit}{small}{small_unit}")
        }
    };
    match () {
        _ if secs < 120 => format!("{secs}s"),
        _ if minutes < 10 => with(minutes, "m", secs % 60, "s"),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 => with(hours, "h", minutes % 60, "m"),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 24 * 8 => with(hours / 24, "d", hours % 24, "h"),
        _ if hours < 24 * 365 * 2 => format!("{}d", hours / 24),
        _ if hours < 24 * 365 * 8 => with(hours / 24 / 365, "y", (hours / 24) % 365, "d"),
        _ => format!("{}y", hours / 24 / 365),
    }
}

/// The time since an RFC 3339 timestamp, as kubectl prints it (`<unknown>` when absent).
fn since(ts: Option<&Value>) -> String {
    ts.and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| human_duration((chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()))
        .unwrap_or_else(|| "<unknown>".into())
}

fn age(obj: &Value) -> String {
    since(obj.pointer("/metadata/creationTimestamp"))
}

fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn int(v: Option<&Value>) -> i64 {
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
            ("Nominated Node", "string"),
            ("Readiness Gates", "string"),
        ],
        Resource::Node => vec![
            ("Name", "string"),
            ("Status", "string"),
            ("Roles", "string"),
            ("Age", "string"),
            ("Version", "string"),
            ("Internal-IP", "string"),
            ("External-IP", "string"),
            ("OS-Image", "string"),
            ("Kernel-Version", "string"),
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
                int(o.pointer("/status/readyReplicas")),
                int(o.pointer("/spec/replicas"))
            )),
            json!(int(o.pointer("/status/updatedReplicas"))),
            json!(int(o.pointer("/status/availableReplicas"))),
            json!(age(o)),
        ],
        Resource::ReplicaSet => vec![
            json!(name),
            json!(int(o.pointer("/spec/replicas"))),
            json!(int(o.pointer("/status/replicas"))),
            json!(int(o.pointer("/status/readyReplicas"))),
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

/// What `printPod` accumulates while it reads the container statuses.
#[derive(Default)]
struct PodRow {
    reason: String,
    ready: usize,
    restarts: i64,
    last: Option<String>,
    sidecar_restarts: i64,
    sidecar_last: Option<String>,
}

/// Keep the latest `lastState.terminated.finishedAt` of `c` in `at`.
fn later(at: &mut Option<String>, c: &Value) {
    if let Some(t) = c
        .pointer("/lastState/terminated/finishedAt")
        .and_then(Value::as_str)
        && at.as_deref().is_none_or(|x| t > x)
    {
        *at = Some(t.to_owned());
    }
}

fn list(o: &Value, p: &str) -> Vec<Value> {
    o.pointer(p)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The init container statuses: restarts, started sidecars' readiness, and the first init
/// container still holding the pod up (then true: the pod is initializing).
fn init_part(o: &Value, row: &mut PodRow) -> bool {
    let specs = list(o, "/spec/initContainers");
    let sidecar = |n: &Value| {
        specs
            .iter()
            .any(|c| c["name"] == *n && c["restartPolicy"] == "Always")
    };
    for (i, c) in list(o, "/status/initContainerStatuses").iter().enumerate() {
        row.restarts += int(c.get("restartCount"));
        later(&mut row.last, c);
        if sidecar(&c["name"]) {
            row.sidecar_restarts += int(c.get("restartCount"));
            later(&mut row.sidecar_last, c);
        }
        let term = c.pointer("/state/terminated");
        let waiting = s(c.pointer("/state/waiting/reason"));
        if term.is_some_and(|t| int(t.get("exitCode")) == 0) {
            continue;
        }
        if sidecar(&c["name"]) && c["started"] == true {
            row.ready += usize::from(c["ready"] == true);
            continue;
        }
        row.reason = match term {
            Some(t) if !s(t.get("reason")).is_empty() => format!("Init:{}", s(t.get("reason"))),
            Some(t) => format!("Init:ExitCode:{}", int(t.get("exitCode"))),
            None if !waiting.is_empty() && waiting != "PodInitializing" => {
                format!("Init:{waiting}")
            }
            None => format!("Init:{i}/{}", specs.len()),
        };
        return true;
    }
    false
}

/// The app container statuses, last first: restarts, readiness and the reason.
fn app_part(o: &Value, row: &mut PodRow) {
    row.restarts = row.sidecar_restarts;
    row.last = row.sidecar_last.take();
    let mut has_running = false;
    for c in list(o, "/status/containerStatuses").iter().rev() {
        row.restarts += int(c.get("restartCount"));
        later(&mut row.last, c);
        let waiting = s(c.pointer("/state/waiting/reason"));
        if !waiting.is_empty() {
            row.reason = waiting;
        } else if let Some(t) = c.pointer("/state/terminated") {
            row.reason = match s(t.get("reason")) {
                r if r.is_empty() => format!("ExitCode:{}", int(t.get("exitCode"))),
                r => r,
            };
        } else if c["ready"] == true && c.pointer("/state/running").is_some() {
            has_running = true;
            row.ready += 1;
        }
    }
    if row.reason == "Completed" && has_running {
        row.reason = if crate::fields::pod_ready(o) {
            "Running"
        } else {
            "NotReady"
        }
        .into();
    }
}

/// `kubectl get pods` (and `-o wide`) columns, as kubectl's `printPod`: READY counts app
/// containers and started sidecars, STATUS names the first init container holding the pod
/// up (`Init:0/1`, `Init:CrashLoopBackOff`), then the app containers' reasons, then
/// Terminating; RESTARTS shows how long ago the last restart was.
fn pod_cells(o: &Value, name: String) -> Vec<Value> {
    let phase = s(o.pointer("/status/phase"));
    let mut row = PodRow {
        reason: match s(o.pointer("/status/reason")) {
            r if r.is_empty() => phase.clone(),
            r => r,
        },
        ..PodRow::default()
    };
    let sidecars = list(o, "/spec/initContainers")
        .iter()
        .filter(|c| c["restartPolicy"] == "Always")
        .count();
    let total = list(o, "/spec/containers").len() + sidecars;
    let initializing = init_part(o, &mut row);
    if !initializing || crate::fields::condition_true(o, "Initialized") {
        app_part(o, &mut row);
    }
    if o.pointer("/metadata/deletionTimestamp").is_some()
        && phase != "Succeeded"
        && phase != "Failed"
    {
        row.reason = "Terminating".into();
    }
    let restarts = match (row.restarts, row.last) {
        (0, _) | (_, None) => row.restarts.to_string(),
        (n, Some(t)) => format!("{n} ({} ago)", since(Some(&json!(t)))),
    };
    vec![
        json!(name),
        json!(format!("{}/{total}", row.ready)),
        json!(row.reason),
        json!(restarts),
        json!(age(o)),
        json!(or_none(s(o.pointer("/status/podIP")))),
        json!(or_none(s(o.pointer("/spec/nodeName")))),
        json!(or_none(s(o.pointer("/status/nominatedNodeName")))),
        json!("<none>"),
    ]
}

/// The roles of a node: its `node-role.kubernetes.io/<role>` labels (`<none>` without).
fn node_roles(o: &Value) -> String {
    let mut roles: Vec<&str> = o
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort_unstable();
    roles.dedup();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

/// `kubectl get nodes` (and `-o wide`) columns.
fn node_cells(o: &Value, name: String) -> Vec<Value> {
    let ready = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    let address = |ty: &str| {
        o.pointer("/status/addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|a| a["type"] == ty)
            .map(|a| s(a.get("address")))
            .unwrap_or_else(|| "<none>".into())
    };
    let info = |f: &str| match s(o.pointer(&format!("/status/nodeInfo/{f}"))) {
        v if v.is_empty() => "<unknown>".to_owned(),
        v => v,
    };
    vec![
        json!(name),
        json!(if ready { "Ready" } else { "NotReady" }),
        json!(node_roles(o)),
        json!(age(o)),
        json!(s(o.pointer("/status/nodeInfo/kubeletVersion"))),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
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
        "IP" | "Node"
            | "Nominated Node"
            | "Readiness Gates"
            | "Internal-IP"
            | "External-IP"
            | "OS-Image"
            | "Kernel-Version"
            | "Container-Runtime"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_kubectl_prints_them() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 120, "3h2m"),
            (10 * 3600, "10h"),
            (3 * 86_400 + 3600, "3d1h"),
            (30 * 86_400, "30d"),
            (3 * 365 * 86_400, "3y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    fn row(o: Value) -> Vec<Value> {
        pod_cells(&o, "p".into())
    }

    #[test]
    fn pods_show_init_progress_failures_and_sidecars() {
        let spec = json!({"initContainers": [{"name": "migrate"}, {"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "app"}]});
        let st = |name: &str, state: Value, started: bool, restarts: i64| json!({"name": name, "state": state, "started": started, "ready": started, "restartCount": restarts});
        let waiting = |r: &str| json!({"waiting": {"reason": r}});
        let running = json!({"running": {}});
        let pod = |init: Vec<Value>, app: Value, initialized: bool| {
            let status = if initialized { "True" } else { "False" };
            json!({"spec": spec, "status": {"phase": "Pending",
                "conditions": [{"type": "Initialized", "status": status}],
                "initContainerStatuses": init, "containerStatuses": [app]}})
        };
        let app_waiting = st("app", waiting("PodInitializing"), false, 0);
        let proxy_waiting = st("proxy", waiting("PodInitializing"), false, 0);
        let crashed = st("migrate", waiting("CrashLoopBackOff"), false, 2);
        let cells = row(pod(
            vec![crashed, proxy_waiting.clone()],
            app_waiting.clone(),
            false,
        ));
        assert_eq!(
            (cells[1].clone(), cells[2].clone(), cells[3].clone()),
            (json!("0/2"), json!("Init:CrashLoopBackOff"), json!("2"))
        );
        let migrating = st("migrate", running.clone(), true, 0);
        let cells = row(pod(
            vec![migrating, proxy_waiting.clone()],
            app_waiting.clone(),
            false,
        ));
        assert_eq!(cells[2], "Init:0/2");
        let failed = json!({"terminated": {"exitCode": 1, "reason": "Error"}});
        let cells = row(pod(
            vec![st("migrate", failed, false, 0), proxy_waiting],
            app_waiting,
            false,
        ));
        assert_eq!(cells[2], "Init:Error");
        let done = json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
        let init = vec![
            st("migrate", done, false, 0),
            st("proxy", running.clone(), true, 0),
        ];
        let mut ready = pod(init, st("app", running, true, 0), true);
        ready["status"]["phase"] = json!("Running");
        ready["status"]["conditions"] =
            json!([{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]);
        let cells = row(ready.clone());
        assert_eq!(
            (cells[1].clone(), cells[2].clone()),
            (json!("2/2"), json!("Running"))
        );
        ready["metadata"] = json!({"deletionTimestamp": "2026-01-01T00:00:00Z"});
        assert_eq!(row(ready)[2], "Terminating");
    }
}
