//! One way to reach the cluster, used by every plugin.
//!
//! [`KubeArgs`] carries kubectl's connection flags (`--kubeconfig`, `--context`,
//! `-n/--namespace`, `--request-timeout`); [`KubeArgs::from_helm_env`] fills the same from
//! Helm's plugin environment. [`Cluster::connect`] resolves them exactly as kubectl does
//! (flag, then `KUBECONFIG`, then `~/.kube/config`; namespace from the flag, then the
//! context, then `default`); [`classify`] turns a client error into a [`ClusterError`] with a
//! one-line cause and a hint.

pub mod args;
pub mod error;
pub mod list;
pub mod load;
pub mod retry;

use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use args::{KubeArgs, shell_word};
pub use error::{Action, ClusterError, classify, classify_transport, is_transient};
pub use list::{list_all, list_slim};
pub use retry::{RETRY_DELAYS, retry};

use crate::deadline::Deadline;
use crate::platform::{KubeconfigFacts, MINIKUBE_PROVIDER, Platform};

/// A connected cluster: the client plus what the commands need to know about the context.
#[derive(Clone)]
pub struct Cluster {
    /// The API client.
    pub client: Client,
    /// The namespace commands act in.
    pub namespace: String,
    /// The kubeconfig context in use (empty for in-cluster config).
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// What the kubeconfig says about the context (for platform detection).
    pub facts: KubeconfigFacts,
    /// The platform as the kubeconfig names it; refine with [`Platform::detect`] once the
    /// nodes are read.
    pub platform: Platform,
    /// The connection flags the user gave, to repeat in hints (`--context`, `--kubeconfig`).
    pub args: KubeArgs,
    /// The per-request timeout, if any.
    pub request_timeout: Option<Duration>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("namespace", &self.namespace)
            .field("context", &self.context)
            .field("server", &self.server)
            .field("platform", &self.platform)
            .finish()
    }
}

impl Cluster {
    /// Resolve the flags like kubectl does and build a client. Does not contact the server.
    /// An error's hint carries the user's connection flags.
    pub async fn connect(args: &KubeArgs) -> Result<Self, ClusterError> {
        Self::build(args).await.map_err(|e| e.for_user(args))
    }

    async fn build(args: &KubeArgs) -> Result<Self, ClusterError> {
        let kubeconfig = load::read(args.kubeconfig.as_deref())?;
        let context_name = args
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .ok_or_else(|| ClusterError::Kubeconfig {
                detail: "no current-context is set and --context was not given".into(),
                source: None,
                flags: String::new(),
            })?;
        let named = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context_name)
            .ok_or_else(|| ClusterError::ContextNotFound {
                context: context_name.clone(),
                flags: String::new(),
            })?;
        load::check_cluster(&kubeconfig, &context_name)?;
        let facts = KubeconfigFacts {
            context: context_name.clone(),
            cluster: named
                .context
                .as_ref()
                .map(|c| c.cluster.clone())
                .unwrap_or_default(),
            minikube_extension: is_minikube(&kubeconfig, named),
        };
        let options = KubeConfigOptions {
            context: Some(context_name.clone()),
            cluster: None,
            user: None,
        };
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| kubeconfig_error(args.kubeconfig.as_deref(), e))?;
        // kube's default retry layer retries 429/503/504 up to 15 times with long back-offs;
        // a command must stay bounded, so transient errors go through [`retry`] instead.
        config.default_retry = false;
        if let Some(timeout) = args.request_timeout.filter(|t| !t.is_zero()) {
            config.connect_timeout = Some(timeout);
            config.read_timeout = Some(timeout);
            config.write_timeout = Some(timeout);
        }
        let namespace = args
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let server = load::shown_server(config.cluster_url.to_string().trim_end_matches('/'));
        let client = Client::try_from(config).map_err(|e| {
            classify_transport(
                &server,
                Some(&Action::new("connect to", "the API server", None)),
                e,
            )
        })?;
        Ok(Cluster {
            client,
            namespace,
            context: context_name,
            server,
            platform: Platform::from_kubeconfig(&facts),
            facts,
            args: args.clone(),
            request_timeout: args.request_timeout.filter(|t| !t.is_zero()),
        })
    }

    /// [`Cluster::connect`] within the run's deadline: the deadline's message names what is
    /// being waited for (the credential plugin, then the API server) and its hint carries the
    /// user's connection flags.
    pub async fn connect_within(
        args: &KubeArgs,
        deadline: &Deadline,
    ) -> Result<Self, ClusterError> {
        deadline.connecting_with(args.as_connection_flags());
        // Loading the kubeconfig may run its credential plugin, which may hang.
        deadline
            .doing("the kubeconfig's credentials (an exec credential plugin) or the API server");
        let cluster = Self::connect(args).await?;
        deadline.doing(format!("the API server at {}", cluster.server));
        Ok(cluster)
    }

    /// Classify an error that came with no API `Status` (the transport, TLS, credentials)
    /// from a request made through this cluster.
    pub fn transport_error(&self, action: Option<&Action<'_>>, err: kube::Error) -> ClusterError {
        classify_transport(&self.server, action, err).for_user(&self.args)
    }

    /// Classify an error from a request made through this cluster.
    pub fn error(&self, action: &Action<'_>, err: kube::Error) -> ClusterError {
        classify(&self.server, action, err).for_user(&self.args)
    }

    /// The user's connection flags as they would type them again, with `-n` for this
    /// cluster's namespace: appended to every kubectl/helm command a hint suggests, so the
    /// command acts on the same cluster, user and namespace.
    pub fn flags(&self) -> String {
        self.args.as_flags(Some(&self.namespace))
    }

    /// `--kubeconfig`/`--kube-context` as the user gave them, for Helm commands in hints
    /// (empty, or starting with a space).
    pub fn helm_flags(&self) -> String {
        self.args.as_helm_flags()
    }

    /// [`Cluster::flags`] without `-n` (for cluster-scoped commands).
    pub fn context_flags(&self) -> String {
        self.args.as_connection_flags()
    }
}

