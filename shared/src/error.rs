//! The error type every command flow returns, and how a binary reports it.
//!
//! Exit codes are part of the contract with CI jobs: 0 success / healthy, 1 the thing
//! checked is unhealthy (or a rollout failed), 2 usage, configuration or connection error.

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cluster::ClusterError;

/// Exit code for "the thing checked is unhealthy / the rollout failed".
pub const EXIT_UNHEALTHY: u8 = 1;
/// Exit code for usage, configuration and connection errors.
pub const EXIT_USAGE: u8 = 2;

/// Result alias used by the command flows.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a command. Each variant knows its one-line cause (Display),
/// a hint that says what to do next, and its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reaching or talking to the cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The command line or an input file is wrong.
    #[error("{message}")]
    Usage {
        /// What is wrong, in one line.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },
    /// `kubectl todo scale` could not do what was asked.
    #[error(transparent)]
    Scale(#[from] crate::scale::ScaleError),
    /// The Helm release could not be found or read.
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
    /// A feature another issue covers and that is not built yet.
    #[error("`{0}` is not implemented yet")]
    NotImplemented(&'static str),
    /// `helm todo-secrets` stopped (bad input, certificate refused, missing values, ...).
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
}

impl Error {
    /// A usage error with a hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// What the user should do next, if we know.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Cluster(e) => e.hint(),
            Error::Secrets(e) => e.hint(),
            Error::Usage { hint, .. } => hint.clone(),
            Error::Release(e) => e.hint(),
            Error::Scale(e) => e.hint(),
            Error::NotImplemented(_) => {
                Some("this subcommand is planned; see the project's open issues".into())
            }
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        EXIT_USAGE
    }
}

/// Whether stderr should get colour: a terminal, and `NO_COLOR` unset or empty.
pub fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Print `error: <cause>` and `hint: <hint>` on stderr and return the exit code.
///
/// `program` is the name shown first, kubectl-style (`kubectl todo verify`).
pub fn report(program: &str, err: &Error) -> ExitCode {
    let (red, yellow, reset) = if stderr_colour() {
        ("\x1b[31m", "\x1b[33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    eprintln!("{red}error{reset}: {program}: {err}");
    if let Some(hint) = err.hint() {
        eprintln!("{yellow}hint{reset}: {hint}");
    }
    ExitCode::from(err.exit_code())
}
