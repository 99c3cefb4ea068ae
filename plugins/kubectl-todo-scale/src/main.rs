//! `kubectl todo scale <frontend|backend|all|DEPLOYMENT> <N>`: flags → `todo_kube::scale` →
//! exit code (0 done, 1 rollout failed or timed out, 2 usage or connection error, 130
//! interrupted by Ctrl-C).

use std::time::Duration;

use clap::{Parser, ValueEnum};
use todo_kube::cli;
use todo_kube::cluster::{Cluster, KubeArgs};
use todo_kube::complete::{Candidate, Fixed};
use todo_kube::deadline::Deadline;
use todo_kube::diagnose::FailFastArgs;
use todo_kube::duration::parse_duration;
use todo_kube::scale::{self, DryRun, ScaleError, ScaleRequest, render, target};
use todo_kube::term::ConsoleUi;

const PROGRAM: &str = "kubectl todo scale";
/// What a declined scale-to-0 says (exit 0: the person chose).
const DECLINED: &str = "scale to 0 cancelled: nothing changed\n";

/// Scale the todo-chatbot frontend, backend (or any Deployment) and watch the rollout to
/// the end.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-todo-scale",
    bin_name = "kubectl todo scale",
    version,
    after_help = "Examples:\n  kubectl todo scale backend 3\n  kubectl todo scale all --replicas 2 -n todo\n  kubectl todo scale frontend 0 --yes\n  kubectl todo scale backend 4 --hpa\n  kubectl todo scale backend 2 --persist --chart charts/todo-chatbot\n  kubectl todo scale backend 5 --dry-run=server\n\nExit codes: 0 done, 1 rollout failed or timed out, 2 usage or connection error, 130 interrupted (Ctrl-C)."
)]
struct Cli {
    /// frontend, backend, all (both), or a Deployment name (deployment/NAME).
    #[arg(value_name = "TARGET")]
    target: String,
    /// The replica count (or use --replicas).
    #[arg(value_name = "N", allow_hyphen_values = true)]
    n: Option<String>,
    /// The replica count.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    replicas: Option<String>,
    #[command(flatten)]
    kube: KubeArgs,
    /// The Helm release (default: the only todo-chatbot release in the namespace).
    #[arg(long, value_name = "NAME")]
    release: Option<String>,
    /// Do not ask before scaling to 0 (required to scale to 0 without a terminal).
    #[arg(short = 'y', long)]
    yes: bool,
    /// When a HorizontalPodAutoscaler manages the Deployment, set its minReplicas to N
    /// (and maxReplicas to at least N) instead of refusing.
    #[arg(long)]
    hpa: bool,
    /// Also record the count in the Helm release (helm upgrade --reuse-values --set
    /// <component>.replicaCount=N, through $HELM_BIN or helm on PATH). The other
    /// component's live count is kept when it differs from the release's (asked on a
    /// terminal).
    #[arg(long)]
    persist: bool,
    /// With --persist: let the upgrade reset the other components to the release's counts
    /// instead of keeping their live counts.
    #[arg(long, requires = "persist")]
    reset_others: bool,
    /// The chart for --persist's helm upgrade (default: $TODO_CHART, then ./charts/todo-chatbot).
    #[arg(long, value_name = "REF", env = "TODO_CHART")]
    chart: Option<String>,
    /// How long to wait for the rollout (e.g. 90s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = parse_duration)]
    timeout: Duration,
    /// Return once the change is accepted; do not wait for the rollout.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    fail_fast: FailFastArgs,
    /// Show what would change and change nothing: `client` sends no change, `server` sends
    /// each change with dryRun=All so admission, quota and RBAC answer (bare --dry-run:
    /// server).
    #[arg(
        long,
        value_enum,
        value_name = "STRATEGY",
        default_value = "none",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "server"
    )]
    dry_run: DryRun,
    /// Output format of the summary.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: Output,
}

/// What `<TAB>` offers beyond clap's own values: the components for TARGET, namespaces and
/// contexts from the kubeconfig and the cluster.
fn completion_values() -> Fixed {
    let targets = vec![
        Candidate::new("backend", "the FastAPI backend Deployment"),
        Candidate::new("frontend", "the Next.js frontend Deployment"),
        Candidate::new("all", "both Deployments"),
    ];
    Fixed(vec![("target", targets)])
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    /// Lines for a person (the default; `text` is accepted too).
    #[value(alias = "text")]
    Table,
    /// One JSON document.
    Json,
    /// The same document as YAML.
    Yaml,
}

fn main() {
    // `kubectl todo scale <TAB>`: kubectl runs kubectl_complete-todo-scale, which asks here.
    cli::answer_completion::<Cli>(&completion_values());
    let cli: Cli = cli::parse(PROGRAM);
    // The rollout wait ends itself at --timeout (exit 1); the whole-run deadline, a moment
    // later, ends what cannot (a silent server, a hung exec credential plugin).
    let timeout = cli.timeout + todo_kube::deadline::REPORT_SLACK;
    cli::run(PROGRAM, timeout, |deadline| run(cli, deadline))
}

async fn run(cli: Cli, deadline: Deadline) -> Result<cli::Output, ScaleError> {
    let target = target::Target::parse(&cli.target)?;
    let replicas = target::parse_replicas(cli.n.as_deref(), cli.replicas.as_deref())?;
    let request = ScaleRequest {
        target,
        replicas,
        release: cli.release,
        assume_yes: cli.yes,
        allow_hpa: cli.hpa,
        persist: cli.persist,
        chart: cli.chart,
        timeout: cli.timeout,
        wait: !cli.no_wait,
        fail_fast: cli.fail_fast.policy(),
        dry_run: cli.dry_run,
        reset_others: cli.reset_others,
        kube: cli.kube.clone(),
    };
    let cluster = Cluster::connect_within(&cli.kube, &deadline).await?;
    let ui = ConsoleUi::new();
    let summary = match scale::run(&cluster, &request, &ui).await {
        // A "no" at the scale-to-0 question is an answer, not an error.
        Err(ScaleError::Declined) => return Ok(cli::Output::ok(DECLINED)),
        other => other?,
    };
    let text = match cli.output {
        Output::Table => render::text(&summary),
        Output::Json => render::json(&summary),
        Output::Yaml => render::yaml(&summary),
    };
    Ok(cli::Output::with_code(text, summary.exit_code))
}
