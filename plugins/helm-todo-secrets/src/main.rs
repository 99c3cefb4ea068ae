//! `helm todo-secrets`: prompt for the app's secrets and seal them for the cluster.
//! Flags → `todo_kube::secrets::run` → exit code.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory as _, Parser, Subcommand};
use todo_kube::secrets::{self, CommonArgs};
use todo_kube::term::ConsoleUi;

const PROGRAM: &str = "helm todo-secrets";

/// Ask for the Todo Chatbot's secrets and seal them with the cluster's sealed-secrets key, so
/// the values file is safe to commit. Secrets are never read from the command line.
///
/// Helm passes -n/--namespace, --kube-context and --kubeconfig as HELM_NAMESPACE,
/// HELM_KUBECONTEXT and KUBECONFIG.
#[derive(Debug, Parser)]
#[command(
    name = "helm todo-secrets",
    bin_name = "helm todo-secrets",
    version,
    about,
    long_about
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    #[command(flatten)]
    Flow(secrets::Command),
    /// Print shell completions.
    #[command(hide = true)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "helm-todo-secrets",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Cmd::Flow(command) => {
            match secrets::run(&cli.common, &command, Arc::new(ConsoleUi::new())).await {
                Ok(code) => ExitCode::from(code),
                Err(err) => todo_kube::error::report(PROGRAM, &err),
            }
        }
    }
}
