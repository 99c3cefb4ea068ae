//! The one list of verify's checks: ID, what it checks, what it reads, what can block it, and
//! the function. Everything else derives from [`REGISTRY`]: the report order, `--only`/`--skip`
//! ([`super::Selection`]), which optional reads [`super::collect`] makes, the binary's help text
//! and shell completion, and root-cause attribution ([`attribute_root_causes`]).

use crate::chart::Component::{self, Backend, Frontend};

use super::checks::{
    cluster, config, events, health, release, security, service, wiring, workload,
};
use super::collect::Snapshot;
use super::{CheckResult, Status};

/// A read [`super::collect`] makes only when a selected check needs it. The core reads
/// (server version, the release, Deployments, pods, Services, EndpointSlices) are always made:
/// verify cannot say anything without them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The release's ConfigMaps.
    ConfigMaps,
    /// The release's Secret.
    Secret,
    /// The release's SealedSecret (in sealed mode).
    SealedSecret,
    /// Warning events in the namespace.
    Events,
    /// The component's health endpoint through the service proxy.
    Health(Component),
}

/// One check.
#[derive(Debug)]
pub struct CheckDef {
    /// Stable identifier, `group.name`.
    pub id: &'static str,
    /// What it checks, one line (help text, completion).
    pub about: &'static str,
    /// The optional reads it needs.
    pub reads: &'static [Read],
    /// Checks whose failure this one's failure always follows from: when one of them fails,
    /// this check reports "blocked by" it instead of its own fix. A check adds the causes that
    /// depend on what it found with [`CheckResult::caused_by`].
    pub blocked_by: &'static [&'static str],
    /// The check itself: a pure function of the snapshot.
    pub run: fn(&Snapshot) -> CheckResult,
}

/// The aspects checked for each component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aspect {
    /// `<component>.rollout`.
    Rollout,
    /// `<component>.pods`.
    Pods,
    /// `<component>.service`.
    Service,
    /// `<component>.health`.
    Health,
}

impl Aspect {
    /// The check ID of this aspect of component `c`.
    pub const fn id(self, c: Component) -> &'static str {
        match (c, self) {
            (Backend, Aspect::Rollout) => "backend.rollout",
            (Backend, Aspect::Pods) => "backend.pods",
            (Backend, Aspect::Service) => "backend.service",
            (Backend, Aspect::Health) => "backend.health",
            (Frontend, Aspect::Rollout) => "frontend.rollout",
            (Frontend, Aspect::Pods) => "frontend.pods",
            (Frontend, Aspect::Service) => "frontend.service",
            (Frontend, Aspect::Health) => "frontend.health",
        }
    }
}

/// `config.secrets`.
pub const CONFIG_SECRETS: &str = "config.secrets";
/// `config.sealed-secret`.
pub const CONFIG_SEALED: &str = "config.sealed-secret";

