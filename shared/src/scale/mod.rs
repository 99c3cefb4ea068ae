//! `kubectl todo scale`: scale a component of the todo-chatbot release (or any Deployment)
//! and watch the rollout to the end.
//!
//! The flow, in order: resolve the target ([`target`]), check the count, look for
//! HorizontalPodAutoscalers ([`hpa`]) and node capacity ([`crate::quantity`]) concurrently, apply
//! the scale through the `deployments/scale` subresource with optimistic concurrency,
//! optionally record it in the Helm release ([`persist`]), then watch the Deployment until
//! [`crate::rollout::scale_settled`] says it is done ([`wait`]). The result is a
//! [`ScaleSummary`] (data); [`render`] turns it into text or JSON; progress goes through
//! [`crate::ui::Ui`].

mod api;
pub mod hpa;
pub mod persist;
pub mod plan;
pub mod render;
pub mod target;
pub mod wait;

use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, LogParams, Patch, PatchParams, PostParams};

use crate::chart::{self, Component};
use crate::cluster::{Action, Cluster, ClusterError, KubeArgs, retry};
use crate::diagnose::{self, PodProblem};
use crate::error::{EXIT_INTERRUPTED, EXIT_OK, EXIT_UNHEALTHY, UserError};
use crate::quantity;
use crate::release::ReleaseError;
use crate::rollout::Replicas;
use crate::ui::Ui;
use api::{
    apply_scale, diagnose_deployment, list_hpas, patch_hpa, prepare_persist, read_capacity, resolve,
};
use hpa::{HpaBounds, HpaDecision};
use target::Target;

/// The field manager recorded on the objects a scale changes.
pub const FIELD_MANAGER: &str = "kubectl-todo-scale";
/// How many times a 409 Conflict on the scale subresource is retried (re-read, re-apply).
pub const CONFLICT_ATTEMPTS: u32 = 5;

/// Why a scale could not be done. Display is the one-line cause; [`UserError::hint`] says
/// what to do next. All of these exit with 2 (usage, configuration or connection).
#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    /// Talking to the cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The release could not be found or read.
    #[error(transparent)]
    Release(#[from] ReleaseError),
    /// TARGET is not `frontend`, `backend`, `all` or a Deployment name.
    #[error("invalid target {0:?}: expected frontend, backend, all or a Deployment name")]
    InvalidTarget(String),
    /// TARGET names no component and no Deployment of the namespace.
    #[error(
        "{name:?} is neither frontend, backend, all nor a Deployment in namespace {namespace:?}"
    )]
    NoSuchTarget {
        /// What was typed.
        name: String,
        /// The namespace.
        namespace: String,
        /// The component or Deployment name within two edits, for "did you mean".
        suggestion: Option<String>,
        /// `--kubeconfig`/`--context`/`-n` as the user gave them, for the hint's command (set by
        /// [`ScaleError::for_user`]; empty, or starting with a space).
        flags: String,
    },
    /// N is not a whole number from 0 up.
    #[error("invalid replica count: {0}")]
    InvalidReplicas(String),
    /// Neither N nor `--replicas` was given.
    #[error("missing replica count")]
    MissingReplicas,
    /// Scaling to zero without `--yes` when nobody can confirm.
    #[error("scaling {targets} to 0 replicas stops the app; refusing without --yes")]
    ZeroNeedsYes {
        /// What would be scaled.
        targets: String,
    },
    /// The user answered no at the zero-replicas prompt.
    #[error("scale to 0 cancelled")]
    Declined,
    /// The confirmation prompt failed (Ctrl-C, terminal error).
    #[error(transparent)]
    Prompt(#[from] crate::ui::PromptError),
    /// The release has no Deployment for the component.
    #[error("release {release:?} has no {component} Deployment in namespace {namespace:?}")]
    ComponentNotFound {
        /// The release.
        release: String,
        /// frontend or backend.
        component: &'static str,
        /// The namespace.
        namespace: String,
        /// `--kubeconfig`/`--context`/`-n` as the user gave them, for the hint's command (set by
        /// [`ScaleError::for_user`]; empty, or starting with a space).
        flags: String,
    },
    /// An HPA manages the Deployment's replica count.
    #[error("deployment {deployment:?} is managed by HorizontalPodAutoscaler {:?} (min {}, max {}): a scale would be undone by the autoscaler at its next sync", hpa.name, hpa.min_replicas, hpa.max_replicas)]
    HpaManaged {
        /// The Deployment.
        deployment: String,
        /// The HPA's bounds.
        hpa: HpaBounds,
        /// `--kubeconfig`/`--context`/`-n` as the user gave them, for the hint's command (set by
        /// [`ScaleError::for_user`]; empty, or starting with a space).
        flags: String,
    },
    /// `--hpa` with N = 0 (an HPA's minReplicas is at least 1).
    #[error(
        "cannot scale deployment {deployment:?} to 0 through HorizontalPodAutoscaler {hpa:?}: minReplicas must be at least 1"
    )]
    HpaZero {
        /// The Deployment.
        deployment: String,
        /// The HPA's name.
        hpa: String,
        /// `--kubeconfig`/`--context`/`-n` as the user gave them, for the hint's command (set by
        /// [`ScaleError::for_user`]; empty, or starting with a space).
        flags: String,
    },
    /// The scale kept conflicting with other writers.
    #[error(
        "deployment {deployment:?} kept changing under us: {attempts} conflicting updates (409) in a row"
    )]
    Conflict {
        /// The Deployment.
        deployment: String,
        /// Attempts made.
        attempts: u32,
        /// `--kubeconfig`/`--context`/`-n` as the user gave them, for the hint's command (set by
        /// [`ScaleError::for_user`]; empty, or starting with a space).
        flags: String,
    },
    /// `--persist` on a Deployment that does not belong to a todo-chatbot release.
    #[error(
        "--persist needs a todo-chatbot component, but deployment {deployment:?} has no app.kubernetes.io/instance and app.kubernetes.io/component labels"
    )]
    PersistNeedsComponent {
        /// The Deployment.
        deployment: String,
    },
    /// No helm binary.
    #[error("--persist needs helm: {detail}")]
    HelmNotFound {
        /// Where we looked.
        detail: String,
    },
    /// No chart reference for `helm upgrade`.
    #[error(
        "--persist needs the chart for `helm upgrade`, and ./charts/todo-chatbot does not exist"
    )]
    NoChart,
    /// `helm upgrade` failed.
    #[error("`{command}` failed: {detail}")]
    HelmFailed {
        /// The command run.
        command: String,
        /// helm's exit status and last lines of stderr.
        detail: String,
    },
}

