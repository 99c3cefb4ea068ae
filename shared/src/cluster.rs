//! One way to reach the cluster, used by every plugin.
//!
//! [`KubeArgs`] carries kubectl's connection flags (`--kubeconfig`, `--context`,
//! `-n/--namespace`, `--request-timeout`); [`KubeArgs::from_helm_env`] fills the same from
//! Helm's plugin environment. [`Cluster::connect`] resolves them exactly as kubectl does
//! (flag, then `KUBECONFIG`, then `~/.kube/config`; namespace from the flag, then the
//! context, then `default`) and [`classify`] turns a client error into a [`ClusterError`]
//! with a one-line cause and a hint.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// kubectl's connection flags, shared by the kubectl plugins.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KubeArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// The namespace (default: the context's namespace, then `default`).
    #[arg(short = 'n', long, value_name = "NAMESPACE", global = true)]
    pub namespace: Option<String>,
    /// How long to wait for a single API request (e.g. 5s, 1m; 0 means no limit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub request_timeout: Option<Duration>,
}

impl KubeArgs {
    /// The connection settings Helm hands a plugin: `HELM_NAMESPACE`, `HELM_KUBECONTEXT`
    /// and `KUBECONFIG` (Helm consumes `-n`, `--kube-context` and `--kubeconfig` itself).
    pub fn from_helm_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        KubeArgs {
            // Helm passes --kubeconfig as KUBECONFIG, which the loader reads itself.
            kubeconfig: None,
            context: var("HELM_KUBECONTEXT"),
            namespace: var("HELM_NAMESPACE"),
            request_timeout: None,
        }
    }
}

/// Parse a kubectl-style duration: `500ms`, `5s`, `2m`, `1h`, `1m30s`, or bare seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "invalid duration {text:?} (use e.g. 30s, 2m, 1m30s)"
            ));
        }
        let value: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {text:?} (use e.g. 30s, 2m, 1m30s)"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("invalid duration {text:?} (units: ms, s, m, h)")),
        };
        rest = &rest[unit_len..];
        total += Duration::from_secs_f64(value * scale);
    }
    Ok(total)
}

/// Why the cluster could not be used. Display is the one-line cause; [`ClusterError::hint`]
/// says what to do next. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No kubeconfig could be found or parsed.
    #[error("cannot load kubeconfig: {0}")]
    Kubeconfig(String),
    /// The requested context is not in the kubeconfig.
    #[error("context {0:?} not found in kubeconfig")]
    ContextNotFound(String),
    /// The API server did not answer (refused, DNS, network).
    #[error("cannot reach the API server at {server}: {detail}")]
    Unreachable {
        /// The API server URL.
        server: String,
        /// What the transport said.
        detail: String,
    },
    /// The TLS handshake failed (unknown CA, wrong host name, expired certificate).
    #[error("TLS handshake with {server} failed: {detail}")]
    Tls {
        /// The API server URL.
        server: String,
        /// What the TLS layer said.
        detail: String,
    },
    /// 401: the credentials were refused.
    #[error("the API server at {server} rejected the credentials (401 Unauthorized)")]
    Unauthorized {
        /// The API server URL.
        server: String,
    },
    /// 403: the user may not do this.
    #[error(
        "forbidden: cannot {verb} {resource}{}: {message}",
        in_namespace(namespace)
    )]
    Forbidden {
        /// The verb refused (get, list, patch, ...).
        verb: String,
        /// The resource refused (deployments/scale, secrets, ...).
        resource: String,
        /// The namespace, when namespaced.
        namespace: Option<String>,
        /// The server's message.
        message: String,
    },
    /// The object does not exist.
    #[error("{resource} {name:?} not found{}", in_namespace(namespace))]
    NotFound {
        /// The resource kind.
        resource: String,
        /// The object name.
        name: String,
        /// The namespace, when namespaced.
        namespace: Option<String>,
    },
    /// The request did not finish within `--request-timeout` or the command's timeout.
    #[error("the API server did not answer {what} within {after:?}")]
    Timeout {
        /// What was being done.
        what: String,
        /// The limit that was hit.
        after: Duration,
    },
    /// Any other API error, with the server's code, reason and message.
    #[error("API error {code} {reason} while trying to {verb} {resource}: {message}")]
    Api {
        /// HTTP status code.
        code: u16,
        /// The Status reason (Conflict, Invalid, TooManyRequests, ...).
        reason: String,
        /// The server's message.
        message: String,
        /// The verb attempted.
        verb: String,
        /// The resource attempted.
        resource: String,
    },
}

