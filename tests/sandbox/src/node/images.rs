//! Images: the default pull policy (one definition, also used at admission), the kubelet's
//! pull decision against the node's image store and the scenario's registry, and the pull
//! events and waiting reasons (ErrImagePull, ImagePullBackOff, ErrImageNeverPull) with the
//! container runtime's messages.

use serde_json::Value;

use super::{CState, ContainerRuntime, Ctx, src};
use crate::events::Level;
use crate::scenario::{image_repository, image_tag, normalize_image};
use crate::state::SimState;

/// What the kubelet does about an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    /// Already on the node.
    Present,
    /// Pulled from the registry.
    Pulled,
    /// Not on the node, and policy Never.
    NeverMissing,
    /// The pull fails.
    Fails,
}

/// The API server's default pull policy (`SetDefaults_Container`): Always when the tag is
/// `latest`, written or implied (no tag and no digest), else IfNotPresent.
pub fn default_pull_policy(image: &str) -> &'static str {
    let latest = match image_tag(image) {
        Some(tag) => tag == "latest",
        None => !image.contains('@'),
    };
    if latest { "Always" } else { "IfNotPresent" }
}

/// The kubelet's image decision. `Always` asks the registry even when the node has the
/// image, so a locally built `:latest` image fails offline, as on minikube.
pub fn pull_decision(policy: &str, on_node: bool, in_registry: bool) -> Pull {
    match policy {
        "Never" if on_node => Pull::Present,
        "Never" => Pull::NeverMissing,
        "Always" if in_registry => Pull::Pulled,
        "Always" => Pull::Fails,
        _ if on_node => Pull::Present,
        _ if in_registry => Pull::Pulled,
        _ => Pull::Fails,
    }
}

/// The decision for container `c` now.
pub fn decide(ctx: &Ctx<'_>, sim: &SimState, c: &ContainerRuntime) -> Pull {
    let on_node = sim.node_has_image(&ctx.scenario, &c.image);
    let in_registry = ctx.scenario.registry_has_image(&c.image);
    pull_decision(&c.pull_policy, on_node, in_registry)
}

/// Get `c`'s image onto the node, with the kubelet's events. True when it is there; else
/// the container waits in ErrImageNeverPull or ErrImagePull.
pub fn pull(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, c: &mut ContainerRuntime) -> bool {
    let image = c.image.clone();
    let source = src(pod, Some(&c.name));
    let emit = |sim: &mut SimState, level, reason: &str, msg: &str| {
        sim.events.emit(ctx.state, &source, level, reason, msg);
    };
    let retry = ctx.ms(ctx.scenario.timings.crash_backoff_ms);
    match decide(ctx, sim, c) {
        Pull::Present => {
            let msg = format!("Container image {image:?} already present on machine");
            emit(sim, Level::Normal, "Pulled", &msg);
        }
        Pull::Pulled => {
            sim.extra_images.insert(normalize_image(&image));
            emit(
                sim,
                Level::Normal,
                "Pulling",
                &format!("Pulling image {image:?}"),
            );
            let msg = format!(
                "Successfully pulled image {image:?} in 812ms (812ms including waiting). Image size: 52428800 bytes."
            );
            emit(sim, Level::Normal, "Pulled", &msg);
        }
        Pull::NeverMissing => {
            let message = never_pull(ctx, sim, pod, &c.name, &image);
            c.state = CState::Waiting {
                reason: "ErrImageNeverPull",
                message,
                retry,
            };
            return false;
        }
        Pull::Fails => {
            let reason = pull_denied(&image);
            emit(
                sim,
                Level::Normal,
                "Pulling",
                &format!("Pulling image {image:?}"),
            );
            let msg = format!("Failed to pull image {image:?}: {reason}");
            emit(sim, Level::Warning, "Failed", &msg);
            emit(sim, Level::Warning, "Failed", "Error: ErrImagePull");
            c.state = CState::Waiting {
                reason: "ErrImagePull",
                message: reason,
                retry,
            };
            return false;
        }
    }
    c.image_ready = true;
    true
}

/// Docker's answer for an image no registry serves.
fn pull_denied(image: &str) -> String {
    let full = normalize_image(image);
    let host = full.split('/').next().unwrap_or("");
    let qualified = if full.contains('/')
        && (host.contains('.') || host.contains(':') || host == "localhost")
    {
        full.clone()
    } else if full.contains('/') {
        format!("docker.io/{full}")
    } else {
        format!("docker.io/library/{full}")
    };
    format!(
        "Error response from daemon: pull access denied for {}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied (manifest for {qualified} not found)",
        image_repository(image)
    )
}

/// The events of a pull back-off.
pub fn back_off_events(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    container: &str,
    image: &str,
) {
    let source = src(pod, Some(container));
    let msg = format!("Back-off pulling image {image:?}");
    sim.events
        .emit(ctx.state, &source, Level::Normal, "BackOff", &msg);
    sim.events.emit(
        ctx.state,
        &source,
        Level::Warning,
        "Failed",
        "Error: ImagePullBackOff",
    );
}

/// Record that `image` is missing and the pull policy is Never (the kubelet's events), and
/// return the container's waiting message.
pub fn never_pull(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    container: &str,
    image: &str,
) -> String {
    let msg = format!("Container image {image:?} is not present with pull policy of Never");
    let source = src(pod, Some(container));
    sim.events.emit(
        ctx.state,
        &source,
        Level::Warning,
        "ErrImageNeverPull",
        &msg,
    );
    sim.events.emit(
        ctx.state,
        &source,
        Level::Warning,
        "Failed",
        "Error: ErrImageNeverPull",
    );
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_or_untagged_images_default_to_always() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("todo-chatbot-backend:latest"), "Always");
        assert_eq!(
            default_pull_policy("todo-chatbot-backend:1.0.0"),
            "IfNotPresent"
        );
        assert_eq!(default_pull_policy("localhost:5000/app"), "Always");
        assert_eq!(default_pull_policy("localhost:5000/app:v1"), "IfNotPresent");
    }

    #[test]
    fn a_digest_without_a_tag_is_not_latest() {
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            default_pull_policy(&format!("nginx@{digest}")),
            "IfNotPresent"
        );
        assert_eq!(
            default_pull_policy(&format!("nginx:latest@{digest}")),
            "Always"
        );
    }

    #[test]
    fn pull_decisions_follow_policy_node_store_and_registry() {
        assert_eq!(pull_decision("IfNotPresent", true, false), Pull::Present);
        assert_eq!(pull_decision("IfNotPresent", false, true), Pull::Pulled);
        assert_eq!(pull_decision("IfNotPresent", false, false), Pull::Fails);
        assert_eq!(pull_decision("Never", true, false), Pull::Present);
        assert_eq!(pull_decision("Never", false, true), Pull::NeverMissing);
        assert_eq!(pull_decision("Always", true, false), Pull::Fails);
        assert_eq!(pull_decision("Always", false, true), Pull::Pulled);
    }
}