impl ScaleError {
    /// The same error, its hint's command carrying `flags`: the user's `--kubeconfig`,
    /// `--context` and the namespace ([`Cluster::flags`]), so that it acts where the scale
    /// did.
    pub fn for_user(mut self, flags: &str) -> Self {
        match &mut self {
            ScaleError::NoSuchTarget { flags: f, .. }
            | ScaleError::ComponentNotFound { flags: f, .. }
            | ScaleError::HpaManaged { flags: f, .. }
            | ScaleError::HpaZero { flags: f, .. }
            | ScaleError::Conflict { flags: f, .. } => *f = flags.to_owned(),
            _ => {}
        }
        self
    }
}

impl UserError for ScaleError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            ScaleError::Cluster(e) => return e.hint(),
            ScaleError::Release(e) => return e.hint(),
            ScaleError::Prompt(_) => return None,
            ScaleError::InvalidTarget(_) => "kubectl todo scale frontend 2, kubectl todo scale all 1, or kubectl todo scale deployment/NAME 3".into(),
            ScaleError::InvalidReplicas(_) | ScaleError::MissingReplicas => {
                "give the replica count as a whole number from 0 up: `kubectl todo scale backend 3` or `--replicas 3`".into()
            }
            ScaleError::NoSuchTarget { suggestion: Some(s), .. } => {
                format!("did you mean `kubectl todo scale {s} N`?")
            }
            ScaleError::NoSuchTarget { flags, .. } => format!(
                "scale frontend, backend or all, or list the Deployments with `kubectl get deployments{flags}`"
            ),
            ScaleError::ZeroNeedsYes { .. } => "add --yes if you mean it (scale back up later with `kubectl todo scale ... N`)".into(),
            ScaleError::Declined => return None,
            ScaleError::ComponentNotFound { flags, .. } => {
                format!("list the Deployments with `kubectl get deployments -l {}={}{flags}`", chart::LABEL_NAME, chart::CHART_NAME)
            }
            ScaleError::HpaManaged { hpa, flags, .. } => format!(
                "rerun with --hpa to set the autoscaler's minReplicas to N (and maxReplicas to at least N) instead, or change it yourself: `kubectl edit hpa {}{flags}`",
                hpa.name
            ),
            ScaleError::HpaZero { hpa, flags, .. } => format!("delete the autoscaler first if you want zero replicas: `kubectl delete hpa {hpa}{flags}`"),
            ScaleError::Conflict { deployment, flags, .. } => format!("another controller or user is updating the Deployment; try again, or check who with `kubectl get deployment.apps/{deployment} -o yaml --show-managed-fields{flags}`"),
            ScaleError::PersistNeedsComponent { .. } => "scale `frontend`, `backend` or `all` of a release to use --persist".into(),
            ScaleError::HelmNotFound { .. } => "install helm (https://helm.sh/docs/intro/install/) or set HELM_BIN to its path".into(),
            ScaleError::NoChart => "pass the chart with --chart (a path, repo/chart or oci:// reference) or set TODO_CHART".into(),
            ScaleError::HelmFailed { .. } => "the scale itself was applied; fix the helm error and run the same helm upgrade again so the release records the count".into(),
        })
    }
}

