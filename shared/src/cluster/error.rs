//! Why the cluster could not be used, classified by what failed (never by the words of an
//! error message): the API server's `Status` code, or the type of the transport error found in
//! the source chain (`std::io::Error` kinds, `rustls::Error`, `hyper::Error`, the exec
//! credential plugin's `AuthError`).
//!
//! Display is the one-line cause and never contains a secret: an exec plugin's environment,
//! arguments and output, a token or a client key are never formatted, which is why the
//! transport error is kept as `source` but summarised in our own words.

use std::error::Error as StdError;
use std::time::Duration;

use kube::client::AuthError;

use crate::cluster::KubeArgs;
use crate::error::UserError;

/// Why the cluster could not be used. Display is the one-line cause; [`UserError::hint`] says
/// what to do next. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No kubeconfig could be found or parsed.
    #[error("cannot load kubeconfig: {detail}")]
    Kubeconfig {
        /// What is wrong, naming the file (and line) but never quoting it.
        detail: String,
        /// The user's `--kubeconfig` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
        /// The loader's error.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// The requested context is not in the kubeconfig.
    #[error("context {context:?} not found in kubeconfig")]
    ContextNotFound {
        /// The context asked for.
        context: String,
        /// The user's `--kubeconfig` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
    },
    /// Nothing listens at the API server's address.
    #[error("cannot reach the API server at {server}: connection refused")]
    Refused {
        /// The API server URL.
        server: String,
        /// The user's `--kubeconfig`/`--context` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
        /// The transport error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The API server could not be reached (DNS, no route, reset).
    #[error("cannot reach the API server at {server}: {detail}")]
    Unreachable {
        /// The API server URL.
        server: String,
        /// The user's `--kubeconfig`/`--context` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
        /// What the transport said.
        detail: String,
        /// The transport error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The TLS handshake failed (unknown CA, wrong host name, expired certificate).
    #[error("TLS handshake with {server} failed: {detail}")]
    Tls {
        /// The API server URL.
        server: String,
        /// The user's `--kubeconfig`/`--context` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
        /// What the TLS layer said.
        detail: String,
        /// The transport error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The credentials could not be obtained (an exec credential plugin or token file failed).
    #[error("cannot get credentials for the API server: {detail}")]
    Credentials {
        /// What failed, in our words (never the plugin's environment or output).
        detail: String,
        /// The user's `--kubeconfig`/`--context` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
        /// The auth error.
        #[source]
        source: Box<kube::Error>,
    },
    /// 401: the credentials were refused.
    #[error("the API server at {server} rejected the credentials (401 Unauthorized)")]
    Unauthorized {
        /// The API server URL.
        server: String,
        /// The user's `--kubeconfig`/`--context` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
    },
    /// 403: the user may not do this.
    #[error(
        "forbidden: cannot {verb} {resource}{}: {message}",
        in_namespace(namespace)
    )]
    Forbidden {
        /// The verb refused (get, list, patch, ...).
        verb: String,
        /// The user's `--kubeconfig`/`--context` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
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
        /// The user's `--kubeconfig`/`--context` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
        /// The object name.
        name: String,
        /// The namespace, when namespaced.
        namespace: Option<String>,
    },
    /// No answer within `--request-timeout` or the command's deadline.
    #[error("the API server at {server} did not answer {what}{}", within(after))]
    Timeout {
        /// The API server URL.
        server: String,
        /// The user's `--kubeconfig`/`--context` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
        /// What was being done (`to list pods in "todo"`).
        what: String,
        /// The limit that was hit, when known.
        after: Option<Duration>,
        /// The transport error, when the timeout came from the transport.
        #[source]
        source: Option<Box<kube::Error>>,
    },
    /// The server answered something that is not HTTP or not what the API returns.
    #[error("the API server at {server} sent an invalid answer: {detail}")]
    Protocol {
        /// The API server URL.
        server: String,
        /// The user's `--kubeconfig`/`--context` as typed, for the hint's commands (set by
        /// [`ClusterError::for_user`]; empty, or starting with a space).
        flags: String,
        /// What was wrong.
        detail: String,
        /// The transport or decoding error.
        #[source]
        source: Box<kube::Error>,
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

fn within(after: &Option<Duration>) -> String {
    after
        .map(|d| format!(" within {}", crate::duration::format_duration(d)))
        .unwrap_or_else(|| " in time".into())
}

impl ClusterError {
    /// The same error, its hint's commands carrying the user's connection flags
    /// (`--kubeconfig`, `--context` as typed), so that they act on the same cluster and user
    /// as the command that failed. The kubeconfig errors take `--kubeconfig` alone: the
    /// context may be what is wrong.
    pub fn for_user(mut self, args: &KubeArgs) -> Self {
        let connection = args.as_connection_flags();
        let file = KubeArgs {
            kubeconfig: args.kubeconfig.clone(),
            ..KubeArgs::default()
        }
        .as_flags(None);
        match &mut self {
            ClusterError::Kubeconfig { flags, .. }
            | ClusterError::ContextNotFound { flags, .. } => *flags = file,
            ClusterError::Refused { flags, .. }
            | ClusterError::Unreachable { flags, .. }
            | ClusterError::Credentials { flags, .. }
            | ClusterError::Unauthorized { flags, .. }
            | ClusterError::Forbidden { flags, .. }
            | ClusterError::NotFound { flags, .. }
            | ClusterError::Protocol { flags, .. }
            | ClusterError::Tls { flags, .. }
            | ClusterError::Timeout { flags, .. } => *flags = connection,
            ClusterError::Api { .. } => {}
        }
        self
    }

    /// Whether the API server refused the request as not permitted (403).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, ClusterError::Forbidden { .. })
    }

    /// Whether the cluster could not be reached at all (nothing about the request itself).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ClusterError::Refused { .. }
                | ClusterError::Unreachable { .. }
                | ClusterError::Timeout { .. }
        )
    }
}

