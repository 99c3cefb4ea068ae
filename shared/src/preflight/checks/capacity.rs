//! Room for the pods on the nodes, and PodDisruptionBudgets and HPAs that fit the replicas.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::workload::candidate_nodes;
use super::{Context, unread_result};
use crate::chart::{CHART_NAME, Component, LABEL_INSTANCE, LABEL_NAME};
use crate::platform::Platform;
use crate::preflight::plan::Budget;
use crate::quantity::{self, NodeRoom, Resources};
use crate::verify::CheckResult;

/// Place `pods` (each `requests`) on `rooms` largest-free first; how many did not fit.
pub(super) fn unplaced(
    rooms: &mut [(String, Resources)],
    pods: &[(Component, Resources, Vec<String>)],
) -> Vec<Component> {
    let mut left = Vec::new();
    for (c, need, allowed) in pods {
        let best = rooms
            .iter_mut()
            .filter(|(n, free)| {
                allowed.contains(n)
                    && free.cpu + 1e-9 >= need.cpu
                    && free.memory + 1e-9 >= need.memory
            })
            .max_by(|a, b| {
                (a.1.cpu / need.cpu.max(1e-9))
                    .min(a.1.memory / need.memory.max(1e-9))
                    .total_cmp(
                        &(b.1.cpu / need.cpu.max(1e-9)).min(b.1.memory / need.memory.max(1e-9)),
                    )
            });
        match best {
            Some((_, free)) => {
                free.cpu -= need.cpu;
                free.memory -= need.memory;
            }
            None => left.push(*c),
        }
    }
    left
}

/// One pod to place: its component, requests and the nodes it may use.
type Wanted = (Component, Resources, Vec<String>);

/// The cluster's pods minus the release's own when upgrading (those are replaced).
fn not_replaced(ctx: &Context<'_>, pods: &[Pod]) -> Vec<Pod> {
    let upgrade = ctx.upgrade();
    pods.iter()
        .filter(|p| {
            !(upgrade
                && p.metadata.namespace.as_deref() == Some(ctx.ns())
                && p.metadata.labels.as_ref().is_some_and(|l| {
                    l.get(LABEL_INSTANCE) == Some(&ctx.plan.release)
                        && l.get(LABEL_NAME).map(String::as_str) == Some(CHART_NAME)
                }))
        })
        .cloned()
        .collect()
}

/// Every pod the install (or upgrade, with its surge) runs at its peak, or why some can
/// never be scheduled at all.
fn demand(
    ctx: &Context<'_>,
    nodes: &[k8s_openapi::api::core::v1::Node],
    rooms: &[NodeRoom],
) -> Result<Vec<Wanted>, Vec<String>> {
    let upgrade = ctx.upgrade();
    let mut wanted = Vec::new();
    let mut never = Vec::new();
    for c in &ctx.plan.components {
        let allowed: Vec<String> = candidate_nodes(nodes, c)
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        let n = c.replicas.max(0) + if upgrade { c.surge() } else { 0 };
        if allowed.is_empty() && n > 0 {
            never.push(format!(
                "no schedulable node matches the {} pods' nodeSelector and tolerations",
                c.component.name()
            ));
            continue;
        }
        let biggest = rooms
            .iter()
            .filter(|r| allowed.contains(&r.node))
            .map(|r| r.allocatable)
            .fold(Resources::default(), |a, b| Resources {
                cpu: a.cpu.max(b.cpu),
                memory: a.memory.max(b.memory),
            });
        if c.requests.cpu > biggest.cpu + 1e-9 || c.requests.memory > biggest.memory + 1e-9 {
            never.push(format!(
                "each {} pod requests {} CPU and {} memory, more than any node's allocatable ({} CPU, {} memory)",
                c.component.name(),
                quantity::format_cpu(c.requests.cpu),
                quantity::format_memory(c.requests.memory),
                quantity::format_cpu(biggest.cpu),
                quantity::format_memory(biggest.memory)
            ));
            continue;
        }
        for _ in 0..n.min(10_000) {
            wanted.push((c.component, c.requests, allowed.clone()));
        }
    }
    if never.is_empty() {
        wanted
            .sort_by(|a, b| (b.1.cpu + b.1.memory / 1e9).total_cmp(&(a.1.cpu + a.1.memory / 1e9)));
        Ok(wanted)
    } else {
        Err(never)
    }
}

/// `free X CPU, Y memory on N nodes`.
fn free_text(rooms: &[NodeRoom]) -> String {
    let free = rooms.iter().fold(Resources::default(), |a, r| {
        let f = r.free();
        Resources {
            cpu: a.cpu + f.cpu.max(0.0),
            memory: a.memory + f.memory.max(0.0),
        }
    });
    format!(
        "free {} CPU, {} memory on {} node{}",
        quantity::format_cpu(free.cpu),
        quantity::format_memory(free.memory),
        rooms.len(),
        if rooms.len() == 1 { "" } else { "s" }
    )
}

