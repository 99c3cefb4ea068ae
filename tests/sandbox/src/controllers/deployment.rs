//! The Deployment controller, following kube-controller-manager's logic: a ReplicaSet per
//! pod template (`<deploy>-<pod-template-hash>`), rolling updates bounded by maxSurge and
//! maxUnavailable, Recreate, scaling events that leave `Progressing` alone, revision
//! history, and the status fields and conditions `kubectl rollout status` reads.

use serde_json::{Map, Value, json};

use super::events::{Level, Source};
use super::{by_owner, meta, owner_ref};
use crate::objects;
use crate::resources::rt;
use crate::state::{State, now};
use crate::store::Key;

const HASH_LABEL: &str = "pod-template-hash";
const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";

/// Canonical JSON (sorted keys) for hashing.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical(&m[*k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The pod-template-hash of a template: FNV-1a 32 of its canonical JSON, written with
/// Kubernetes' "safe" alphabet like `rand.SafeEncodeString(fmt.Sprint(hash))`.
pub fn template_hash(template: &Value) -> String {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
    }
    let mut s = String::new();
    canonical(&t, &mut s);
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    h.to_string()
        .bytes()
        .map(|b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect()
}

/// An int-or-percent against `total`; percentages round up for surge, down otherwise.
pub fn int_or_percent(v: Option<&Value>, total: i64, round_up: bool, default_pct: i64) -> i64 {
    let pct = |p: i64| {
        if round_up {
            (p * total + 99) / 100
        } else {
            p * total / 100
        }
    };
    match v {
        None | Some(Value::Null) => pct(default_pct),
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => match s.strip_suffix('%') {
            Some(p) => p.trim().parse::<i64>().map(pct).unwrap_or(0),
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// (maxSurge, maxUnavailable) resolved for `desired` replicas; both zero means one
/// unavailable.
pub fn fenceposts(surge: Option<&Value>, unavailable: Option<&Value>, desired: i64) -> (i64, i64) {
    let s = int_or_percent(surge, desired, true, 25);
    let mut u = int_or_percent(unavailable, desired, false, 25);
    if s == 0 && u == 0 {
        u = 1;
    }
    (s, u)
}

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

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// Pure rolling-update step for the new ReplicaSet: the replicas it should have.
pub fn new_rs_target(desired: i64, surge: i64, new_replicas: i64, all_replicas: i64) -> i64 {
    if new_replicas >= desired {
        return desired;
    }
    let max_total = desired + surge;
    if all_replicas >= max_total {
        return new_replicas;
    }
    new_replicas + (max_total - all_replicas).min(desired - new_replicas)
}

/// Pure rolling-update step for old ReplicaSets (oldest first): (spec replicas, available)
/// in, new spec replicas out.
pub fn old_rs_targets(
    desired: i64,
    unavailable: i64,
    new: (i64, i64),
    olds: &[(i64, i64)],
) -> Vec<i64> {
    let mut out: Vec<i64> = olds.iter().map(|o| o.0).collect();
    let old_pods: i64 = out.iter().sum();
    if old_pods == 0 {
        return out;
    }
    let all_pods = old_pods + new.0;
    let min_available = desired - unavailable;
    let new_unavailable = new.0 - new.1;
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return out;
    }
    // Unhealthy old replicas go first.
    let mut total = 0;
    for (i, (replicas, available)) in olds.iter().enumerate() {
        if total >= max_scaled_down {
            break;
        }
        if *replicas == 0 || replicas == available {
            continue;
        }
        let d = (max_scaled_down - total).min(replicas - available);
        out[i] -= d;
        total += d;
    }
    // Then healthy ones, as far as availability allows.
    let available: i64 = new.1 + olds.iter().map(|o| o.1).sum::<i64>();
    if available <= min_available {
        return out;
    }
    let budget = available - min_available;
    let mut scaled = 0;
    for r in out.iter_mut() {
        if scaled >= budget {
            break;
        }
        if *r == 0 {
            continue;
        }
        let d = (*r).min(budget - scaled);
        *r -= d;
        scaled += d;
    }
    out
}

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
fn set_condition(conds: &mut Vec<Value>, ty: &str, status: &str, reason: &str, message: &str) {
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
        let written = self.state.store.modify(
            &Key::new(rt("apps/v1/replicasets"), &self.ns, &rs.name),
            |o| {
                o["spec"]["replicas"] = json!(to);
                if !o
                    .pointer("/metadata/annotations")
                    .is_some_and(Value::is_object)
                {
                    o["metadata"]["annotations"] = json!({});
                }
                o["metadata"]["annotations"][DESIRED] = json!(desired);
                o["metadata"]["annotations"][MAX_REPLICAS] = json!(max);
                true
            },
        );
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
        match objects::create(self.state, rt("apps/v1/replicasets"), &self.ns, obj, false) {
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
    let (deploys, _) = state.store.list("apps/v1/deployments", None);
    if deploys.is_empty() {
        return;
    }
    let (sets, _) = state.store.list("apps/v1/replicasets", None);
    let owned = by_owner(&sets);
    for d in &deploys {
        let rss: Vec<Rs> = owned
            .get(meta(d, "uid"))
            .map(|v| v.iter().map(|o| Rs::new(o)).collect())
            .unwrap_or_default();
        sync_deployment(state, d, rss);
    }
}

fn sync_deployment(state: &State, d: &Value, rss: Vec<Rs>) {
    let desired = d
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0);
    let strategy = d
        .pointer("/spec/strategy/type")
        .and_then(Value::as_str)
        .unwrap_or("RollingUpdate");
    let recreate = strategy == "Recreate";
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
    let mut conds: Vec<Value> = d
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let paused = d
        .pointer("/spec/paused")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let max_old_revision = old.iter().map(|r| r.revision).max().unwrap_or(0);

    // A scaling event: an active ReplicaSet was sized for a different replica count.
    let scaling = {
        let mut active = old
            .iter()
            .chain(new.iter())
            .filter(|r| r.replicas > 0)
            .peekable();
        active.peek().is_some()
            && active.any(|r| {
                annotation(&r.obj, DESIRED).and_then(|v| v.parse::<i64>().ok()) != Some(desired)
            })
    };
    let mut rollout = true;
    if paused || scaling {
        rollout = false;
        scale_only(&cx, &mut new, &mut old);
    } else if recreate {
        let any_old_active = old.iter().any(|r| r.replicas > 0);
        if any_old_active {
            for r in old.iter_mut().filter(|r| r.replicas > 0) {
                cx.scale(r, 0);
            }
        } else if old.iter().all(|r| r.status_replicas == 0) {
            match new.as_mut() {
                None => {
                    new = cx.create_rs(&hash, desired, max_old_revision + 1);
                    if let Some(n) = &new {
                        set_condition(
                            &mut conds,
                            "Progressing",
                            "True",
                            "NewReplicaSetCreated",
                            &format!("Created new replica set {:?}", n.name),
                        );
                    }
                }
                Some(n) if n.replicas != desired => cx.scale(n, desired),
                Some(_) => {}
            }
        }
    } else {
        if new.is_none() {
            let all: i64 = old.iter().map(|r| r.replicas).sum();
            let initial = new_rs_target(desired, surge, 0, all);
            new = cx.create_rs(&hash, initial, max_old_revision + 1);
            if let Some(n) = &new {
                set_condition(
                    &mut conds,
                    "Progressing",
                    "True",
                    "NewReplicaSetCreated",
                    &format!("Created new replica set {:?}", n.name),
                );
            }
        } else if let Some(n) = new.as_mut() {
            let all: i64 = n.replicas + old.iter().map(|r| r.replicas).sum::<i64>();
            let target = new_rs_target(desired, surge, n.replicas, all);
            if target != n.replicas {
                cx.scale(n, target);
            } else {
                let olds: Vec<(i64, i64)> = old.iter().map(|r| (r.replicas, r.available)).collect();
                let targets =
                    old_rs_targets(desired, unavailable, (n.replicas, n.available), &olds);
                for (r, t) in old.iter_mut().zip(targets) {
                    if t != r.replicas {
                        cx.scale(r, t);
                    }
                }
            }
        }
    }

    // Revision bookkeeping: the new ReplicaSet carries the highest revision.
    let mut revision = None;
    if let Some(n) = new.as_mut() {
        let want = if n.revision > max_old_revision {
            n.revision
        } else {
            max_old_revision + 1
        };
        if n.revision != want {
            state
                .store
                .modify(&Key::new(rt("apps/v1/replicasets"), &cx.ns, &n.name), |o| {
                    if !o
                        .pointer("/metadata/annotations")
                        .is_some_and(Value::is_object)
                    {
                        o["metadata"]["annotations"] = json!({});
                    }
                    o["metadata"]["annotations"][REVISION] = json!(want.to_string());
                    true
                });
            n.revision = want;
        }
        revision = Some(want);
    }

    // Status.
    let all: Vec<&Rs> = old.iter().chain(new.iter()).collect();
    let replicas: i64 = all.iter().map(|r| r.status_replicas).sum();
    let updated = new.as_ref().map(|n| n.status_replicas).unwrap_or(0);
    let ready: i64 = all.iter().map(|r| r.ready).sum();
    let available: i64 = all.iter().map(|r| r.available).sum();
    let spec_total: i64 = all.iter().map(|r| r.replicas).sum();
    let unavailable_count = (spec_total - available).max(0);
    let generation = d
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let max_unavailable = if recreate || desired == 0 {
        0
    } else {
        unavailable.min(desired)
    };
    if available >= desired - max_unavailable {
        set_condition(
            &mut conds,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        );
    } else {
        set_condition(
            &mut conds,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        );
    }
    let old_status = d.get("status").cloned().unwrap_or_else(|| json!({}));
    let o = |f: &str| old_status.get(f).and_then(Value::as_i64).unwrap_or(0);
    let complete = updated == desired && replicas == desired && available == desired;
    let deadline = d
        .pointer("/spec/progressDeadlineSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(600);
    if rollout && deadline < i32::MAX as i64 {
        let rs_name = new.as_ref().map(|n| n.name.clone());
        let cur = condition(&conds, "Progressing").cloned();
        let is_complete = replicas == updated
            && cur
                .as_ref()
                .is_some_and(|c| cond_str(c, "reason") == "NewReplicaSetAvailable");
        if !is_complete {
            let progressing = updated > o("updatedReplicas")
                || (replicas - updated) < (o("replicas") - o("updatedReplicas"))
                || ready > o("readyReplicas")
                || available > o("availableReplicas");
            let timed_out = cur.as_ref().is_some_and(|c| {
                let reason = cond_str(c, "reason");
                reason == "ProgressDeadlineExceeded"
                    || (reason != "NewReplicaSetAvailable"
                        && chrono::DateTime::parse_from_rfc3339(cond_str(c, "lastUpdateTime"))
                            .is_ok_and(|t| {
                                chrono::Utc::now().signed_duration_since(t).num_seconds() > deadline
                            }))
            });
            if complete {
                let msg = match &rs_name {
                    Some(n) => format!("ReplicaSet {n:?} has successfully progressed."),
                    None => format!(
                        "Deployment {:?} has successfully progressed.",
                        meta(d, "name")
                    ),
                };
                set_condition(
                    &mut conds,
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    &msg,
                );
            } else if progressing {
                let msg = match &rs_name {
                    Some(n) => format!("ReplicaSet {n:?} is progressing."),
                    None => format!("Deployment {:?} is progressing.", meta(d, "name")),
                };
                let ts = now();
                let lt = match &cur {
                    Some(c) if cond_str(c, "status") == "True" => {
                        cond_str(c, "lastTransitionTime").to_owned()
                    }
                    _ => ts.clone(),
                };
                conds.retain(|c| c.get("type").and_then(Value::as_str) != Some("Progressing"));
                conds.push(json!({"type": "Progressing", "status": "True", "lastUpdateTime": ts, "lastTransitionTime": lt, "reason": "ReplicaSetUpdated", "message": msg}));
            } else if timed_out {
                let msg = match &rs_name {
                    Some(n) => format!("ReplicaSet {n:?} has timed out progressing."),
                    None => format!(
                        "Deployment {:?} has timed out progressing.",
                        meta(d, "name")
                    ),
                };
                set_condition(
                    &mut conds,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    &msg,
                );
            }
        }
    }
    let mut status = Map::new();
    status.insert("observedGeneration".into(), json!(generation));
    for (k, v) in [
        ("replicas", replicas),
        ("updatedReplicas", updated),
        ("readyReplicas", ready),
        ("availableReplicas", available),
        ("unavailableReplicas", unavailable_count),
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
    if needs_write {
        state.store.modify(
            &Key::new(rt("apps/v1/deployments"), &cx.ns, meta(d, "name")),
            |o| {
                if o.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid.as_str()) {
                    return false;
                }
                if let Some(r) = &rev {
                    if !o
                        .pointer("/metadata/annotations")
                        .is_some_and(Value::is_object)
                    {
                        o["metadata"]["annotations"] = json!({});
                    }
                    o["metadata"]["annotations"][REVISION] = json!(r);
                }
                o["status"] = status;
                true
            },
        );
    }

    // History: keep revisionHistoryLimit inactive old ReplicaSets once rolled out.
    if complete && !paused {
        let limit = d
            .pointer("/spec/revisionHistoryLimit")
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
                let _ = objects::delete(
                    state,
                    rt("apps/v1/replicasets"),
                    &cx.ns,
                    &r.name,
                    false,
                    false,
                );
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_surge_up_and_unavailable_down() {
        assert_eq!(fenceposts(None, None, 1), (1, 0));
        assert_eq!(fenceposts(None, None, 4), (1, 1));
        assert_eq!(fenceposts(None, None, 10), (3, 2));
        assert_eq!(fenceposts(Some(&json!("50%")), Some(&json!(0)), 3), (2, 0));
    }

    #[test]
    fn zero_surge_and_zero_unavailable_allows_one_unavailable() {
        assert_eq!(fenceposts(Some(&json!(0)), Some(&json!("0%")), 3), (0, 1));
    }

    #[test]
    fn new_replica_set_grows_within_surge() {
        // 3 desired, surge 1: old has 3, the new one may have 1.
        assert_eq!(new_rs_target(3, 1, 0, 3), 1);
        // Already at max total: no growth.
        assert_eq!(new_rs_target(3, 1, 1, 4), 1);
        // Old scaled down to 2: the new one grows to 2.
        assert_eq!(new_rs_target(3, 1, 1, 3), 2);
        // Scale down of the new one to desired.
        assert_eq!(new_rs_target(2, 1, 5, 5), 2);
    }

    #[test]
    fn old_replica_sets_shrink_as_availability_allows() {
        // desired 3, unavailable 0: new has 1 available → one old pod can go.
        assert_eq!(old_rs_targets(3, 0, (1, 1), &[(3, 3)]), vec![2]);
        // New pod not yet available: nothing goes.
        assert_eq!(old_rs_targets(3, 0, (1, 0), &[(3, 3)]), vec![3]);
        // Unhealthy old pods go first.
        assert_eq!(old_rs_targets(2, 0, (1, 1), &[(2, 1)]), vec![1]);
        // Nothing can go while the only new pod is unavailable and maxUnavailable is 0.
        assert_eq!(old_rs_targets(1, 0, (1, 0), &[(1, 0)]), vec![1]);
    }

    #[test]
    fn template_hash_is_stable_and_ignores_key_order() {
        let a = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let b = json!({"spec": {"containers": [{"image": "i", "name": "c"}]}, "metadata": {"labels": {"b": "2", "a": "1"}}});
        assert_eq!(template_hash(&a), template_hash(&b));
        let c = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "c", "image": "j"}]}});
        assert_ne!(template_hash(&a), template_hash(&c));
        assert!(
            template_hash(&a)
                .chars()
                .all(|ch| "bcdfghjklmnpqrstvwxz2456789".contains(ch))
        );
    }
}
