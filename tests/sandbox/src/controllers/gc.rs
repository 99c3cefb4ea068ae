//! The garbage collector: background propagation. An object whose ownerReferences all point
//! to objects that no longer exist is deleted (as an API DELETE: pods terminate gracefully);
//! references to missing owners are dropped when other owners remain. Runs after deletions
//! only (and once at start).

use std::collections::HashSet;

use serde_json::Value;

use crate::apiserver::delete::{self, DeleteOptions};
use crate::state::State;

/// Collect garbage if an object was deleted since the last run.
pub fn reconcile(state: &State) {
    {
        let mut sim = state.sim();
        if !sim.gc_due {
            return;
        }
        sim.gc_due = false;
    }
    // Deleting may orphan further objects (a Deployment's pods after its ReplicaSets):
    // repeat until nothing changes.
    for _ in 0..8 {
        if collect(state) == 0 {
            break;
        }
    }
}

fn owner_uids(obj: &Value) -> Vec<&str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// One sweep; returns the number of objects deleted.
fn collect(state: &State) -> usize {
    let all = state.store.all();
    let uids: HashSet<&str> = all
        .iter()
        .filter_map(|(_, v)| v.pointer("/metadata/uid").and_then(Value::as_str))
        .collect();
    let mut deleted = 0;
    for (key, obj) in &all {
        let owners = owner_uids(obj);
        if owners.is_empty() {
            continue;
        }
        let missing: Vec<&str> = owners
            .iter()
            .copied()
            .filter(|u| !uids.contains(u))
            .collect();
        if missing.is_empty() {
            continue;
        }
        if missing.len() == owners.len() {
            // A pod being deleted already is left to the kubelet.
            if obj.pointer("/metadata/deletionTimestamp").is_some() {
                continue;
            }
            let opts = DeleteOptions::default();
            if delete::delete(state, key.resource, &key.namespace, &key.name, &opts).is_ok() {
                deleted += 1;
            }
        } else {
            let missing: Vec<String> = missing.iter().map(|s| (*s).to_owned()).collect();
            state.store.modify(key, |o| {
                if let Some(refs) = o
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| {
                        !r.get("uid")
                            .and_then(Value::as_str)
                            .is_some_and(|u| missing.iter().any(|m| m == u))
                    });
                }
                true
            });
        }
    }
    deleted
}
