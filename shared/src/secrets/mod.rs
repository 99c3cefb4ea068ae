//! `helm todo-secrets`: ask for the app's secrets and write them sealed for the cluster's
//! sealed-secrets controller (a values file that is safe to commit), applied as a Secret, or
//! as a 0600 plaintext values file that git ignores.
//!
//! Flows: [`init`], [`seal_one`], [`rotate`], [`status`], [`fetch_cert`]; [`run`] dispatches.
//! Values are read from `--from-file` (dotenv), `--from-env` and prompts, in that order of
//! precedence from lowest to highest (the environment overrides the file; prompts only ask
//! for what is still missing). No secret is ever accepted on the command line, and no
//! message, error or log line contains one.
//!
//! `rotate` needs the plaintext values again: a sealed file cannot be decrypted without the
//! controller's private key, so `rotate` reads every value from the sources (or prompts) and
//! re-seals all of them with the controller's current certificate.

pub mod cert;
pub mod dotenv;
pub mod files;
pub mod keys;
pub mod sources;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::chart::{self, ObjectNames};
use crate::cluster::{Action, Cluster, ClusterError, KubeArgs};
use crate::error::UserError;
use crate::seal::{self, CertError, Certificate, Scope};
use crate::ui::{PromptError, Ui};
use cert::CertSource;
use files::{GitStatus, Mode, SealedFile};
use keys::{KeyKind, KeySpec, Provider};
use sources::Sources;

/// Why a `helm todo-secrets` command stopped. Display is the one-line cause and never
/// contains a secret value; [`SecretsError::hint`] says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A flag combination or input that cannot work.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do instead.
        hint: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// An input file (values file, dotenv) could not be understood.
    #[error("cannot read {path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// Why (never a value).
        reason: String,
    },
    /// The chart's values.schema.json is not valid JSON.
    #[error("cannot read the chart schema {path}: {reason}")]
    Schema {
        /// The schema file.
        path: String,
        /// The parser's message.
        reason: String,
    },
    /// The sealing certificate was refused.
    #[error("certificate from {from} refused: {reason}")]
    Cert {
        /// Where it came from.
        from: String,
        /// Why.
        reason: CertError,
    },
    /// The controller did not serve its certificate.
    #[error("{0}")]
    Controller(String),
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
    /// Nowhere to read values from.
    #[error("no terminal to prompt on, and neither --from-env nor --from-file was given")]
    NoTerminal,
    /// The output exists and merging was not confirmed.
    #[error("{0} already exists")]
    Exists(String),
    /// Plaintext output that git would pick up.
    #[error("refusing to write plaintext secrets to {0}: git does not ignore it")]
    NotIgnored(String),
    /// A prompt gave no answer (Ctrl-C, or the terminal failed).
    #[error(transparent)]
    Prompt(#[from] PromptError),
    /// A background task (the prompts run on one) stopped abnormally.
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The JSON report could not be written.
    #[error("cannot render the report as JSON: {0}")]
    Render(#[from] serde_json::Error),
    /// The crypto library failed.
    #[error(transparent)]
    Seal(#[from] seal::SealError),
}

impl SecretsError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        SecretsError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

impl UserError for SecretsError {
    fn exit_code(&self) -> u8 {
        match self {
            SecretsError::Prompt(PromptError::Interrupted) => crate::error::EXIT_INTERRUPTED,
            _ => crate::error::EXIT_USAGE,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            SecretsError::Usage { hint, .. } => hint.clone(),
            SecretsError::Cluster(e) => return e.hint(),
            SecretsError::Cert { reason: CertError::Expired(_) | CertError::NotYetValid(_), .. } => {
                "fetch the controller's current certificate (`helm todo-secrets fetch-cert`), or check the clock".into()
            }
            SecretsError::Cert { .. } => "pass the controller's PEM certificate (`kubeseal --fetch-cert > cert.pem`)".into(),
            SecretsError::Controller(_) => "is the sealed-secrets controller installed and ready? check `kubectl -n kube-system get svc,pods -l name=sealed-secrets-controller`, set --controller-name/--controller-namespace, or seal offline with --cert FILE".into(),
            SecretsError::Missing(names) => format!(
                "provide them with --from-env (export {}=...) or --from-file FILE (dotenv), or run on a terminal to be prompted",
                names.first().map(String::as_str).unwrap_or("KEY")
            ),
            SecretsError::Invalid { key, .. } => format!("fix {key} in its source and run again"),
            SecretsError::NoTerminal => "pass --from-env or --from-file FILE (dotenv) in CI; --non-interactive lists what is missing".into(),
            SecretsError::Exists(_) => "pass --force to merge into it (keys you do not re-enter are kept), or -o another file".into(),
            SecretsError::NotIgnored(path) => format!(
                "add `{}` to .gitignore, prefer --format sealed, or pass --force if you know what you are doing",
                Path::new(path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
            ),
            SecretsError::Format { .. } => "was it written by `helm todo-secrets`? `init` writes a new one".into(),
            SecretsError::Schema { .. } => "fix the chart's values.schema.json or pass --chart DIR".into(),
            SecretsError::Prompt(PromptError::NoTerminal) => "pass --from-env or --from-file FILE (dotenv), or run on a terminal".into(),
            SecretsError::Io { .. } | SecretsError::Prompt(_) | SecretsError::Seal(_) | SecretsError::Task(_) | SecretsError::Render(_) => {
                return None;
            }
        })
    }
}

/// Flags every subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Connection flags (Helm passes them as HELM_NAMESPACE, HELM_KUBECONTEXT, KUBECONFIG).
    #[command(flatten)]
    pub kube: KubeArgs,
    /// The Helm release the values are for; decides the Secret name.
    #[arg(long, value_name = "NAME", default_value = "todo", global = true)]
    pub release: String,
    /// The Secret name (default: `<fullname>-secrets`, as the chart renders it).
    #[arg(long, value_name = "NAME", global = true)]
    pub secret_name: Option<String>,
    /// Seal with this PEM certificate (`-` for stdin) instead of fetching it from the controller.
    #[arg(long, value_name = "FILE", global = true)]
    pub cert: Option<String>,
    /// The sealed-secrets controller's Service name.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "sealed-secrets-controller",
        global = true
    )]
    pub controller_name: String,
    /// The sealed-secrets controller's namespace.
    #[arg(
        long,
        value_name = "NAMESPACE",
        default_value = "kube-system",
        global = true
    )]
    pub controller_namespace: String,
    /// The chart directory whose values.schema.json lists the secret keys.
    #[arg(
        long,
        value_name = "DIR",
        default_value = chart::DEFAULT_CHART_DIR,
        global = true
    )]
    pub chart: PathBuf,
}

