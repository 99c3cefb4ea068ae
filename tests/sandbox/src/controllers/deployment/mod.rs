//! The Deployment controller, following kube-controller-manager's logic: a ReplicaSet per
//! pod template (`<deploy>-<pod-template-hash>`), rolling updates bounded by maxSurge and
//! maxUnavailable, Recreate, scaling events that leave `Progressing` alone, revision
//! history, and the status fields and conditions `kubectl rollout status` reads.

pub mod rollout;
mod status;

use serde_json::{Map, Value, json};

use self::rollout::{fenceposts, new_rs_target, old_rs_targets, template_hash};
use self::status::Counts;
use crate::apiserver::registry;
use crate::events::{Level, Source};
use crate::fields::{by_owner, meta, owner_ref};
use crate::resources::Resource;
use crate::state::State;
use crate::storage::Key;

const HASH_LABEL: &str = "pod-template-hash";
const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";

#[derive(Debug, Clone)]
struct Rs {
    obj: Value,
    name: String,
    replicas: i64,
    original: i64,
    status_replicas: i64,
    ready: i64,
    available: i64,
    revision: i64,
    created: String,
}

impl Rs {
    fn new(obj: &Value) -> Self {
        let n = |p: &str| obj.pointer(p).and_then(Value::as_i64).unwrap_or(0);
        let replicas = obj
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        Rs {
            obj: obj.clone(),
            name: meta(obj, "name").to_owned(),
            replicas,
            original: replicas,
            status_replicas: n("/status/replicas"),
            ready: n("/status/readyReplicas"),
            available: n("/status/availableReplicas"),
            revision: annotation(obj, REVISION)
                .and_then(|r| r.parse().ok())
                .unwrap_or(0),
            created: meta(obj, "creationTimestamp").to_owned(),
        }
    }
}

/// Set `metadata.annotations[key]`, creating the map when absent.
fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    if !obj
        .pointer("/metadata/annotations")
        .is_some_and(Value::is_object)
    {
        obj["metadata"]["annotations"] = json!({});
    }
    obj["metadata"]["annotations"][key] = json!(value);
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

struct Sync<'a> {
    state: &'a State,
    d: &'a Value,
    ns: String,
    desired: i64,
    surge: i64,
}

