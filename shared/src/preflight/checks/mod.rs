//! Preflight's checks: pure functions of the [`Plan`] (what the chart would render) and the
//! [`Observed`] cluster, each returning verify's [`CheckResult`] so the report, renderers,
//! root-cause attribution and exit codes are verify's. [`PREFLIGHT`] lists them in report
//! order. No check ever puts a secret value in a message: Secret values are compared, never
//! shown.

mod capacity;
mod cluster;
mod rbac;
mod secrets;
#[cfg(test)]
mod tests;
mod workload;

use super::plan::Plan;
use super::reads::{Observed, ReleaseState};
use super::values::SchemaProblem;
use crate::chart::Component;
use crate::platform::Platform;
use crate::verify::CheckResult;

use capacity::{capacity, disruption};
use cluster::{reachable, release_name, release_namespace, values_valid};
use rbac::rbac;
use secrets::{controller, secrets};
use workload::{image, node_port};

/// What the checks read besides the plan and the cluster.
#[derive(Debug)]
pub struct Context<'a> {
    /// What the chart would render.
    pub plan: &'a Plan,
    /// What the cluster holds.
    pub obs: &'a Observed,
    /// Schema violations of the computed values.
    pub schema: &'a [SchemaProblem],
    /// The platform (from the kubeconfig and the nodes).
    pub platform: Platform,
    /// The API server URL, as shown.
    pub server: String,
    /// The context name.
    pub context: String,
    /// `--kubeconfig`/`--context` for kubectl hints (empty or starting with a space).
    pub kubectl_flags: String,
    /// `--kubeconfig`/`--kube-context` for Helm hints.
    pub helm_flags: String,
    /// `--create-namespace` will be passed to Helm.
    pub create_namespace: bool,
    /// The values file a hint should name (the last `-f`, else the file init writes).
    pub values_file: String,
    /// The chart as a hint should name it.
    pub chart_ref: String,
    /// The sealed-secrets controller asked.
    pub controller: crate::secrets::controller::Controller,
}

impl Context<'_> {
    pub(super) fn ns(&self) -> &str {
        &self.plan.namespace
    }

    /// ` -n NS` plus the connection flags, for kubectl hints.
    pub(super) fn kflags(&self) -> String {
        format!("{} -n {}", self.kubectl_flags, self.ns())
    }

    /// Whether the release exists: the install is an upgrade.
    pub fn upgrade(&self) -> bool {
        matches!(
            &self.obs.release,
            Ok(ReleaseState {
                latest: Some(_),
                ..
            })
        )
    }
}

/// One check.
#[derive(Debug)]
pub struct PreflightCheck {
    /// Stable identifier, `group.name`.
    pub id: &'static str,
    /// What it checks, one line (help text).
    pub about: &'static str,
    /// The check.
    pub run: fn(&Context<'_>) -> CheckResult,
}

/// Every preflight check, in report order.
pub static PREFLIGHT: &[PreflightCheck] = &[
    PreflightCheck {
        id: "cluster.reachable",
        about: "the API server answers; server version, context, platform",
        run: reachable,
    },
    PreflightCheck {
        id: "values.valid",
        about: "the values pass values.schema.json and the chart's own refusals",
        run: values_valid,
    },
    PreflightCheck {
        id: "release.name",
        about: "the release name is valid and free, or the install is an upgrade (which revision)",
        run: release_name,
    },
    PreflightCheck {
        id: "release.namespace",
        about: "the namespace exists, or --create-namespace is needed",
        run: release_namespace,
    },
    PreflightCheck {
        id: "backend.image",
        about: "the backend image is on the nodes (local clusters) or a well-formed reference",
        run: |c| image(c, Component::Backend),
    },
    PreflightCheck {
        id: "backend.nodeport",
        about: "the backend NodePort is in range and not taken by another Service",
        run: |c| node_port(c, Component::Backend),
    },
    PreflightCheck {
        id: "frontend.image",
        about: "the frontend image is on the nodes (local clusters) or a well-formed reference",
        run: |c| image(c, Component::Frontend),
    },
    PreflightCheck {
        id: "frontend.nodeport",
        about: "the frontend NodePort is in range and not taken by another Service",
        run: |c| node_port(c, Component::Frontend),
    },
    PreflightCheck {
        id: "config.controller",
        about: "sealed mode: the sealed-secrets CRD, controller Service and certificate",
        run: controller,
    },
    PreflightCheck {
        id: "config.secrets",
        about: "the secrets for the mode: sealed for this controller, namespace and name; the existing Secret's keys; inline warned",
        run: secrets,
    },
    PreflightCheck {
        id: "capacity.requests",
        about: "the nodes have room for every replica's requests (and the rolling update's surge)",
        run: capacity,
    },
    PreflightCheck {
        id: "capacity.disruption",
        about: "PodDisruptionBudgets and HPAs fit the replica counts; the metrics API for HPAs",
        run: disruption,
    },
    PreflightCheck {
        id: "rbac.create",
        about: "you may create (or, on upgrade, patch) every kind the chart renders",
        run: rbac,
    },
];

/// Run every check, then attribute root causes.
pub fn evaluate(ctx: &Context<'_>) -> Vec<CheckResult> {
    let mut results: Vec<CheckResult> = PREFLIGHT.iter().map(|c| (c.run)(ctx)).collect();
    // Preflight's checks name the causes they found; none has fixed blockers (verify's
    // registry, with IDs in common, is not theirs).
    crate::verify::registry::attribute_root_causes_by(&mut results, &|_| &[]);
    results
}

pub(super) fn unread_result(
    ctx: &Context<'_>,
    id: &'static str,
    what: &str,
    u: &crate::verify::collect::Unread,
) -> CheckResult {
    let hint = u.hint.clone().unwrap_or_else(|| {
        format!(
            "check your access with `kubectl auth can-i --list{}`",
            ctx.kflags()
        )
    });
    CheckResult::warn(id, format!("could not {what}: {}", u.message), hint)
}