impl UserError for ClusterError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            ClusterError::Kubeconfig { flags, .. } => format!(
                "check $KUBECONFIG or --kubeconfig; `kubectl config view{flags}` shows what kubectl sees (on minikube: `minikube update-context`)"
            ),
            ClusterError::ContextNotFound { flags, .. } => {
                format!("list contexts with `kubectl config get-contexts{flags}`")
            }
            ClusterError::Refused { flags, .. } | ClusterError::Unreachable { flags, .. } => {
                format!(
                    "is the cluster running? `minikube status` / `minikube start`; `kubectl cluster-info{flags}` checks the same connection"
                )
            }
            ClusterError::Tls { flags, .. } => format!(
                "the kubeconfig's certificate authority does not match the server; refresh it (on minikube: `minikube update-context`) or check the context (`kubectl config view --minify{flags}`)"
            ),
            ClusterError::Credentials { flags, .. } => format!(
                "run the kubeconfig's credential command by hand to see why it fails (`kubectl config view --minify{flags}` shows which one)"
            ),
            ClusterError::Unauthorized { flags, .. } => format!(
                "the token or client certificate is invalid or expired; refresh the credentials in your kubeconfig (`kubectl config view --minify{flags}`)"
            ),
            ClusterError::Forbidden {
                verb,
                resource,
                namespace,
                flags,
                ..
            } => format!(
                "ask for RBAC permission; check with `kubectl auth can-i {verb} {resource}{flags}{}`",
                in_namespace_flag(namespace)
            ),
            ClusterError::NotFound {
                resource,
                namespace,
                flags,
                ..
            } => format!(
                "list what exists with `kubectl get {resource}{flags}{}`",
                in_namespace_flag(namespace)
            ),
            ClusterError::Timeout { flags, .. } => format!(
                "the API server is slow, overloaded or not answering (`kubectl cluster-info{flags}` checks it); retry, or raise --request-timeout / --timeout"
            ),
            ClusterError::Protocol { flags, .. } => format!(
                "is the kubeconfig's server URL really a Kubernetes API server (scheme, host and port)? `kubectl cluster-info{flags}` checks the same URL"
            ),
            ClusterError::Api { code: 429, .. }
            | ClusterError::Api {
                code: 500..=599, ..
            } => "the API server is overloaded or failing; retry in a moment".into(),
            ClusterError::Api { .. } => return None,
        })
    }
}