/// Where values come from.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceArgs {
    /// Read values from environment variables of the same names (and LLM_PROVIDER).
    #[arg(long)]
    pub from_env: bool,
    /// Read values from a dotenv file.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Never prompt; fail listing the values no source provided.
    #[arg(long)]
    pub non_interactive: bool,
    /// Generate values the chart marks generatable (BETTER_AUTH_SECRET) when no source has them.
    #[arg(long)]
    pub generate: bool,
}

impl SourceArgs {
    fn sources(&self) -> Sources {
        Sources {
            file: self.from_file.clone(),
            env: self.from_env,
            non_interactive: self.non_interactive,
            generate: self.generate,
        }
    }
}

/// What `init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A values file with sealed values (safe to commit).
    #[default]
    Sealed,
    /// A Secret applied to the cluster, plus a values file pointing the chart at it.
    Secret,
    /// A plaintext values file (mode 0600; refused unless git ignores it).
    Values,
}

/// `init` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// Value sources.
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Sealed)]
    pub format: Format,
    /// Sealing scope (default: strict, or the existing file's).
    #[arg(long, value_enum)]
    pub scope: Option<Scope>,
    /// The LLM provider (default: LLM_PROVIDER from the sources, the existing file, or a prompt).
    #[arg(long, value_enum)]
    pub provider: Option<Provider>,
    /// Output file (default: todo-secrets.sealed.yaml, secrets.values.yaml for --format values,
    /// todo-secrets.existing.yaml for --format secret).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Merge into an existing file without asking; write plaintext even where git does not ignore it.
    #[arg(long)]
    pub force: bool,
}

/// `seal` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct SealArgs {
    /// The key to (re-)seal, e.g. OPENAI_API_KEY. The value comes from a prompt, from stdin
    /// when it is piped, or from the environment variable of that name with --from-env.
    pub key: String,
    /// Read the value from the environment variable named KEY.
    #[arg(long)]
    pub from_env: bool,
    /// The sealed values file to update.
    #[arg(short = 'f', long, value_name = "FILE", default_value = files::DEFAULT_SEALED_FILE)]
    pub file: PathBuf,
}

/// `rotate` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct RotateArgs {
    /// Value sources (every value is needed again: sealed values cannot be decrypted here).
    #[command(flatten)]
    pub sources: SourceArgs,
    /// The sealed values file to rewrite.
    #[arg(short = 'f', long, value_name = "FILE", default_value = files::DEFAULT_SEALED_FILE)]
    pub file: PathBuf,
    /// Change the scope while re-sealing.
    #[arg(long, value_enum)]
    pub scope: Option<Scope>,
    /// Change the LLM provider while re-sealing.
    #[arg(long, value_enum)]
    pub provider: Option<Provider>,
}

/// Output of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StatusFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object.
    Json,
}

/// `status` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// The sealed values file.
    #[arg(short = 'f', long, value_name = "FILE", default_value = files::DEFAULT_SEALED_FILE)]
    pub file: PathBuf,
    /// Do not contact the cluster (the certificate match is not checked).
    #[arg(long)]
    pub offline: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = StatusFormat::Text)]
    pub output: StatusFormat,
}

/// The subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Ask for the app's secrets and write them sealed (default), as a Secret, or as plaintext values.
    Init(InitArgs),
    /// Seal one value into an existing sealed values file.
    Seal(SealArgs),
    /// Re-seal every value with the controller's current certificate (values are read again).
    Rotate(RotateArgs),
    /// Show which keys a sealed values file holds and whether the controller's certificate matches.
    Status(StatusArgs),
    /// Print the controller's certificate (PEM) on stdout.
    FetchCert,
}

