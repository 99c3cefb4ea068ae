//! What a fresh cluster holds before anyone calls it: the four namespaces, the node, the
//! add-ons, and the scenario's own objects.

use std::sync::Arc;

use anyhow::Context;
use serde_json::json;

use crate::addons::sealed_secrets;
use crate::apiserver::registry;
use crate::node;
use crate::resources::{self, Resource};
use crate::state::State;
use crate::storage::Key;

/// Create everything a new sandbox starts with.
pub fn bootstrap(state: &Arc<State>, objects: &[serde_json::Value]) -> anyhow::Result<()> {
    seed_namespaces(state)?;
    node::object::register(state);
    sealed_secrets::install(state);
    seed_objects(state, objects)
}

fn seed_namespaces(state: &State) -> anyhow::Result<()> {
    let rt = Resource::Namespace;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        registry::create(state, rt, "", json!({"metadata": {"name": ns}}), false)
            .map_err(|e| anyhow::anyhow!(e.message))?;
    }
    Ok(())
}

fn seed_objects(state: &State, objects_list: &[serde_json::Value]) -> anyhow::Result<()> {
    for obj in objects_list {
        let api_version = obj["apiVersion"].as_str().unwrap_or("");
        let kind = obj["kind"].as_str().unwrap_or("");
        let rt = resources::by_kind(api_version, kind)
            .with_context(|| format!("scenario object of unknown type {api_version}/{kind}"))?;
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(|v| v.as_str())
            .unwrap_or("default")
            .to_owned();
        if rt.namespaced
            && state
                .store
                .get(&Key::new(Resource::Namespace, "", &ns))
                .is_none()
        {
            registry::create(
                state,
                Resource::Namespace,
                "",
                json!({"metadata": {"name": ns}}),
                false,
            )
            .map_err(|e| anyhow::anyhow!(e.message))?;
        }
        registry::create(state, rt, &ns, obj.clone(), false)
            .map_err(|e| anyhow::anyhow!("scenario object {kind}: {}", e.message))?;
    }
    Ok(())
}