/// A kubeconfig loading error in our words: the file and what is wrong, never its content
/// (the YAML parser's snippet can show a token or a client key).
pub(crate) fn kubeconfig_error(
    path: Option<&std::path::Path>,
    e: impl std::error::Error + Send + Sync + 'static,
) -> ClusterError {
    use kube::config::KubeconfigError as K;
    let which = path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the kubeconfig ($KUBECONFIG or ~/.kube/config)".into());
    let source: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    let detail = match source.downcast_ref::<K>() {
        Some(K::ReadConfig(io, p)) => format!("cannot read {}: {}", p.display(), io.kind()),
        Some(K::Parse(e)) => match e.location() {
            Some(at) => format!(
                "{which}: line {}, column {}: not valid kubeconfig YAML",
                at.line(),
                at.column()
            ),
            None => format!("{which} is not valid kubeconfig YAML"),
        },
        Some(K::FindPath) => "no kubeconfig found ($KUBECONFIG, ~/.kube/config)".into(),
        Some(K::CurrentContextNotSet) => format!("{which} sets no current-context"),
        Some(K::LoadContext(c)) => format!("context {c:?} not found in {which}"),
        Some(K::LoadClusterOfContext(c)) => {
            format!("the cluster of context {c:?} is not in {which}")
        }
        Some(K::MissingClusterUrl) => {
            format!("the context's cluster has no server URL in {which}")
        }
        Some(K::ParseClusterUrl(_)) => {
            format!("the context's server URL in {which} is not a valid URL")
        }
        Some(K::ParseNoProxy(_)) => {
            format!("the cluster's no-proxy list in {which} is not valid")
        }
        Some(K::ParseProxyUrl(_)) => {
            format!("the cluster's proxy-url in {which} is not a valid URL")
        }
        Some(K::LoadCertificateAuthority(_)) => {
            format!("the certificate authority of the context in {which} cannot be loaded")
        }
        Some(K::LoadClientCertificate(_)) => {
            format!("the client certificate of the context in {which} cannot be loaded")
        }
        Some(K::LoadClientKey(_)) => {
            format!("the client key of the context in {which} cannot be loaded")
        }
        Some(K::ParseCertificates(_)) => {
            format!("a certificate of the context in {which} is not valid PEM")
        }
        Some(K::KindMismatch | K::ApiVersionMismatch) => {
            format!("{which}: the files of KUBECONFIG disagree on kind or apiVersion")
        }
        None => format!("{which} cannot be used"),
    };
    ClusterError::Kubeconfig {
        detail,
        source: Some(source),
        flags: String::new(),
    }
}

fn is_minikube(kubeconfig: &Kubeconfig, named: &kube::config::NamedContext) -> bool {
    let has_provider = |exts: &Option<Vec<kube::config::NamedExtension>>| {
        exts.iter().flatten().any(|e| {
            e.extension.get("provider").and_then(|p| p.as_str()) == Some(MINIKUBE_PROVIDER)
        })
    };
    let Some(ctx) = &named.context else {
        return false;
    };
    if has_provider(&ctx.extensions) {
        return true;
    }
    kubeconfig
        .clusters
        .iter()
        .filter(|c| c.name == ctx.cluster)
        .any(|c| {
            c.cluster
                .as_ref()
                .is_some_and(|c| has_provider(&c.extensions))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig_with(ext: &str) -> Kubeconfig {
        let yaml = format!(
            r#"apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster:
    server: https://127.0.0.1:8443
    extensions:
    - name: cluster_info
      extension:
        provider: {ext}
contexts:
- name: dev
  context:
    cluster: dev
    user: dev
users:
- name: dev
  user:
    token: abc
"#
        );
        Kubeconfig::from_yaml(&yaml).unwrap()
    }

    #[test]
    fn minikube_is_detected_by_provider_extension_not_name() {
        let kc = kubeconfig_with(MINIKUBE_PROVIDER);
        assert!(is_minikube(&kc, &kc.contexts[0]));
        let kc = kubeconfig_with("kind.sigs.k8s.io");
        assert!(!is_minikube(&kc, &kc.contexts[0]));
    }
}