/// Run a subcommand; returns the exit code (0, or 1 when `status` finds a problem). Prompts
/// and warnings go through `ui`.
pub async fn run(
    common: &CommonArgs,
    command: &Command,
    ui: Arc<dyn Ui>,
) -> Result<u8, SecretsError> {
    match command {
        Command::Init(args) => init(common, args, ui).await,
        Command::Seal(args) => seal_one(common, args, ui).await,
        Command::Rotate(args) => rotate(common, args, ui).await,
        Command::Status(args) => status(common, args).await,
        Command::FetchCert => fetch_cert(common).await,
    }
}

/// The Secret name the chart renders by default: `<fullname>-secrets`.
pub fn default_secret_name(release: &str) -> String {
    ObjectNames::for_release(release).default_secret()
}

/// Where the values go: namespace, release and Secret name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `-n`, then `HELM_NAMESPACE`, then `default`.
    pub namespace: String,
    /// `--release`.
    pub release: String,
    /// `--secret-name` or `<fullname>-secrets`.
    pub secret_name: String,
}

impl Target {
    fn from_args(common: &CommonArgs) -> Self {
        let namespace = common
            .kube
            .namespace
            .clone()
            .or_else(|| {
                std::env::var("HELM_NAMESPACE")
                    .ok()
                    .filter(|n| !n.is_empty())
            })
            .unwrap_or_else(|| "default".into());
        let secret_name = common
            .secret_name
            .clone()
            .unwrap_or_else(|| default_secret_name(&common.release));
        Target {
            namespace,
            release: common.release.clone(),
            secret_name,
        }
    }
}

fn kube_args(common: &CommonArgs, namespace: &str) -> KubeArgs {
    let helm = KubeArgs::from_helm_env();
    KubeArgs {
        kubeconfig: common.kube.kubeconfig.clone().or(helm.kubeconfig),
        context: common.kube.context.clone().or(helm.context),
        namespace: Some(namespace.to_owned()),
        request_timeout: common.kube.request_timeout,
    }
}

async fn connect(common: &CommonArgs, namespace: &str) -> Result<Cluster, SecretsError> {
    Ok(Cluster::connect(&kube_args(common, namespace)).await?)
}

fn cert_source(common: &CommonArgs) -> Result<CertSource, SecretsError> {
    CertSource::from_flags(
        common.cert.as_deref(),
        &common.controller_name,
        &common.controller_namespace,
    )
}

async fn load_cert(common: &CommonArgs, namespace: &str) -> Result<Certificate, SecretsError> {
    let source = cert_source(common)?;
    let cluster = match source {
        CertSource::Controller { .. } => Some(connect(common, namespace).await?),
        _ => None,
    };
    Ok(cert::load(&source, cluster.as_ref()).await?.0)
}

fn load_keys(chart: &Path) -> Result<Vec<KeySpec>, SecretsError> {
    Ok(keys::schema_keys(chart)?.unwrap_or_else(keys::builtin_keys))
}

/// What [`collect`] needs to know.
#[derive(Clone)]
struct Ask {
    all: Vec<KeySpec>,
    sources: Sources,
    provider: Option<Provider>,
    fallback_provider: Option<Provider>,
    kept: BTreeSet<String>,
    can_prompt: bool,
    ui: Arc<dyn Ui>,
}

/// Gather the values: sources first, then prompts for what is missing (or an error listing
/// exactly what is missing). Runs on a blocking thread because prompts block.
fn collect(ask: Ask) -> Result<(Provider, BTreeMap<String, SecretString>), SecretsError> {
    let has_source = ask.sources.file.is_some() || ask.sources.env;
    if !has_source && !ask.can_prompt {
        return Err(SecretsError::NoTerminal);
    }
    let names: Vec<String> = ask.all.iter().map(|k| k.name.clone()).collect();
    let mut found = sources::read(&ask.sources, &names)?;
    let from_sources = match found.provider.as_deref() {
        Some(text) => Some(Provider::parse(text).ok_or_else(|| SecretsError::Invalid {
            key: sources::PROVIDER_VAR.into(),
            reason: "must be openai, openrouter or cohere".into(),
        })?),
        None => None,
    };
    let inferred = {
        let present: Vec<Provider> = Provider::ALL
            .into_iter()
            .filter(|p| found.values.contains_key(p.key_name()))
            .collect();
        if present.len() == 1 {
            Some(present[0])
        } else {
            None
        }
    };
    let provider = match ask
        .provider
        .or(from_sources)
        .or(ask.fallback_provider)
        .or(inferred)
    {
        Some(p) => p,
        None if ask.can_prompt => sources::prompt_provider(ask.ui.as_ref(), None)?,
        None => Provider::Openai,
    };
    let required = keys::required_keys(&ask.all, provider);
    let mut values = BTreeMap::new();
    for spec in &required {
        if let Some(value) = found.values.remove(&spec.name) {
            for warning in
                keys::check(spec.kind, &value).map_err(|reason| SecretsError::Invalid {
                    key: spec.name.clone(),
                    reason,
                })?
            {
                sources::warn(ask.ui.as_ref(), &spec.name, &warning);
            }
            values.insert(spec.name.clone(), value);
        }
    }
    let mut missing: Vec<&KeySpec> = required
        .iter()
        .filter(|k| !values.contains_key(&k.name) && !ask.kept.contains(&k.name))
        .collect();
    if ask.sources.generate {
        for spec in missing.iter().filter(|k| k.generate) {
            values.insert(spec.name.clone(), keys::generate(keys::GENERATED_LEN));
        }
        missing.retain(|k| !k.generate);
    }
    if !missing.is_empty() {
        if !ask.can_prompt {
            return Err(SecretsError::Missing(
                missing.iter().map(|k| k.name.clone()).collect(),
            ));
        }
        for spec in missing {
            let value = sources::prompt_value(ask.ui.as_ref(), spec)?;
            values.insert(spec.name.clone(), value);
        }
    }
    Ok((provider, values))
}