/// Everything the command was asked to do.
#[derive(Debug, Clone)]
pub struct ScaleRequest {
    /// What to scale.
    pub target: Target,
    /// The new replica count.
    pub replicas: i32,
    /// `--release`.
    pub release: Option<String>,
    /// `--yes`: scale to 0 without asking.
    pub assume_yes: bool,
    /// `--hpa`: move an HPA's bounds instead of refusing.
    pub allow_hpa: bool,
    /// `--persist`: also `helm upgrade --reuse-values --set <component>.replicaCount=N`.
    pub persist: bool,
    /// `--chart`.
    pub chart: Option<String>,
    /// `--timeout`.
    pub timeout: Duration,
    /// `false` with `--no-wait`.
    pub wait: bool,
    /// End the wait as soon as a pod problem is permanent (`None` with `--no-fail-fast`).
    pub fail_fast: Option<crate::diagnose::FailFast>,
    /// `--dry-run=none|client|server`.
    pub dry_run: DryRun,
    /// `--reset-others`: let `--persist`'s upgrade reset the other components to the
    /// release's counts instead of keeping their live counts.
    pub reset_others: bool,
    /// The connection flags, passed on to helm.
    pub kube: KubeArgs,
}

/// `--dry-run=none|client|server`, kubectl's strategies: `client` sends no change at all,
/// `server` sends the scale (and the HPA patch) with `dryRun=All` so that admission,
/// quota and RBAC answer, and persists nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DryRun {
    /// Change the cluster (the default).
    #[default]
    None,
    /// Only read: print what would change, send nothing.
    Client,
    /// Send each change with `dryRun=All`: the API server checks it and stores nothing.
    Server,
}

impl DryRun {
    /// Whether nothing is to be changed (`client` or `server`).
    pub fn is_dry(self) -> bool {
        self != DryRun::None
    }

    /// The word in messages: `client dry run`, `server dry run` (empty for `none`).
    pub fn label(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => "client dry run",
            DryRun::Server => "server dry run",
        }
    }
}

/// How one Deployment's scale ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every desired replica is ready and available.
    Complete,
    /// The rollout failed (progress deadline exceeded).
    Failed,
    /// `--timeout` passed first.
    TimedOut,
    /// Ctrl-C stopped the wait.
    Interrupted,
    /// `--no-wait`: the change was accepted.
    NotWaited,
    /// `--dry-run`: nothing was changed.
    DryRun,
    /// The Deployment already had the requested count: nothing changed.
    Unchanged,
}

/// The result for one Deployment.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSummary {
    /// The Deployment's name.
    pub deployment: String,
    /// Its component, when it belongs to the chart.
    pub component: Option<Component>,
    /// `spec.replicas` before.
    pub from: i32,
    /// The requested count.
    pub to: i32,
    /// The HPA whose bounds were changed (`--hpa`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hpa: Option<HpaChange>,
    /// 409 Conflicts retried while applying the scale.
    pub conflicts_retried: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// The last replica counts seen.
    pub replicas: Replicas,
    /// Where the rollout stands, in words.
    pub message: String,
    /// Milliseconds from the change being accepted to the end of the wait.
    pub elapsed_ms: u64,
    /// Why pods are unhealthy, when the rollout failed or timed out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<PodProblem>,
}

/// An HPA's bounds before and after `--hpa`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HpaChange {
    /// Before.
    pub before: HpaBounds,
    /// After.
    pub after: HpaBounds,
}

