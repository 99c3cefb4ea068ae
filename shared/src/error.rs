//! What every error of the suite can tell a user, and how a binary reports it.
//!
//! Each command flow has its own error enum (`ClusterError`, `ReleaseError`, `VerifyError`,
//! `ScaleError`, `SecretsError`, `DispatchError`) that keeps the error it came from as its
//! `source` and implements [`UserError`]: its Display is the one-line cause, [`UserError::hint`]
//! the next step, [`UserError::exit_code`] the exit code. This module sits at the bottom of the
//! crate and knows none of them.
//!
//! Exit codes are part of the contract with CI jobs: [`EXIT_OK`] success or healthy,
//! [`EXIT_UNHEALTHY`] the thing checked is unhealthy (or a rollout failed), [`EXIT_USAGE`]
//! usage, configuration or connection error, [`EXIT_INTERRUPTED`] stopped by Ctrl-C.

use std::io::{IsTerminal, Write as _};
use std::process::ExitCode;

/// Exit code for success / healthy.
pub const EXIT_OK: u8 = 0;
/// Exit code for "the thing checked is unhealthy / the rollout failed".
pub const EXIT_UNHEALTHY: u8 = 1;
/// Exit code for usage, configuration and connection errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code when Ctrl-C stopped the command (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// An error a person reads: Display is the one-line cause (never a secret), plus a hint and
/// an exit code.
pub trait UserError: std::error::Error {
    /// What to do next, with a command where one helps; `None` when there is nothing to add.
    fn hint(&self) -> Option<String>;

    /// The process exit code; usage, configuration and connection errors by default.
    fn exit_code(&self) -> u8 {
        EXIT_USAGE
    }
}

/// A command line or input that cannot work, with what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    /// What is wrong, in one line.
    pub message: String,
    /// What to do instead.
    pub hint: Option<String>,
}

impl UsageError {
    /// A usage error with a hint.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

impl UserError for UsageError {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

/// Whether stderr should get colour: a terminal, and `NO_COLOR` unset or empty.
pub fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && no_color_unset()
}

/// Whether stdout should get colour: a terminal, and `NO_COLOR` unset or empty.
pub fn stdout_colour() -> bool {
    std::io::stdout().is_terminal() && no_color_unset()
}

fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The `error: ...` and `hint: ...` lines for an error, without colour. Control characters are
/// removed: a message may quote a name or a server's words.
pub fn error_lines(program: &str, err: &dyn UserError) -> (String, Option<String>) {
    let cause = crate::redact::printable(&err.to_string());
    let hint = err.hint().map(|h| crate::redact::printable(&h));
    (format!("{program}: {cause}"), hint)
}

/// Print `error: <program>: <cause>` and `hint: <hint>` on stderr (never failing, never
/// panicking, even with stderr closed) and return the error's exit code.
///
/// `program` is the name shown first, kubectl-style (`kubectl todo verify`).
pub fn print_error(program: &str, err: &dyn UserError) -> u8 {
    let (red, yellow, reset) = if stderr_colour() {
        ("\x1b[31m", "\x1b[33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let (cause, hint) = error_lines(program, err);
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{red}error{reset}: {cause}");
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "{yellow}hint{reset}: {hint}");
    }
    err.exit_code()
}

/// [`print_error`], as the process exit code.
pub fn report(program: &str, err: &dyn UserError) -> ExitCode {
    ExitCode::from(print_error(program, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_with_their_hint() {
        let e = UsageError::new("bad flag", "use --good");
        assert_eq!(e.exit_code(), EXIT_USAGE);
        let (cause, hint) = error_lines("kubectl todo", &e);
        assert_eq!(cause, "kubectl todo: bad flag");
        assert_eq!(hint.as_deref(), Some("use --good"));
    }

    #[test]
    fn error_lines_strip_control_characters() {
        let e = UsageError::new("pod \x1b[2Jevil\x07", "x");
        let (cause, _) = error_lines("p", &e);
        assert!(
            !cause.contains('\x1b') && !cause.contains('\x07'),
            "{cause:?}"
        );
    }
}

/// What a flow produced: the text for stdout and the exit code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Written to stdout as is (empty: nothing is written).
    pub stdout: String,
    /// The process exit code.
    pub code: u8,
}

impl Output {
    /// Text with exit code 0.
    pub fn ok(stdout: impl Into<String>) -> Self {
        Output {
            stdout: stdout.into(),
            code: EXIT_OK,
        }
    }

    /// Text with an exit code.
    pub fn with_code(stdout: impl Into<String>, code: u8) -> Self {
        Output {
            stdout: stdout.into(),
            code,
        }
    }
}
