//! `kubectl todo preflight`: flags → `todo_kube::preflight::run` → rendered report → exit code
//! (0 ready to install, 1 something will fail, 2 usage or connection error).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use todo_kube::cli;
use todo_kube::cluster::{Cluster, KubeArgs};
use todo_kube::complete::{Candidate, Fixed};
use todo_kube::duration::parse_duration;
use todo_kube::error::{UsageError, UserError};
use todo_kube::preflight::values::{ValuesInput, default_chart_source};
use todo_kube::preflight::{self, PreflightError, PreflightOptions};
use todo_kube::render::{self, Format};
use todo_kube::secrets::args::ControllerArgs;
use todo_kube::secrets::controller::Controller;

const PROGRAM: &str = "kubectl todo preflight";

/// Check, before `helm install`, what would fail after it: values, images on the nodes,
/// secrets, namespace, NodePorts, release name, capacity, PDB/HPA and RBAC.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-todo-preflight",
    bin_name = "kubectl todo preflight",
    version,
    after_help = after_help()
)]
struct Cli {
    #[command(flatten)]
    kube: KubeArgs,
    /// The Helm release name you will install (default: todo).
    #[arg(long, value_name = "NAME")]
    release: Option<String>,
    /// The chart directory (default: ./charts/todo-chatbot, else the chart this plugin was
    /// built with).
    #[arg(long, value_name = "DIR")]
    chart: Option<PathBuf>,
    /// Values files, merged in order as `helm install -f` does.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    values: Vec<PathBuf>,
    /// Set values as `helm install --set` does (after the files).
    #[arg(long, value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Set string values as `helm install --set-string` does.
    #[arg(long, value_name = "KEY=VALUE")]
    set_string: Vec<String>,
    /// You will pass --create-namespace to helm install.
    #[arg(long)]
    create_namespace: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: Format,
    /// Treat warnings as failures.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    controller: ControllerArgs,
    /// Bound on the whole run.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    timeout: Duration,
}

fn after_help() -> String {
    let mut checks = String::from("Checks:\n");
    for c in preflight::PREFLIGHT {
        checks.push_str(&format!("  {:<20} {}\n", c.id, c.about));
    }
    format!(
        "{checks}\nExamples:\n  kubectl todo preflight -n todo -f todo-secrets.sealed.yaml\n  \
kubectl todo preflight -n todo --create-namespace -f todo-secrets.sealed.yaml --set backend.replicaCount=3\n  \
kubectl todo preflight -o junit > preflight.xml\n\n\
The flow: helm todo-secrets init -> kubectl todo preflight -f todo-secrets.sealed.yaml -> helm install -> kubectl todo verify --wait\n\n\
Exit codes: 0 ready to install, 1 something will fail (a failure, or a warning with --strict), 2 usage or connection error."
    )
}

fn completion_values() -> Fixed {
    Fixed(vec![(
        "set",
        vec![
            Candidate::new("backend.replicaCount=", "backend pods"),
            Candidate::new("frontend.replicaCount=", "frontend pods"),
            Candidate::new("secrets.mode=", "sealed, existingSecret or inline"),
        ],
    )])
}

fn main() {
    cli::answer_completion::<Cli>(&completion_values());
    let cli: Cli = cli::parse(PROGRAM);
    cli::run(
        PROGRAM,
        cli.timeout + todo_kube::deadline::REPORT_SLACK,
        |deadline| async move {
            let controller = Controller::from_args(&cli.controller).map_err(|e| {
                PreflightError::Usage(UsageError {
                    message: e.to_string(),
                    hint: e.hint(),
                })
            })?;
            let opts = PreflightOptions {
                release: cli.release,
                values: ValuesInput {
                    chart: default_chart_source(cli.chart),
                    files: cli.values,
                    set: cli.set,
                    set_string: cli.set_string,
                },
                create_namespace: cli.create_namespace,
                strict: cli.strict,
                controller,
            };
            // A secret in argv is a usage error before any kubeconfig is read.
            preflight::no_secret_in_argv(&opts.values).map_err(PreflightError::Usage)?;
            let cluster = Cluster::connect_within(&cli.kube, &deadline)
                .await
                .map_err(PreflightError::from)?;
            let r = preflight::run(&cluster, &opts).await?;
            let text = render::render(
                &r,
                cli.output,
                cli.output == Format::Table && render::stdout_colour(),
            );
            Ok::<_, PreflightError>(cli::Output::with_code(text, r.exit_code()))
        },
    )
}
