//! `kubectl todo verify`: flags → `todo_kube::verify::run` → rendered report → exit code
//! (0 healthy, 1 unhealthy, 2 usage or connection error).

use std::time::Duration;

use clap::Parser;
use todo_kube::cli;
use todo_kube::cluster::{Cluster, KubeArgs};
use todo_kube::complete::{Candidate, Fixed};
use todo_kube::diagnose::FailFastArgs;
use todo_kube::duration::parse_duration;
use todo_kube::render::{self, Format};
use todo_kube::term::ConsoleUi;
use todo_kube::verify::{self, VerifyError, VerifyOptions};

const PROGRAM: &str = "kubectl todo verify";

/// Tell whether a todo-chatbot release is healthy, why not, and the next step.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-todo-verify",
    bin_name = "kubectl todo verify",
    version,
    after_help = after_help()
)]
struct Cli {
    #[command(flatten)]
    kube: KubeArgs,
    /// The Helm release (default: the only release of chart todo-chatbot in the namespace).
    #[arg(long, value_name = "NAME")]
    release: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    output: Format,
    /// Run only these checks (IDs, groups like `backend`, or `group.*`; comma-separated).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    only: Vec<String>,
    /// Do not run these checks (IDs, groups or `group.*`; comma-separated).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    skip: Vec<String>,
    /// Treat warnings as failures.
    #[arg(long)]
    strict: bool,
    /// Re-check on every change of the release's pods and Deployments until healthy, a pod's
    /// failure cannot heal (see --no-fail-fast), or --timeout.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    fail_fast: FailFastArgs,
    /// Bound on the whole run (default 120s with --wait, else 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
}

/// The checks (from the registry), examples and exit codes.
fn after_help() -> String {
    format!(
        "{}\nExamples:\n  kubectl todo verify -n todo\n  kubectl todo verify --wait --timeout 3m\n  kubectl todo verify --wait --max-restarts 5\n  \
kubectl todo verify -o junit > verify.xml\n  kubectl todo verify --only backend,config --strict\n\n\
Exit codes: 0 healthy, 1 unhealthy (a failure, a warning with --strict, or with --wait a failure that cannot heal), 2 usage or connection error.",
        verify::registry::help_text()
    )
}

/// What `<TAB>` offers beyond clap's own values: check IDs and groups for --only/--skip,
/// namespaces and contexts from the kubeconfig and the cluster.
fn completion_values() -> Fixed {
    let mut checks: Vec<Candidate> = Vec::new();
    for def in verify::REGISTRY {
        let group = verify::group_of(def.id);
        if !checks.iter().any(|c| c.value == group) {
            checks.push(Candidate::new(group, "every check of the group"));
        }
        checks.push(Candidate::new(def.id, def.about));
    }
    Fixed(vec![("only", checks.clone()), ("skip", checks)])
}

fn main() {
    // `kubectl todo verify <TAB>`: kubectl runs kubectl_complete-todo-verify, which asks here.
    cli::answer_completion::<Cli>(&completion_values());
    let cli: Cli = cli::parse(PROGRAM);
    let timeout = cli
        .timeout
        .unwrap_or(Duration::from_secs(if cli.wait { 120 } else { 30 }));
    // verify ends itself at --timeout with its own report; the whole-run deadline, a moment
    // later, ends what verify's timeouts cannot (a hung exec credential plugin).
    cli::run(
        PROGRAM,
        timeout + todo_kube::deadline::REPORT_SLACK,
        |deadline| async move {
            // A mistyped check ID is a usage error before any kubeconfig is read.
            verify::Selection::new(&cli.only, &cli.skip)?;
            let cluster = Cluster::connect_within(&cli.kube, &deadline)
                .await
                .map_err(VerifyError::from)?;
            let opts = VerifyOptions {
                release: cli.release,
                only: cli.only,
                skip: cli.skip,
                strict: cli.strict,
                wait: cli.wait,
                timeout,
                fail_fast: cli.fail_fast.policy(),
                ..VerifyOptions::default()
            };
            let ui = ConsoleUi::new();
            let r = verify::run(&cluster, &opts, &ui).await?;
            let text = render::render(
                &r,
                cli.output,
                cli.output == Format::Table && render::stdout_colour(),
            );
            if let Some(p) = &r.permanent {
                eprintln!(
                    "{PROGRAM}: stopped waiting: {p} cannot heal (--no-fail-fast waits anyway)"
                );
            } else if r.timed_out {
                eprintln!(
                    "{PROGRAM}: not healthy after {} (--timeout)",
                    todo_kube::duration::format_duration(timeout)
                );
            }
            Ok::<_, VerifyError>(cli::Output::with_code(text, r.exit_code()))
        },
    )
}
