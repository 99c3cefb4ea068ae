//! The `kubectl todo` dispatcher: which sibling binary runs a subcommand, and where it is.
//!
//! krew installs one binary per plugin (`kubectl-todo`, symlinked from `~/.krew/bin`), so
//! `kubectl todo verify ARGS` reaches `kubectl-todo verify ARGS`. The dispatcher runs the
//! sibling `kubectl-todo-verify` shipped in the same archive, found beside the dispatcher's
//! *real* path (symlinks resolved), and falls back to `PATH`. When `kubectl-todo-verify` is
//! itself on `PATH`, kubectl runs it directly; both routes run the same binary with the same
//! arguments, so behaviour is identical.
//!
//! This module decides; it does not execute. The binary turns a [`Invocation`] into an
//! `exec` (so signals and exit codes pass through untouched).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::error::UserError;

/// The program name kubectl users see.
pub const PROGRAM: &str = "kubectl todo";

/// The dispatcher's own binary name; sibling binaries are `<BINARY>-<subcommand>`.
pub const BINARY: &str = "kubectl-todo";

/// One subcommand that a sibling binary implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subcommand {
    /// What the user types after `kubectl todo`.
    pub name: &'static str,
    /// One line for `kubectl todo --help`.
    pub about: &'static str,
}

impl Subcommand {
    /// The binary that implements this subcommand (`kubectl-todo-<name>`), with the
    /// platform's executable suffix.
    pub fn binary(&self) -> String {
        format!("{BINARY}-{}{}", self.name, std::env::consts::EXE_SUFFIX)
    }
}

/// The subcommands `kubectl todo` dispatches, in help order.
pub const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "verify",
        about: "Check that the todo-chatbot release is healthy and say why when it is not",
    },
    Subcommand {
        name: "scale",
        about: "Scale the frontend or backend and wait until the rollout has settled",
    },
];

/// Find a subcommand by name.
pub fn subcommand(name: &str) -> Option<&'static Subcommand> {
    SUBCOMMANDS.iter().find(|s| s.name == name)
}

/// Shells `kubectl todo completion` can generate a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// GNU bash.
    Bash,
    /// zsh.
    Zsh,
    /// fish.
    Fish,
}

impl Shell {
    /// Parse a shell name as typed on the command line.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "bash" => Some(Shell::Bash),
            "zsh" => Some(Shell::Zsh),
            "fish" => Some(Shell::Fish),
            _ => None,
        }
    }
}

/// What the dispatcher was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Print the dispatcher's help (`--help`, `-h`, `help`, or no arguments).
    Help,
    /// Print the version (`--version`, `-V`, `version`).
    Version,
    /// Print a shell completion script (`completion bash|zsh|fish`).
    Completion(Shell),
    /// Run a sibling binary with these arguments, unchanged.
    Run {
        /// The subcommand.
        subcommand: &'static Subcommand,
        /// Everything after the subcommand name, byte for byte.
        args: Vec<OsString>,
    },
}

/// Why the dispatcher cannot do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The first argument names no subcommand.
    #[error("unknown subcommand {name:?} for \"{PROGRAM}\"")]
    UnknownSubcommand {
        /// What the user typed.
        name: String,
    },
    /// A flag came before any subcommand.
    #[error("unknown flag {flag:?} for \"{PROGRAM}\"")]
    UnknownFlag {
        /// What the user typed.
        flag: String,
    },
    /// `completion` without a known shell.
    #[error("completion needs one shell: bash, zsh or fish (got {got:?})")]
    CompletionShell {
        /// What the user typed, empty if nothing.
        got: String,
    },
    /// Neither the dispatcher's folder nor `PATH` holds the sibling binary.
    #[error("cannot find {binary} beside {} or on PATH", dir.as_deref().map_or_else(|| "kubectl-todo".into(), |d| d.display().to_string()))]
    MissingBinary {
        /// The binary looked for.
        binary: String,
        /// The dispatcher's real folder, when known.
        dir: Option<PathBuf>,
    },
    /// The sibling binary exists but could not be started.
    #[error("cannot run {}: {source}", path.display())]
    Exec {
        /// The binary that failed to start.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl UserError for DispatchError {
    fn hint(&self) -> Option<String> {
        match self {
            DispatchError::UnknownSubcommand { .. } | DispatchError::UnknownFlag { .. } => {
                Some(format!(
                    "run `{PROGRAM} --help` for the subcommands: {}",
                    subcommand_names()
                ))
            }
            DispatchError::CompletionShell { .. } => Some(format!(
                "for example: {PROGRAM} completion bash > ~/.kubectl-todo.bash"
            )),
            DispatchError::MissingBinary { .. } => Some(
                "the subcommands ship beside kubectl-todo; reinstall with install.sh or \
                 `kubectl krew install todo`"
                    .into(),
            ),
            DispatchError::Exec { .. } => {
                Some("check that the file is an executable built for this platform".into())
            }
        }
    }
}

