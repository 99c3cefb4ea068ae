//! The Deployment's status as kube-controller-manager writes it: replica counts summed over
//! its ReplicaSets, `Available` (minimum availability) and `Progressing` (NewReplicaSetCreated,
//! ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded), and the revision
//! annotation.

use serde_json::{Map, Value, json};

use super::{REVISION, Rs, Sync, annotation, set_annotation};
use crate::fields::meta;
use crate::resources::Resource;
use crate::state::now;
use crate::storage::Key;

fn condition<'a>(conds: &'a [Value], ty: &str) -> Option<&'a Value> {
    conds
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
}

fn cond_str<'a>(c: &'a Value, f: &str) -> &'a str {
    c.get(f).and_then(Value::as_str).unwrap_or("")
}

/// SetDeploymentCondition: unchanged when status and reason match; keeps the transition
/// time when only the reason changes.
pub fn set_condition(conds: &mut Vec<Value>, ty: &str, status: &str, reason: &str, message: &str) {
    let ts = now();
    let mut lt = ts.clone();
    if let Some(cur) = condition(conds, ty) {
        if cond_str(cur, "status") == status && cond_str(cur, "reason") == reason {
            return;
        }
        if cond_str(cur, "status") == status {
            lt = cond_str(cur, "lastTransitionTime").to_owned();
        }
    }
    conds.retain(|c| c.get("type").and_then(Value::as_str) != Some(ty));
    conds.push(json!({"type": ty, "status": status, "lastUpdateTime": ts, "lastTransitionTime": lt, "reason": reason, "message": message}));
}

/// Replica counts over all of a Deployment's ReplicaSets.
pub struct Counts {
    replicas: i64,
    updated: i64,
    ready: i64,
    available: i64,
    spec_total: i64,
}

impl Counts {
    /// The counts of the old ReplicaSets and the new one.
    pub fn of(old: &[Rs], new: Option<&Rs>) -> Counts {
        let all: Vec<&Rs> = old.iter().chain(new).collect();
        Counts {
            replicas: all.iter().map(|r| r.status_replicas).sum(),
            updated: new.map_or(0, |n| n.status_replicas),
            ready: all.iter().map(|r| r.ready).sum(),
            available: all.iter().map(|r| r.available).sum(),
            spec_total: all.iter().map(|r| r.replicas).sum(),
        }
    }

    /// Rolled out: every desired replica updated and available, none left over.
    pub fn complete(&self, desired: i64) -> bool {
        self.updated == desired && self.replicas == desired && self.available == desired
    }
}

/// `Available`: at least `desired - maxUnavailable` replicas available.
pub fn availability(conds: &mut Vec<Value>, counts: &Counts, desired: i64, max_unavailable: i64) {
    if counts.available >= desired - max_unavailable {
        set_condition(
            conds,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        );
    } else {
        set_condition(
            conds,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        );
    }
}

/// `Progressing` during a rollout: available once complete, updated while the counts move,
/// ProgressDeadlineExceeded once they have not moved for progressDeadlineSeconds.
pub fn progress(
    conds: &mut Vec<Value>,
    d: &Value,
    counts: &Counts,
    desired: i64,
    rs_name: Option<&str>,
) {
    let deadline = d
        .pointer("/spec/progressDeadlineSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(600);
    if deadline >= i64::from(i32::MAX) {
        return;
    }
    let cur = condition(conds, "Progressing").cloned();
    let reason = cur.as_ref().map_or("", |c| cond_str(c, "reason"));
    if counts.replicas == counts.updated && reason == "NewReplicaSetAvailable" {
        return;
    }
    let subject = match rs_name {
        Some(n) => format!("ReplicaSet {n:?}"),
        None => format!("Deployment {:?}", meta(d, "name")),
    };
    let o = |f: &str| {
        d.pointer(&format!("/status/{f}"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let moved = counts.updated > o("updatedReplicas")
        || (counts.replicas - counts.updated) < (o("replicas") - o("updatedReplicas"))
        || counts.ready > o("readyReplicas")
        || counts.available > o("availableReplicas");
    let timed_out = cur.as_ref().is_some_and(|c| {
        reason == "ProgressDeadlineExceeded"
            || (reason != "NewReplicaSetAvailable"
                && chrono::DateTime::parse_from_rfc3339(cond_str(c, "lastUpdateTime")).is_ok_and(
                    |t| chrono::Utc::now().signed_duration_since(t).num_seconds() > deadline,
                ))
    });
    if counts.complete(desired) {
        let msg = format!("{subject} has successfully progressed.");
        set_condition(conds, "Progressing", "True", "NewReplicaSetAvailable", &msg);
    } else if moved {
        // Progress refreshes lastUpdateTime even when the reason stays.
        let ts = now();
        let lt = match &cur {
            Some(c) if cond_str(c, "status") == "True" => {
                cond_str(c, "lastTransitionTime").to_owned()
            }
            _ => ts.clone(),
        };
        conds.retain(|c| c.get("type").and_then(Value::as_str) != Some("Progressing"));
        let msg = format!("{subject} is progressing.");
        conds.push(json!({"type": "Progressing", "status": "True", "lastUpdateTime": ts, "lastTransitionTime": lt, "reason": "ReplicaSetUpdated", "message": msg}));
    } else if timed_out {
        let msg = format!("{subject} has timed out progressing.");
        set_condition(
            conds,
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            &msg,
        );
    }
}

/// Write the status (and the revision annotation) when either changed.
pub fn write(cx: &Sync<'_>, counts: &Counts, conds: Vec<Value>, revision: Option<i64>) {
    let d = cx.d;
    let generation = d
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let mut status = Map::new();
    status.insert("observedGeneration".into(), json!(generation));
    for (k, v) in [
        ("replicas", counts.replicas),
        ("updatedReplicas", counts.updated),
        ("readyReplicas", counts.ready),
        ("availableReplicas", counts.available),
        (
            "unavailableReplicas",
            (counts.spec_total - counts.available).max(0),
        ),
    ] {
        if v != 0 {
            status.insert(k.into(), json!(v));
        }
    }
    if !conds.is_empty() {
        status.insert("conditions".into(), Value::Array(conds));
    }
    let status = Value::Object(status);
    let uid = meta(d, "uid").to_owned();
    let rev = revision.map(|r| r.to_string());
    let needs_write = d.get("status") != Some(&status)
        || rev
            .as_deref()
            .is_some_and(|r| annotation(d, REVISION) != Some(r));
    if !needs_write {
        return;
    }
    let key = Key::new(Resource::Deployment, &cx.ns, meta(d, "name"));
    cx.state.store.modify(&key, |o| {
        if o.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid.as_str()) {
            return false;
        }
        if let Some(r) = &rev {
            set_annotation(o, REVISION, r);
        }
        o["status"] = status;
        true
    });
}