fn in_namespace(namespace: &Option<String>) -> String {
    namespace
        .as_ref()
        .map(|ns| format!(" in namespace {ns:?}"))
        .unwrap_or_default()
}

impl ClusterError {
    /// What the user should do next.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ClusterError::Kubeconfig(_) => "check $KUBECONFIG or --kubeconfig; `kubectl config view` shows what kubectl sees (on minikube: `minikube update-context`)".into(),
            ClusterError::ContextNotFound(_) => "list contexts with `kubectl config get-contexts`".into(),
            ClusterError::Unreachable { .. } => "is the cluster running? `minikube status` / `minikube start`; `kubectl cluster-info` checks the same connection".into(),
            ClusterError::Tls { .. } => "the kubeconfig's certificate authority does not match the server; refresh it (`minikube update-context`) or check the context".into(),
            ClusterError::Unauthorized { .. } => "the token or client certificate is invalid or expired; refresh the credentials in your kubeconfig (`kubectl config view --minify`)".into(),
            ClusterError::Forbidden { verb, resource, namespace, .. } => format!(
                "ask for RBAC permission; check with `kubectl auth can-i {verb} {resource}{}`",
                namespace.as_ref().map(|ns| format!(" -n {ns}")).unwrap_or_default()
            ),
            ClusterError::NotFound { resource, namespace, .. } => format!(
                "list what exists with `kubectl get {resource}{}`",
                namespace.as_ref().map(|ns| format!(" -n {ns}")).unwrap_or_default()
            ),
            ClusterError::Timeout { .. } => "the API server is slow or overloaded; retry, or raise --request-timeout / --timeout".into(),
            ClusterError::Api { code: 429, .. } | ClusterError::Api { code: 500..=599, .. } => "the API server is overloaded or failing; retry in a moment".into(),
            ClusterError::Api { .. } => return None,
        })
    }
}

/// What a request was trying to do, for error messages (`list pods in todo`).
#[derive(Debug, Clone)]
pub struct Action<'a> {
    /// The verb (get, list, watch, patch, create, ...).
    pub verb: &'a str,
    /// The resource (deployments, deployments/scale, secrets, ...).
    pub resource: &'a str,
    /// The object name, if one.
    pub name: Option<&'a str>,
    /// The namespace, if namespaced.
    pub namespace: Option<&'a str>,
}

impl<'a> Action<'a> {
    /// An action on a namespaced resource.
    pub fn new(verb: &'a str, resource: &'a str, namespace: Option<&'a str>) -> Self {
        Action {
            verb,
            resource,
            name: None,
            namespace,
        }
    }
    /// The same action on one named object.
    pub fn named(mut self, name: &'a str) -> Self {
        self.name = Some(name);
        self
    }
}

/// Turn a kube client error into a [`ClusterError`] that names what was attempted.
pub fn classify(server: &str, action: &Action<'_>, err: kube::Error) -> ClusterError {
    let namespace = action.namespace.map(str::to_owned);
    match err {
        kube::Error::Api(status) => {
            let code = status.code;
            match code {
                401 => ClusterError::Unauthorized {
                    server: server.to_owned(),
                },
                403 => ClusterError::Forbidden {
                    verb: action.verb.to_owned(),
                    resource: action.resource.to_owned(),
                    namespace,
                    message: status.message.clone(),
                },
                404 if action.name.is_some() => ClusterError::NotFound {
                    resource: action.resource.to_owned(),
                    name: action.name.unwrap_or_default().to_owned(),
                    namespace,
                },
                _ => ClusterError::Api {
                    code,
                    reason: status.reason.clone(),
                    message: status.message.clone(),
                    verb: action.verb.to_owned(),
                    resource: action.resource.to_owned(),
                },
            }
        }
        other => classify_transport(server, other),
    }
}

