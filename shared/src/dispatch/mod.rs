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
    Subcommand {
        name: "preflight",
        about: "Check before helm install what would fail after it (values, images, secrets, capacity, RBAC)",
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
    /// Print the help of `completion`.
    CompletionHelp,
    /// Answer a `__complete` request at the dispatcher's level (no subcommand typed yet):
    /// the words after `__complete`.
    Complete(Vec<String>),
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
    /// A flag came before any subcommand that is not one of kubectl's connection flags.
    #[error("unknown flag {flag:?} for \"{PROGRAM}\"")]
    UnknownFlag {
        /// What the user typed.
        flag: String,
    },
    /// A connection flag before the subcommand without its value.
    #[error("flag {flag:?} needs a value")]
    MissingValue {
        /// The flag.
        flag: String,
    },
    /// Connection flags but no subcommand.
    #[error("no subcommand after the flags")]
    NoSubcommand,
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
            DispatchError::UnknownSubcommand { name } => Some(match suggest(name) {
                Some(s) => format!(
                    "did you mean `{PROGRAM} {s}`? The subcommands: {}",
                    subcommand_names()
                ),
                None => format!(
                    "run `{PROGRAM} --help` for the subcommands: {}",
                    subcommand_names()
                ),
            }),
            DispatchError::UnknownFlag { .. } => Some(format!(
                "before the subcommand {PROGRAM} takes kubectl's {}; other flags go after it (`{PROGRAM} verify --help`)",
                GLOBAL_FLAGS
                    .iter()
                    .map(|f| f.long)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            DispatchError::MissingValue { flag } => {
                Some(format!("for example: {PROGRAM} {flag} VALUE verify"))
            }
            DispatchError::NoSubcommand => {
                Some(format!("name a subcommand: {}", subcommand_names()))
            }
            DispatchError::CompletionShell { .. } => Some(format!(
                "for example: {PROGRAM} completion bash > ~/.kubectl-todo.bash"
            )),
            DispatchError::MissingBinary { .. } => Some(
                "the subcommands ship beside kubectl-todo; reinstall with install.sh or \
                 `kubectl krew install todo-kube/todo`"
                    .into(),
            ),
            DispatchError::Exec { .. } => {
                Some("check that the file is an executable built for this platform".into())
            }
        }
    }
}

/// `verify, scale, completion`: for messages.
pub fn subcommand_names() -> String {
    SUBCOMMANDS
        .iter()
        .map(|s| s.name)
        .chain(["completion"])
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name the user probably meant: a subcommand within two edits, or one it starts.
pub fn suggest(typed: &str) -> Option<&'static str> {
    let names = || SUBCOMMANDS.iter().map(|s| s.name).chain(["completion"]);
    crate::complete::closest(typed, names())
        .or_else(|| names().find(|n| typed.len() >= 3 && n.starts_with(typed)))
}

/// One of kubectl's connection flags that `kubectl todo` accepts before the subcommand and
/// passes on to it (`kubectl todo -n todo verify` runs `kubectl-todo-verify -n todo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalFlag {
    /// `--namespace`.
    pub long: &'static str,
    /// `-n`.
    pub short: Option<char>,
    /// What it sets, for help and completion.
    pub about: &'static str,
}

/// The connection flags every subcommand takes (see [`crate::cluster::KubeArgs`]).
pub const GLOBAL_FLAGS: &[GlobalFlag] = &[
    GlobalFlag {
        long: "--namespace",
        short: Some('n'),
        about: "The namespace",
    },
    GlobalFlag {
        long: "--context",
        short: None,
        about: "The kubeconfig context to use",
    },
    GlobalFlag {
        long: "--kubeconfig",
        short: None,
        about: "Path to the kubeconfig file",
    },
    GlobalFlag {
        long: "--request-timeout",
        short: None,
        about: "How long to wait for a single API request",
    },
];

/// Split the connection flags given before the subcommand from the rest: returns the flags
/// (as typed, values included) and the index of the first argument after them.
fn leading_globals(args: &[OsString]) -> Result<(Vec<OsString>, usize), DispatchError> {
    let mut globals = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let text = arg.to_string_lossy();
        if !text.starts_with('-') || matches!(text.as_ref(), "-h" | "--help" | "-V" | "--version") {
            break;
        }
        let known = GLOBAL_FLAGS.iter().find(|f| {
            text == f.long
                || text.starts_with(&format!("{}=", f.long))
                || f.short
                    .is_some_and(|c| text.starts_with(&format!("-{c}")) && !text.starts_with("--"))
        });
        let Some(flag) = known else {
            return Err(DispatchError::UnknownFlag {
                flag: text.into_owned(),
            });
        };
        globals.push(arg.clone());
        let attached = text.contains('=') || (text.len() > 2 && !text.starts_with("--"));
        if !attached {
            let value = args.get(i + 1).ok_or_else(|| DispatchError::MissingValue {
                flag: flag.long.to_owned(),
            })?;
            globals.push(value.clone());
            i += 1;
        }
        i += 1;
    }
    Ok((globals, i))
}