/// `verify, scale`: for messages.
pub fn subcommand_names() -> String {
    SUBCOMMANDS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decide what to do from the arguments after the program name.
///
/// Only the first argument is interpreted; everything after a subcommand name is passed on
/// unchanged (including `--help`, which the sibling answers). `help SUB` runs `SUB --help`.
pub fn parse(args: &[OsString]) -> Result<Invocation, DispatchError> {
    let Some(first) = args.first() else {
        return Ok(Invocation::Help);
    };
    let first = first.to_string_lossy();
    let rest = || args[1..].to_vec();
    match first.as_ref() {
        "-h" | "--help" => Ok(Invocation::Help),
        "help" => match args.get(1) {
            None => Ok(Invocation::Help),
            Some(sub) => {
                let name = sub.to_string_lossy();
                let subcommand =
                    subcommand(&name).ok_or_else(|| DispatchError::UnknownSubcommand {
                        name: name.into_owned(),
                    })?;
                Ok(Invocation::Run {
                    subcommand,
                    args: vec![OsString::from("--help")],
                })
            }
        },
        "-V" | "--version" | "version" => Ok(Invocation::Version),
        "completion" | "completions" => {
            let got = args
                .get(1)
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Shell::parse(&got)
                .map(Invocation::Completion)
                .ok_or(DispatchError::CompletionShell { got })
        }
        flag if flag.starts_with('-') => Err(DispatchError::UnknownFlag {
            flag: flag.to_owned(),
        }),
        name => match subcommand(name) {
            Some(subcommand) => Ok(Invocation::Run {
                subcommand,
                args: rest(),
            }),
            None => Err(DispatchError::UnknownSubcommand {
                name: name.to_owned(),
            }),
        },
    }
}

/// The folder holding the dispatcher's real binary: `current_exe` with symlinks resolved,
/// because krew puts a symlink in `~/.krew/bin` that points into its store, where the
/// siblings are.
pub fn real_dir(current_exe: &Path) -> Option<PathBuf> {
    let real = std::fs::canonicalize(current_exe).unwrap_or_else(|_| current_exe.to_path_buf());
    real.parent().map(Path::to_path_buf)
}

/// Locate the binary for `sub`: first beside the dispatcher (`own_dir`), then on `path`
/// (a `PATH`-style list). Returns the absolute path of an executable file.
pub fn locate(
    sub: &Subcommand,
    own_dir: Option<&Path>,
    path: Option<&OsStr>,
) -> Result<PathBuf, DispatchError> {
    let binary = sub.binary();
    if let Some(dir) = own_dir {
        let candidate = dir.join(&binary);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    if let Some(path) = path {
        for dir in std::env::split_paths(path) {
            // An empty PATH entry means the current directory; like kubectl, skip it.
            if dir.as_os_str().is_empty() {
                continue;
            }
            let candidate = dir.join(&binary);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(DispatchError::MissingBinary {
        binary,
        dir: own_dir.map(Path::to_path_buf),
    })
}

/// A regular file (after following symlinks) that this user may execute.
fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// The text of `kubectl todo --help`.
pub fn help_text(version: &str) -> String {
    let width = SUBCOMMANDS
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0)
        .max("completion".len());
    let mut out = format!(
        "{PROGRAM} {version}: take the AI Todo Chatbot onto Kubernetes and keep it healthy.\n\n\
         Usage:\n  {PROGRAM} <subcommand> [flags]\n\nSubcommands:\n"
    );
    for s in SUBCOMMANDS {
        out.push_str(&format!("  {:width$}  {}\n", s.name, s.about));
    }
    out.push_str(&format!(
        "  {:width$}  Print a shell completion script (bash, zsh or fish)\n",
        "completion"
    ));
    out.push_str(&format!(
        "\nAlso part of the suite:\n  helm todo-secrets  Prompt for the app's secrets and \
         seal them for sealed-secrets\n\n\
         Flags:\n  -h, --help     Show this help\n  -V, --version  Show the version\n\n\
         Run `{PROGRAM} <subcommand> --help` for a subcommand's flags; like kubectl's they\n\
         include --context, -n/--namespace and --kubeconfig.\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn parse_passes_arguments_after_subcommand_unchanged() {
        let got = parse(&args(&["verify", "-n", "todo", "--help", "--", "x"])).unwrap();
        assert_eq!(
            got,
            Invocation::Run {
                subcommand: &SUBCOMMANDS[0],
                args: args(&["-n", "todo", "--help", "--", "x"])
            }
        );
    }

    #[cfg(unix)]
    #[test]
    fn parse_keeps_non_utf8_arguments_byte_for_byte() {
        use std::os::unix::ffi::OsStringExt;
        let raw = OsString::from_vec(vec![0x66, 0xff, 0x6f]);
        let got = parse(&[OsString::from("scale"), raw.clone()]).unwrap();
        assert_eq!(
            got,
            Invocation::Run {
                subcommand: &SUBCOMMANDS[1],
                args: vec![raw]
            }
        );
    }

    #[test]
    fn parse_without_arguments_is_help() {
        assert_eq!(parse(&[]).unwrap(), Invocation::Help);
        assert_eq!(parse(&args(&["--help"])).unwrap(), Invocation::Help);
        assert_eq!(parse(&args(&["-h"])).unwrap(), Invocation::Help);
    }

    #[test]
    fn parse_help_subcommand_runs_its_help() {
        let got = parse(&args(&["help", "scale"])).unwrap();
        assert_eq!(
            got,
            Invocation::Run {
                subcommand: &SUBCOMMANDS[1],
                args: args(&["--help"])
            }
        );
    }

    #[test]
    fn parse_version_flags() {
        for v in ["--version", "-V", "version"] {
            assert_eq!(parse(&args(&[v])).unwrap(), Invocation::Version);
        }
    }

    #[test]
    fn parse_completion_shells() {
        assert_eq!(
            parse(&args(&["completion", "zsh"])).unwrap(),
            Invocation::Completion(Shell::Zsh)
        );
        assert_eq!(
            parse(&args(&["completions", "fish"])).unwrap(),
            Invocation::Completion(Shell::Fish)
        );
        assert!(matches!(
            parse(&args(&["completion", "tcsh"])),
            Err(DispatchError::CompletionShell { got }) if got == "tcsh"
        ));
        assert!(matches!(
            parse(&args(&["completion"])),
            Err(DispatchError::CompletionShell { .. })
        ));
    }

    #[test]
    fn parse_rejects_unknown_subcommand_with_usage_exit_code() {
        let err = parse(&args(&["deploy"])).unwrap_err();
        assert!(matches!(&err, DispatchError::UnknownSubcommand { name } if name == "deploy"));
        assert!(err.hint().unwrap().contains("verify, scale"));
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
    }

    #[test]
    fn parse_rejects_flag_before_subcommand() {
        assert!(matches!(
            parse(&args(&["-n", "todo", "verify"])),
            Err(DispatchError::UnknownFlag { .. })
        ));
    }

    #[test]
    fn help_lists_every_subcommand_and_helm_plugin() {
        let help = help_text("0.1.0");
        for s in SUBCOMMANDS {
            assert!(
                help.lines()
                    .any(|l| l.trim_start().starts_with(s.name) && l.contains(s.about))
            );
        }
        assert!(help.contains("helm todo-secrets"));
        assert!(help.contains("completion"));
    }

    #[cfg(unix)]
    fn write_exe(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn real_dir_follows_krew_symlink_into_store() {
        let tmp = tempfile::tempdir().unwrap();
        let store = tmp.path().join("store/todo/v0.1.0");
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        write_exe(&store.join("kubectl-todo"));
        std::os::unix::fs::symlink(store.join("kubectl-todo"), bin.join("kubectl-todo")).unwrap();
        let dir = real_dir(&bin.join("kubectl-todo")).unwrap();
        assert_eq!(dir, std::fs::canonicalize(&store).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn locate_prefers_sibling_over_path() {
        let tmp = tempfile::tempdir().unwrap();
        let own = tmp.path().join("own");
        let other = tmp.path().join("other");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        write_exe(&own.join("kubectl-todo-verify"));
        write_exe(&other.join("kubectl-todo-verify"));
        let path = std::env::join_paths([&other]).unwrap();
        let got = locate(&SUBCOMMANDS[0], Some(&own), Some(&path)).unwrap();
        assert_eq!(got, own.join("kubectl-todo-verify"));
    }

    #[cfg(unix)]
    #[test]
    fn locate_falls_back_to_path() {
        let tmp = tempfile::tempdir().unwrap();
        let own = tmp.path().join("own");
        let other = tmp.path().join("other");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        write_exe(&other.join("kubectl-todo-scale"));
        let path = std::env::join_paths([Path::new("/nonexistent"), &other]).unwrap();
        let got = locate(&SUBCOMMANDS[1], Some(&own), Some(&path)).unwrap();
        assert_eq!(got, other.join("kubectl-todo-scale"));
    }

    #[cfg(unix)]
    #[test]
    fn locate_skips_files_that_are_not_executable() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("kubectl-todo-verify"), "").unwrap();
        let err = locate(&SUBCOMMANDS[0], Some(tmp.path()), None).unwrap_err();
        assert!(matches!(err, DispatchError::MissingBinary { .. }));
        assert!(err.to_string().contains("kubectl-todo-verify"));
    }
}