/// ` -n NS` as a shell reads it back, or nothing.
fn in_namespace_flag(namespace: &Option<String>) -> String {
    namespace
        .as_ref()
        .map(|ns| format!(" -n {}", crate::cluster::shell_word(ns)))
        .unwrap_or_default()
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
    /// An action on a namespaced resource (or a cluster-wide one with `None`).
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

    /// `to list pods in "todo"`, for timeouts.
    pub fn describe(&self) -> String {
        let mut out = format!("to {} {}", self.verb, self.resource);
        if let Some(n) = self.name {
            out.push_str(&format!(" {n:?}"));
        }
        if let Some(ns) = self.namespace {
            out.push_str(&format!(" in {ns:?}"));
        }
        out
    }
}

/// Turn a kube client error into a [`ClusterError`] that names what was attempted.
pub fn classify(server: &str, action: &Action<'_>, err: kube::Error) -> ClusterError {
    let namespace = action.namespace.map(str::to_owned);
    let status = match err {
        kube::Error::Api(status) => status,
        other => return classify_transport(server, Some(action), other),
    };
    match status.code {
        401 => ClusterError::Unauthorized {
            server: server.to_owned(),
            flags: String::new(),
        },
        403 => ClusterError::Forbidden {
            verb: action.verb.to_owned(),
            resource: action.resource.to_owned(),
            namespace,
            message: status.message.clone(),
            flags: String::new(),
        },
        404 if action.name.is_some() => ClusterError::NotFound {
            resource: action.resource.to_owned(),
            name: action.name.unwrap_or_default().to_owned(),
            namespace,
            flags: String::new(),
        },
        code => ClusterError::Api {
            code,
            reason: status.reason.clone(),
            message: status.message.clone(),
            verb: action.verb.to_owned(),
            resource: action.resource.to_owned(),
        },
    }
}

/// What the transport error chain is, by the types in it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Transport {
    Refused,
    TimedOut,
    Tls(String),
    Credentials(String),
    Protocol(String),
    Unreachable(String),
}

/// Classify an error that did not come with an API `Status` (transport, TLS, credentials,
/// timeouts). `action` says what was being done, for timeouts.
pub fn classify_transport(
    server: &str,
    action: Option<&Action<'_>>,
    err: kube::Error,
) -> ClusterError {
    let server = server.to_owned();
    let kind = transport_kind(&err);
    let err = Box::new(err);
    match kind {
        Transport::Refused => ClusterError::Refused {
            server,
            source: err,
            flags: String::new(),
        },
        Transport::TimedOut => ClusterError::Timeout {
            server,
            what: action.map(Action::describe).unwrap_or_default(),
            after: None,
            source: Some(err),
            flags: String::new(),
        },
        Transport::Tls(detail) => ClusterError::Tls {
            server,
            detail,
            source: err,
            flags: String::new(),
        },
        Transport::Credentials(detail) => ClusterError::Credentials {
            detail,
            source: err,
            flags: String::new(),
        },
        Transport::Protocol(detail) => ClusterError::Protocol {
            server,
            detail,
            source: err,
            flags: String::new(),
        },
        Transport::Unreachable(detail) => ClusterError::Unreachable {
            server,
            detail,
            source: err,
            flags: String::new(),
        },
    }
}

/// Every error in the chain, including the custom error inside an `std::io::Error` (whose
/// `source()` skips it).
fn chain<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        out.push(e);
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            // The custom error inside an io::Error is the next link (it may be an io::Error
            // again, wrapping a rustls::Error).
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
        if out.len() > 32 {
            break;
        }
    }
    out
}

