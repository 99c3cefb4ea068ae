//! `kubectl todo <subcommand>`: runs the sibling binary `kubectl-todo-<subcommand>`.
//!
//! The logic (argument parsing, sibling lookup, help, completion) lives in
//! `todo_kube::dispatch` and `todo_kube::complete`; this file only performs the result:
//! print, or replace this process with the sibling.

use std::ffi::OsString;

use todo_kube::cli::{finish, write_stdout};
use todo_kube::complete::{KubeValues, script};
use todo_kube::dispatch::{self, DispatchError, Invocation, Shell};
use todo_kube::error::{EXIT_OK, print_error};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let result = dispatch::parse(&args).and_then(|invocation| match invocation {
        Invocation::Help => Ok(dispatch::help_text(VERSION)),
        Invocation::Version => Ok(format!("{} {VERSION}\n", dispatch::BINARY)),
        Invocation::CompletionHelp => Ok(dispatch::completion_help()),
        Invocation::Completion(shell) => Ok(match shell {
            Shell::Bash => script::bash(dispatch::BINARY),
            Shell::Zsh => script::zsh(dispatch::BINARY),
            Shell::Fish => script::fish(dispatch::BINARY),
        }),
        Invocation::Complete(words) => {
            let via_kubectl =
                std::env::var_os("TODO_COMPLETE_CALLER").is_some_and(|v| v == "kubectl");
            let path = std::env::var_os("PATH");
            Ok(dispatch::complete_here(&words, via_kubectl, path.as_deref(), &KubeValues).render())
        }
        Invocation::Run { subcommand, args } => {
            let own_dir = std::env::current_exe()
                .ok()
                .and_then(|exe| dispatch::real_dir(&exe));
            let path = std::env::var_os("PATH");
            let binary = dispatch::locate(subcommand, own_dir.as_deref(), path.as_deref())?;
            Err(run(binary, args))
        }
    });
    match result {
        Ok(text) => finish(write_stdout(&text).map_or_else(|code| code, |_| EXIT_OK)),
        Err(e) => finish(print_error(dispatch::PROGRAM, &e)),
    }
}

/// Replace this process with the sibling: signals, stdio and the exit code are its own.
/// Returns only when that failed.
#[cfg(unix)]
fn run(binary: std::path::PathBuf, args: Vec<OsString>) -> DispatchError {
    use std::os::unix::process::CommandExt;
    let source = std::process::Command::new(&binary).args(args).exec();
    DispatchError::Exec {
        path: binary,
        source,
    }
}

/// Without `exec`, run the sibling and exit with its exit code.
#[cfg(not(unix))]
fn run(binary: std::path::PathBuf, args: Vec<OsString>) -> DispatchError {
    match std::process::Command::new(&binary).args(args).status() {
        Ok(status) => finish(u8::try_from(status.code().unwrap_or(1)).unwrap_or(1)),
        Err(source) => DispatchError::Exec {
            path: binary,
            source,
        },
    }
}
