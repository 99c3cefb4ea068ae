//! Per component: the image on the nodes the pods may use, and the NodePort.

use k8s_openapi::api::core::v1::{Node, Taint, Toleration};

use super::{Context, unread_result};
use crate::chart::{CHART_NAME, Component, LABEL_INSTANCE, LABEL_NAME};
use crate::image::ImageRef;
use crate::preflight::plan::ComponentPlan;
use crate::redact::printable;
use crate::verify::CheckResult;

/// The node holds no taint the pod does not tolerate (NoSchedule / NoExecute).
pub(super) fn tolerated(taint: &Taint, tolerations: &[Toleration]) -> bool {
    if taint.effect == "PreferNoSchedule" {
        return true;
    }
    tolerations.iter().any(|t| {
        let effect_ok = t
            .effect
            .as_deref()
            .is_none_or(|e| e.is_empty() || e == taint.effect);
        let key_ok = match t.key.as_deref() {
            None | Some("") => t.operator.as_deref() == Some("Exists"),
            Some(k) => k == taint.key,
        };
        let value_ok = match t.operator.as_deref() {
            Some("Exists") => true,
            _ => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        };
        effect_ok && key_ok && value_ok
    })
}

/// Nodes a component's pods may land on: schedulable, Ready, matching its nodeSelector, no
/// untolerated taint.
pub(super) fn candidate_nodes<'a>(nodes: &'a [Node], c: &ComponentPlan) -> Vec<&'a Node> {
    nodes
        .iter()
        .filter(|n| !crate::quantity::cordoned(n))
        .filter(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_none_or(|cs| {
                    cs.iter()
                        .find(|c| c.type_ == "Ready")
                        .is_none_or(|c| c.status == "True")
                })
        })
        .filter(|n| {
            let labels = n.metadata.labels.clone().unwrap_or_default();
            c.node_selector
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
        })
        .filter(|n| {
            n.spec
                .as_ref()
                .and_then(|s| s.taints.as_ref())
                .is_none_or(|ts| ts.iter().all(|t| tolerated(t, &c.tolerations)))
        })
        .collect()
}

fn node_images(n: &Node) -> Vec<String> {
    crate::image::held_by(std::slice::from_ref(n))
}

pub(super) fn image(ctx: &Context<'_>, comp: Component) -> CheckResult {
    let id = per_component(comp, "backend.image", "frontend.image");
    let c = ctx.plan.component(comp);
    let shown = printable(&c.image);
    let key = format!("{}.image", comp.name());
    let reference = match ImageRef::parse(&c.image) {
        Ok(r) => r,
        Err(e) => {
            return CheckResult::fail(
                id,
                format!(
                    "{shown} is not a valid image reference: {e} (the pods would fail InvalidImageName)"
                ),
                format!("set {key}.repository and {key}.tag to a valid reference"),
            );
        }
    };
    let policy = c.pull_policy.as_str();
    let nodes = match &ctx.obs.nodes {
        Ok(n) => n,
        Err(u) => return unread_result(ctx, id, "read the nodes' images", u),
    };
    if !ctx.platform.is_local() || !matches!(policy, "Never" | "IfNotPresent") {
        return pulled(ctx, id, &reference, nodes, &key, policy);
    }
    let candidates = candidate_nodes(nodes, c);
    if candidates.is_empty() {
        return CheckResult::skip(
            id,
            "no node can take the pods to hold the image (see capacity.requests)",
        );
    }
    let holding: Vec<&&Node> = candidates
        .iter()
        .filter(|n| reference.held_in(&node_images(n)))
        .collect();
    let total = candidates.len();
    if holding.len() == total {
        let on = if total == 1 {
            "the node".to_owned()
        } else {
            format!("all {total} nodes")
        };
        return CheckResult::pass(id, format!("{shown} is on {on} (pullPolicy {policy})"));
    }
    let fix = load_fix(ctx, &reference, &candidates, &key);
    let outcome = if policy == "Never" {
        "ErrImageNeverPull"
    } else {
        "ImagePullBackOff (a local cluster cannot pull a locally built image)"
    };
    if holding.is_empty() {
        CheckResult::fail(
            id,
            format!(
                "{shown} is not on the node{}: the pods would fail {outcome}",
                if total == 1 { "" } else { "s" }
            ),
            fix,
        )
    } else {
        let missing: Vec<String> = candidates
            .iter()
            .filter(|n| !reference.held_in(&node_images(n)))
            .map(|n| printable(n.metadata.name.as_deref().unwrap_or("?")))
            .collect();
        CheckResult::warn(
            id,
            format!(
                "{shown} is on {} of {total} nodes; pods placed on {} would fail {outcome}",
                holding.len(),
                missing.join(", ")
            ),
            fix,
        )
    }
}

