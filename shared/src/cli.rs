//! The edge every binary goes through: parse the flags (usage errors get a `hint:` line and
//! exit 2), run the flow on a runtime under its whole-run [`Deadline`], write what it produced
//! to stdout (a closed pipe ends quietly, a full disk is exit 2, never a lost report with exit
//! 0), report errors with [`crate::error::report`], and exit without waiting for threads a
//! hung call may still hold.

use std::future::Future;
use std::io::Write as _;
use std::time::Duration;

use crate::deadline::{Deadline, cleanup};
use crate::error::{EXIT_OK, EXIT_USAGE, UserError, print_error};

/// Exit code after a write to a closed pipe (`| head`): 128 + SIGPIPE, what a shell reports
/// for a program the pipe stopped. Nothing is printed.
pub const EXIT_BROKEN_PIPE: u8 = 141;

pub use crate::error::Output;

/// When the first argument is `__complete` (kubectl's and Helm's plugin completion, and our
/// shell scripts), answer it for `C`'s flags and `source`'s values, and exit. Otherwise return
/// and let the binary parse its flags. Call first thing in `main`.
pub fn answer_completion<C: clap::CommandFactory>(source: &dyn crate::complete::ValueSource) {
    let mut args = std::env::args_os().skip(1);
    if args
        .next()
        .is_none_or(|a| a != crate::complete::COMPLETE_ARG)
    {
        return;
    }
    let words: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    let answer = crate::complete::complete(&C::command(), &words, source);
    finish(write_stdout(&answer.render()).map_or_else(|code| code, |_| EXIT_OK))
}

/// Print a completion script of `C` for `shell` (the `completion SHELL` subcommand of a
/// binary that has no dynamic values to offer beyond clap's own). Written through
/// [`write_stdout`], so `| head` never panics.
pub fn completion_script(binary: &str, shell: &str) -> Result<String, crate::error::UsageError> {
    use crate::complete::script;
    match shell {
        "bash" => Ok(script::bash(binary)),
        "zsh" => Ok(script::zsh(binary)),
        "fish" => Ok(script::fish(binary)),
        other => Err(crate::error::UsageError::new(
            format!("completion needs one shell: bash, zsh or fish (got {other:?})"),
            format!("for example: {binary} completion bash > ~/.{binary}.bash"),
        )),
    }
}

/// Parse the command line into `C`. `--help` and `--version` print and exit 0; a usage error
/// prints `error: <program>: <what>` and a `hint:` line, and exits 2.
pub fn parse<C: clap::Parser>(program: &str) -> C {
    match C::try_parse() {
        Ok(c) => c,
        Err(e) => exit_usage(program, e),
    }
}

/// Print a clap error kubectl-style and exit (0 for help and version).
pub fn exit_usage(program: &str, e: clap::Error) -> ! {
    use clap::error::ErrorKind as K;
    if matches!(
        e.kind(),
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let text = e.render().to_string();
        finish(write_stdout(&text).map_or_else(|code| code, |_| EXIT_OK));
    }
    let err = usage_error(program, &e.render().to_string());
    finish(print_error(program, &err))
}

/// A clap error's rendering as one cause and a `hint:`: clap's `tip:` and its
/// `[possible values: …]` first, then where `--help` is.
pub fn usage_error(program: &str, rendered: &str) -> crate::error::UsageError {
    let mut lines = rendered
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"));
    let mut first = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_owned();
    let mut lines = lines.peekable();
    // "the following required arguments were not provided:" and the indented list after it.
    if first.ends_with(':') {
        let mut listed = Vec::new();
        while let Some(l) = lines.next_if(|l| l.starts_with("  ")) {
            listed.push(l.trim());
        }
        first = format!("{} {}", first, listed.join(", "));
    }
    let mut hint = String::new();
    for l in lines.map(str::trim_start) {
        if let Some(t) = l.strip_prefix("tip: ") {
            hint.push_str(&format!("{t}; "));
        } else if let Some(v) = l
            .strip_prefix("[possible values: ")
            .and_then(|v| v.strip_suffix(']'))
        {
            hint.push_str(&format!("one of: {v}; "));
        }
    }
    crate::error::UsageError::new(
        first,
        format!("{hint}run `{program} --help` for the flags and examples"),
    )
}

/// Write `text` to stdout and flush. `Err(code)` is the exit code to use when that failed: a
/// closed pipe gives [`EXIT_BROKEN_PIPE`] quietly, any other failure (`/dev/full`) prints why
/// and gives [`EXIT_USAGE`].
pub fn write_stdout(text: &str) -> Result<(), u8> {
    if text.is_empty() {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(EXIT_BROKEN_PIPE),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot write the output to stdout: {}",
                crate::redact::printable(&e.to_string())
            );
            Err(EXIT_USAGE)
        }
    }
}

/// Exit now with `code`, after removing the [`cleanup`] files. Skips the runtime's shutdown,
/// which would wait for a blocking call (an exec plugin) that may never return.
pub fn finish(code: u8) -> ! {
    cleanup::remove_all();
    let _ = std::io::stderr().flush();
    std::process::exit(i32::from(code))
}

/// Run a flow on a fresh runtime under a whole-run deadline of `timeout`, then write its
/// output and exit. `flow` gets the [`Deadline`]; if the deadline passes first, the run ends
/// with the deadline's error (exit 2) naming what did not answer.
pub fn run<E, F, Fut>(program: &'static str, timeout: Duration, flow: F) -> !
where
    E: UserError,
    F: FnOnce(Deadline) -> Fut,
    Fut: Future<Output = Result<Output, E>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let err = crate::error::UsageError::new(
                format!("cannot start the async runtime: {e}"),
                "the system is out of threads or file descriptors; retry",
            );
            finish(print_error(program, &err))
        }
    };
    let deadline = Deadline::start(program, timeout);
    let result = runtime.block_on(deadline.bound(flow(deadline.clone())));
    let code = match result {
        Ok(Ok(output)) => match write_stdout(&output.stdout) {
            Ok(()) => output.code,
            Err(code) => code,
        },
        Ok(Err(e)) => print_error(program, &e),
        Err(expired) => print_error(program, &expired),
    };
    finish(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_error_names_the_possible_values_in_its_hint() {
        #[derive(Debug, clap::Parser)]
        struct Args {
            #[arg(long, value_parser = ["none", "client", "server"])]
            dry_run: String,
        }
        let e = <Args as clap::Parser>::try_parse_from(["x", "--dry-run", "maybe"])
            .expect_err("maybe is not a strategy");
        let err = usage_error("kubectl todo scale", &e.render().to_string());
        assert!(
            err.message.contains("invalid value 'maybe'"),
            "{}",
            err.message
        );
        assert_eq!(
            err.hint.as_deref(),
            Some(
                "one of: none, client, server; run `kubectl todo scale --help` for the flags and examples"
            )
        );
    }

    #[test]
    fn output_carries_text_and_code() {
        assert_eq!(Output::ok("x").code, EXIT_OK);
        assert_eq!(Output::with_code("", 1).code, 1);
    }

    #[test]
    fn empty_output_writes_nothing() {
        assert_eq!(write_stdout(""), Ok(()));
    }
}