/// Decide what to do from the arguments after the program name.
///
/// kubectl's connection flags given before the subcommand ([`GLOBAL_FLAGS`]) are passed on
/// to it, first; everything after the subcommand name is passed on unchanged (including
/// `--help`, which the sibling answers). `help SUB` runs `SUB --help`. `__complete WORDS`
/// answers shell completion (delegated to the sibling once a subcommand is typed).
pub fn parse(args: &[OsString]) -> Result<Invocation, DispatchError> {
    if args
        .first()
        .is_some_and(|a| a == crate::complete::COMPLETE_ARG)
    {
        return Ok(parse_complete(&args[1..]));
    }
    let (globals, start) = leading_globals(args)?;
    let args = &args[start..];
    let Some(first) = args.first() else {
        return if globals.is_empty() {
            Ok(Invocation::Help)
        } else {
            Err(DispatchError::NoSubcommand)
        };
    };
    let first = first.to_string_lossy();
    let rest = || {
        globals
            .iter()
            .cloned()
            .chain(args[1..].iter().cloned())
            .collect()
    };
    match first.as_ref() {
        "-h" | "--help" => Ok(Invocation::Help),
        "help" => match args.get(1) {
            None => Ok(Invocation::Help),
            Some(sub) if sub == "completion" => Ok(Invocation::CompletionHelp),
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
        "completion" => {
            let got = args
                .get(1)
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if matches!(got.as_str(), "-h" | "--help") {
                return Ok(Invocation::CompletionHelp);
            }
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

/// A `__complete` request: delegated to the sibling as `__complete` + its words once a
/// subcommand is typed (connection flags before it are passed on), else answered here.
fn parse_complete(words: &[OsString]) -> Invocation {
    let text: Vec<String> = words
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    // Connection flags and their values come first; the first other word (not the one being
    // completed) names the subcommand.
    let mut i = 0;
    while i + 1 < text.len() && text[i].starts_with('-') {
        let takes_value = GLOBAL_FLAGS
            .iter()
            .any(|f| text[i] == f.long || f.short.is_some_and(|c| text[i] == format!("-{c}")));
        i += if takes_value { 2 } else { 1 };
    }
    if i + 1 < text.len()
        && let Some(sub) = subcommand(&text[i])
    {
        let mut args = vec![OsString::from(crate::complete::COMPLETE_ARG)];
        args.extend(words[..i].iter().cloned());
        args.extend(words[i + 1..].iter().cloned());
        return Invocation::Run {
            subcommand: sub,
            args,
        };
    }
    Invocation::Complete(text)
}

/// The dispatcher as a clap command, for completion at its level: the subcommands, the
/// connection flags, `completion SHELL`.
pub fn completion_command() -> clap::Command {
    let mut cmd = clap::Command::new(BINARY).disable_help_subcommand(true);
    for f in GLOBAL_FLAGS {
        let id = f.long.trim_start_matches("--");
        let mut arg = clap::Arg::new(id)
            .long(id)
            .help(f.about)
            .value_name(if id == "kubeconfig" { "FILE" } else { "VALUE" });
        if let Some(c) = f.short {
            arg = arg.short(c);
        }
        cmd = cmd.arg(arg);
    }
    for s in SUBCOMMANDS {
        cmd = cmd.subcommand(clap::Command::new(s.name).about(s.about));
    }
    cmd.subcommand(
        clap::Command::new("completion")
            .about("Print a shell completion script (bash, zsh or fish)")
            .arg(clap::Arg::new("shell").value_parser(["bash", "zsh", "fish"])),
    )
}

/// Completion at the dispatcher's level. When kubectl asks (through `kubectl_complete-todo`,
/// which sets `TODO_COMPLETE_CALLER=kubectl`), subcommands whose `kubectl-todo-<name>` is on
/// `path` are left out: kubectl lists those plugins itself, and a name must not show twice.
pub fn complete_here(
    words: &[String],
    via_kubectl: bool,
    path: Option<&OsStr>,
    source: &dyn crate::complete::ValueSource,
) -> crate::complete::Completions {
    let mut out = crate::complete::complete(&completion_command(), words, source);
    if via_kubectl {
        out.candidates.retain(|c| match subcommand(&c.value) {
            Some(sub) => locate(sub, None, path).is_err(),
            None => true,
        });
    }
    out
}

/// The text of `kubectl todo completion --help`.
pub fn completion_help() -> String {
    format!(
        "Print a shell completion script for {BINARY}.\n\n\
         Usage:\n  {PROGRAM} completion bash|zsh|fish\n\n\
         Examples:\n  source <({BINARY} completion bash)        # bash (needs the bash-completion package)\n  \
         {BINARY} completion zsh > \"${{fpath[1]}}/_{BINARY}\"  # zsh\n  \
         {BINARY} completion fish | source              # fish\n\n\
         `kubectl todo <TAB>` is completed by kubectl itself (1.26+) through the executable\n\
         kubectl_complete-todo on PATH, which install.sh installs; kubectl's own completion must\n\
         be loaded (`source <(kubectl completion bash)`, which needs bash-completion).\n"
    )
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
         kubectl's connection flags (-n/--namespace, --context, --kubeconfig,\n\
         --request-timeout) may come before the subcommand: `{PROGRAM} -n todo verify`.\n\
         Run `{PROGRAM} <subcommand> --help` for a subcommand's flags.\n"
    ));
    out
}

#[cfg(test)]
mod tests;
