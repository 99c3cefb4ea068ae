//! `todo-sandbox up [--scenario FILE] [--port N] [--kubeconfig PATH]`: run the sandbox in
//! the foreground; the first line of stdout is the kubeconfig path.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use todo_sandbox::{Options, Sandbox, Scenario};

#[derive(Parser)]
#[command(
    name = "todo-sandbox",
    version,
    about = "A Kubernetes-API-compatible sandbox with simulated controllers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the sandbox in the foreground until interrupted.
    Up {
        /// Scenario file (YAML) seeding state and faults.
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Port to listen on (default: a free port).
        #[arg(long)]
        port: Option<u16>,
        /// Where to write the kubeconfig (default: a new temporary directory).
        #[arg(long, value_name = "PATH")]
        kubeconfig: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let Command::Up {
        scenario,
        port,
        kubeconfig,
    } = cli.command;
    let scenario = match scenario {
        Some(path) => match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| Scenario::from_yaml(&t))
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: todo-sandbox: {}: {e}", path.display());
                return std::process::ExitCode::from(2);
            }
        },
        None => Scenario::default(),
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: todo-sandbox: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    rt.block_on(async move {
        let mut sb = match Sandbox::start_with(scenario, Options { port, kubeconfig }).await {
            Ok(sb) => sb,
            Err(e) => {
                eprintln!("error: todo-sandbox: {e:#}");
                return std::process::ExitCode::from(2);
            }
        };
        sb.keep_files();
        println!("{}", sb.kubeconfig_path().display());
        let _ = std::io::stdout().flush();
        eprintln!(
            "todo-sandbox: serving {} (context todo-sandbox); Ctrl-C to stop",
            sb.server_url()
        );
        let _ = tokio::signal::ctrl_c().await;
        std::process::ExitCode::SUCCESS
    })
}
