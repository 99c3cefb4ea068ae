//! Images: the default pull policy (one definition, also used at admission), the kubelet's
//! decision against the node's image store ([`super::image_store`]: tags and digests) and the
//! scenario's registry, and the pull itself with the kubelet's events and waiting reasons:
//! InvalidImageName for a reference it cannot parse, ErrImageNeverPull, a pull that takes
//! `timings.pullMs`, ErrImagePull with the runtime's error ([`super::pull_errors`]) and then
//! ImagePullBackOff.

use serde_json::Value;

use super::image_store::{self, StoredImage};
use super::pull_errors;
use super::{CState, ContainerRuntime, Ctx, src};
use crate::events::Level;
use crate::image_ref::{ImageRef, invalid_image_message};
use crate::scenario::{PullFailure, image_tag};
use crate::state::SimState;

/// What the kubelet does about an image, by pull policy alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Use the node's copy.
    UseLocal,
    /// Ask the registry.
    Pull,
    /// Not on the node, and policy Never.
    NeverMissing,
}

/// What happens to an image now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pull {
    /// Already on the node.
    Present(StoredImage),
    /// The registry serves it.
    Pulled(StoredImage),
    /// Not on the node, and policy Never.
    NeverMissing,
    /// The pull fails.
    Fails(PullFailure),
    /// The reference does not parse (the kubelet's message).
    Invalid(String),
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

/// The kubelet's decision by policy. `Always` asks the registry even when the node has the
/// image, so a locally built `:latest` image fails offline, as on minikube.
pub fn pull_decision(policy: &str, on_node: bool) -> Decision {
    match policy {
        "Never" if on_node => Decision::UseLocal,
        "Never" => Decision::NeverMissing,
        "Always" => Decision::Pull,
        _ if on_node => Decision::UseLocal,
        _ => Decision::Pull,
    }
}

/// How a pull of `r` fails when the registry does not serve it: the scenario's rule for the
/// image or its repository, else not found when the registry has the repository (a typo'd
/// tag), else denied (no such repository).
fn failure(ctx: &Ctx<'_>, r: &ImageRef, registry: &[StoredImage]) -> PullFailure {
    let matches = |rule: &str| {
        ImageRef::parse(rule).is_ok_and(|p| {
            p == *r || (p.tag.is_none() && p.digest.is_none() && p.repository() == r.repository())
        })
    };
    ctx.scenario
        .pull_errors
        .iter()
        .find(|e| matches(&e.image))
        .map(|e| e.error)
        .unwrap_or_else(|| {
            if image_store::has_repository(registry, r) {
                PullFailure::NotFound
            } else {
                PullFailure::Denied
            }
        })
}

/// The decision for container `c` on node `node` now.
pub fn decide(ctx: &Ctx<'_>, sim: &SimState, c: &ContainerRuntime, node: &str) -> Pull {
    let r = match ImageRef::parse(&c.image) {
        Ok(r) => r,
        Err(e) => return Pull::Invalid(invalid_image_message(&c.image, &e)),
    };
    let store = image_store::node_store(&ctx.scenario, sim, ctx.node_index(node));
    let local = image_store::find(&store, &r).cloned();
    match pull_decision(&c.pull_policy, local.is_some()) {
        Decision::UseLocal => local.map_or(Pull::NeverMissing, Pull::Present),
        Decision::NeverMissing => Pull::NeverMissing,
        Decision::Pull => {
            let registry = image_store::registry_store(&ctx.scenario);
            match image_store::find(&registry, &r) {
                Some(img) => Pull::Pulled(img.clone()),
                None => Pull::Fails(failure(ctx, &r, &registry)),
            }
        }
    }
}

/// The image as the kubelet names it in events: `:latest` added when neither a tag nor a
/// digest is written (`applyDefaultImageTag`).
pub fn requested(image: &str) -> String {
    match ImageRef::parse(image) {
        Ok(r) if r.tag.is_none() && r.digest.is_none() => format!("{image}:latest"),
        _ => image.to_owned(),
    }
}

/// Go's rendering of a pull duration (`812ms`, `1.5s`).
fn go_duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        let s = format!("{:.3}", ms as f64 / 1000.0);
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// The node now has `img` as `r` named it.
fn on_node(c: &mut ContainerRuntime, r: &ImageRef, img: &StoredImage, ctx: &Ctx<'_>) {
    c.image_ready = true;
    c.image_id = image_store::image_id(r, &img.digest, ctx.runtime());
}

