//! The simulated control plane: the Deployment, ReplicaSet, Endpoints/EndpointSlice and
//! garbage-collection controllers, plus the kubelet ([`crate::node`]) and the add-ons'
//! controllers, all driven by one task that wakes on store events and on a short timer and
//! writes only when something changed.

pub mod deployment;
pub mod endpoints;
pub mod gc;
pub mod replicaset;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast::error::TryRecvError;

use crate::addons::sealed_secrets;
use crate::node;
use crate::resources::Resource;
use crate::state::State;
use crate::storage::EventType;

/// Run every controller until the task is aborted.
pub fn spawn(state: Arc<State>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut rx = state.store.subscribe();
        let mut full = true;
        let mut last_full = Instant::now();
        loop {
            let started = Instant::now();
            // A full pass at least every 5 s for slow time-based state (minReadySeconds).
            if full || last_full.elapsed() >= Duration::from_secs(5) {
                full = true;
                last_full = started;
            }
            reconcile_all(&state, full);
            let spent = started.elapsed();
            // Leave the API server room when a pass is expensive.
            let pause = Duration::from_millis(5).max(spent);
            tokio::time::sleep(pause).await;
            let wake = tokio::time::sleep(Duration::from_millis(20));
            tokio::pin!(wake);
            let mut deleted = false;
            full = false;
            tokio::select! {
                ev = rx.recv() => {
                    full = true;
                    if let Ok(ev) = ev {
                        deleted |= ev.kind == EventType::Deleted;
                    } else {
                        deleted = true;
                    }
                }
                () = &mut wake => {}
            }
            loop {
                match rx.try_recv() {
                    Ok(ev) => {
                        full = true;
                        deleted |= ev.kind == EventType::Deleted;
                    }
                    Err(TryRecvError::Lagged(_)) => {
                        full = true;
                        deleted = true;
                    }
                    Err(_) => break,
                }
            }
            if deleted {
                let mut sim = state.sim();
                sim.gc_due = true;
                // An Endpoints object or slice may be gone: recompute them.
                sim.endpoint_fingerprints.clear();
            }
        }
    })
}

/// One pass of every controller. `full` after store changes; otherwise only time-based
/// work (pod transitions, progress deadlines) is done.
pub fn reconcile_all(state: &Arc<State>, full: bool) {
    let now = Instant::now();
    // One snapshot of the pods per pass; writes made during the pass trigger another.
    let pods = if full {
        state.store.list(Resource::Pod, None).0
    } else {
        Vec::new()
    };
    node::reconcile(state, now, full.then_some(pods.as_slice()));
    let t1 = now.elapsed();
    if full {
        replicaset::reconcile(state, &pods);
    }
    let t2 = now.elapsed();
    deployment::reconcile(state);
    let t3 = now.elapsed();
    if full {
        endpoints::reconcile(state, &pods);
        sealed_secrets::controller::reconcile(state);
    }
    let t4 = now.elapsed();
    gc::reconcile(state);
    if now.elapsed() > Duration::from_millis(50) {
        tracing::debug!(
            "pass full={full} kubelet={t1:?} rs={:?} deploy={:?} endpoints={:?} gc={:?}",
            t2 - t1,
            t3 - t2,
            t4 - t3,
            now.elapsed() - t4
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::registry;
    use crate::fields::{controller_uid, meta};
    use crate::storage::Key;
    use crate::test_support::{fast_state, run_until};
    use serde_json::{Value, json};

    fn deployment(image: &str) -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "demo"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}
            }
        })
    }

    #[test]
    fn deployment_rolls_out_to_ready_pods_and_rolls_again_on_template_change() {
        let state = fast_state();
        let d = registry::create(
            &state,
            Resource::Deployment,
            "demo",
            deployment("todo-chatbot-frontend:1.0.0"),
            false,
        )
        .unwrap();
        let key = Key::new(Resource::Deployment, "demo", "web");
        let complete = |state: &Arc<State>| {
            let d = state.store.get(&key).unwrap();
            d.pointer("/status/availableReplicas") == Some(&json!(2))
                && d.pointer("/status/updatedReplicas") == Some(&json!(2))
                && d.pointer("/status/replicas") == Some(&json!(2))
                && d.pointer("/status/observedGeneration") == d.pointer("/metadata/generation")
        };
        assert!(run_until(&state, || complete(&state)));
        let mut changed = state.store.get(&key).unwrap();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("todo-chatbot-backend:1.0.0");
        changed["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "DATABASE_URL", "value": "postgresql://u:p@ep-demo-123456.us-east-2.aws.neon.tech/todo"}]);
        registry::update(
            &state,
            Resource::Deployment,
            "demo",
            "web",
            changed,
            registry::Part::Main,
            false,
        )
        .unwrap();
        assert!(run_until(&state, || complete(&state)));
        let (sets, _) = state.store.list(Resource::ReplicaSet, Some("demo"));
        assert_eq!(sets.len(), 2);
        let (pods, _) = state.store.list(Resource::Pod, Some("demo"));
        assert_eq!(pods.len(), 2);
        assert!(
            pods.iter().all(|p| p.pointer("/spec/containers/0/image")
                == Some(&json!("todo-chatbot-backend:1.0.0")))
        );
        let uid = meta(&d, "uid").to_owned();
        assert!(sets.iter().all(|s| controller_uid(s) == Some(uid.as_str())));
    }
}
