//! DELETE as the API server does it: DeleteOptions from the query or the body (dry run, grace
//! period, preconditions, propagation policy), graceful deletion of pods (`deletionTimestamp`
//! set to now + the grace period, `deletionGracePeriodSeconds`, only ever shortened; the
//! kubelet removes the pod once its containers stopped, see [`crate::node::termination`]),
//! immediate deletion of everything else, orphaning, and a namespace's contents.

use serde_json::{Value, json};

use super::http::Query;
use super::status::ApiError;
use crate::fields::{meta, pod_finished};
use crate::resources::Resource;
use crate::state::State;
use crate::storage::Key;

/// The options of one delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `dryRun: [All]`: answer as if deleted, keep everything.
    pub dry_run: bool,
    /// `gracePeriodSeconds`, when given (negative values mean 1, as the API server says).
    pub grace_period: Option<i64>,
    /// `propagationPolicy: Orphan` (or the old `orphanDependents: true`).
    pub orphan: bool,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
}

impl DeleteOptions {
    /// The options of a request: query parameters first, then the DeleteOptions body (what
    /// kubectl sends), with the dry-run values checked.
    pub fn from_request(query: &Query, body: &Value) -> Result<DeleteOptions, ApiError> {
        let dry_values: Vec<String> = match body.get("dryRun").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .map(|v| v.as_str().unwrap_or("").to_owned())
                .collect(),
            None => query.get("dryRun").map(str::to_owned).into_iter().collect(),
        };
        if let Some(bad) = dry_values.iter().find(|v| *v != "All") {
            return Err(ApiError::invalid_options(
                "DeleteOptions",
                "dryRun",
                &format!("Unsupported value: []string{{{bad:?}}}: supported values: \"All\""),
            ));
        }
        let grace_period = query
            .get("gracePeriodSeconds")
            .and_then(|g| g.parse().ok())
            .or_else(|| body.get("gracePeriodSeconds").and_then(Value::as_i64))
            .map(|g: i64| if g < 0 { 1 } else { g });
        let policy = query
            .get("propagationPolicy")
            .or_else(|| body.get("propagationPolicy").and_then(Value::as_str));
        let pre = |k: &str| {
            body.pointer(&format!("/preconditions/{k}"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Ok(DeleteOptions {
            dry_run: !dry_values.is_empty(),
            grace_period,
            orphan: policy == Some("Orphan") || body.get("orphanDependents") == Some(&json!(true)),
            uid: pre("uid"),
            resource_version: pre("resourceVersion"),
        })
    }

    /// A dry run with otherwise default options.
    pub fn dry(dry_run: bool) -> DeleteOptions {
        DeleteOptions {
            dry_run,
            ..DeleteOptions::default()
        }
    }
}

/// What a delete does to a pod (`CheckGracefulDelete` and `BeforeDelete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Remove it now.
    Now,
    /// Start (or shorten) graceful deletion: this many seconds from the stored
    /// deletionTimestamp's start, or from now.
    Graceful(i64),
    /// Already being deleted with a grace period no longer than asked: nothing changes.
    Pending,
}

/// The grace period of a new graceful deletion of `pod`: the one asked for, else the pod's
/// `terminationGracePeriodSeconds`; 0 for a pod not bound to a node or already finished.
pub fn grace_period(pod: &Value, asked: Option<i64>) -> i64 {
    let bound = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !bound || pod_finished(pod) {
        return 0;
    }
    asked
        .or_else(|| {
            pod.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(0)
        .max(0)
}

fn plan(pod: &Value, opts: &DeleteOptions) -> Plan {
    let current = pod
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64);
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        return match (current, opts.grace_period) {
            (None | Some(0), _) => Plan::Now,
            (Some(cur), Some(p)) if p < cur => {
                if p == 0 {
                    Plan::Now
                } else {
                    Plan::Graceful(p)
                }
            }
            _ => Plan::Pending,
        };
    }
    match grace_period(pod, opts.grace_period) {
        0 => Plan::Now,
        p => Plan::Graceful(p),
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Set deletionTimestamp and deletionGracePeriodSeconds for a grace period of `period`
/// seconds; a shortened deletion keeps its start (`old timestamp - old period + period`).
fn mark_terminating(pod: &mut Value, period: i64) {
    let now = chrono::Utc::now();
    let start = pod
        .pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .zip(
            pod.pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64),
        )
        .map(|(ts, old)| ts.with_timezone(&chrono::Utc) - chrono::Duration::seconds(old))
        .unwrap_or(now);
    let ts = start + chrono::Duration::seconds(period);
    pod["metadata"]["deletionTimestamp"] = json!(rfc3339(ts));
    pod["metadata"]["deletionGracePeriodSeconds"] = json!(period);
}

fn check_preconditions(rt: Resource, obj: &Value, opts: &DeleteOptions) -> Result<(), ApiError> {
    let name = meta(obj, "name");
    if let Some(uid) = &opts.uid
        && uid != meta(obj, "uid")
    {
        return Err(ApiError::conflict_because(
            &rt,
            name,
            &format!(
                "the UID in the precondition ({uid}) does not match the UID in record ({}). The object might have been deleted and then recreated",
                meta(obj, "uid")
            ),
        ));
    }
    if let Some(rv) = &opts.resource_version
        && rv != meta(obj, "resourceVersion")
    {
        return Err(ApiError::conflict_because(
            &rt,
            name,
            &format!(
                "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({}). The object might have been modified",
                meta(obj, "resourceVersion")
            ),
        ));
    }
    Ok(())
}

/// Delete an object: pods gracefully (the answer is the pod with its deletionTimestamp, or
/// the pod as it was when removed at once), anything else at once. Dependents are removed by
/// the garbage collector (background propagation) or orphaned.
pub fn delete(
    state: &State,
    rt: Resource,
    namespace: &str,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Value, ApiError> {
    let key = Key::new(rt, namespace, name);
    let current = state
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&rt, name))?;
    check_preconditions(rt, &current, opts)?;
    let plan = if rt == Resource::Pod {
        plan(&current, opts)
    } else {
        Plan::Now
    };
    match plan {
        Plan::Pending => Ok(current),
        Plan::Graceful(period) if opts.dry_run => {
            let mut pod = current;
            mark_terminating(&mut pod, period);
            Ok(pod)
        }
        Plan::Graceful(period) => {
            let uid = meta(&current, "uid").to_owned();
            state
                .store
                .modify(&key, |pod| {
                    if meta(pod, "uid") != uid {
                        return false;
                    }
                    mark_terminating(pod, period);
                    true
                })
                .ok_or_else(|| ApiError::not_found(&rt, name))
        }
        Plan::Now if opts.dry_run => Ok(current),
        Plan::Now => remove(state, &key, opts.orphan).ok_or_else(|| ApiError::not_found(&rt, name)),
    }
}

/// Remove an object from the store now (what a delete without grace, or the kubelet's final
/// delete of a stopped pod, does): orphan its dependents when asked, and take a namespace's
/// contents with it. The object as it was, or None when it was already gone.
pub fn remove(state: &State, key: &Key, orphan: bool) -> Option<Value> {
    let deleted = state.store.delete(key).ok()?;
    let uid = meta(&deleted, "uid").to_owned();
    if orphan {
        for (k, v) in state.store.all() {
            let owned = v
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid.as_str()));
            if owned {
                state.store.modify(&k, |o| {
                    if let Some(refs) = o
                        .pointer_mut("/metadata/ownerReferences")
                        .and_then(Value::as_array_mut)
                    {
                        refs.retain(|r| r["uid"] != uid.as_str());
                    }
                    true
                });
            }
        }
    }
    if key.resource == Resource::Namespace {
        for (k, _) in state.store.all() {
            if k.namespace == key.name {
                let _ = state.store.delete(&k);
            }
        }
    }
    Some(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: &str, phase: &str) -> Value {
        json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"nodeName": node, "terminationGracePeriodSeconds": 30}, "status": {"phase": phase}})
    }

    #[test]
    fn grace_comes_from_the_request_else_the_pod_and_is_zero_when_unbound_or_finished() {
        assert_eq!(grace_period(&pod("minikube", "Running"), None), 30);
        assert_eq!(grace_period(&pod("minikube", "Running"), Some(5)), 5);
        assert_eq!(grace_period(&pod("", "Pending"), Some(5)), 0);
        assert_eq!(grace_period(&pod("minikube", "Succeeded"), None), 0);
        assert_eq!(grace_period(&pod("minikube", "Failed"), Some(9)), 0);
        let force = DeleteOptions {
            grace_period: Some(0),
            ..DeleteOptions::default()
        };
        assert_eq!(plan(&pod("minikube", "Running"), &force), Plan::Now);
        assert_eq!(
            plan(&pod("minikube", "Running"), &DeleteOptions::default()),
            Plan::Graceful(30)
        );
    }

    #[test]
    fn a_pending_deletion_may_only_be_shortened() {
        let mut p = pod("minikube", "Running");
        mark_terminating(&mut p, 30);
        let asked = |g| DeleteOptions {
            grace_period: g,
            ..DeleteOptions::default()
        };
        assert_eq!(plan(&p, &asked(None)), Plan::Pending);
        assert_eq!(plan(&p, &asked(Some(60))), Plan::Pending);
        assert_eq!(plan(&p, &asked(Some(10))), Plan::Graceful(10));
        assert_eq!(plan(&p, &asked(Some(0))), Plan::Now);
        let first = p["metadata"]["deletionTimestamp"]
            .as_str()
            .unwrap()
            .to_owned();
        mark_terminating(&mut p, 10);
        let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        let second = p["metadata"]["deletionTimestamp"].as_str().unwrap();
        assert_eq!((parse(&first) - parse(second)).num_seconds(), 20);
        assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 10);
    }

    #[test]
    fn options_come_from_the_query_or_the_body() {
        let q = Query::parse(Some("gracePeriodSeconds=-5&propagationPolicy=Orphan"));
        let o = DeleteOptions::from_request(&q, &Value::Null).unwrap();
        assert_eq!(
            (o.grace_period, o.orphan, o.dry_run),
            (Some(1), true, false)
        );
        let body = json!({"kind": "DeleteOptions", "dryRun": ["All"], "gracePeriodSeconds": 0,
            "preconditions": {"uid": "u1"}});
        let o = DeleteOptions::from_request(&Query::parse(None), &body).unwrap();
        assert_eq!((o.grace_period, o.dry_run), (Some(0), true));
        assert_eq!(o.uid.as_deref(), Some("u1"));
        let bad = json!({"dryRun": ["Yes"]});
        let e = DeleteOptions::from_request(&Query::parse(None), &bad).unwrap_err();
        assert_eq!(e.code, 422);
    }
}