async fn collect_blocking(
    ask: Ask,
) -> Result<(Provider, BTreeMap<String, SecretString>), SecretsError> {
    if ask.can_prompt {
        crate::term::exit_on_interrupt();
    }
    tokio::task::spawn_blocking(move || collect(ask)).await?
}

fn seal_all(
    cert: &Certificate,
    scope: Scope,
    target: &Target,
    values: &BTreeMap<String, SecretString>,
) -> Result<BTreeMap<String, String>, SecretsError> {
    let mut rng = rand::rngs::OsRng;
    values
        .iter()
        .map(|(k, v)| {
            let sealed = seal::seal_value(
                &mut rng,
                cert,
                scope,
                &target.namespace,
                &target.secret_name,
                v.expose_secret().as_bytes(),
            )?;
            Ok((k.clone(), sealed))
        })
        .collect()
}

fn read_text(path: &Path) -> Result<String, SecretsError> {
    std::fs::read_to_string(path).map_err(|e| SecretsError::io(path, e))
}

fn short(fingerprint: &str) -> &str {
    fingerprint.get(..16).unwrap_or(fingerprint)
}

/// `init`: gather the values and write them in the chosen format.
pub async fn init(
    common: &CommonArgs,
    args: &InitArgs,
    ui: Arc<dyn Ui>,
) -> Result<u8, SecretsError> {
    let target = Target::from_args(common);
    let default_out = match args.format {
        Format::Sealed => files::DEFAULT_SEALED_FILE,
        Format::Values => files::DEFAULT_VALUES_FILE,
        Format::Secret => files::DEFAULT_EXISTING_FILE,
    };
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(default_out));
    let can_prompt = !args.sources.non_interactive && ui.can_prompt();

    if args.format == Format::Values && !args.force {
        match files::git_status(&output) {
            GitStatus::Ignored | GitStatus::NoRepository => {}
            GitStatus::NotIgnored => {
                return Err(SecretsError::NotIgnored(output.display().to_string()));
            }
            GitStatus::Unknown(reason) => {
                return Err(SecretsError::Usage {
                    message: format!(
                        "cannot tell whether git ignores {}: {reason}",
                        output.display()
                    ),
                    hint: "install git, or pass --force to write the plaintext file anyway".into(),
                });
            }
        }
    }

    // An existing file is merged only when the user agrees.
    let merging = output.exists() && args.format != Format::Secret;
    if merging && !args.force {
        if !can_prompt {
            return Err(SecretsError::Exists(output.display().to_string()));
        }
        let question = format!(
            "{} exists; merge into it (keys you do not re-enter are kept)?",
            output.display()
        );
        let asker = ui.clone();
        if !tokio::task::spawn_blocking(move || asker.confirm(&question, false)).await?? {
            return Err(SecretsError::Usage {
                message: format!("{} exists and was left unchanged", output.display()),
                hint: "write another file with -o, or pass --force to merge".into(),
            });
        }
    }
    let all = load_keys(&common.chart)?;

    match args.format {
        Format::Sealed => {
            let existing = if merging {
                Some(files::parse_sealed(&output, &read_text(&output)?)?)
            } else {
                None
            };
            let scope = args
                .scope
                .or(existing.as_ref().map(|e| e.scope))
                .unwrap_or_default();
            // Fetch (and check) the certificate before asking for anything.
            let cert = load_cert(common, &target.namespace).await?;
            if let Some(old) = &existing {
                check_mergeable(old, &output, &target, scope, &cert)?;
            }
            let ask = Ask {
                all,
                sources: args.sources.sources(),
                provider: args.provider,
                fallback_provider: existing.as_ref().and_then(|e| e.provider),
                kept: existing
                    .as_ref()
                    .map(|e| e.encrypted.keys().cloned().collect())
                    .unwrap_or_default(),
                can_prompt,
                ui: ui.clone(),
            };
            let (provider, values) = collect_blocking(ask).await?;
            let mut encrypted = existing.map(|e| e.encrypted).unwrap_or_default();
            let kept: Vec<String> = encrypted
                .keys()
                .filter(|k| !values.contains_key(*k))
                .cloned()
                .collect();
            encrypted.extend(seal_all(&cert, scope, &target, &values)?);
            let file = SealedFile {
                provider: Some(provider),
                name: target.secret_name.clone(),
                scope,
                fingerprint: cert.fingerprint(),
                encrypted,
                namespace: Some(target.namespace.clone()),
                release: Some(target.release.clone()),
            };
            let text = files::render_sealed(&file, &target.namespace, &target.release)?;
            files::write_atomic(&output, text.as_bytes(), Mode::Public)?;
            println!(
                "sealed {} for secret {}/{} (scope {scope}, certificate {}) into {}",
                join(values.keys()),
                target.namespace,
                target.secret_name,
                short(&file.fingerprint),
                output.display()
            );
            if !kept.is_empty() {
                println!("kept from the existing file: {}", kept.join(", "));
            }
            println!(
                "next: helm upgrade --install {} charts/todo-chatbot -n {} -f {}",
                target.release,
                target.namespace,
                output.display()
            );
        }
        Format::Values => {
            let (old_provider, mut old_values) = if merging {
                files::parse_plain(&output, &read_text(&output)?)?
            } else {
                (None, BTreeMap::new())
            };
            let ask = Ask {
                all,
                sources: args.sources.sources(),
                provider: args.provider,
                fallback_provider: old_provider,
                kept: old_values.keys().cloned().collect(),
                can_prompt,
                ui: ui.clone(),
            };
            let (provider, values) = collect_blocking(ask).await?;
            let names = join(values.keys());
            old_values.extend(values);
            let text = files::render_plain(
                provider,
                &target.secret_name,
                &old_values,
                &target.namespace,
                &target.release,
            )?;
            files::write_atomic(&output, text.as_bytes(), Mode::Private)?;
            println!(
                "wrote plaintext values {names} to {} (mode 0600; keep it out of git)",
                output.display()
            );
        }
        Format::Secret => {
            let cluster = connect(common, &target.namespace).await?;
            let ask = Ask {
                all,
                sources: args.sources.sources(),
                provider: args.provider,
                fallback_provider: None,
                kept: BTreeSet::new(),
                can_prompt,
                ui: ui.clone(),
            };
            let (provider, values) = collect_blocking(ask).await?;
            apply_secret(&cluster, &target, &values).await?;
            let text = files::render_existing(
                provider,
                &target.secret_name,
                &target.namespace,
                &target.release,
            )?;
            files::write_atomic(&output, text.as_bytes(), Mode::Public)?;
            println!(
                "applied secret {}/{} with {}; values for the chart in {}",
                target.namespace,
                target.secret_name,
                join(values.keys()),
                output.display()
            );
        }
    }
    Ok(0)
}