/// The result of the whole command (the `-o json` document).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleSummary {
    /// The namespace.
    pub namespace: String,
    /// The kubeconfig context.
    pub context: String,
    /// `--kubeconfig`/`--context`/`-n` as the user gave them, for the commands the text
    /// suggests (empty, or starting with a space).
    #[serde(skip)]
    pub kubectl_flags: String,
    /// The todo-chatbot release, when the target belongs to one.
    pub release: Option<String>,
    /// Whether it was a dry run (`--dry-run=client|server`).
    pub dry_run: bool,
    /// `--dry-run`'s strategy: `none`, `client` or `server`.
    pub dry_run_strategy: DryRun,
    /// The helm command run for `--persist` (or that would run, with `--dry-run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persisted: Option<String>,
    /// `--persist`: the other components whose live count differed from the release's, and
    /// whether the upgrade kept them live.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub persist_others: Vec<persist::OtherComponent>,
    /// Warnings (zero replicas, capacity).
    pub warnings: Vec<String>,
    /// One entry per Deployment.
    pub targets: Vec<TargetSummary>,
    /// Milliseconds for the whole command.
    pub elapsed_ms: u64,
    /// The exit code: 0 done, 1 failed or timed out, 130 interrupted.
    pub exit_code: u8,
}

impl ScaleSummary {
    fn compute_exit_code(targets: &[TargetSummary]) -> u8 {
        if targets.iter().any(|t| t.outcome == Outcome::Interrupted) {
            EXIT_INTERRUPTED
        } else if targets
            .iter()
            .any(|t| matches!(t.outcome, Outcome::Failed | Outcome::TimedOut))
        {
            EXIT_UNHEALTHY
        } else {
            EXIT_OK
        }
    }
}

use plan::{Applied, Plan, Resolved};

/// Run the scale. Returns the summary (whose `exit_code` says how it ended) or an error
/// when nothing could be done (usage, RBAC, connection, HPA refusal, helm).
///
/// The steps, each its own function: resolve the targets, `decide` (reads and the pure
/// [`plan::plan`]), `confirm` the warnings, prepare `--persist` (so a missing helm fails
/// before any change), `apply_all`, `record` in the Helm release, `wait_for` the rollouts,
/// `diagnose_ends`, and the pure [`plan::summarize`].
pub async fn run(
    cluster: &Cluster,
    req: &ScaleRequest,
    ui: &dyn Ui,
) -> Result<ScaleSummary, ScaleError> {
    scale(cluster, req, ui)
        .await
        .map_err(|e| e.for_user(&cluster.flags()))
}

async fn scale(
    cluster: &Cluster,
    req: &ScaleRequest,
    ui: &dyn Ui,
) -> Result<ScaleSummary, ScaleError> {
    let started = Instant::now();
    let ns = cluster.namespace.as_str();
    if req.replicas == 0 && !req.assume_yes && !ui.can_prompt() {
        return Err(ScaleError::ZeroNeedsYes {
            targets: describe_target(&req.target),
        });
    }
    let deployments_api: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let resolved = resolve(cluster, &deployments_api, req).await?;
    let release = resolved.iter().find_map(|r| r.release.clone());
    let plan = decide(cluster, &resolved, req).await?;
    confirm(&plan, req.assume_yes, ui)?;
    let helm_call = if req.persist {
        Some(prepare_persist(cluster, req, &resolved, ui).await?)
    } else {
        None
    };
    let applied = apply_all(cluster, &deployments_api, req, &resolved, &plan, ui).await?;
    let persisted = match &helm_call {
        Some(call) => Some(record(&call.helm, &call.args, req.dry_run.is_dry(), ui).await?),
        None => None,
    };
    let ends = wait_for(
        cluster,
        &deployments_api,
        req,
        &applied,
        &plan.allocatable,
        ui,
    )
    .await?;
    let problems = diagnose_ends(cluster, &applied, &ends, &plan).await;
    let targets = plan::summarize(&applied, ends, problems, req.replicas);
    let exit_code = ScaleSummary::compute_exit_code(&targets);
    Ok(ScaleSummary {
        namespace: ns.to_owned(),
        context: cluster.context.clone(),
        kubectl_flags: cluster.flags(),
        release,
        dry_run: req.dry_run.is_dry(),
        dry_run_strategy: req.dry_run,
        persisted,
        persist_others: helm_call.map(|c| c.others).unwrap_or_default(),
        warnings: plan.all_warnings(),
        targets,
        elapsed_ms: started.elapsed().as_millis() as u64,
        exit_code,
    })
}

/// Read the HPAs and the nodes' free room and images (independent reads, done together) and decide
/// the scale with [`plan::plan`]. Capacity that cannot be read is not checked.
async fn decide(
    cluster: &Cluster,
    resolved: &[Resolved],
    req: &ScaleRequest,
) -> Result<Plan, ScaleError> {
    let (hpas, capacity) = futures::join!(list_hpas(cluster), read_capacity(cluster));
    let (rooms, node_images) = match capacity {
        Ok((rooms, images)) => (Some(rooms), images),
        Err(note) => {
            tracing::debug!("capacity not checked: {note}");
            (None, Vec::new())
        }
    };
    let mut plan = plan::plan(
        resolved,
        hpas.as_deref().map_err(Clone::clone),
        rooms.as_deref(),
        req.replicas,
        req.allow_hpa,
    )?;
    plan.node_images = node_images;
    Ok(plan)
}