fn transport_kind(err: &kube::Error) -> Transport {
    if let kube::Error::Auth(auth) = err {
        return Transport::Credentials(auth_detail(auth));
    }
    if let kube::Error::SerdeError(_) | kube::Error::FromUtf8(_) = err {
        return Transport::Protocol("the response is not a Kubernetes API object".into());
    }
    let links = chain(err);
    for e in &links {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Transport::Tls(tls_detail(tls));
        }
    }
    for e in &links {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionRefused => return Transport::Refused,
                K::TimedOut => return Transport::TimedOut,
                K::InvalidData if io.get_ref().is_some() => {}
                _ => {}
            }
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_timeout() {
                return Transport::TimedOut;
            }
            if h.is_parse() || h.is_parse_status() {
                return Transport::Protocol(
                    "not an HTTP response (is the server URL's scheme right?)".into(),
                );
            }
        }
    }
    for e in &links {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Transport::Unreachable(io_detail(io));
        }
    }
    if let Some(h) = links.iter().find_map(|e| e.downcast_ref::<hyper::Error>())
        && (h.is_incomplete_message() || h.is_closed() || h.is_canceled())
    {
        return Transport::Unreachable("the connection was closed before an answer".into());
    }
    Transport::Unreachable("the request failed before an answer".into())
}

fn io_detail(io: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match io.kind() {
        K::ConnectionReset => "the connection was reset".into(),
        K::ConnectionAborted => "the connection was aborted".into(),
        K::NotConnected | K::BrokenPipe | K::UnexpectedEof => {
            "the connection was closed before an answer".into()
        }
        K::AddrNotAvailable => "the address is not available".into(),
        K::HostUnreachable => "no route to the host".into(),
        K::NetworkUnreachable => "the network is unreachable".into(),
        // DNS failures and the like: the OS's words (they name the host, nothing secret).
        _ => crate::redact::printable(&io.to_string()),
    }
}

fn tls_detail(tls: &rustls::Error) -> String {
    use rustls::{CertificateError as C, Error as E};
    match tls {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is not signed by the kubeconfig's certificate authority"
                .into()
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired".into()
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the server's certificate is not valid for the server's host name".into()
        }
        E::InvalidCertificate(C::BadSignature) => {
            "the server's certificate has a bad signature".into()
        }
        E::AlertReceived(alert) => format!(
            "the server refused the handshake ({alert:?}); is the client certificate valid?"
        ),
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. } => {
            "the server does not speak TLS (is the server URL's scheme http?)".into()
        }
        other => crate::redact::printable(&other.to_string()),
    }
}

/// An exec plugin's failure in our words: the command's name and its exit status, never its
/// environment, arguments or output (they can hold the very credentials it was producing).
fn auth_detail(auth: &AuthError) -> String {
    match auth {
        AuthError::AuthExecStart(io) => {
            format!(
                "the exec credential plugin could not be started ({})",
                io_detail(io)
            )
        }
        AuthError::AuthExecRun { out, .. } => format!(
            "the exec credential plugin failed ({}); its output is not shown because it may hold credentials",
            out.status
        ),
        AuthError::AuthExecParse(_) | AuthError::ExecPluginFailed => {
            "the exec credential plugin did not print an ExecCredential".into()
        }
        AuthError::MissingCommand => {
            "the kubeconfig's exec credential plugin has no command".into()
        }
        AuthError::ReadTokenFile(_, path) => {
            format!("cannot read the token file {}", path.display())
        }
        AuthError::MalformedTokenExpirationDate(_) => {
            "the credential's expirationTimestamp is not a valid time".into()
        }
        AuthError::InvalidBearerToken(_) | AuthError::InvalidBasicAuth(_) => {
            "the token or password is not valid in an HTTP header".into()
        }
        _ => "the kubeconfig's credentials could not be obtained".into(),
    }
}

/// Whether an error is worth retrying: 429, 500, 502, 503, 504 (not 501).
pub fn is_transient(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 429 || (s.code >= 500 && s.code != 501))
}

#[cfg(test)]
mod tests;
