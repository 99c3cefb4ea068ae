//! `kubectl todo verify`: flags → `todo_kube::verify::run` → rendered report → exit code
//! (0 healthy, 1 unhealthy, 2 usage or connection error).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use todo_kube::cluster::{Cluster, KubeArgs};
use todo_kube::duration::parse_duration;
use todo_kube::error::report;
use todo_kube::render::{self, Format};
use todo_kube::term::ConsoleUi;
use todo_kube::verify::{self, VerifyOptions};

const PROGRAM: &str = "kubectl todo verify";

/// Tell whether a todo-chatbot release is healthy, why not, and the next step.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-todo-verify",
    bin_name = "kubectl todo verify",
    version,
    after_help = "Checks: cluster.reachable release.status backend.{rollout,pods,service,health} \
frontend.{rollout,pods,service,health} wiring.backend-url config.secrets config.sealed-secret \
security.posture events.warnings\n\nExamples:\n  kubectl todo verify -n todo\n  kubectl todo verify --wait --timeout 3m\n  kubectl todo verify -o junit > verify.xml\n  kubectl todo verify --only backend,config --strict\n\nExit codes: 0 healthy, 1 unhealthy (a failure, or a warning with --strict), 2 usage or connection error."
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
    /// Re-check on every change of the release's pods and Deployments until healthy or --timeout.
    #[arg(long)]
    wait: bool,
    /// Bound on the whole run (default 120s with --wait, else 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Print a shell completion script and exit.
    #[arg(long, value_name = "SHELL", hide = true)]
    completions: Option<clap_complete::Shell>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(shell) = cli.completions {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "kubectl-todo-verify",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    let cluster = match Cluster::connect(&cli.kube).await {
        Ok(c) => c,
        Err(e) => return report(PROGRAM, &e),
    };
    let timeout = cli
        .timeout
        .unwrap_or(Duration::from_secs(if cli.wait { 120 } else { 30 }));
    let opts = VerifyOptions {
        release: cli.release,
        only: cli.only,
        skip: cli.skip,
        strict: cli.strict,
        wait: cli.wait,
        timeout,
        ..VerifyOptions::default()
    };
    let ui = ConsoleUi::new();
    let result = verify::run(&cluster, &opts, &ui).await;
    match result {
        Ok(r) => {
            let text = render::render(
                &r,
                cli.output,
                cli.output == Format::Table && render::stdout_colour(),
            );
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            if r.timed_out {
                eprintln!(
                    "{PROGRAM}: not healthy after {}s (--timeout)",
                    timeout.as_secs()
                );
            }
            ExitCode::from(r.exit_code())
        }
        Err(e) => report(PROGRAM, &e),
    }
}