/// Classify an error that did not come with an API `Status` (transport, TLS, timeouts).
pub fn classify_transport(server: &str, err: kube::Error) -> ClusterError {
    let detail = error_chain(&err);
    let lower = detail.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        ClusterError::Tls {
            server: server.to_owned(),
            detail,
        }
    } else if lower.contains("timed out") || lower.contains("elapsed") || lower.contains("timeout")
    {
        ClusterError::Timeout {
            what: "in time".into(),
            after: Duration::ZERO,
        }
    } else {
        ClusterError::Unreachable {
            server: server.to_owned(),
            detail,
        }
    }
}

/// The innermost meaningful message of an error chain, on one line.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ").replace('\n', " ")
}

/// Whether an error is worth retrying: 429, 500, 502, 503, 504 (not 501).
pub fn is_transient(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 429 || (s.code >= 500 && s.code != 501))
}

/// The waits between tries of a transient failure (429/5xx): 4 tries in all, 100 ms,
/// 200 ms and 400 ms apart. Shared by [`retry`] and by callers that read raw responses.
pub const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
];

/// Run `op` and retry transient API errors (429/5xx) after each of [`RETRY_DELAYS`].
/// Anything else is returned at once.
pub async fn retry<T, F, Fut>(mut op: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    for delay in RETRY_DELAYS {
        match op().await {
            Err(e) if is_transient(&e) => {
                tracing::debug!(?delay, "transient API error, retrying: {e}");
                tokio::time::sleep(delay).await;
            }
            other => return other,
        }
    }
    op().await
}

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
    /// Whether the context belongs to minikube (by its `provider: minikube.sigs.k8s.io`
    /// extension, not its name).
    pub minikube: bool,
    /// The per-request timeout, if any.
    pub request_timeout: Option<Duration>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("namespace", &self.namespace)
            .field("context", &self.context)
            .field("server", &self.server)
            .field("minikube", &self.minikube)
            .finish()
    }
}

impl Cluster {
    /// Resolve the flags like kubectl does and build a client. Does not contact the server.
    pub async fn connect(args: &KubeArgs) -> Result<Self, ClusterError> {
        let kubeconfig = match &args.kubeconfig {
            Some(path) => Kubeconfig::read_from(path).map_err(|e| {
                ClusterError::Kubeconfig(format!("{}: {}", path.display(), error_chain(&e)))
            })?,
            None => Kubeconfig::read().map_err(|e| ClusterError::Kubeconfig(error_chain(&e)))?,
        };
        let context_name = args
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .ok_or_else(|| {
                ClusterError::Kubeconfig(
                    "no current-context is set and --context was not given".into(),
                )
            })?;
        let named = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context_name)
            .ok_or_else(|| ClusterError::ContextNotFound(context_name.clone()))?;
        let minikube = is_minikube(&kubeconfig, named);
        let options = KubeConfigOptions {
            context: Some(context_name.clone()),
            cluster: None,
            user: None,
        };
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| ClusterError::Kubeconfig(error_chain(&e)))?;
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
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_owned();
        let client =
            Client::try_from(config).map_err(|e| ClusterError::Kubeconfig(error_chain(&e)))?;
        Ok(Cluster {
            client,
            namespace,
            context: context_name,
            server,
            minikube,
            request_timeout: args.request_timeout.filter(|t| !t.is_zero()),
        })
    }

    /// Classify an error from a request made through this cluster.
    pub fn error(&self, action: &Action<'_>, err: kube::Error) -> ClusterError {
        classify(&self.server, action, err)
    }
}

const MINIKUBE_PROVIDER: &str = "minikube.sigs.k8s.io";

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

    #[test]
    fn parse_duration_accepts_kubectl_forms() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    }

    #[test]
    fn parse_duration_rejects_garbage() {
        assert!(parse_duration("").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

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
