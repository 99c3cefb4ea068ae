//! Why a `helm todo-secrets` command stopped. Each variant keeps what caused it, says its
//! own hint and exit code, and never contains a secret value.

use std::path::{Path, PathBuf};

use crate::cluster::{ClusterError, shell_word};
use crate::deadline::Expired;
use crate::error::{EXIT_INTERRUPTED, EXIT_UNHEALTHY, EXIT_USAGE, UserError};
use crate::names::NameError;
use crate::seal::{self, CertError, Scope};
use crate::ui::PromptError;

use super::controller::{Controller, ControllerError, ControllerPlace};
use super::input::InputError;

/// How a sealed file disagrees with what the command was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileMismatch {
    /// Sealed for another namespace (strict or namespace-wide scope).
    Namespace {
        /// The file's namespace.
        sealed: String,
        /// The namespace asked for.
        wanted: String,
    },
    /// Sealed for another Secret name (strict scope).
    SecretName {
        /// The file's Secret name.
        sealed: String,
        /// The name asked for.
        wanted: String,
    },
    /// Sealed with another scope.
    Scope {
        /// The file's scope.
        sealed: Scope,
        /// The scope asked for.
        wanted: Scope,
    },
    /// Sealed with another certificate than the one sealing now.
    Certificate {
        /// The file's fingerprint.
        sealed: String,
        /// The current certificate's fingerprint.
        current: String,
    },
}

impl std::fmt::Display for FileMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileMismatch::Namespace { sealed, wanted } => {
                write!(f, "was sealed for namespace {sealed:?}, not {wanted:?}")
            }
            FileMismatch::SecretName { sealed, wanted } => {
                write!(f, "was sealed for the Secret {sealed:?}, not {wanted:?}")
            }
            FileMismatch::Scope { sealed, wanted } => {
                write!(f, "was sealed with scope {sealed}, not {wanted}")
            }
            FileMismatch::Certificate { sealed, current } => write!(
                f,
                "was sealed with certificate {}, the controller now uses {}",
                seal::short(sealed),
                seal::short(current)
            ),
        }
    }
}

