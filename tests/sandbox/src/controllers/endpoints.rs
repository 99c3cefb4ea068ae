//! The Endpoints and EndpointSlice controllers: for every Service with a selector, the
//! matching pods' IPs split into ready and not-ready addresses, with target ports resolved
//! (named ports through each pod's container ports). Writes only on change.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};

use serde_json::{Map, Value, json};

use crate::apiserver::registry;
use crate::fields::{by_namespace, controller_uid, meta, owner_ref, pod_finished, pod_ready};
use crate::network::resolve_target_port;
use crate::resources::Resource;
use crate::selectors::service_selects;
use crate::state::State;
use crate::storage::Key;

const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
const SLICE_CONTROLLER: &str = "endpointslice-controller.k8s.io";
const SERVICE_NAME: &str = "kubernetes.io/service-name";

type PortSet = Vec<(String, i64, String)>;

/// Reconcile Endpoints and EndpointSlices of every Service.
pub fn reconcile(state: &State, pods: &[Value]) {
    let (services, _) = state.store.list(Resource::Service, None);
    let pods_by_ns = by_namespace(pods);
    let mut wanted: HashSet<String> = HashSet::new();
    for svc in &services {
        let selector = svc.pointer("/spec/selector");
        if selector
            .and_then(Value::as_object)
            .is_none_or(|s| s.is_empty())
        {
            continue;
        }
        let ns = meta(svc, "namespace");
        let name = meta(svc, "name");
        wanted.insert(format!("{ns}/{name}"));
        let selected: Vec<&Value> = pods_by_ns
            .get(ns)
            .map(|ps| {
                ps.iter()
                    .filter(|p| {
                        service_selects(selector, p.pointer("/metadata/labels"))
                            && !pod_finished(p)
                            && p.pointer("/status/podIP")
                                .and_then(Value::as_str)
                                .is_some_and(|ip| !ip.is_empty())
                    })
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        let svc_ports: Vec<&Value> = svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        // Skip the work when nothing the result depends on changed.
        let mut h = DefaultHasher::new();
        meta(svc, "resourceVersion").hash(&mut h);
        for p in &selected {
            meta(p, "uid").hash(&mut h);
            meta(p, "resourceVersion").hash(&mut h);
        }
        let fp = h.finish();
        let id = format!("{ns}/{name}");
        if state.sim().endpoint_fingerprints.get(&id) == Some(&fp) {
            continue;
        }
        sync_endpoints(state, svc, &selected, &svc_ports);
        sync_slice(state, svc, &selected, &svc_ports);
        state.sim().endpoint_fingerprints.insert(id, fp);
    }
    // Endpoints of deleted Services (only the ones this controller made).
    let stale: Vec<String> = state
        .sim()
        .managed_endpoints
        .iter()
        .filter(|k| !wanted.contains(*k))
        .cloned()
        .collect();
    for k in stale {
        if let Some((ns, name)) = k.split_once('/') {
            let _ = registry::delete(state, Resource::Endpoints, ns, name, false, false);
        }
        let mut sim = state.sim();
        sim.managed_endpoints.remove(&k);
        sim.slices.remove(&k);
    }
}

fn ports_for(pod: &Value, svc_ports: &[&Value]) -> PortSet {
    svc_ports
        .iter()
        .filter_map(|sp| {
            let target = sp
                .get("targetPort")
                .cloned()
                .or_else(|| sp.get("port").cloned())
                .unwrap_or(Value::Null);
            let port = resolve_target_port(pod, &target)?;
            Some((
                sp.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                port,
                sp.get("protocol")
                    .and_then(Value::as_str)
                    .unwrap_or("TCP")
                    .to_owned(),
            ))
        })
        .collect()
}

fn port_json(p: &(String, i64, String)) -> Value {
    let mut v = json!({"port": p.1, "protocol": p.2});
    if !p.0.is_empty() {
        v["name"] = json!(p.0);
    }
    v
}

fn target_ref(pod: &Value) -> Value {
    json!({"kind": "Pod", "namespace": meta(pod, "namespace"), "name": meta(pod, "name"), "uid": meta(pod, "uid")})
}

fn ip(pod: &Value) -> &str {
    pod.pointer("/status/podIP")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn sync_endpoints(state: &State, svc: &Value, pods: &[&Value], svc_ports: &[&Value]) {
    let ns = meta(svc, "namespace");
    let name = meta(svc, "name");
    let mut groups: BTreeMap<PortSet, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    let mut sorted: Vec<&&Value> = pods.iter().collect();
    sorted.sort_by_key(|p| ip(p).to_owned());
    for pod in sorted {
        let ports = ports_for(pod, svc_ports);
        if ports.is_empty() && !svc_ports.is_empty() {
            continue;
        }
        let addr = json!({"ip": ip(pod), "nodeName": pod.pointer("/spec/nodeName").cloned().unwrap_or(json!("minikube")), "targetRef": target_ref(pod)});
        let entry = groups.entry(ports).or_default();
        if pod_ready(pod) {
            entry.0.push(addr);
        } else {
            entry.1.push(addr);
        }
    }
    let subsets: Vec<Value> = groups
        .into_iter()
        .map(|(ports, (ready, not_ready))| {
            let mut s = Map::new();
            if !ready.is_empty() {
                s.insert("addresses".into(), Value::Array(ready));
            }
            if !not_ready.is_empty() {
                s.insert("notReadyAddresses".into(), Value::Array(not_ready));
            }
            if !ports.is_empty() {
                s.insert(
                    "ports".into(),
                    Value::Array(ports.iter().map(port_json).collect()),
                );
            }
            Value::Object(s)
        })
        .collect();
    let labels = svc
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let key = Key::new(Resource::Endpoints, ns, name);
    state.sim().managed_endpoints.insert(format!("{ns}/{name}"));
    match state.store.get(&key) {
        None => {
            let mut obj = json!({"metadata": {"name": name, "namespace": ns, "labels": labels}});
            if !subsets.is_empty() {
                obj["subsets"] = Value::Array(subsets);
            }
            let _ = registry::create(state, Resource::Endpoints, ns, obj, false);
        }
        Some(current) => {
            let want_subsets = if subsets.is_empty() {
                None
            } else {
                Some(Value::Array(subsets))
            };
            if current.get("subsets") != want_subsets.as_ref()
                || current.pointer("/metadata/labels") != Some(&labels)
            {
                state.store.modify(&key, |o| {
                    match &want_subsets {
                        Some(s) => o["subsets"] = s.clone(),
                        None => {
                            if let Some(m) = o.as_object_mut() {
                                m.remove("subsets");
                            }
                        }
                    }
                    o["metadata"]["labels"] = labels.clone();
                    true
                });
            }
        }
    }
}

/// The EndpointSlice's endpoints (one per pod with the first set of resolved ports, as the
/// controller groups them) and its ports.
fn slice_contents(pods: &[&Value], svc_ports: &[&Value]) -> (Vec<Value>, Vec<Value>) {
    let mut sorted: Vec<&&Value> = pods.iter().collect();
    sorted.sort_by_key(|p| ip(p).to_owned());
    let mut ports: Option<PortSet> = None;
    let mut endpoints = Vec::new();
    for pod in sorted {
        let p = ports_for(pod, svc_ports);
        if p.is_empty() && !svc_ports.is_empty() {
            continue;
        }
        if ports.is_none() {
            ports = Some(p.clone());
        } else if ports.as_ref() != Some(&p) {
            continue;
        }
        let ready = pod_ready(pod);
        endpoints.push(json!({
            "addresses": [ip(pod)],
            "conditions": {"ready": ready, "serving": ready, "terminating": false},
            "nodeName": pod.pointer("/spec/nodeName").cloned().unwrap_or(json!("minikube")),
            "targetRef": target_ref(pod),
        }));
    }
    let ports: Vec<Value> = match ports {
        Some(p) => p.iter().map(port_json).collect(),
        None => svc_ports.iter().map(|sp| {
            let mut v = json!({"port": sp.get("targetPort").and_then(Value::as_i64).or_else(|| sp.get("port").and_then(Value::as_i64)), "protocol": sp.get("protocol").cloned().unwrap_or(json!("TCP"))});
            if let Some(n) = sp.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
                v["name"] = json!(n);
            }
            v
        }).collect(),
    };
    (endpoints, ports)
}

/// The slice this controller manages for a Service: the one it remembers, else one labelled
/// for the Service and managed by the slice controller.
fn find_slice(state: &State, ns: &str, name: &str) -> Option<Value> {
    let labelled = |s: &Value, key: &str, want: &str| {
        s.pointer("/metadata/labels")
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
            == Some(want)
    };
    let remembered = state.sim().slices.get(&format!("{ns}/{name}")).cloned();
    remembered
        .and_then(|n| state.store.get(&Key::new(Resource::EndpointSlice, ns, &n)))
        .or_else(|| {
            state
                .store
                .list(Resource::EndpointSlice, Some(ns))
                .0
                .into_iter()
                .find(|s| {
                    labelled(s, SERVICE_NAME, name) && labelled(s, MANAGED_BY, SLICE_CONTROLLER)
                })
        })
}

fn sync_slice(state: &State, svc: &Value, pods: &[&Value], svc_ports: &[&Value]) {
    let ns = meta(svc, "namespace");
    let name = meta(svc, "name");
    let (endpoints, ports) = slice_contents(pods, svc_ports);
    let mut labels = svc
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert(SERVICE_NAME.into(), json!(name));
    labels.insert(MANAGED_BY.into(), json!(SLICE_CONTROLLER));
    let labels = Value::Object(labels);
    let id = format!("{ns}/{name}");
    let existing = find_slice(state, ns, name);
    let owned_by_svc = |s: &Value| controller_uid(s) == Some(meta(svc, "uid"));
    match existing.filter(owned_by_svc) {
        None => {
            let obj = json!({
                "metadata": {"generateName": format!("{name}-"), "namespace": ns, "labels": labels, "ownerReferences": [owner_ref(svc)]},
                "addressType": "IPv4",
                "endpoints": endpoints,
                "ports": ports,
            });
            if let Ok(created) = registry::create(state, Resource::EndpointSlice, ns, obj, false) {
                state
                    .sim()
                    .slices
                    .insert(id, meta(&created, "name").to_owned());
            }
        }
        Some(current) => {
            let slice_name = meta(&current, "name").to_owned();
            state.sim().slices.insert(id, slice_name.clone());
            let want_endpoints = Value::Array(endpoints);
            let want_ports = Value::Array(ports);
            if current.get("endpoints") != Some(&want_endpoints)
                || current.get("ports") != Some(&want_ports)
                || current.pointer("/metadata/labels") != Some(&labels)
            {
                state
                    .store
                    .modify(&Key::new(Resource::EndpointSlice, ns, &slice_name), |o| {
                        o["endpoints"] = want_endpoints;
                        o["ports"] = want_ports;
                        o["metadata"]["labels"] = labels;
                        true
                    });
            }
        }
    }
}