pub(super) fn capacity(ctx: &Context<'_>) -> CheckResult {
    let id = "capacity.requests";
    let (nodes, pods) = match (&ctx.obs.nodes, &ctx.obs.pods) {
        (Ok(n), Ok(p)) => (n, p),
        (Err(u), _) => return unread_result(ctx, id, "read the nodes", u),
        (_, Err(u)) => return unread_result(ctx, id, "list the cluster's pods", u),
    };
    let rooms: Vec<NodeRoom> = quantity::node_rooms(nodes, &not_replaced(ctx, pods));
    let key_hint = "lower <component>.resources.requests or replicaCount, or add nodes";
    let wanted = match demand(ctx, nodes, &rooms) {
        Ok(w) => w,
        Err(never) => {
            // Nodes of the same size would not help: the fix verify gives for the same pod.
            return CheckResult::fail(
                id,
                format!("pods that can never be scheduled: {}", never.join("; ")),
                "lower <component>.resources.requests to fit a node (or fix its nodeSelector and tolerations), or add a larger node",
            );
        }
    };
    let mut free: Vec<(String, Resources)> =
        rooms.iter().map(|r| (r.node.clone(), r.free())).collect();
    let left = unplaced(&mut free, &wanted);
    let total = wanted.len();
    let surge = if ctx.upgrade() {
        " (+ the rolling update's surge)"
    } else {
        ""
    };
    if left.is_empty() {
        let counts: Vec<String> = ctx
            .plan
            .components
            .iter()
            .map(|c| format!("{} {}", c.replicas.max(0), c.component.name()))
            .collect();
        return CheckResult::pass(
            id,
            format!(
                "room for all {total} pods ({}){surge}: {}",
                counts.join(", "),
                free_text(&rooms)
            ),
        );
    }
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &left {
        *by.entry(c.name()).or_default() += 1;
    }
    let which: Vec<String> = by.iter().map(|(c, n)| format!("{n} {c}")).collect();
    CheckResult::fail(
        id,
        format!(
            "{} of {total} pods{surge} would stay Pending (FailedScheduling: Insufficient cpu/memory): {}; {}",
            left.len(),
            which.join(", "),
            free_text(&rooms)
        ),
        key_hint,
    )
}

pub(super) fn disruption(ctx: &Context<'_>) -> CheckResult {
    let id = "capacity.disruption";
    let mut warnings = Vec::new();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for c in &ctx.plan.components {
        let name = c.component.name();
        if let Some(pdb) = &c.pdb {
            let replicas = c.autoscaling.as_ref().map_or(c.replicas, |a| a.min);
            let allowed = match pdb {
                Budget::MinAvailable(m) => replicas - m.resolve(replicas, true),
                Budget::MaxUnavailable(m) => m.resolve(replicas, true),
            };
            if allowed <= 0 {
                warnings.push(format!(
                    "{name}: the PDB ({}) allows no voluntary disruption with {replicas} replica{}: `kubectl drain` and node upgrades would block",
                    match pdb { Budget::MinAvailable(m) => format!("minAvailable {m}"), Budget::MaxUnavailable(m) => format!("maxUnavailable {m}") },
                    if replicas == 1 { "" } else { "s" }
                ));
            } else {
                notes.push(format!("{name} PDB allows {allowed} disruption(s)"));
            }
        }
        if let Some(a) = &c.autoscaling {
            if a.cpu_target > 0 && c.requests.cpu <= 0.0 {
                failures.push(format!("{name}: the HPA targets {}% CPU but the pods request no CPU: it cannot compute utilisation", a.cpu_target));
            }
            notes.push(format!("{name} HPA {}-{}", a.min, a.max));
        }
        if c.autoscaling.is_none()
            && c.max_surge.resolve(c.replicas, true) <= 0
            && c.max_unavailable.resolve(c.replicas, false) <= 0
        {
            failures.push(format!("{name}: rollingUpdate maxSurge and maxUnavailable are both 0: the Deployment is refused"));
        }
    }
    match &ctx.obs.metrics_api {
        Some(Ok(false)) => {
            warnings.push("no metrics API (metrics.k8s.io): the HPAs would never scale".into())
        }
        Some(Err(u)) => warnings.push(format!("could not ask for the metrics API: {}", u.message)),
        _ => {}
    }
    let metrics_fix = match &ctx.platform {
        Platform::Minikube { .. } => "`minikube addons enable metrics-server`",
        _ => {
            "install metrics-server (`kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml`)"
        }
    };
    if !failures.is_empty() {
        failures.extend(warnings);
        return CheckResult::fail(
            id,
            failures.join("; "),
            "fix <component>.autoscaling / rollingUpdate / resources in the values",
        );
    }
    if !warnings.is_empty() {
        return CheckResult::warn(
            id,
            warnings.join("; "),
            format!(
                "raise <component>.replicaCount above the PDB's minAvailable (or set pdb.maxUnavailable: 1); for HPAs {metrics_fix}"
            ),
        );
    }
    if notes.is_empty() {
        CheckResult::pass(id, "no PodDisruptionBudget or HPA enabled")
    } else {
        CheckResult::pass(id, notes.join(", "))
    }
}
