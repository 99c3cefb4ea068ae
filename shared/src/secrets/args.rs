//! The flags of `helm todo-secrets`, per subcommand: each subcommand lists only the flags
//! that apply to it (`fetch-cert --help` has no `--release`). The binary adds nothing but
//! `completion`.
//!
//! Conventions shared with Helm and kubectl: `-f/--file` is the sealed values file in every
//! subcommand, `-o/--output` the output format (`text`, `json`, `yaml`), `--kube-context` is
//! accepted for `--context`, and `-n`, `--kube-context`, `--kubeconfig` given to Helm arrive
//! as `HELM_NAMESPACE`, `HELM_KUBECONTEXT` and `KUBECONFIG`.

use std::path::PathBuf;
use std::time::Duration;

use crate::chart;
use crate::cluster::KubeArgs;
use crate::duration::{MAX_DURATION, parse_duration};
use crate::seal::Scope;

use super::files::DEFAULT_SEALED_FILE;
use super::keys::Provider;

/// The whole-run time limit when `--timeout` is not given (prompts excepted).
pub const DEFAULT_TIMEOUT: &str = "1m";

/// How to reach the cluster.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Cluster")]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: $HELM_KUBECONTEXT, then the current context).
    #[arg(long, visible_alias = "kube-context", value_name = "NAME")]
    pub context: Option<String>,
    /// How long to wait for a single API request (e.g. 5s; 0 means no limit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub request_timeout: Option<Duration>,
    /// The longest the whole command may take, prompts excepted (0 means no limit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = DEFAULT_TIMEOUT)]
    pub timeout: Duration,
}

impl ClusterArgs {
    /// The connection settings, with Helm's environment filling what the flags leave unset,
    /// acting in `namespace`.
    pub fn kube_args(&self, namespace: Option<&str>) -> KubeArgs {
        let helm = KubeArgs::from_helm_env();
        KubeArgs {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone().or(helm.context),
            namespace: namespace.map(str::to_owned),
            request_timeout: self.request_timeout,
        }
    }

    /// The whole-run deadline (`--timeout 0` is no limit).
    pub fn deadline(&self) -> Duration {
        if self.timeout.is_zero() {
            MAX_DURATION
        } else {
            self.timeout
        }
    }
}

/// Which sealed-secrets controller to ask.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Sealed-secrets controller")]
pub struct ControllerArgs {
    /// The controller's Service name.
    #[arg(long, value_name = "NAME", default_value = "sealed-secrets-controller")]
    pub controller_name: String,
    /// The controller's namespace.
    #[arg(long, value_name = "NAMESPACE", default_value = "kube-system")]
    pub controller_namespace: String,
}

/// Where the values go: namespace, release and Secret name.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Target")]
pub struct TargetArgs {
    /// The namespace the values are sealed for (default: $HELM_NAMESPACE, then `default`).
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The Helm release the values are for; decides the Secret name.
    #[arg(long, value_name = "NAME", default_value = "todo")]
    pub release: String,
    /// The Secret name (default: `<fullname>-secrets`, as the chart renders it).
    #[arg(long, value_name = "NAME")]
    pub secret_name: Option<String>,
}

/// Sealing without asking the controller, and the chart that lists the keys.
#[derive(Debug, Clone, clap::Args)]
pub struct SealingArgs {
    /// Seal with this PEM certificate (`-` for stdin) instead of fetching the controller's.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<String>,
    /// The chart directory whose values.schema.json lists the secret keys.
    #[arg(long, value_name = "DIR", default_value = chart::DEFAULT_CHART_DIR)]
    pub chart: PathBuf,
}

/// Where values come from.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Values")]
pub struct SourceArgs {
    /// Read values from environment variables of the same names (and LLM_PROVIDER).
    #[arg(long)]
    pub from_env: bool,
    /// Read values from a dotenv file (KEY=value lines).
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Never prompt; fail listing the values no source provided.
    #[arg(long)]
    pub non_interactive: bool,
    /// Generate values the chart marks generatable (BETTER_AUTH_SECRET) when no source has them.
    #[arg(long)]
    pub generate: bool,
    /// Seal values that look like placeholders (changeme, <your key>, xxx…); refused by default.
    #[arg(long)]
    pub allow_placeholder: bool,
}

/// The output format of a subcommand's report on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Lines for a person.
    #[default]
    Text,
    /// One JSON document.
    Json,
    /// The same document as YAML.
    Yaml,
}

/// What `init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Format {
    /// A values file with sealed values (safe to commit).
    #[default]
    Sealed,
    /// A Secret applied to the cluster, plus a values file pointing the chart at it.
    Secret,
    /// A plaintext values file (mode 0600; refused unless git ignores it).
    Values,
}

/// Where the values go and how to seal them: what every subcommand but `fetch-cert` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Namespace, release, Secret name (for a file: checked against what it records).
    #[command(flatten)]
    pub target: TargetArgs,
    /// Certificate and chart.
    #[command(flatten)]
    pub sealing: SealingArgs,
    /// The controller.
    #[command(flatten)]
    pub controller: ControllerArgs,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// An existing sealed values file and the report's format: `seal`, `rotate`, `status`.
