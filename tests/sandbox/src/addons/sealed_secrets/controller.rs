//! The controller loop: unseal every SealedSecret that is new, changed, or whose Secret
//! changed, into a Secret it owns (template metadata and type), with a `Synced` condition and
//! the controller's events; a Secret that exists and is not managed is left alone. Nothing is
//! unsealed while the controller's pod is not running; a new controller pod (a restart)
//! reloads the keys from their Secrets and unseals everything again.

use std::sync::Arc;

use rsa::RsaPrivateKey;
use serde_json::{Map, Value, json};

use super::crypto::unseal_plain;
use super::{NAME, NAMESPACE, key};
use crate::apiserver::registry;
use crate::events::{Level, Source};
use crate::fields::{controller_uid, meta, owner_ref};
use crate::resources::Resource;
use crate::state::{State, now};
use crate::storage::Key;

fn set_status(state: &State, ss: &Value, ok: bool, reason: &str, message: &str) {
    let ts = now();
    let generation = ss
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let status_str = if ok { "True" } else { "False" };
    let prev = ss
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Synced"))
        })
        .cloned();
    let same = prev
        .as_ref()
        .is_some_and(|c| c.get("status").and_then(Value::as_str) == Some(status_str));
    let lt = if same {
        prev.as_ref()
            .and_then(|c| c.get("lastTransitionTime"))
            .cloned()
            .unwrap_or(json!(ts))
    } else {
        json!(ts)
    };
    let mut cond = json!({"type": "Synced", "status": status_str, "lastUpdateTime": ts, "lastTransitionTime": lt});
    if !ok {
        cond["reason"] = json!(reason);
        cond["message"] = json!(message);
    }
    let uid = meta(ss, "uid").to_owned();
    state.store.modify(
        &Key::new(
            Resource::SealedSecret,
            meta(ss, "namespace"),
            meta(ss, "name"),
        ),
        |o| {
            if o.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid.as_str()) {
                return false;
            }
            o["status"] = json!({"conditions": [cond], "observedGeneration": generation});
            true
        },
    );
}

/// The uid of the controller's running, ready pod.
fn controller_pod(state: &State) -> Option<String> {
    let (pods, _) = state.store.list(Resource::Pod, Some(NAMESPACE));
    pods.iter()
        .filter(|p| p.pointer("/metadata/labels/name").and_then(Value::as_str) == Some(NAME))
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .find(|p| crate::fields::pod_ready(p))
        .map(|p| meta(p, "uid").to_owned())
}

/// Unseal SealedSecrets that are new, changed, or whose Secret changed.
pub fn reconcile(state: &Arc<State>) {
    let Some(pod) = controller_pod(state) else {
        return;
    };
    let loaded_by = state.sim().sealing.as_ref().map(|r| r.pod_uid.clone());
    match loaded_by {
        // Still generating the first key.
        None => return,
        // The keys generated at start belong to the first controller pod.
        Some(None) => {
            let mut sim = state.sim();
            if let Some(r) = &sim.sealing {
                let adopted = key::KeyRegistry::new(r.keys.clone(), Some(pod));
                sim.sealing = Some(Arc::new(adopted));
            }
        }
        // A new controller pod: it loads the keys from their Secrets.
        Some(Some(uid)) if uid != pod => key::reload(state, &pod),
        Some(Some(_)) => {}
    }
    let Some(registry) = state.sim().sealing.clone() else {
        return;
    };
    let keys = registry.privates();
    let (list, _) = state.store.list(Resource::SealedSecret, None);
    for ss in &list {
        sync(state, &keys, ss);
    }
}

/// Whether the controller may write `secret` for the SealedSecret with `uid`: it owns it, or
/// the Secret asks to be managed.
fn managed(secret: &Value, uid: &str) -> bool {
    controller_uid(secret) == Some(uid)
        || secret
            .pointer("/metadata/annotations")
            .and_then(|a| a.get("sealedsecrets.bitnami.com/managed"))
            .and_then(Value::as_str)
            == Some("true")
}

/// Unseal one SealedSecret unless this generation was handled against the Secret as it is.
fn sync(state: &State, keys: &[&RsaPrivateKey], ss: &Value) {
    let uid = meta(ss, "uid").to_owned();
    let name = meta(ss, "name");
    let generation = ss
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let secret_key = Key::new(Resource::Secret, meta(ss, "namespace"), name);
    let existing = state.store.get(&secret_key);
    let existing_rv = existing
        .as_ref()
        .map_or_else(|| "-".into(), |s| meta(s, "resourceVersion").to_owned());
    if state.sim().unsealed.get(&uid) == Some(&(generation, existing_rv.clone())) {
        return;
    }
    let src = Source {
        object: ss,
        field_path: None,
        component: "sealed-secrets-controller",
    };
    let event = |level, reason: &str, msg: &str| {
        state.sim().events.emit(state, &src, level, reason, msg);
    };
    let outcome = if existing.as_ref().is_some_and(|s| !managed(s, &uid)) {
        let msg = format!("Resource {name:?} already exists and is not managed by SealedSecret");
        set_status(state, ss, false, "ErrUpdateFailed", &msg);
        event(Level::Warning, "ErrUpdateFailed", &msg);
        None
    } else {
        match unseal_plain(keys, ss) {
            Err(msg) => {
                set_status(state, ss, false, "ErrUnsealFailed", &msg);
                event(
                    Level::Warning,
                    "ErrUnsealFailed",
                    &format!("Failed to unseal: {msg}"),
                );
                None
            }
            Ok(data) => match write_secret(state, ss, &secret_key, existing.is_some(), data) {
                Some(secret) => {
                    set_status(state, ss, true, "", "");
                    event(
                        Level::Normal,
                        "Unsealed",
                        "SealedSecret unsealed successfully",
                    );
                    Some(meta(&secret, "resourceVersion").to_owned())
                }
                None => {
                    let msg = format!("failed to create Secret {name:?}");
                    set_status(state, ss, false, "ErrUpdateFailed", &msg);
                    None
                }
            },
        }
    };
    let rv = outcome.unwrap_or(existing_rv);
    state.sim().unsealed.insert(uid, (generation, rv));
}

/// Create or update the Secret from the template's metadata and type and the unsealed data.
fn write_secret(
    state: &State,
    ss: &Value,
    secret_key: &Key,
    exists: bool,
    data: Map<String, Value>,
) -> Option<Value> {
    let template = ss
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let labels = template.pointer("/metadata/labels").cloned();
    let annotations = template.pointer("/metadata/annotations").cloned();
    let ty = template
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("Opaque")
        .to_owned();
    let set_meta = |m: &mut Value| {
        if let Some(l) = &labels {
            m["labels"] = l.clone();
        }
        if let Some(a) = &annotations {
            m["annotations"] = a.clone();
        }
        m["ownerReferences"] = json!([owner_ref(ss)]);
    };
    if !exists {
        let mut metadata = json!({"name": secret_key.name, "namespace": secret_key.namespace});
        set_meta(&mut metadata);
        let secret = json!({"metadata": metadata, "type": ty, "data": data});
        return registry::create(
            state,
            Resource::Secret,
            &secret_key.namespace,
            secret,
            false,
        )
        .ok();
    }
    state.store.modify(secret_key, |o| {
        o["data"] = Value::Object(data);
        o["type"] = json!(ty);
        set_meta(&mut o["metadata"]);
        true
    });
    state.store.get(secret_key)
}
