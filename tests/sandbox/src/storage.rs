//! The object store: every API object as JSON, with Kubernetes' resourceVersion semantics
//! (one cluster-wide counter, bumped on every write) and a bounded event history so watches
//! can resume from a resourceVersion or get 410 Gone when it is too old.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::resources::Resource;

/// How many past events a watch can resume from.
const HISTORY: usize = 20_000;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// The watch event type string.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as broadcast to watchers.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion the change produced.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// The object's type.
    pub resource: Resource,
    /// The object after the change (before it, for deletes, with the delete's rv).
    pub object: Value,
    /// For modifications, what selectors can match of the object before the change (name,
    /// namespace, labels, status.phase, spec.nodeName), so a filtered watch can turn
    /// "started/stopped matching" into ADDED/DELETED as the API server does.
    pub old: Option<Value>,
}

/// The parts of an object that label and common field selectors read.
fn selectable(obj: &Value) -> Value {
    json!({
        "metadata": {
            "name": obj.pointer("/metadata/name"),
            "namespace": obj.pointer("/metadata/namespace"),
            "labels": obj.pointer("/metadata/labels"),
        },
        "status": {"phase": obj.pointer("/status/phase")},
        "spec": {"nodeName": obj.pointer("/spec/nodeName")},
        "type": obj.get("type"),
    })
}

/// Storage key of an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The object's type.
    pub resource: Resource,
    /// Namespace, empty for cluster-scoped.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl Key {
    /// Key of an object of type `resource` in `namespace` (ignored when cluster-scoped).
    pub fn new(resource: Resource, namespace: &str, name: &str) -> Self {
        Key {
            resource,
            namespace: if resource.namespaced {
                namespace.to_owned()
            } else {
                String::new()
            },
            name: name.to_owned(),
        }
    }
}

/// Why a store operation failed; mapped to a Status by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// No such object.
    NotFound,
    /// An object with that name exists.
    AlreadyExists,
    /// The resourceVersion precondition failed.
    Conflict,
}

struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Event>,
}

/// The store. Cheap to share behind an `Arc`.
pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Event>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