/// Show the plan's warnings; the zero-replicas warning first, and without `--yes` ask to
/// go on ([`ScaleError::Declined`] on no).
fn confirm(plan: &Plan, assume_yes: bool, ui: &dyn Ui) -> Result<(), ScaleError> {
    if let Some(warning) = &plan.zero_warning {
        ui.warn(warning);
        if !assume_yes && !ui.confirm("Continue?", false)? {
            return Err(ScaleError::Declined);
        }
    }
    for w in &plan.warnings {
        ui.warn(w);
    }
    Ok(())
}

/// Apply each step of the plan in order: move the HPA's bounds where decided, then set the
/// scale (skipping no-ops), noting each change through `ui`.
async fn apply_all<'r>(
    cluster: &Cluster,
    api: &Api<Deployment>,
    req: &ScaleRequest,
    resolved: &'r [Resolved],
    plan: &Plan,
    ui: &dyn Ui,
) -> Result<Vec<Applied<'r>>, ScaleError> {
    let mut applied = Vec::new();
    for step in &plan.steps {
        let r = &resolved[step.index];
        if step.no_op {
            applied.push(Applied {
                resolved: r,
                from: crate::rollout::replicas(&r.deployment).desired,
                conflicts: 0,
                hpa: None,
                no_op: true,
            });
            continue;
        }
        let hpa = match &step.hpa {
            HpaDecision::Patch { before, after } => {
                patch_hpa(cluster, after, req.dry_run).await?;
                Some(HpaChange {
                    before: before.clone(),
                    after: after.clone(),
                })
            }
            _ => None,
        };
        let (from, conflicts) =
            apply_scale(cluster, api, &r.name, req.replicas, req.dry_run).await?;
        ui.note(&render::applied_note(
            &r.name,
            from,
            req.replicas,
            conflicts,
            req.dry_run,
        ));
        applied.push(Applied {
            resolved: r,
            from,
            conflicts,
            hpa,
            no_op: false,
        });
    }
    Ok(applied)
}

/// `--persist`: run the prepared `helm upgrade` (not with `--dry-run`) and return its
/// command line for the summary.
async fn record(
    helm: &std::path::Path,
    args: &[String],
    dry_run: bool,
    ui: &dyn Ui,
) -> Result<String, ScaleError> {
    let line = persist::command_line(helm, args);
    if !dry_run {
        ui.note(&format!("recording in the Helm release: {line}"));
        persist::run_upgrade(helm, args).await?;
    }
    Ok(line)
}

/// Watch the applied Deployments until each scale ends; with `--dry-run` or `--no-wait`
/// nothing is watched ([`plan::unwaited`]).
async fn wait_for(
    cluster: &Cluster,
    api: &Api<Deployment>,
    req: &ScaleRequest,
    applied: &[Applied<'_>],
    allocatable: &[crate::quantity::Resources],
    ui: &dyn Ui,
) -> Result<Vec<wait::WaitEnd>, ScaleError> {
    if req.dry_run.is_dry() || !req.wait {
        return Ok(plan::unwaited(applied, req.dry_run.is_dry()));
    }
    let names: Vec<String> = applied.iter().map(|a| a.resolved.name.clone()).collect();
    let want = plan::wait_wants(applied, req.replicas);
    let watch = wait::Watch {
        cluster,
        api,
        fail_fast: req.fail_fast,
        allocatable,
        ui,
    };
    watch.wait_all(&names, &want, req.timeout).await
}

/// The pod problems of each Deployment whose scale failed or timed out (concurrently; empty
/// for the others), in the order of `applied`.
async fn diagnose_ends(
    cluster: &Cluster,
    applied: &[Applied<'_>],
    ends: &[wait::WaitEnd],
    plan: &Plan,
) -> Vec<Vec<PodProblem>> {
    join_all(applied.iter().zip(ends).map(|(a, end)| async move {
        if plan::needs_diagnosis(end.outcome) {
            let seen = end.deployment.as_ref().unwrap_or(&a.resolved.deployment);
            diagnose_deployment(cluster, a.resolved, seen, plan).await
        } else {
            Vec::new()
        }
    }))
    .await
}

fn describe_target(target: &Target) -> String {
    match target {
        Target::Component(c) => c.name().to_owned(),
        Target::All => "frontend and backend".to_owned(),
        Target::Deployment(n) => format!("deployment.apps/{n}"),
    }
}
