//! `helm todo-secrets`: prompt for the app's secrets and seal them for the cluster.
//! Flags → `todo_kube::secrets::run` under the command's deadline → stdout and exit code.

use std::sync::Arc;

use clap::{CommandFactory as _, Parser, Subcommand};
use todo_kube::cli;
use todo_kube::complete::KubeValues;
use todo_kube::secrets;
use todo_kube::term::{self, ConsoleUi};

const PROGRAM: &str = "helm todo-secrets";

/// Ask for the Todo Chatbot's secrets and seal them with the cluster's sealed-secrets key, so
/// the values file is safe to commit. Secrets are never read from the command line.
///
/// Helm passes -n/--namespace, --kube-context and --kubeconfig as HELM_NAMESPACE,
/// HELM_KUBECONTEXT and KUBECONFIG. Every subcommand takes -f/--file (the sealed values
/// file) and -o/--output (text, json, yaml).
///
/// Exit codes: 0 success, 1 `status` found a problem (or the controller cannot decrypt),
/// 2 usage, input, certificate, controller or connection error, 130 interrupted.
#[derive(Debug, Parser)]
#[command(
    name = "helm todo-secrets",
    bin_name = "helm todo-secrets",
    version,
    about,
    long_about
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    #[command(flatten)]
    Flow(Box<secrets::Command>),
    /// Print a shell completion script.
    #[command(hide = true)]
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() {
    // Helm's plugin completion runs plugin.complete, which asks `helm-todo-secrets __complete`.
    cli::answer_completion::<Cli>(&KubeValues);
    let cli: Cli = cli::parse(PROGRAM);
    let command = match cli.command {
        Cmd::Completion { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "helm-todo-secrets", &mut script);
            let code = cli::write_stdout(&String::from_utf8_lossy(&script))
                .map_or_else(|code| code, |()| 0);
            cli::finish(code)
        }
        Cmd::Flow(command) => command,
    };
    let timeout = command.cluster().deadline();
    cli::run(PROGRAM, timeout, |deadline| async move {
        term::exit_on_signals();
        let ui = Arc::new(ConsoleUi::new());
        let result = match secrets::run(&command, ui, deadline).await {
            Ok(outcome) => outcome.into_output(),
            Err(e) if e.is_interrupted() => {
                term::exit_interrupted(todo_kube::error::EXIT_INTERRUPTED)
            }
            Err(e) => Err(e),
        };
        result.map_err(|e| e.for_user(command.cluster()))
    })
}