/// Every check, in report order.
pub static REGISTRY: &[CheckDef] = &[
    CheckDef {
        id: "cluster.reachable",
        about: "the API server answers; server version, context, platform",
        reads: &[],
        blocked_by: &[],
        run: cluster::reachable,
    },
    CheckDef {
        id: "release.status",
        about: "the Helm release's latest revision is deployed",
        reads: &[],
        blocked_by: &[],
        run: release::status,
    },
    CheckDef {
        id: Aspect::Rollout.id(Backend),
        about: "the backend Deployment is rolled out (kubectl rollout status)",
        reads: &[],
        blocked_by: &[Aspect::Pods.id(Backend)],
        run: |s| workload::rollout(s, Backend),
    },
    CheckDef {
        id: Aspect::Pods.id(Backend),
        about: "every backend pod is Running and Ready; restarts; why not",
        reads: &[],
        blocked_by: &[],
        run: |s| workload::pods(s, Backend),
    },
    CheckDef {
        id: Aspect::Service.id(Backend),
        about: "the backend Service has ready endpoints, matching ports, the NodePort",
        reads: &[],
        blocked_by: &[],
        run: |s| service::service(s, Backend),
    },
    CheckDef {
        id: Aspect::Health.id(Backend),
        about: "GET /health through the service proxy answers 200 within 2 s",
        reads: &[Read::Health(Backend)],
        blocked_by: &[Aspect::Pods.id(Backend), Aspect::Service.id(Backend)],
        run: |s| health::health(s, Backend),
    },
    CheckDef {
        id: Aspect::Rollout.id(Frontend),
        about: "the frontend Deployment is rolled out (kubectl rollout status)",
        reads: &[],
        blocked_by: &[Aspect::Pods.id(Frontend)],
        run: |s| workload::rollout(s, Frontend),
    },
    CheckDef {
        id: Aspect::Pods.id(Frontend),
        about: "every frontend pod is Running and Ready; restarts; why not",
        reads: &[],
        blocked_by: &[],
        run: |s| workload::pods(s, Frontend),
    },
    CheckDef {
        id: Aspect::Service.id(Frontend),
        about: "the frontend Service has ready endpoints, matching ports, the NodePort",
        reads: &[],
        blocked_by: &[],
        run: |s| service::service(s, Frontend),
    },
    CheckDef {
        id: Aspect::Health.id(Frontend),
        about: "GET /api/health through the service proxy answers 200 within 2 s",
        reads: &[Read::Health(Frontend)],
        blocked_by: &[Aspect::Pods.id(Frontend), Aspect::Service.id(Frontend)],
        run: |s| health::health(s, Frontend),
    },
    CheckDef {
        id: "wiring.backend-url",
        about: "the frontend's BACKEND_URL names the backend Service and port",
        reads: &[Read::ConfigMaps],
        blocked_by: &[],
        run: wiring::backend_url,
    },
    CheckDef {
        id: CONFIG_SECRETS,
        about: "required secret keys present, non-empty, not placeholders, valid",
        reads: &[Read::Secret],
        // In sealed mode the Secret is the controller's output.
        blocked_by: &[CONFIG_SEALED],
        run: config::secrets,
    },
    CheckDef {
        id: CONFIG_SEALED,
        about: "in sealed mode: the SealedSecret is Synced and the Secret exists",
        reads: &[Read::Secret, Read::SealedSecret],
        blocked_by: &[],
        run: config::sealed_secret,
    },
    CheckDef {
        id: "security.posture",
        about: "non-root, no privilege escalation, capabilities dropped, resources, probes, no latest",
        reads: &[],
        blocked_by: &[],
        run: security::posture,
    },
    CheckDef {
        id: "events.warnings",
        about: "recent Warning events for the release's objects",
        reads: &[Read::Events],
        // Warning events are the symptoms the pod and secret checks diagnose.
        blocked_by: &[
            Aspect::Pods.id(Backend),
            Aspect::Pods.id(Frontend),
            CONFIG_SEALED,
            CONFIG_SECRETS,
        ],
        run: events::warnings,
    },
];

/// The definition of check `id`.
pub fn get(id: &str) -> Option<&'static CheckDef> {
    REGISTRY.iter().find(|d| d.id == id)
}

/// The group of a check ID: the part before the first dot.
pub fn group_of(id: &str) -> &str {
    id.split_once('.').map(|(g, _)| g).unwrap_or(id)
}

/// The checks listed for `--help`: one line each, `ID  what it checks`.
pub fn help_text() -> String {
    let width = REGISTRY.iter().map(|d| d.id.len()).max().unwrap_or(0);
    let mut s = String::from("Checks:\n");
    for d in REGISTRY {
        s.push_str(&format!("  {:width$}  {}\n", d.id, d.about));
    }
    s
}

/// Root-cause attribution: a failing (or warning) check one of whose blockers (its
/// [`CheckDef::blocked_by`] and the causes it found itself) failed reports the root of that
/// chain in [`CheckResult::blocked_by`], and its own hint, which would name a wrong or second
/// fix, is dropped. A root is a failing check that nothing failing blocks.
pub fn attribute_root_causes(results: &mut [CheckResult]) {
    attribute_root_causes_by(results, &|id| get(id).map(|d| d.blocked_by).unwrap_or(&[]));
}

/// [`attribute_root_causes`] for any list of checks: `statics` gives a check's fixed
/// blockers by ID (verify's come from [`REGISTRY`]; a command whose checks only name the
/// causes they found passes `|_| &[]`).
pub fn attribute_root_causes_by(
    results: &mut [CheckResult],
    statics: &dyn Fn(&str) -> &'static [&'static str],
) {
    let roots: Vec<Option<&'static str>> = (0..results.len())
        .map(|i| {
            let r = &results[i];
            if !matches!(r.status, Status::Fail | Status::Warn) {
                return None;
            }
            root_of(results, r.id, statics, &mut Vec::new()).filter(|root| *root != r.id)
        })
        .collect();
    for (r, root) in results.iter_mut().zip(roots) {
        if let Some(root) = root {
            r.blocked_by = Some(root);
            r.hint = Some(format!(
                "blocked by {root}: fix that first (its hint says how)"
            ));
        }
    }
}