fn join<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    keys.map(String::as_str).collect::<Vec<_>>().join(", ")
}

fn check_mergeable(
    old: &SealedFile,
    path: &Path,
    target: &Target,
    scope: Scope,
    cert: &Certificate,
) -> Result<(), SecretsError> {
    let usage = |message: String, hint: &str| SecretsError::Usage {
        message,
        hint: hint.into(),
    };
    if old.scope != scope {
        return Err(usage(
            format!(
                "{} was sealed with scope {}, not {scope}",
                path.display(),
                old.scope
            ),
            "re-seal everything with `helm todo-secrets rotate --scope ...`, or write another file with -o",
        ));
    }
    if scope == Scope::Strict && !old.name.is_empty() && old.name != target.secret_name {
        return Err(usage(
            format!(
                "{} was sealed for the Secret {:?}, not {:?}",
                path.display(),
                old.name,
                target.secret_name
            ),
            "pass the same --release/--secret-name, or write another file with -o",
        ));
    }
    if scope != Scope::ClusterWide
        && old
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != target.namespace)
    {
        return Err(usage(
            format!(
                "{} was sealed for namespace {:?}, not {:?}",
                path.display(),
                old.namespace.as_deref().unwrap_or_default(),
                target.namespace
            ),
            "pass the same -n/--namespace, or write another file with -o",
        ));
    }
    if !old.fingerprint.is_empty() && old.fingerprint != cert.fingerprint() {
        return Err(usage(
            format!(
                "{} was sealed with certificate {}, the controller now uses {}",
                path.display(),
                short(&old.fingerprint),
                short(&cert.fingerprint())
            ),
            "run `helm todo-secrets rotate` to re-seal every value with the current certificate",
        ));
    }
    Ok(())
}

async fn apply_secret(
    cluster: &Cluster,
    target: &Target,
    values: &BTreeMap<String, SecretString>,
) -> Result<(), SecretsError> {
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{Api, ObjectMeta, Patch, PatchParams};

    let labels: BTreeMap<String, String> = [
        (chart::LABEL_NAME, chart::CHART_NAME),
        (chart::LABEL_INSTANCE, target.release.as_str()),
        (chart::LABEL_PART_OF, chart::CHART_NAME),
        (chart::LABEL_MANAGED_BY, "helm-todo-secrets"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(target.secret_name.clone()),
            namespace: Some(target.namespace.clone()),
            labels: Some(labels),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(
            values
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.expose_secret().as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    };
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), &target.namespace);
    let action =
        Action::new("patch", "secrets", Some(&target.namespace)).named(&target.secret_name);
    let params = PatchParams::apply("helm-todo-secrets").force();
    let patch = Patch::Apply(&secret);
    crate::cluster::retry(|| api.patch(&target.secret_name, &params, &patch))
        .await
        .map_err(|e| cluster.error(&action, e))?;
    Ok(())
}