/// Get `c`'s image onto the node `node`, with the kubelet's events. True when it is there;
/// else the container waits (Pulling, InvalidImageName, ErrImageNeverPull, ErrImagePull).
pub fn pull(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    c: &mut ContainerRuntime,
    node: &str,
) -> bool {
    let image = requested(&c.image);
    let source = src(pod, Some(c));
    let emit = |sim: &mut SimState, level, reason: &str, msg: &str| {
        sim.events.emit(ctx.state, &source, level, reason, msg);
    };
    let retry = ctx.ms(ctx.scenario.timings.crash_backoff_ms);
    let r = ImageRef::parse(&c.image);
    match (decide(ctx, sim, c, node), r) {
        (Pull::Invalid(message), _) | (_, Err(message)) => {
            emit(sim, Level::Warning, "InspectFailed", &message);
            emit(sim, Level::Warning, "Failed", "Error: InvalidImageName");
            c.state = CState::Waiting {
                reason: "InvalidImageName",
                message,
                retry: ctx.ms(3_600_000),
            };
            false
        }
        (Pull::Present(img), Ok(r)) => {
            let msg = format!("Container image {image:?} already present on machine");
            emit(sim, Level::Normal, "Pulled", &msg);
            on_node(c, &r, &img, ctx);
            true
        }
        (Pull::NeverMissing, _) => {
            let message = never_pull(ctx, sim, pod, c);
            c.state = CState::Waiting {
                reason: "ErrImageNeverPull",
                message,
                retry,
            };
            false
        }
        (outcome, Ok(r)) => fetch(ctx, sim, pod, c, &r, outcome),
    }
}

/// Pull from the registry (after `timings.pullMs`): the image is on the node, or the
/// container waits in ErrImagePull with the runtime's error.
fn fetch(
    ctx: &Ctx<'_>,
    sim: &mut SimState,
    pod: &Value,
    c: &mut ContainerRuntime,
    r: &ImageRef,
    outcome: Pull,
) -> bool {
    let image = requested(&c.image);
    let source = src(pod, Some(c));
    let emit = |sim: &mut SimState, level, reason: &str, msg: &str| {
        sim.events.emit(ctx.state, &source, level, reason, msg);
    };
    let pull_ms = ctx.scenario.timings.pull_ms;
    if !matches!(c.state, CState::Pulling { .. }) {
        emit(
            sim,
            Level::Normal,
            "Pulling",
            &format!("Pulling image {image:?}"),
        );
        if pull_ms > 0 {
            c.state = CState::Pulling {
                until: ctx.ms(pull_ms),
            };
            return false;
        }
    }
    if let Pull::Pulled(img) = outcome {
        let entry = match &r.tag {
            Some(t) => format!("{}:{t}@{}", r.repository(), img.digest),
            None => format!("{}@{}", r.repository(), img.digest),
        };
        sim.extra_images.insert(entry);
        let took = go_duration(if pull_ms > 0 { pull_ms } else { 812 });
        let msg = format!(
            "Successfully pulled image {image:?} in {took} ({took} including waiting). Image size: {} bytes.",
            img.size
        );
        emit(sim, Level::Normal, "Pulled", &msg);
        on_node(c, r, &img, ctx);
        return true;
    }
    let failure = match outcome {
        Pull::Fails(f) => f,
        _ => PullFailure::Denied,
    };
    let reason = pull_errors::message(r, failure, ctx.runtime());
    emit(
        sim,
        Level::Warning,
        "Failed",
        &format!("Failed to pull image {image:?}: {reason}"),
    );
    emit(sim, Level::Warning, "Failed", "Error: ErrImagePull");
    c.state = CState::Waiting {
        reason: "ErrImagePull",
        message: reason,
        retry: ctx.ms(ctx.scenario.timings.crash_backoff_ms),
    };
    false
}

/// The waiting message during a pull back-off: the kubelet wraps the last pull error.
pub fn back_off_message(image: &str, last_error: &str) -> String {
    format!(
        "Back-off pulling image {:?}: ErrImagePull: {last_error}",
        requested(image)
    )
}

/// The events of a pull back-off.
pub fn back_off_events(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, c: &ContainerRuntime) {
    let source = src(pod, Some(c));
    let msg = format!("Back-off pulling image {:?}", requested(&c.image));
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

/// Record that `c`'s image is missing and the pull policy is Never (the kubelet's events),
/// and return the container's waiting message.
pub fn never_pull(ctx: &Ctx<'_>, sim: &mut SimState, pod: &Value, c: &ContainerRuntime) -> String {
    let msg = format!(
        "Container image {:?} is not present with pull policy of Never",
        requested(&c.image)
    );
    let source = src(pod, Some(c));
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
    fn pull_decisions_follow_policy_and_node_store() {
        assert_eq!(pull_decision("IfNotPresent", true), Decision::UseLocal);
        assert_eq!(pull_decision("IfNotPresent", false), Decision::Pull);
        assert_eq!(pull_decision("Never", true), Decision::UseLocal);
        assert_eq!(pull_decision("Never", false), Decision::NeverMissing);
        assert_eq!(pull_decision("Always", true), Decision::Pull);
    }

    #[test]
    fn events_name_the_image_with_its_default_tag() {
        assert_eq!(requested("nginx"), "nginx:latest");
        assert_eq!(requested("nginx:1.27"), "nginx:1.27");
        assert_eq!(go_duration(812), "812ms");
        assert_eq!(go_duration(1500), "1.5s");
        assert_eq!(go_duration(2000), "2s");
        assert_eq!(
            back_off_message("app", "boom"),
            "Back-off pulling image \"app:latest\": ErrImagePull: boom"
        );
    }
}