/// Images the nodes pull (a remote cluster, or pullPolicy Always): the reference is well
/// formed (checked already); on a local cluster, Always ignores a loaded copy.
fn pulled(
    ctx: &Context<'_>,
    id: &'static str,
    reference: &ImageRef,
    nodes: &[Node],
    key: &str,
    policy: &str,
) -> CheckResult {
    let shown = printable(&reference.familiar());
    let held = nodes.iter().any(|n| reference.held_in(&node_images(n)));
    if policy == "Always" && ctx.platform.is_local() && held {
        return CheckResult::warn(
            id,
            format!(
                "{shown} is on the node, but pullPolicy Always pulls it from its registry at every start (the loaded copy is not used)"
            ),
            format!(
                "set {key}.pullPolicy=IfNotPresent to run the image loaded into {}",
                ctx.platform.name()
            ),
        );
    }
    CheckResult::pass(
        id,
        format!("{shown} is a well-formed reference, pulled by the nodes (pullPolicy {policy})"),
    )
}

/// The fix for an image missing from the nodes: a tag they have, or the platform's load
/// command.
fn load_fix(ctx: &Context<'_>, reference: &ImageRef, candidates: &[&Node], key: &str) -> String {
    let all_names: Vec<String> = candidates.iter().flat_map(|n| node_images(n)).collect();
    let others = reference.other_tags(&all_names);
    let load = ctx.platform.image_load_hint(&reference.familiar());
    if others.is_empty() {
        return load;
    }
    format!(
        "the node has {}: set {key}.tag to one of them, or {load}",
        others
            .iter()
            .map(|o| printable(o))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `namespace/name`, and the todo-chatbot release that owns the Service, if one does.
fn service_owner(s: &k8s_openapi::api::core::v1::Service) -> String {
    let labels = s.metadata.labels.as_ref();
    let release = labels
        .filter(|l| l.get(LABEL_NAME).map(String::as_str) == Some(CHART_NAME))
        .map(|l| {
            format!(
                " (release {})",
                printable(l.get(LABEL_INSTANCE).map_or("?", String::as_str))
            )
        })
        .unwrap_or_default();
    format!(
        "{}/{}{release}",
        printable(s.metadata.namespace.as_deref().unwrap_or("?")),
        printable(s.metadata.name.as_deref().unwrap_or("?"))
    )
}

/// The check ID of a component's aspect.
fn per_component(comp: Component, backend: &'static str, frontend: &'static str) -> &'static str {
    match comp {
        Component::Backend => backend,
        Component::Frontend => frontend,
    }
}

/// The default NodePort range of the API server (`--service-node-port-range`).
const NODE_PORT_RANGE: std::ops::RangeInclusive<i64> = 30000..=32767;

pub(super) fn node_port(ctx: &Context<'_>, comp: Component) -> CheckResult {
    let id = per_component(comp, "backend.nodeport", "frontend.nodeport");
    let c = ctx.plan.component(comp);
    let key = format!("{}.service", comp.name());
    let Some(port) = c.node_port else {
        return CheckResult::pass(
            id,
            format!(
                "Service type {}: no NodePort asked for",
                printable(&c.service_type)
            ),
        );
    };
    if !NODE_PORT_RANGE.contains(&port) {
        return CheckResult::fail(
            id,
            format!(
                "NodePort {port} is outside the API server's default range 30000-32767: the Service would be refused"
            ),
            format!(
                "set {key}.nodePort to a port in 30000-32767, or leave it empty for a random one"
            ),
        );
    }
    if comp == Component::Frontend && ctx.plan.component(Component::Backend).node_port == Some(port)
    {
        return CheckResult::fail(
            id,
            format!("NodePort {port} is also the backend's: the second Service would be refused"),
            format!("give {key}.nodePort another port"),
        );
    }
    let services = match &ctx.obs.services {
        Ok(s) => s,
        Err(u) => return unread_result(ctx, id, "list the cluster's Services", u),
    };
    let own = c.deployment.as_str();
    let taken = services.iter().find(|s| {
        let is_own = s.metadata.namespace.as_deref() == Some(ctx.ns())
            && s.metadata.name.as_deref() == Some(own);
        !is_own
            && s.spec
                .as_ref()
                .and_then(|sp| sp.ports.as_ref())
                .into_iter()
                .flatten()
                .any(|p| p.node_port.map(i64::from) == Some(port))
    });
    match taken {
        Some(s) => {
            let who = service_owner(s);
            CheckResult::fail(
                id,
                format!(
                    "NodePort {port} is taken by Service {who}: the install would fail with \"provided port is already allocated\""
                ),
                format!(
                    "set {key}.nodePort to a free port, or {key}.type=ClusterIP (reach it with `kubectl port-forward`)"
                ),
            )
        }
        None => CheckResult::pass(id, format!("NodePort {port} is free")),
    }
}