fn read_sealed(path: &Path) -> Result<SealedFile, SecretsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => files::parse_sealed(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SecretsError::Usage {
            message: format!("{} does not exist", path.display()),
            hint: "create it with `helm todo-secrets init`, or pass -f FILE".into(),
        }),
        Err(e) => Err(SecretsError::io(path, e)),
    }
}

/// The target a sealed file was written for: its Secret name and recorded namespace win over
/// the defaults, but an explicit `-n` that disagrees is an error.
fn file_target(
    common: &CommonArgs,
    file: &SealedFile,
    path: &Path,
) -> Result<Target, SecretsError> {
    let mut target = Target::from_args(common);
    if let Some(ns) = &file.namespace
        && ns != &target.namespace
        && file.scope != Scope::ClusterWide
    {
        if common.kube.namespace.is_some()
            || std::env::var("HELM_NAMESPACE").is_ok_and(|n| !n.is_empty())
        {
            return Err(SecretsError::Usage {
                message: format!(
                    "{} was sealed for namespace {ns:?}, not {:?}",
                    path.display(),
                    target.namespace
                ),
                hint: format!("pass -n {ns}, or create a new file with `init`"),
            });
        }
        target.namespace = ns.clone();
    }
    if let Some(release) = &file.release {
        target.release = release.clone();
    }
    if !file.name.is_empty() {
        if common.secret_name.as_ref().is_some_and(|n| n != &file.name) {
            return Err(SecretsError::Usage {
                message: format!(
                    "{} was sealed for the Secret {:?}",
                    path.display(),
                    file.name
                ),
                hint: "drop --secret-name, or create a new file with `init`".into(),
            });
        }
        target.secret_name = file.name.clone();
    }
    Ok(target)
}

/// `seal KEY`: seal one value into an existing sealed values file.
pub async fn seal_one(
    common: &CommonArgs,
    args: &SealArgs,
    ui: Arc<dyn Ui>,
) -> Result<u8, SecretsError> {
    if !keys::valid_key_name(&args.key) {
        return Err(SecretsError::Usage {
            message: format!("{:?} is not a valid key name", args.key),
            hint: "use an environment-variable style name such as OPENAI_API_KEY".into(),
        });
    }
    let mut file = read_sealed(&args.file)?;
    let target = file_target(common, &file, &args.file)?;
    let all = load_keys(&common.chart)?;
    let spec = match all.iter().find(|k| k.name == args.key) {
        Some(spec) => spec.clone(),
        None => {
            sources::warn(
                ui.as_ref(),
                &args.key,
                "is not a key the chart reads (not in its values schema)",
            );
            KeySpec {
                name: args.key.clone(),
                description: args.key.clone(),
                generate: false,
                kind: KeyKind::Other,
            }
        }
    };
    let cert = load_cert(common, &target.namespace).await?;
    if !file.fingerprint.is_empty() && file.fingerprint != cert.fingerprint() {
        return Err(SecretsError::Usage {
            message: format!(
                "{} was sealed with certificate {}, the controller now uses {}",
                args.file.display(),
                short(&file.fingerprint),
                short(&cert.fingerprint())
            ),
            hint:
                "run `helm todo-secrets rotate` to re-seal every value with the current certificate"
                    .into(),
        });
    }
    let value = if args.from_env {
        match std::env::var(&args.key) {
            Ok(v) if !v.is_empty() => SecretString::from(v),
            _ => return Err(SecretsError::Missing(vec![args.key.clone()])),
        }
    } else if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        sources::read_stdin_value()?
    } else {
        crate::term::exit_on_interrupt();
        let spec = spec.clone();
        let asker = ui.clone();
        tokio::task::spawn_blocking(move || sources::prompt_value(asker.as_ref(), &spec)).await??
    };
    for warning in keys::check(spec.kind, &value).map_err(|reason| SecretsError::Invalid {
        key: spec.name.clone(),
        reason,
    })? {
        sources::warn(ui.as_ref(), &spec.name, &warning);
    }
    let sealed = seal::seal_value(
        &mut rand::rngs::OsRng,
        &cert,
        file.scope,
        &target.namespace,
        &target.secret_name,
        value.expose_secret().as_bytes(),
    )?;
    file.encrypted.insert(args.key.clone(), sealed);
    file.fingerprint = cert.fingerprint();
    file.namespace = Some(target.namespace.clone());
    file.release = Some(target.release.clone());
    file.name = target.secret_name.clone();
    let text = files::render_sealed(&file, &target.namespace, &target.release)?;
    files::write_atomic(&args.file, text.as_bytes(), Mode::Public)?;
    println!("sealed {} into {}", args.key, args.file.display());
    Ok(0)
}

