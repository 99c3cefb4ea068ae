//! `kubectl todo <subcommand>`: runs the sibling binary `kubectl-todo-<subcommand>`.
//!
//! The logic (argument parsing, sibling lookup, help) lives in `todo_kube::dispatch`; this
//! file only performs the result: print, or replace this process with the sibling.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Arg, Command};
use todo_kube::dispatch::{self, DispatchError, Invocation, Shell};
use todo_kube::error::report;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let result = dispatch::parse(&args).and_then(|invocation| match invocation {
        Invocation::Help => {
            print!("{}", dispatch::help_text(VERSION));
            Ok(ExitCode::SUCCESS)
        }
        Invocation::Version => {
            println!("{} {VERSION}", dispatch::BINARY);
            Ok(ExitCode::SUCCESS)
        }
        Invocation::Completion(shell) => {
            completion(shell);
            Ok(ExitCode::SUCCESS)
        }
        Invocation::Run { subcommand, args } => {
            let own_dir = std::env::current_exe()
                .ok()
                .and_then(|exe| dispatch::real_dir(&exe));
            let path = std::env::var_os("PATH");
            let binary = dispatch::locate(subcommand, own_dir.as_deref(), path.as_deref())?;
            run(binary, args)
        }
    });
    result.unwrap_or_else(|e| report(dispatch::PROGRAM, &e))
}

/// Replace this process with the sibling: signals, stdio and the exit code are its own.
#[cfg(unix)]
fn run(binary: std::path::PathBuf, args: Vec<OsString>) -> Result<ExitCode, DispatchError> {
    use std::os::unix::process::CommandExt;
    let source = std::process::Command::new(&binary).args(args).exec();
    Err(DispatchError::Exec {
        path: binary,
        source,
    })
}

/// Without `exec`, run the sibling and hand back its exit code.
#[cfg(not(unix))]
fn run(binary: std::path::PathBuf, args: Vec<OsString>) -> Result<ExitCode, DispatchError> {
    let status = std::process::Command::new(&binary)
        .args(args)
        .status()
        .map_err(|source| DispatchError::Exec {
            path: binary,
            source,
        })?;
    let code = status.code().unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// Print a completion script for the dispatcher's subcommands.
fn completion(shell: Shell) {
    let passthrough = || {
        Arg::new("args")
            .num_args(0..)
            .trailing_var_arg(true)
            .allow_hyphen_values(true)
    };
    let mut cmd = Command::new(dispatch::BINARY).version(VERSION);
    for s in dispatch::SUBCOMMANDS {
        cmd = cmd.subcommand(Command::new(s.name).about(s.about).arg(passthrough()));
    }
    cmd = cmd.subcommand(
        Command::new("completion")
            .about("Print a shell completion script")
            .arg(Arg::new("shell").value_parser(["bash", "zsh", "fish"])),
    );
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, dispatch::BINARY, &mut std::io::stdout());
}