#[derive(Debug, Clone, clap::Args)]
pub struct FileArgs {
    /// The sealed values file.
    #[arg(short = 'f', long, value_name = "FILE", default_value = DEFAULT_SEALED_FILE)]
    pub file: PathBuf,
    /// Output format of the report.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Target, sealing, controller and cluster.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `init` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// Value sources.
    #[command(flatten)]
    pub sources: SourceArgs,
    /// What to write.
    #[arg(long, value_enum, default_value_t = Format::Sealed)]
    pub format: Format,
    /// Sealing scope (default: strict, or the existing file's).
    #[arg(long, value_enum)]
    pub scope: Option<Scope>,
    /// The LLM provider (default: LLM_PROVIDER from the sources, the existing file, or a prompt).
    #[arg(long, value_enum)]
    pub provider: Option<Provider>,
    /// The file to write (default: todo-secrets.sealed.yaml; secrets.values.yaml for
    /// --format values; todo-secrets.existing.yaml for --format secret).
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Merge into an existing file without asking; write plaintext even where git does not ignore it.
    #[arg(long)]
    pub force: bool,
    /// Output format of the report.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Target, sealing, controller and cluster.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `seal` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct SealArgs {
    /// The key to (re-)seal, e.g. OPENAI_API_KEY. The value comes from a masked prompt, from
    /// stdin when it is piped (its bytes as given, except one trailing newline), or from the
    /// environment variable of that name with --from-env.
    pub key: String,
    /// Read the value from the environment variable named KEY.
    #[arg(long)]
    pub from_env: bool,
    /// Keep a trailing newline of a value read from stdin (kubeseal --raw's exact bytes).
    #[arg(long)]
    pub keep_newline: bool,
    /// Seal a value that looks like a placeholder (changeme, <your key>, xxx…).
    #[arg(long)]
    pub allow_placeholder: bool,
    /// The file, the report's format, target, sealing, controller and cluster.
    #[command(flatten)]
    pub file: FileArgs,
}

/// `rotate` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct RotateArgs {
    /// Re-enter every value (from the sources or prompts) and seal it again, instead of
    /// asking the controller to re-encrypt; needed to change the scope or when the
    /// controller no longer has the key the values were sealed with.
    #[arg(long)]
    pub reenter: bool,
    /// Value sources (with --reenter).
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Change the scope (with --reenter).
    #[arg(long, value_enum, requires = "reenter")]
    pub scope: Option<Scope>,
    /// Change the LLM provider (with --reenter).
    #[arg(long, value_enum, requires = "reenter")]
    pub provider: Option<Provider>,
    /// The file, the report's format, target, sealing (--cert with --reenter), controller and cluster.
    #[command(flatten)]
    pub file: FileArgs,
}

/// `status` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Do not contact the cluster (the certificate is compared only with --cert).
    #[arg(long, conflicts_with = "validate")]
    pub offline: bool,
    /// Ask the controller whether it can decrypt every value (its /v1/verify endpoint).
    #[arg(long)]
    pub validate: bool,
    /// The file, the report's format, target, sealing (--cert to compare with), controller and cluster.
    #[command(flatten)]
    pub file: FileArgs,
}

/// The output format of `fetch-cert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CertFormat {
    /// PEM, as kubeseal --fetch-cert prints it.
    #[default]
    #[value(alias = "text")]
    Pem,
    /// The certificates' facts and PEM as JSON.
    Json,
    /// The same as YAML.
    Yaml,
}

/// `fetch-cert` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct FetchCertArgs {
    /// Every active certificate of the controller (read from its key Secrets, which needs
    /// permission to read Secrets in the controller's namespace), newest first.
    #[arg(long, conflicts_with = "cert")]
    pub all: bool,
    /// Show this PEM certificate file (`-` for stdin) instead of fetching the controller's.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = CertFormat::Pem)]
    pub output: CertFormat,
    /// The controller.
    #[command(flatten)]
    pub controller: ControllerArgs,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// The subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Ask for the app's secrets and write them sealed (default), as a Secret, or as plaintext values.
    Init(InitArgs),
    /// Seal one value into an existing sealed values file.
    Seal(SealArgs),
    /// Re-encrypt every value with the controller's current key (or re-enter them with --reenter).
    Rotate(RotateArgs),
    /// Show a sealed values file's keys and whether the controller's key matches (exit 1 on a problem).
    Status(StatusArgs),
    /// Print the controller's certificate (PEM) on stdout.
    FetchCert(FetchCertArgs),
}

impl Command {
    /// The cluster flags of the subcommand.
    pub fn cluster(&self) -> &ClusterArgs {
        match self {
            Command::Init(a) => &a.common.cluster,
            Command::Seal(a) => &a.file.common.cluster,
            Command::Rotate(a) => &a.file.common.cluster,
            Command::Status(a) => &a.file.common.cluster,
            Command::FetchCert(a) => &a.cluster,
        }
    }
}