/// `rotate`: read every value again and re-seal all of them with the current certificate.
pub async fn rotate(
    common: &CommonArgs,
    args: &RotateArgs,
    ui: Arc<dyn Ui>,
) -> Result<u8, SecretsError> {
    let old = read_sealed(&args.file)?;
    let target = file_target(common, &old, &args.file)?;
    let scope = args.scope.unwrap_or(old.scope);
    let all = load_keys(&common.chart)?;
    let cert = load_cert(common, &target.namespace).await?;
    let ask = Ask {
        all,
        sources: args.sources.sources(),
        provider: args.provider,
        fallback_provider: old.provider,
        kept: BTreeSet::new(),
        can_prompt: !args.sources.non_interactive && ui.can_prompt(),
        ui,
    };
    let (provider, values) = collect_blocking(ask).await?;
    let file = SealedFile {
        provider: Some(provider),
        name: target.secret_name.clone(),
        scope,
        fingerprint: cert.fingerprint(),
        encrypted: seal_all(&cert, scope, &target, &values)?,
        namespace: Some(target.namespace.clone()),
        release: Some(target.release.clone()),
    };
    let dropped: Vec<&String> = old
        .encrypted
        .keys()
        .filter(|k| !file.encrypted.contains_key(*k))
        .collect();
    let text = files::render_sealed(&file, &target.namespace, &target.release)?;
    files::write_atomic(&args.file, text.as_bytes(), Mode::Public)?;
    println!(
        "re-sealed {} with certificate {} (was {}) into {}",
        join(file.encrypted.keys()),
        short(&file.fingerprint),
        if old.fingerprint.is_empty() {
            "unknown"
        } else {
            short(&old.fingerprint)
        },
        args.file.display()
    );
    if !dropped.is_empty() {
        println!(
            "dropped (not provided again): {}",
            dropped.into_iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(0)
}

/// Whether the controller's certificate matches the file's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum CertCheck {
    /// Same fingerprint.
    Matches,
    /// The controller (or --cert) has another certificate: re-seal with `rotate`.
    Differs {
        /// The current fingerprint.
        current: String,
    },
    /// Not checked (offline, or the controller could not be reached).
    NotChecked {
        /// Why.
        reason: String,
    },
}

/// What `status` reports. Never holds a plaintext value.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// The file.
    pub file: String,
    /// The Secret name.
    pub secret_name: String,
    /// The namespace recorded in the file.
    pub namespace: Option<String>,
    /// The scope.
    pub scope: Scope,
    /// `llm.provider`.
    pub provider: Option<Provider>,
    /// Sealed keys.
    pub keys: Vec<String>,
    /// Keys the chart needs that the file lacks.
    pub missing: Vec<String>,
    /// The recorded fingerprint.
    pub certificate_fingerprint: String,
    /// The comparison with the controller's certificate.
    pub controller: CertCheck,
}

impl StatusReport {
    /// 1 when a key is missing or the certificate changed, else 0.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.missing.is_empty() || matches!(self.controller, CertCheck::Differs { .. }))
    }

    /// Human-readable lines.
    pub fn render_text(&self) -> String {
        let mut out = format!("file:        {}\n", self.file);
        out += &format!(
            "secret:      {}{} (scope {})\n",
            self.namespace
                .as_ref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default(),
            self.secret_name,
            self.scope
        );
        out += &format!(
            "provider:    {}\n",
            self.provider.map(Provider::as_str).unwrap_or("(not set)")
        );
        out += &format!(
            "sealed keys: {}\n",
            if self.keys.is_empty() {
                "(none)".into()
            } else {
                self.keys.join(", ")
            }
        );
        if !self.missing.is_empty() {
            out += &format!("missing:     {}\n", self.missing.join(", "));
        }
        out += &format!(
            "certificate: {}\n",
            if self.certificate_fingerprint.is_empty() {
                "(not recorded)"
            } else {
                &self.certificate_fingerprint
            }
        );
        out += &match &self.controller {
            CertCheck::Matches => "controller:  current certificate matches\n".to_string(),
            CertCheck::Differs { current } => format!(
                "controller:  certificate CHANGED (now {current}); run `helm todo-secrets rotate`\n"
            ),
            CertCheck::NotChecked { reason } => {
                format!("controller:  could not check the certificate: {reason}\n")
            }
        };
        out
    }
}