/// Why a `helm todo-secrets` command stopped. Display is the one-line cause and never
/// contains a secret value; [`UserError::hint`] says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A flag combination that cannot work.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do instead.
        hint: String,
    },
    /// A namespace, release or Secret name Kubernetes would refuse.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A file or stdin could not be read or understood.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The sealed values file to update does not exist.
    #[error("{} does not exist", .0.display())]
    NoFile(PathBuf),
    /// Writing a file failed.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file (or its temporary).
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The chart's values.schema.json is not valid JSON.
    #[error("cannot read the chart schema {}: {source}", .path.display())]
    Schema {
        /// The schema file.
        path: PathBuf,
        /// The parser's error (the schema holds no secret).
        #[source]
        source: serde_json::Error,
    },
    /// The sealing certificate was refused.
    #[error("certificate from {from} refused: {source}")]
    Cert {
        /// Where it came from.
        from: String,
        /// Why.
        #[source]
        source: CertError,
    },
    /// The sealed-secrets controller did not do what was asked (built by
    /// [`SecretsError::controller`], which places it for the hint).
    #[error("{source}")]
    Controller {
        /// What went wrong.
        #[source]
        source: Box<ControllerError>,
        /// The controller asked, and the user's connection flags, for the hint's commands.
        at: Box<ControllerPlace>,
    },
    /// Talking to the cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Values that no source provided (non-interactive).
    #[error("missing values: {}", .0.join(", "))]
    Missing(Vec<String>),
    /// A provided value failed its check.
    #[error("{key} {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// Why (never the value).
        reason: String,
    },
    /// A provided value looks like a placeholder.
    #[error("{key} looks like a placeholder (changeme, <your key>, xxx…), not a real value")]
    Placeholder {
        /// The key.
        key: String,
    },
    /// Nowhere to read values from.
    #[error("no terminal to prompt on, and neither --from-env nor --from-file was given")]
    NoTerminal,
    /// The output exists and merging was not confirmed.
    #[error("{} already exists", .0.display())]
    Exists(PathBuf),
    /// The person declined to merge into the existing file.
    #[error("{} exists and was left unchanged", .0.display())]
    Declined(PathBuf),
    /// Plaintext output that git would pick up.
    #[error("refusing to write plaintext secrets to {}: git does not ignore it", .0.display())]
    NotIgnored(PathBuf),
    /// Whether git ignores the plaintext output cannot be told.
    #[error("cannot tell whether git ignores {}: {reason}", .path.display())]
    GitUnknown {
        /// The output.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A sealed file that was sealed for another target.
    #[error("{} {what}", .path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// How it disagrees.
        what: FileMismatch,
        /// The namespace the file is for (its recorded one, else the target's), for the
        /// hint's commands.
        namespace: String,
    },
    /// The controller cannot decrypt some values, so it cannot re-encrypt them.
    #[error("the controller cannot decrypt {} of {}: sealed for another namespace or name, or with a key it no longer has", .keys.join(", "), .path.display())]
    Undecryptable {
        /// The file.
        path: PathBuf,
        /// The namespace the file is sealed for.
        namespace: String,
        /// The keys that do not decrypt.
        keys: Vec<String>,
    },
    /// A prompt gave no answer (Ctrl-C, or the terminal failed).
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// A background task (the prompts run on one) stopped abnormally.
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The JSON report could not be written.
    #[error("cannot render the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A YAML document could not be written.
    #[error("cannot render YAML: {0}")]
    Yaml(#[from] serde_saphyr::SerializeError),
    /// The crypto library failed.
    #[error(transparent)]
    Seal(#[from] seal::SealError),
    /// The whole-run deadline passed.
    #[error(transparent)]
    Expired(#[from] Expired),
}

impl SecretsError {
    /// A usage error with its hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        SecretsError::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The controller's error, placed (which controller, which user) for its hint.
    pub fn controller(
        source: ControllerError,
        controller: &Controller,
        cluster: &crate::cluster::Cluster,
    ) -> Self {
        SecretsError::Controller {
            source: Box::new(source),
            at: Box::new(controller.place(cluster)),
        }
    }

    /// A failed write of `path`.
    pub fn write(path: &Path, source: std::io::Error) -> Self {
        SecretsError::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Whether Ctrl-C (or Esc) stopped a prompt.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, SecretsError::Prompt(PromptError::Interrupted))
    }
}

/// A [`SecretsError`] as its user sees it (see [`SecretsError::for_user`]): the same cause
/// and exit code, the hint's cluster commands carrying the user's connection flags.
#[derive(Debug)]
pub struct ForUser {
    /// The error.
    pub error: SecretsError,
    /// `--kubeconfig`/`--kube-context` (empty, or starting with a space).
    pub flags: String,
}

impl std::fmt::Display for ForUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ForUser {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl UserError for ForUser {
    fn hint(&self) -> Option<String> {
        self.error.hint_for(&self.flags)
    }

    fn exit_code(&self) -> u8 {
        self.error.exit_code()
    }
}

fn mismatch_hint(what: &FileMismatch, path: &Path, namespace: &str, flags: &str) -> String {
    let file = shell_word(&path.display().to_string());
    let ns = shell_word(namespace);
    match what {
        FileMismatch::Namespace { sealed, wanted } => format!(
            "pass -n {}, or seal a new file for namespace {wanted}: `helm todo-secrets init -n {} -f OTHER{flags}`",
            shell_word(sealed),
            shell_word(wanted)
        ),
        FileMismatch::SecretName { .. } => format!(
            "pass the same --release/--secret-name, or seal a new file: `helm todo-secrets init -f OTHER{flags}`"
        ),
        FileMismatch::Scope { wanted, .. } => format!(
            "re-seal everything with `helm todo-secrets rotate --reenter --scope {wanted} -f {file} -n {ns}{flags}`, or write another file with -f"
        ),
        FileMismatch::Certificate { .. } => format!(
            "run `helm todo-secrets rotate -f {file} -n {ns}{flags}` to re-encrypt every value with the current key first"
        ),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl UserError for SecretsError {
    fn exit_code(&self) -> u8 {
        match self {
            SecretsError::Prompt(PromptError::Interrupted) => EXIT_INTERRUPTED,
            SecretsError::Undecryptable { .. } => EXIT_UNHEALTHY,
            SecretsError::Cluster(e) => e.exit_code(),
            _ => EXIT_USAGE,
        }
    }

    fn hint(&self) -> Option<String> {
        self.hint_for("")
    }
}

impl SecretsError {
    /// The same error for the user of `cluster`: the `helm todo-secrets` commands of its hint
    /// carry the `--kubeconfig`/`--kube-context` they gave (or Helm's environment did), so
    /// they act on the same cluster.
    pub fn for_user(self, cluster: &super::args::ClusterArgs) -> ForUser {
        ForUser {
            flags: cluster.kube_args(None).as_helm_flags(),
            error: self,
        }
    }

    /// The hint, its cluster commands carrying `flags` (empty, or starting with a space).
    pub fn hint_for(&self, flags: &str) -> Option<String> {
        Some(match self {
            SecretsError::Usage { hint, .. } => hint.clone(),
            SecretsError::Name(_) => "Kubernetes names are lowercase letters, digits and '-' (e.g. todo-prod)".into(),
            SecretsError::Input(e) => return input_hint(e),
            SecretsError::NoFile(_) => format!("create it with `helm todo-secrets init{flags}`, or pass -f FILE"),
            SecretsError::Cluster(e) => return e.hint(),
            SecretsError::Controller { source, at } => return source.hint_at(at),
            SecretsError::Cert { source: CertError::Expired(_) | CertError::NotYetValid(_), .. } => {
                format!("fetch the controller's current certificate (`helm todo-secrets fetch-cert{flags}`), or check the clock")
            }
            SecretsError::Cert { .. } => format!("pass the controller's PEM certificate (`helm todo-secrets fetch-cert{flags} > cert.pem`)"),
            SecretsError::Missing(names) => format!(
                "provide them with --from-env (export {}=...) or --from-file FILE (dotenv), or run on a terminal to be prompted",
                names.first().map(String::as_str).unwrap_or("KEY")
            ),
            SecretsError::Invalid { key, .. } => format!("fix {key} in its source and run again"),
            SecretsError::Placeholder { key } => format!(
                "put the real {key} in its source; --allow-placeholder seals it anyway (verify will fail it)"
            ),
            SecretsError::NoTerminal | SecretsError::Prompt(PromptError::NoTerminal) => {
                "pass --from-env or --from-file FILE (dotenv) in CI; --non-interactive lists what is missing".into()
            }
            SecretsError::Exists(_) => "pass --force to merge into it (keys you do not re-enter are kept), or -f another file".into(),
            SecretsError::Declined(_) => "write another file with -f, or pass --force to merge".into(),
            SecretsError::NotIgnored(path) => format!(
                "add `{}` to .gitignore, prefer --format sealed, or pass --force if you know what you are doing",
                file_name(path)
            ),
            SecretsError::GitUnknown { .. } => "install git, or pass --force to write the plaintext file anyway".into(),
            SecretsError::Mismatch { what, path, namespace } => mismatch_hint(what, path, namespace, flags),
            SecretsError::Undecryptable { keys, path, namespace } => {
                let file = shell_word(&path.display().to_string());
                let ns = shell_word(namespace);
                format!(
                    "re-enter them with `helm todo-secrets rotate --reenter -f {file} -n {ns}{flags}` (or `helm todo-secrets seal {} -f {file} -n {ns}{flags}`), or restore the controller's old key from a backup",
                    keys.first().map(|k| shell_word(k)).unwrap_or_else(|| "KEY".into())
                )
            }
            SecretsError::Schema { .. } => "fix the chart's values.schema.json or pass --chart DIR".into(),
            SecretsError::Expired(e) => return e.hint(),
            SecretsError::Write { .. }
            | SecretsError::Prompt(_)
            | SecretsError::Seal(_)
            | SecretsError::Task(_)
            | SecretsError::Json(_)
            | SecretsError::Yaml(_) => return None,
        })
    }
}

fn input_hint(e: &InputError) -> Option<String> {
    Some(match e {
        InputError::Read { .. } => return None,
        InputError::TooLarge { what, .. } => {
            format!("pass {what} file, not a device or an archive")
        }
        InputError::NotUtf8 { .. } => "save the file as UTF-8 text".into(),
        InputError::Dotenv { .. } => {
            "dotenv lines read KEY=value (quote values with spaces or #)".into()
        }
        InputError::Yaml { .. } | InputError::Shape { .. } => {
            "pass the values file `helm todo-secrets init` wrote (-f FILE); `init` writes a new one"
                .into()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::args::ClusterArgs;

    fn user() -> ClusterArgs {
        ClusterArgs {
            kubeconfig: Some("/k/config".into()),
            context: Some("dev".into()),
            request_timeout: None,
            timeout: std::time::Duration::from_secs(60),
        }
    }

    #[test]
    fn cluster_commands_in_hints_carry_the_users_flags_file_and_namespace() {
        let undecryptable = SecretsError::Undecryptable {
            path: "my values.yaml".into(),
            namespace: "shop".into(),
            keys: vec!["OPENAI_API_KEY".into()],
        }
        .for_user(&user());
        let hint = undecryptable.hint().unwrap();
        assert!(
            hint.contains("`helm todo-secrets rotate --reenter -f 'my values.yaml' -n shop --kubeconfig /k/config --kube-context dev`"),
            "{hint}"
        );
        assert!(
            hint.contains("`helm todo-secrets seal OPENAI_API_KEY -f 'my values.yaml' -n shop --kubeconfig /k/config --kube-context dev`"),
            "{hint}"
        );
        assert_eq!(undecryptable.exit_code(), EXIT_UNHEALTHY);
        assert_eq!(undecryptable.to_string(), undecryptable.error.to_string());
        let stale = SecretsError::Mismatch {
            path: "v.yaml".into(),
            what: FileMismatch::Certificate {
                sealed: "a".into(),
                current: "b".into(),
            },
            namespace: "shop".into(),
        }
        .for_user(&user());
        assert!(
            stale.hint().unwrap().contains(
                "`helm todo-secrets rotate -f v.yaml -n shop --kubeconfig /k/config --kube-context dev`"
            ),
            "{:?}",
            stale.hint()
        );
    }

    #[test]
    fn without_flags_the_hint_is_the_plain_command() {
        let missing = SecretsError::NoFile("v.yaml".into());
        assert_eq!(
            missing.hint().unwrap(),
            "create it with `helm todo-secrets init`, or pass -f FILE"
        );
    }
}
