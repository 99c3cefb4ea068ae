//! core/v1 Events, aggregated like the kubelet's event recorder does: an identical event
//! (same object, field, reason and message) bumps `count` and `lastTimestamp` instead of
//! creating a new object.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::apiserver::registry;
use crate::fields::meta;
use crate::resources::Resource;
use crate::state::{State, now};
use crate::storage::Key;

/// Normal or Warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal.
    Normal,
    /// Warning.
    Warning,
}

#[derive(Debug, Clone)]
struct Recorded {
    namespace: String,
    name: String,
    last: Instant,
}

/// The aggregation index.
#[derive(Default)]
pub struct Recorder {
    seen: HashMap<(String, String, String, String), Recorded>,
}

/// What an event is about and who reports it.
pub struct Source<'a> {
    /// The object.
    pub object: &'a Value,
    /// `spec.containers{name}` for container events.
    pub field_path: Option<String>,
    /// kubelet, default-scheduler, deployment-controller, ...
    pub component: &'static str,
}

impl Recorder {
    /// Record an event (or bump an identical one). Returns false when nothing was written
    /// because an identical event was recorded less than `min_interval` ago.
    pub fn record(
        &mut self,
        state: &State,
        src: &Source<'_>,
        level: Level,
        reason: &str,
        message: &str,
        min_interval: Duration,
    ) -> bool {
        let obj = src.object;
        let uid = meta(obj, "uid").to_owned();
        let field = src.field_path.clone().unwrap_or_default();
        let key = (uid, field.clone(), reason.to_owned(), message.to_owned());
        let ts = now();
        if let Some(rec) = self.seen.get_mut(&key) {
            if rec.last.elapsed() < min_interval {
                return false;
            }
            let k = Key::new(Resource::Event, &rec.namespace, &rec.name);
            let bumped = state.store.modify(&k, |ev| {
                let count = ev.get("count").and_then(Value::as_i64).unwrap_or(1);
                ev["count"] = json!(count + 1);
                ev["lastTimestamp"] = json!(ts);
                true
            });
            if bumped.is_some() {
                rec.last = Instant::now();
                return true;
            }
            // The event was deleted: record it again.
            self.seen.remove(&key);
        }
        let namespace = match meta(obj, "namespace") {
            "" => "default".to_owned(),
            ns => ns.to_owned(),
        };
        let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
        let name = format!(
            "{}.{:x}",
            meta(obj, "name"),
            nanos.wrapping_add(rand::random::<u16>() as u64)
        );
        let event = event_object(src, &namespace, &name, level, reason, message, &ts);
        match registry::create(state, Resource::Event, &namespace, event, false) {
            Ok(_) => {
                self.seen.insert(
                    key,
                    Recorded {
                        namespace,
                        name,
                        last: Instant::now(),
                    },
                );
                true
            }
            Err(e) => {
                tracing::debug!("recording event failed: {}", e.message);
                false
            }
        }
    }

    /// Record with no rate limit.
    pub fn emit(
        &mut self,
        state: &State,
        src: &Source<'_>,
        level: Level,
        reason: &str,
        message: &str,
    ) -> bool {
        self.record(state, src, level, reason, message, Duration::ZERO)
    }

    /// Forget aggregation entries for an object that no longer exists.
    pub fn forget(&mut self, uid: &str) {
        self.seen.retain(|k, _| k.0 != uid);
    }
}

/// A new core/v1 Event object.
fn event_object(
    src: &Source<'_>,
    namespace: &str,
    name: &str,
    level: Level,
    reason: &str,
    message: &str,
    ts: &str,
) -> Value {
    let obj = src.object;
    let field = src.field_path.clone().unwrap_or_default();
    let mut involved = json!({
        "kind": obj.get("kind").cloned().unwrap_or(Value::Null),
        "namespace": meta(obj, "namespace"),
        "name": meta(obj, "name"),
        "uid": meta(obj, "uid"),
        "apiVersion": obj.get("apiVersion").cloned().unwrap_or(Value::Null),
        "resourceVersion": meta(obj, "resourceVersion"),
    });
    if !field.is_empty() {
        involved["fieldPath"] = json!(field);
    }
    if meta(obj, "namespace").is_empty()
        && let Some(o) = involved.as_object_mut()
    {
        o.remove("namespace");
    }
    let mut source = json!({"component": src.component});
    if src.component == "kubelet" {
        source["host"] = json!("minikube");
    }
    json!({
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": ts,
        "lastTimestamp": ts,
        "count": 1,
        "type": match level { Level::Normal => "Normal", Level::Warning => "Warning" },
        "eventTime": null,
        "reportingComponent": src.component,
        "reportingInstance": if src.component == "kubelet" { "minikube".to_owned() } else { String::new() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fast_state;

    #[test]
    fn identical_events_are_aggregated() {
        let state = fast_state();
        let obj = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo", "uid": "u1"}});
        let src = Source {
            object: &obj,
            field_path: None,
            component: "kubelet",
        };
        let mut sim = state.sim();
        sim.events
            .emit(&state, &src, Level::Warning, "BackOff", "m");
        sim.events
            .emit(&state, &src, Level::Warning, "BackOff", "m");
        drop(sim);
        let (evs, _) = state.store.list(Resource::Event, Some("demo"));
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0]["count"], json!(2));
        assert_eq!(evs[0]["involvedObject"]["uid"], json!("u1"));
    }
}