fn rv_of(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn set_rv(obj: &mut Value, rv: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
    }
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(65_536);
        Store {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
            }),
            tx,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(
        &self,
        inner: &mut Inner,
        kind: EventType,
        resource: Resource,
        object: Value,
        old: Option<&Value>,
    ) {
        let ev = Event {
            rv: inner.rv,
            kind,
            resource,
            object,
            old: old.map(selectable),
        };
        if inner.history.len() >= HISTORY {
            inner.history.pop_front();
        }
        inner.history.push_back(ev.clone());
        let _ = self.tx.send(ev);
    }

    /// The current resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Get one object.
    pub fn get(&self, key: &Key) -> Option<Value> {
        self.lock().objects.get(key).cloned()
    }

    /// All objects of a resource, optionally in one namespace, and the list resourceVersion.
    pub fn list(&self, resource: Resource, namespace: Option<&str>) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let items = inner
            .objects
            .iter()
            .filter(|(k, _)| k.resource == resource && namespace.is_none_or(|ns| k.namespace == ns))
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.rv)
    }

    /// Insert a new object (its metadata already filled). Sets resourceVersion.
    pub fn create(&self, key: Key, mut obj: Value) -> Result<Value, StoreError> {
        let mut inner = self.lock();
        if inner.objects.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        inner.rv += 1;
        set_rv(&mut obj, inner.rv);
        inner.objects.insert(key.clone(), obj.clone());
        self.record(
            &mut inner,
            EventType::Added,
            key.resource,
            obj.clone(),
            None,
        );
        Ok(obj)
    }

    /// Replace an object. When `obj` carries a resourceVersion it must match the stored one.
    /// An update that changes nothing does not bump the resourceVersion.
    pub fn update(&self, key: &Key, mut obj: Value) -> Result<Value, StoreError> {
        let mut inner = self.lock();
        let Some(current) = inner.objects.get(key) else {
            return Err(StoreError::NotFound);
        };
        if let Some(rv) = rv_of(&obj)
            && Some(rv) != rv_of(current)
        {
            return Err(StoreError::Conflict);
        }
        let current_rv = rv_of(current).unwrap_or("0").to_owned();
        let mut probe = obj.clone();
        if let Some(meta) = probe.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(current_rv));
        }
        if &probe == current {
            return Ok(probe);
        }
        inner.rv += 1;
        set_rv(&mut obj, inner.rv);
        let old = inner.objects.insert(key.clone(), obj.clone());
        self.record(
            &mut inner,
            EventType::Modified,
            key.resource,
            obj.clone(),
            old.as_ref(),
        );
        Ok(obj)
    }

    /// Read-modify-write under the store lock: `f` gets the current object and returns the
    /// new one (or None to leave it). Used by controllers, which never conflict.
    pub fn modify(&self, key: &Key, f: impl FnOnce(&mut Value) -> bool) -> Option<Value> {
        let mut inner = self.lock();
        let mut obj = inner.objects.get(key)?.clone();
        if !f(&mut obj) {
            return None;
        }
        if inner.objects.get(key) == Some(&obj) {
            return None;
        }
        inner.rv += 1;
        set_rv(&mut obj, inner.rv);
        let old = inner.objects.insert(key.clone(), obj.clone());
        self.record(
            &mut inner,
            EventType::Modified,
            key.resource,
            obj.clone(),
            old.as_ref(),
        );
        Some(obj)
    }

    /// Remove an object; returns it as it was.
    pub fn delete(&self, key: &Key) -> Result<Value, StoreError> {
        let mut inner = self.lock();
        let Some(mut obj) = inner.objects.remove(key) else {
            return Err(StoreError::NotFound);
        };
        inner.rv += 1;
        set_rv(&mut obj, inner.rv);
        self.record(
            &mut inner,
            EventType::Deleted,
            key.resource,
            obj.clone(),
            None,
        );
        Ok(obj)
    }

    /// Every object in the store with its key (for controllers and garbage collection).
    pub fn all(&self) -> Vec<(Key, Value)> {
        self.lock()
            .objects
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Subscribe to changes after `since`: the events already in history with rv > since,
    /// and a receiver for the ones to come. `Err(())` when `since` is older than the history
    /// keeps (the caller answers 410 Gone).
    #[allow(clippy::result_unit_err)]
    pub fn watch_from(&self, since: u64) -> Result<(Vec<Event>, broadcast::Receiver<Event>), ()> {
        let inner = self.lock();
        let rx = self.tx.subscribe();
        if let Some(first) = inner.history.front()
            && since + 1 < first.rv
            && since < inner.rv
        {
            return Err(());
        }
        let backlog = inner
            .history
            .iter()
            .filter(|e| e.rv > since)
            .cloned()
            .collect();
        Ok((backlog, rx))
    }

    /// A receiver for all future changes (controllers).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Key {
        Key::new(Resource::ConfigMap, "default", name)
    }

    fn cm(name: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "default"}, "data": {}})
    }

    #[test]
    fn create_bumps_resource_version_and_rejects_duplicates() {
        let s = Store::new();
        let a = s.create(key("a"), cm("a")).unwrap();
        let b = s.create(key("b"), cm("b")).unwrap();
        assert!(
            rv_of(&a).unwrap().parse::<u64>().unwrap() < rv_of(&b).unwrap().parse::<u64>().unwrap()
        );
        assert_eq!(s.create(key("a"), cm("a")), Err(StoreError::AlreadyExists));
    }

    #[test]
    fn update_with_stale_resource_version_conflicts() {
        let s = Store::new();
        let a = s.create(key("a"), cm("a")).unwrap();
        let mut changed = a.clone();
        changed["data"] = json!({"k": "v"});
        s.update(&key("a"), changed.clone()).unwrap();
        assert_eq!(s.update(&key("a"), changed), Err(StoreError::Conflict));
    }

    #[test]
    fn noop_update_keeps_resource_version() {
        let s = Store::new();
        let a = s.create(key("a"), cm("a")).unwrap();
        let same = s.update(&key("a"), a.clone()).unwrap();
        assert_eq!(rv_of(&a), rv_of(&same));
    }

    #[test]
    fn watch_replays_history_after_resource_version() {
        let s = Store::new();
        let a = s.create(key("a"), cm("a")).unwrap();
        let since: u64 = rv_of(&a).unwrap().parse().unwrap();
        s.create(key("b"), cm("b")).unwrap();
        let (backlog, _) = s.watch_from(since).unwrap();
        assert_eq!(backlog.len(), 1);
        assert_eq!(backlog[0].object["metadata"]["name"], "b");
    }
}