impl Sync<'_> {
    fn event(&self, reason: &str, message: &str) {
        let src = Source {
            object: self.d,
            field_path: None,
            component: "deployment-controller",
        };
        self.state
            .sim()
            .events
            .emit(self.state, &src, Level::Normal, reason, message);
    }

    /// Write a ReplicaSet's replicas (and the deployment's desired/max annotations).
    fn scale(&self, rs: &mut Rs, to: i64) {
        let from = rs.original;
        let desired = self.desired.to_string();
        let max = (self.desired + self.surge).to_string();
        let written =
            self.state
                .store
                .modify(&Key::new(Resource::ReplicaSet, &self.ns, &rs.name), |o| {
                    o["spec"]["replicas"] = json!(to);
                    set_annotation(o, DESIRED, &desired);
                    set_annotation(o, MAX_REPLICAS, &max);
                    true
                });
        rs.replicas = to;
        if written.is_some() && from != to {
            let dir = if to > from { "up" } else { "down" };
            self.event(
                "ScalingReplicaSet",
                &format!("Scaled {dir} replica set {} from {from} to {to}", rs.name),
            );
            rs.original = to;
        }
    }

    /// The new ReplicaSet carries the highest revision: bump it past the old ones'.
    fn keep_revision(&self, n: &mut Rs, next_revision: i64) -> i64 {
        let want = if n.revision >= next_revision {
            n.revision
        } else {
            next_revision
        };
        if n.revision != want {
            self.state
                .store
                .modify(&Key::new(Resource::ReplicaSet, &self.ns, &n.name), |o| {
                    set_annotation(o, REVISION, &want.to_string());
                    true
                });
            n.revision = want;
        }
        want
    }

    fn create_rs(&self, hash: &str, replicas: i64, revision: i64) -> Option<Rs> {
        let d = self.d;
        let name = format!("{}-{hash}", meta(d, "name"));
        let mut template = d
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if !template.get("metadata").is_some_and(Value::is_object) {
            template["metadata"] = json!({});
        }
        if !template
            .pointer("/metadata/labels")
            .is_some_and(Value::is_object)
        {
            template["metadata"]["labels"] = json!({});
        }
        template["metadata"]["labels"][HASH_LABEL] = json!(hash);
        let mut selector = d
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if !selector.get("matchLabels").is_some_and(Value::is_object) {
            selector["matchLabels"] = json!({});
        }
        selector["matchLabels"][HASH_LABEL] = json!(hash);
        let mut annotations: Map<String, Value> = d
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .map(|a| {
                a.iter()
                    .filter(|(k, _)| {
                        !k.starts_with("deployment.kubernetes.io/")
                            && k.as_str() != "kubectl.kubernetes.io/last-applied-configuration"
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        annotations.insert(DESIRED.into(), json!(self.desired.to_string()));
        annotations.insert(
            MAX_REPLICAS.into(),
            json!((self.desired + self.surge).to_string()),
        );
        annotations.insert(REVISION.into(), json!(revision.to_string()));
        let mut spec = json!({"replicas": replicas, "selector": selector, "template": template});
        if let Some(m) = d.pointer("/spec/minReadySeconds") {
            spec["minReadySeconds"] = m.clone();
        }
        let obj = json!({
            "metadata": {"name": name, "namespace": self.ns, "labels": template["metadata"]["labels"].clone(), "annotations": annotations, "ownerReferences": [owner_ref(d)]},
            "spec": spec,
        });
        match registry::create(self.state, Resource::ReplicaSet, &self.ns, obj, false) {
            Ok(created) => {
                if replicas > 0 {
                    self.event(
                        "ScalingReplicaSet",
                        &format!("Scaled up replica set {name} from 0 to {replicas}"),
                    );
                }
                Some(Rs::new(&created))
            }
            Err(e) => {
                tracing::debug!("creating replica set {name}: {}", e.message);
                None
            }
        }
    }
}

/// Reconcile every Deployment.
pub fn reconcile(state: &State) {
    let (deploys, _) = state.store.list(Resource::Deployment, None);
    if deploys.is_empty() {
        return;
    }
    let (sets, _) = state.store.list(Resource::ReplicaSet, None);
    let owned = by_owner(&sets);
    for d in &deploys {
        let rss: Vec<Rs> = owned
            .get(meta(d, "uid"))
            .map(|v| v.iter().map(|o| Rs::new(o)).collect())
            .unwrap_or_default();
        sync_deployment(state, d, rss);
    }
}

/// Reconcile one Deployment against its ReplicaSets: roll (RollingUpdate or Recreate) or
/// only scale, keep the revision, write the status, trim the history.
fn sync_deployment(state: &State, d: &Value, rss: Vec<Rs>) {
    let desired = d
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0);
    let recreate = d.pointer("/spec/strategy/type").and_then(Value::as_str) == Some("Recreate");
    let (surge, unavailable) = if recreate {
        (0, 0)
    } else {
        fenceposts(
            d.pointer("/spec/strategy/rollingUpdate/maxSurge"),
            d.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
            desired,
        )
    };
    let cx = Sync {
        state,
        d,
        ns: meta(d, "namespace").to_owned(),
        desired,
        surge,
    };
    let hash = template_hash(d.pointer("/spec/template").unwrap_or(&Value::Null));
    let (mut new, mut old) = split_by_template(rss, &hash);
    let mut conds: Vec<Value> = d
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let paused = d
        .pointer("/spec/paused")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let next_revision = old.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
    let rollout = !paused && !is_scaling_event(&new, &old, desired);
    if !rollout {
        scale_only(&cx, &mut new, &mut old);
    } else if recreate {
        recreate_step(&cx, &mut new, &mut old, &hash, next_revision, &mut conds);
    } else {
        rolling_step(
            &cx,
            &mut new,
            &mut old,
            (&hash, next_revision),
            unavailable,
            &mut conds,
        );
    }
    let revision = new.as_mut().map(|n| cx.keep_revision(n, next_revision));
    let counts = Counts::of(&old, new.as_ref());
    let max_unavailable = if recreate || desired == 0 {
        0
    } else {
        unavailable.min(desired)
    };
    status::availability(&mut conds, &counts, desired, max_unavailable);
    if rollout {
        status::progress(
            &mut conds,
            d,
            &counts,
            desired,
            new.as_ref().map(|n| n.name.as_str()),
        );
    }
    status::write(&cx, &counts, conds, revision);
    if counts.complete(desired) && !paused {
        clean_history(&cx, &old);
    }
}

/// The ReplicaSet of the current template (the first one carrying its hash), and the old
/// ones, oldest first.
fn split_by_template(rss: Vec<Rs>, hash: &str) -> (Option<Rs>, Vec<Rs>) {
    let mut old: Vec<Rs> = Vec::new();
    let mut new: Option<Rs> = None;
    for rs in rss {
        let h = rs
            .obj
            .pointer("/metadata/labels")
            .and_then(|l| l.get(HASH_LABEL))
            .and_then(Value::as_str)
            .unwrap_or("");
        if h == hash && new.is_none() {
            new = Some(rs);
        } else {
            old.push(rs);
        }
    }
    old.sort_by(|a, b| a.created.cmp(&b.created).then(a.revision.cmp(&b.revision)));
    (new, old)
}

/// A scaling event: an active ReplicaSet was sized for a different replica count.
fn is_scaling_event(new: &Option<Rs>, old: &[Rs], desired: i64) -> bool {
    let mut active = old
        .iter()
        .chain(new.iter())
        .filter(|r| r.replicas > 0)
        .peekable();
    active.peek().is_some()
        && active.any(|r| {
            annotation(&r.obj, DESIRED).and_then(|v| v.parse::<i64>().ok()) != Some(desired)
        })
}

/// Create the new ReplicaSet with `replicas`, and say so in `Progressing`.
fn create_new(
    cx: &Sync<'_>,
    hash: &str,
    replicas: i64,
    revision: i64,
    conds: &mut Vec<Value>,
) -> Option<Rs> {
    let new = cx.create_rs(hash, replicas, revision);
    if let Some(n) = &new {
        let msg = format!("Created new replica set {:?}", n.name);
        status::set_condition(conds, "Progressing", "True", "NewReplicaSetCreated", &msg);
    }
    new
}

/// Recreate: scale every old ReplicaSet to zero, wait for their pods to go, then create or
/// size the new one.
fn recreate_step(
    cx: &Sync<'_>,
    new: &mut Option<Rs>,
    old: &mut [Rs],
    hash: &str,
    revision: i64,
    conds: &mut Vec<Value>,
) {
    if old.iter().any(|r| r.replicas > 0) {
        for r in old.iter_mut().filter(|r| r.replicas > 0) {
            cx.scale(r, 0);
        }
        return;
    }
    if !old.iter().all(|r| r.status_replicas == 0) {
        return;
    }
    match new.as_mut() {
        None => *new = create_new(cx, hash, cx.desired, revision, conds),
        Some(n) if n.replicas != cx.desired => cx.scale(n, cx.desired),
        Some(_) => {}
    }
}

/// RollingUpdate: grow the new ReplicaSet within maxSurge, then shrink the old ones as
/// availability allows.
fn rolling_step(
    cx: &Sync<'_>,
    new: &mut Option<Rs>,
    old: &mut [Rs],
    (hash, revision): (&str, i64),
    unavailable: i64,
    conds: &mut Vec<Value>,
) {
    let old_total: i64 = old.iter().map(|r| r.replicas).sum();
    let Some(n) = new.as_mut() else {
        let initial = new_rs_target(cx.desired, cx.surge, 0, old_total);
        *new = create_new(cx, hash, initial, revision, conds);
        return;
    };
    let target = new_rs_target(cx.desired, cx.surge, n.replicas, n.replicas + old_total);
    if target != n.replicas {
        cx.scale(n, target);
        return;
    }
    let olds: Vec<(i64, i64)> = old.iter().map(|r| (r.replicas, r.available)).collect();
    let targets = old_rs_targets(cx.desired, unavailable, (n.replicas, n.available), &olds);
    for (r, t) in old.iter_mut().zip(targets) {
        if t != r.replicas {
            cx.scale(r, t);
        }
    }
}

/// History: keep revisionHistoryLimit inactive old ReplicaSets once rolled out.
fn clean_history(cx: &Sync<'_>, old: &[Rs]) {
    let limit =
        cx.d.pointer("/spec/revisionHistoryLimit")
            .and_then(Value::as_i64)
            .unwrap_or(10)
            .max(0) as usize;
    let mut inactive: Vec<&Rs> = old
        .iter()
        .filter(|r| r.replicas == 0 && r.status_replicas == 0)
        .collect();
    if inactive.len() > limit {
        inactive.sort_by_key(|r| r.revision);
        let excess = inactive.len() - limit;
        for r in inactive.into_iter().take(excess) {
            let _ = registry::delete(
                cx.state,
                Resource::ReplicaSet,
                &cx.ns,
                &r.name,
                false,
                false,
            );
        }
    }
}

/// A scaling event (or a paused deployment): size the active ReplicaSets without rolling.
fn scale_only(cx: &Sync<'_>, new: &mut Option<Rs>, old: &mut [Rs]) {
    let active_count = old
        .iter()
        .chain(new.iter())
        .filter(|r| r.replicas > 0)
        .count();
    if active_count <= 1 {
        // The only active one, else the new one, else the newest old one.
        let target: Option<&mut Rs> = if let Some(n) = new.as_mut().filter(|n| n.replicas > 0) {
            Some(n)
        } else if let Some(i) = old.iter().position(|r| r.replicas > 0) {
            Some(&mut old[i])
        } else if new.is_some() {
            new.as_mut()
        } else {
            old.last_mut()
        };
        if let Some(t) = target {
            cx.scale(t, cx.desired);
        }
        return;
    }
    // Several active: proportional, as the real controller does (largest first on
    // rounding), bounded by desired + maxSurge.
    let allowed = cx.desired + cx.surge;
    let current: i64 = old.iter().chain(new.iter()).map(|r| r.replicas).sum();
    let mut to_add = allowed - current;
    let mut all: Vec<&mut Rs> = old
        .iter_mut()
        .chain(new.iter_mut())
        .filter(|r| r.replicas > 0)
        .collect();
    all.sort_by(|a, b| b.replicas.cmp(&a.replicas).then(b.created.cmp(&a.created)));
    let mut targets: Vec<i64> = all.iter().map(|r| r.replicas).collect();
    if current > 0 && to_add != 0 {
        let mut added = 0;
        for (i, r) in all.iter().enumerate() {
            let share = r.replicas * (allowed) / current - r.replicas;
            let share = if to_add > 0 {
                share.min(to_add - added)
            } else {
                share.max(to_add - added)
            };
            targets[i] = (r.replicas + share).max(0);
            added += share;
        }
        to_add -= added;
        if to_add != 0 {
            targets[0] = (targets[0] + to_add).max(0);
        }
    }
    for (r, t) in all.into_iter().zip(targets) {
        cx.scale(r, t);
    }
}