/// `status`: keys, scope, fingerprint and whether the controller still uses that certificate.
pub async fn status(common: &CommonArgs, args: &StatusArgs) -> Result<u8, SecretsError> {
    let file = read_sealed(&args.file)?;
    let all = load_keys(&common.chart)?;
    let required = keys::required_keys(&all, file.provider.unwrap_or(Provider::Openai));
    let missing = required
        .iter()
        .filter(|k| !file.encrypted.contains_key(&k.name))
        .map(|k| k.name.clone())
        .collect();
    let controller = if args.offline && common.cert.is_none() {
        CertCheck::NotChecked {
            reason: "--offline".into(),
        }
    } else {
        let namespace = file
            .namespace
            .clone()
            .unwrap_or_else(|| Target::from_args(common).namespace);
        match load_cert(common, &namespace).await {
            Ok(cert) if cert.fingerprint() == file.fingerprint => CertCheck::Matches,
            Ok(cert) => CertCheck::Differs {
                current: cert.fingerprint(),
            },
            Err(e) => CertCheck::NotChecked {
                reason: e.to_string(),
            },
        }
    };
    let report = StatusReport {
        file: args.file.display().to_string(),
        secret_name: file.name.clone(),
        namespace: file.namespace.clone(),
        scope: file.scope,
        provider: file.provider,
        keys: file.encrypted.keys().cloned().collect(),
        missing,
        certificate_fingerprint: file.fingerprint.clone(),
        controller,
    };
    match args.output {
        StatusFormat::Text => print!("{}", report.render_text()),
        StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(report.exit_code())
}

/// `fetch-cert`: print the controller's certificate PEM (checked) on stdout.
pub async fn fetch_cert(common: &CommonArgs) -> Result<u8, SecretsError> {
    let target = Target::from_args(common);
    let source = cert_source(common)?;
    let cluster = match source {
        CertSource::Controller { .. } => Some(connect(common, &target.namespace).await?),
        _ => None,
    };
    let (cert, pem) = cert::load(&source, cluster.as_ref()).await?;
    print!(
        "{}",
        if pem.ends_with('\n') {
            pem.clone()
        } else {
            format!("{pem}\n")
        }
    );
    eprintln!(
        "sha256 {} · RSA {} bits · valid until {}",
        cert.fingerprint(),
        cert.key_bits(),
        cert.not_after_text()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_secret_name_follows_the_chart() {
        assert_eq!(default_secret_name("todo"), "todo-todo-chatbot-secrets");
    }

    fn ask(all: Vec<KeySpec>, file: PathBuf) -> Ask {
        Ask {
            all,
            sources: Sources {
                file: Some(file),
                env: false,
                non_interactive: true,
                generate: false,
            },
            provider: None,
            fallback_provider: None,
            kept: BTreeSet::new(),
            can_prompt: false,
            ui: Arc::new(crate::ui::SilentUi),
        }
    }

    #[test]
    fn non_interactive_lists_exactly_the_missing_values() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(
            &env,
            "DATABASE_URL=postgresql://u:p@h/db\nLLM_PROVIDER=cohere\n",
        )
        .unwrap();
        let Err(SecretsError::Missing(names)) = collect(ask(keys::builtin_keys(), env)) else {
            panic!()
        };
        assert_eq!(names, ["BETTER_AUTH_SECRET", "COHERE_API_KEY"]);
    }

    #[test]
    fn kept_keys_are_not_missing_and_generate_fills_the_auth_secret() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, "OPENAI_API_KEY=sk-test\n").unwrap();
        let mut a = ask(keys::builtin_keys(), env);
        a.kept.insert("DATABASE_URL".into());
        a.sources.generate = true;
        let (provider, values) = collect(a).unwrap();
        assert_eq!(provider, Provider::Openai);
        assert_eq!(
            values.keys().collect::<Vec<_>>(),
            ["BETTER_AUTH_SECRET", "OPENAI_API_KEY"]
        );
        assert_eq!(values["BETTER_AUTH_SECRET"].expose_secret().len(), 48);
    }

    #[test]
    fn provider_is_inferred_from_the_only_llm_key_present() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(
            &env,
            "DATABASE_URL=postgresql://u:p@h/db\nBETTER_AUTH_SECRET=0123456789abcdef0123456789abcdef\nOPENROUTER_API_KEY=sk-or-x\n",
        )
        .unwrap();
        let (provider, values) = collect(ask(keys::builtin_keys(), env)).unwrap();
        assert_eq!(provider, Provider::Openrouter);
        assert_eq!(values.len(), 3);
    }

    #[test]
    fn invalid_value_from_a_source_is_refused_without_echoing_it() {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, "DATABASE_URL=mysql://SENTINEL@h/db\n").unwrap();
        let err = collect(ask(keys::builtin_keys(), env)).err().unwrap();
        assert!(matches!(err, SecretsError::Invalid { ref key, .. } if key == "DATABASE_URL"));
        assert!(!err.to_string().contains("SENTINEL"));
    }

    #[test]
    fn no_terminal_and_no_source_fails_with_hint() {
        let mut a = ask(keys::builtin_keys(), PathBuf::new());
        a.sources.file = None;
        let err = collect(a).err().unwrap();
        assert!(matches!(err, SecretsError::NoTerminal));
        assert!(err.hint().unwrap().contains("--from-env"));
    }

    #[test]
    fn merge_is_refused_when_the_certificate_changed() {
        let cert = Certificate::from_pem(include_bytes!("testdata/TEST-ONLY-cert.pem")).unwrap();
        let target = Target {
            namespace: "todo".into(),
            release: "todo".into(),
            secret_name: "s".into(),
        };
        let old = SealedFile {
            provider: None,
            name: "s".into(),
            scope: Scope::Strict,
            fingerprint: "00".repeat(32),
            encrypted: BTreeMap::new(),
            namespace: Some("todo".into()),
            release: None,
        };
        let err = check_mergeable(&old, Path::new("f"), &target, Scope::Strict, &cert).unwrap_err();
        assert!(err.hint().unwrap().contains("rotate"));
        let same = SealedFile {
            fingerprint: cert.fingerprint(),
            ..old.clone()
        };
        assert!(check_mergeable(&same, Path::new("f"), &target, Scope::Strict, &cert).is_ok());
        let other_ns = Target {
            namespace: "prod".into(),
            ..target
        };
        assert!(check_mergeable(&same, Path::new("f"), &other_ns, Scope::Strict, &cert).is_err());
    }
}
