//! Init containers and native sidecars as the kubelet runs them: in spec order, each regular
//! init container to completion before the next starts, each sidecar (`restartPolicy:
//! Always`) started (its startup probe passed) before the next; a failing init container
//! restarts with back-off (Init:CrashLoopBackOff) unless the pod's restartPolicy is Never
//! (the pod fails); sidecars keep running and restarting for the pod's life. The app
//! containers start once every init container is done.

use serde_json::Value;

use super::runtime::{Role, Slot};
use super::{Ctx, PodRuntime, containers};
use crate::state::SimState;

/// Advance the init containers and sidecars; true when the app containers may run (every
/// init container completed and every sidecar started, or they ran before).
pub fn step(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, rt: &mut PodRuntime) -> bool {
    let initialized_before = rt.initialized();
    for i in 0..rt.init.len() {
        let slot = Slot::Init(i);
        let role = rt.get(slot).role;
        if role == Role::Init && rt.get(slot).completed() {
            continue;
        }
        if role == Role::Init && initialized_before {
            // Regular init containers never run again once the pod is initialized.
            continue;
        }
        if role == Role::Init && rt.get(slot).terminated() {
            // Failed for good (restartPolicy Never): the pod has failed.
            return false;
        }
        containers::step(ctx, sim, pod, rt, slot);
        let c = rt.get(slot);
        let done = match role {
            Role::Sidecar => c.started(),
            _ => c.completed(),
        };
        if !done && !initialized_before {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use crate::apiserver::registry;
    use crate::node::{CState, Role};
    use crate::resources::Resource;
    use crate::storage::Key;
    use crate::test_support::{fast_state, fast_state_with, run_until};
    use serde_json::{Value, json};

    fn pod(init: Value, restart: &str) -> Value {
        json!({"metadata": {"name": "p", "namespace": "demo"}, "spec": {"restartPolicy": restart,
            "initContainers": init,
            "containers": [{"name": "app", "image": "todo-chatbot-frontend:1.0.0"}]}})
    }

    fn status(state: &crate::state::State) -> Value {
        state
            .store
            .get(&Key::new(Resource::Pod, "demo", "p"))
            .map(|p| p["status"].clone())
            .unwrap_or_default()
    }

    #[test]
    fn init_containers_run_in_order_before_the_app() {
        let state = fast_state();
        let init = json!([
            {"name": "one", "image": "todo-chatbot-frontend:1.0.0"},
            {"name": "two", "image": "todo-chatbot-frontend:1.0.0"}]);
        registry::create(&state, Resource::Pod, "demo", pod(init, "Always"), false).unwrap();
        let mut saw_second_running_alone = false;
        assert!(run_until(&state, || {
            let s = status(&state);
            let st = |i: usize| s["initContainerStatuses"][i]["state"].clone();
            if st(1).get("running").is_some() {
                saw_second_running_alone |= st(0)["terminated"]["reason"] == "Completed";
            }
            s["phase"] == "Running" && s["containerStatuses"][0]["ready"] == true
        }));
        assert!(saw_second_running_alone, "{}", status(&state));
        let s = status(&state);
        for i in 0..2 {
            let c = &s["initContainerStatuses"][i];
            assert_eq!(c["state"]["terminated"]["reason"], "Completed", "{c}");
            assert_eq!(
                (c["ready"].clone(), c["started"].clone()),
                (json!(true), json!(false))
            );
        }
    }

    #[test]
    fn a_failing_init_container_crash_loops_or_fails_the_pod_under_never() {
        let state = fast_state_with(
            "apps:\n- {container: migrate, kind: crashloop, logs: [migration failed]}\n",
        );
        let init = json!([{"name": "migrate", "image": "todo-chatbot-backend:1.0.0"}]);
        registry::create(
            &state,
            Resource::Pod,
            "demo",
            pod(init.clone(), "Always"),
            false,
        )
        .unwrap();
        assert!(run_until(&state, || {
            status(&state)["initContainerStatuses"][0]["state"]["waiting"]["reason"]
                == "CrashLoopBackOff"
        }));
        let s = status(&state);
        assert_eq!(s["phase"], "Pending");
        assert_eq!(
            s["containerStatuses"][0]["state"]["waiting"]["reason"],
            "PodInitializing"
        );
        let sim = state.sim();
        let rt = sim.pods.values().next().unwrap();
        assert_eq!(rt.init[0].role, Role::Init);
        assert_eq!(
            rt.init[0].previous_logs.as_deref(),
            Some(&["migration failed".to_owned()][..])
        );
        drop(sim);
        let state = fast_state_with("apps:\n- {container: migrate, kind: crashloop}\n");
        registry::create(&state, Resource::Pod, "demo", pod(init, "Never"), false).unwrap();
        assert!(run_until(&state, || status(&state)["phase"] == "Failed"));
        let s = status(&state);
        assert_eq!(
            s["initContainerStatuses"][0]["state"]["terminated"]["exitCode"],
            1
        );
        let sim = state.sim();
        let rt = sim.pods.values().next().unwrap();
        assert!(
            matches!(rt.containers[0].state, CState::Pending),
            "the app never started"
        );
    }

    #[test]
    fn sidecars_start_before_the_next_container_and_keep_running() {
        let state = fast_state();
        let init = json!([
            {"name": "proxy", "image": "todo-chatbot-frontend:1.0.0", "restartPolicy": "Always"},
            {"name": "migrate", "image": "todo-chatbot-frontend:1.0.0"}]);
        registry::create(&state, Resource::Pod, "demo", pod(init, "Always"), false).unwrap();
        assert!(run_until(&state, || {
            let s = status(&state);
            s["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        }));
        let s = status(&state);
        let proxy = &s["initContainerStatuses"][0];
        assert!(proxy["state"]["running"].is_object(), "{proxy}");
        assert_eq!(
            (proxy["started"].clone(), proxy["ready"].clone()),
            (json!(true), json!(true))
        );
        assert_eq!(
            s["initContainerStatuses"][1]["state"]["terminated"]["reason"],
            "Completed"
        );
    }
}
