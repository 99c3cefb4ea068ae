//! The ReplicaSet controller: keeps `spec.replicas` pods per ReplicaSet (creating
//! `<rs>-<5 chars>`, deleting unscheduled, then unready, then newest pods first) and writes
//! the ReplicaSet status.

use serde_json::{Value, json};

use crate::apiserver::registry;
use crate::events::{Level, Source};
use crate::fields::{by_owner, condition_true, meta, owner_ref, pod_finished, pod_ready};
use crate::resources::Resource;
use crate::state::State;
use crate::storage::Key;

/// Whether a ready pod has been ready for `min_ready_seconds`.
pub fn pod_available(pod: &Value, min_ready_seconds: i64) -> bool {
    if !pod_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    let since = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
        })
        .and_then(|c| c.get("lastTransitionTime"))
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    since.is_some_and(|t| {
        chrono::Utc::now().signed_duration_since(t).num_seconds() >= min_ready_seconds
    })
}

/// Deletion order: unscheduled, then not ready, then the newest first.
fn deletion_rank(
    pod: &Value,
) -> (
    bool,
    bool,
    std::cmp::Reverse<String>,
    std::cmp::Reverse<String>,
) {
    let scheduled = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    (
        scheduled,
        pod_ready(pod),
        std::cmp::Reverse(meta(pod, "creationTimestamp").to_owned()),
        std::cmp::Reverse(meta(pod, "name").to_owned()),
    )
}

/// Reconcile every ReplicaSet.
pub fn reconcile(state: &State, pods: &[Value]) {
    let (sets, _) = state.store.list(Resource::ReplicaSet, None);
    let owned = by_owner(pods);
    for rs in &sets {
        let mine: Vec<&Value> = owned
            .get(meta(rs, "uid"))
            .map(|v| v.iter().filter(|p| !pod_finished(p)).copied().collect())
            .unwrap_or_default();
        let mine = scale(state, rs, mine);
        write_status(state, rs, &mine);
    }
}

/// Create or delete pods until the ReplicaSet has `spec.replicas` unfinished ones; the pods
/// that remain.
fn scale<'a>(state: &State, rs: &Value, mut mine: Vec<&'a Value>) -> Vec<&'a Value> {
    let desired = rs
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0);
    let have = mine.len() as i64;
    if have < desired {
        for _ in have..desired {
            create_pod(state, rs);
        }
    } else if have > desired {
        mine.sort_by_key(|p| deletion_rank(p));
        let surplus = (have - desired) as usize;
        let victims: Vec<&Value> = mine.drain(..surplus).collect();
        let src = Source {
            object: rs,
            field_path: None,
            component: "replicaset-controller",
        };
        for pod in victims {
            let pod_name = meta(pod, "name");
            let ns = meta(rs, "namespace");
            if registry::delete(state, Resource::Pod, ns, pod_name, false, false).is_ok() {
                let msg = format!("Deleted pod: {pod_name}");
                state
                    .sim()
                    .events
                    .emit(state, &src, Level::Normal, "SuccessfulDelete", &msg);
            }
        }
    }
    mine
}

/// The ReplicaSet's status from its pods: replicas, fully labelled, ready, available.
fn write_status(state: &State, rs: &Value, mine: &[&Value]) {
    let min_ready = rs
        .pointer("/spec/minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let template_labels = rs
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let fully = mine
        .iter()
        .filter(|p| {
            template_labels
                .iter()
                .all(|(k, v)| p.pointer("/metadata/labels").and_then(|l| l.get(k)) == Some(v))
        })
        .count();
    let ready = mine.iter().filter(|p| condition_true(p, "Ready")).count();
    let available = mine.iter().filter(|p| pod_available(p, min_ready)).count();
    let mut status = json!({"replicas": mine.len()});
    for (field, n) in [
        ("fullyLabeledReplicas", fully),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ] {
        if n > 0 {
            status[field] = json!(n);
        }
    }
    if let Some(g) = rs.pointer("/metadata/generation") {
        status["observedGeneration"] = g.clone();
    }
    if rs.get("status") == Some(&status) {
        return;
    }
    let uid = meta(rs, "uid");
    let key = Key::new(
        Resource::ReplicaSet,
        meta(rs, "namespace"),
        meta(rs, "name"),
    );
    state.store.modify(&key, |o| {
        if o.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid) {
            return false;
        }
        o["status"] = status;
        true
    });
}

fn create_pod(state: &State, rs: &Value) {
    let ns = meta(rs, "namespace");
    let name = meta(rs, "name");
    let template = rs
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut metadata = json!({"generateName": format!("{name}-"), "namespace": ns, "ownerReferences": [owner_ref(rs)]});
    for f in ["labels", "annotations"] {
        if let Some(v) = template.pointer(&format!("/metadata/{f}")) {
            metadata[f] = v.clone();
        }
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template.get("spec").cloned().unwrap_or_else(|| json!({}))});
    let src = Source {
        object: rs,
        field_path: None,
        component: "replicaset-controller",
    };
    match registry::create(state, Resource::Pod, ns, pod, false) {
        Ok(created) => {
            state.sim().events.emit(
                state,
                &src,
                Level::Normal,
                "SuccessfulCreate",
                &format!("Created pod: {}", meta(&created, "name")),
            );
        }
        Err(e) => {
            state.sim().events.record(
                state,
                &src,
                Level::Warning,
                "FailedCreate",
                &format!("Error creating: {}", e.message),
                std::time::Duration::from_secs(1),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unscheduled_and_unready_pods_are_deleted_first() {
        let ready = json!({"metadata": {"name": "a", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"nodeName": "minikube"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let unready = json!({"metadata": {"name": "b", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"nodeName": "minikube"}});
        let pending = json!({"metadata": {"name": "c", "creationTimestamp": "2025-01-01T00:00:00Z"}, "spec": {}});
        let mut pods = [&ready, &unready, &pending];
        pods.sort_by_key(|p| deletion_rank(p));
        let order: Vec<&str> = pods.iter().map(|p| meta(p, "name")).collect();
        assert_eq!(order, ["c", "b", "a"]);
    }
}