/// The failing check at the end of `id`'s chain of failing blockers (`id` itself when none
/// of its blockers fails). `seen` breaks cycles.
fn root_of(
    results: &[CheckResult],
    id: &'static str,
    statics: &dyn Fn(&str) -> &'static [&'static str],
    seen: &mut Vec<&'static str>,
) -> Option<&'static str> {
    if seen.contains(&id) {
        return None;
    }
    seen.push(id);
    let r = results.iter().find(|r| r.id == id)?;
    for blocker in statics(id).iter().chain(r.causes.iter()) {
        let fails = results
            .iter()
            .any(|b| b.id == *blocker && b.status == Status::Fail);
        if fails && let Some(root) = root_of(results, blocker, statics, seen) {
            return Some(root);
        }
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_grouped_and_blockers_exist() {
        let mut ids: Vec<_> = REGISTRY.iter().map(|d| d.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), REGISTRY.len());
        assert_eq!(group_of("wiring.backend-url"), "wiring");
        for d in REGISTRY {
            for b in d.blocked_by {
                assert!(get(b).is_some(), "{} is blocked by unknown {b}", d.id);
            }
        }
        for c in Component::ALL {
            for a in [
                Aspect::Rollout,
                Aspect::Pods,
                Aspect::Service,
                Aspect::Health,
            ] {
                let id = a.id(c);
                assert!(get(id).is_some(), "{id}");
                assert!(id.starts_with(c.name()));
            }
        }
    }

    #[test]
    fn help_lists_every_check() {
        let help = help_text();
        for d in REGISTRY {
            assert!(help.contains(d.id) && help.contains(d.about), "{}", d.id);
        }
    }

    fn result(id: &'static str, status: Status) -> CheckResult {
        CheckResult::new(id, status, "m").with_hint("own fix")
    }

    #[test]
    fn a_failing_root_blocks_its_dependents_through_a_chain() {
        let mut rs = vec![
            result("backend.rollout", Status::Fail),
            result("backend.pods", Status::Fail).caused_by(&[CONFIG_SECRETS, CONFIG_SEALED]),
            result("backend.health", Status::Fail),
            result(CONFIG_SECRETS, Status::Fail),
            result(CONFIG_SEALED, Status::Fail),
            result("events.warnings", Status::Warn),
            result("frontend.pods", Status::Pass),
        ];
        attribute_root_causes(&mut rs);
        for r in &rs[..4] {
            assert_eq!(r.blocked_by, Some(CONFIG_SEALED), "{}", r.id);
            assert!(r.hint.as_deref().unwrap().contains(CONFIG_SEALED));
        }
        assert_eq!(rs[4].blocked_by, None);
        assert_eq!(rs[4].hint.as_deref(), Some("own fix"));
        assert_eq!(rs[5].blocked_by, Some(CONFIG_SEALED));
        assert_eq!(rs[6].blocked_by, None);
    }

    #[test]
    fn a_cause_that_passes_blocks_nothing() {
        // Pods failing on an image pull while the secrets are fine: their own fix stands.
        let mut rs = vec![
            result("backend.pods", Status::Fail),
            result("backend.health", Status::Fail),
            result(CONFIG_SECRETS, Status::Pass),
            result(CONFIG_SEALED, Status::Skip),
        ];
        attribute_root_causes(&mut rs);
        assert_eq!(rs[0].blocked_by, None);
        assert_eq!(rs[0].hint.as_deref(), Some("own fix"));
        assert_eq!(rs[1].blocked_by, Some("backend.pods"));
    }

    #[test]
    fn a_warning_blocks_nothing_and_cycles_end() {
        let mut rs = vec![
            result("backend.pods", Status::Warn).caused_by(&["backend.health"]),
            result("backend.health", Status::Fail),
        ];
        attribute_root_causes(&mut rs);
        // health is blocked by pods only when pods fails; pods is a warning.
        assert_eq!(rs[1].blocked_by, None);
        // pods (a warning) names health, which fails and whose own blocker does not fail.
        assert_eq!(rs[0].blocked_by, Some("backend.health"));
    }
}
