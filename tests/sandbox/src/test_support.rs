//! Helpers for unit tests that drive the controllers without a server.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::apiserver::registry;
use crate::controllers::reconcile_all;
use crate::resources::Resource;
use crate::scenario::Scenario;
use crate::state::State;

/// A state with fast pod timings and a namespace `demo`.
pub fn fast_state() -> Arc<State> {
    let scenario = Scenario::from_yaml(
        "timings: {scheduleMs: 1, startMs: 1, readyMs: 1, crashBackoffMs: 5}\n",
    )
    .unwrap();
    let state = Arc::new(State::new(scenario));
    registry::create(
        &state,
        Resource::Namespace,
        "",
        json!({"metadata": {"name": "demo"}}),
        false,
    )
    .unwrap();
    state
}

/// Run controller passes until `done` (true) or about 1.2 s (false).
pub fn run_until(state: &Arc<State>, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..400 {
        reconcile_all(state, true);
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(3));
    }
    false
}
