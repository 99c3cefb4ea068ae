//! Talking to the sealed-secrets controller through the API server's service proxy, as
//! kubeseal does: `/v1/cert.pem` (its current certificate), `/v1/verify` (can it decrypt a
//! SealedSecret: 200 yes, 409 no), `/v1/rotate` (re-encrypt a SealedSecret with its newest
//! key), and its key Secrets (every active certificate; reading them needs permission to
//! read Secrets in its namespace). The controller's `/v1/verify` is rate limited (2 per
//! second by default): a 429 is waited out, within the run's deadline.
//!
//! Every answer is read with a size limit; the key Secrets' private keys are never kept:
//! only `tls.crt` is deserialized, and the response buffer is wiped.

use std::time::Duration;

use http::{Method, StatusCode};
use http_body_util::BodyExt as _;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::SecretsError;
use super::args::ControllerArgs;
use crate::cluster::{Action, Cluster, ClusterError, shell_word};
use crate::error::UserError;
use crate::names::{self, NameKind};
use crate::seal::{CertError, Certificate};

/// The label the controller puts on its key Secrets (value `active`, or `compromised`).
pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
/// How long one proxied request may take when `--request-timeout` is not given.
pub const PROXY_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest answer read from the controller or the key Secrets list.
pub const ANSWER_LIMIT: usize = 8 * 1024 * 1024;
/// How many times a rate-limited (429) request is sent again.
const RATE_LIMIT_TRIES: usize = 10;

/// Why the controller did not do what was asked. Display never contains a secret (the
/// controller's answers hold none; they are shown without control characters).
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The controller's Service does not exist.
    #[error(
        "service {name:?} not found in namespace {namespace:?}: is the sealed-secrets controller installed?"
    )]
    ServiceNotFound {
        /// The Service name.
        name: String,
        /// Its namespace.
        namespace: String,
    },
    /// The Service has no port to proxy to.
    #[error("service {namespace}/{name} has no ports")]
    NoPorts {
        /// The Service name.
        name: String,
        /// Its namespace.
        namespace: String,
    },
    /// The API server could not reach the controller (no ready endpoints, a crashing pod).
    #[error("the controller did not serve {} ({status}{}){}", what(.endpoint), with_reason(.reason), with_message(.message))]
    NotServing {
        /// The endpoint (`/v1/cert.pem`).
        endpoint: &'static str,
        /// The HTTP status.
        status: u16,
        /// The Status reason, when the API server gave one.
        reason: String,
        /// The API server's message (no endpoints available for service …).
        message: String,
    },
    /// No answer within the request timeout.
    #[error("the controller did not serve {} within {}", what(.endpoint), crate::duration::format_duration(*.after))]
    Slow {
        /// The endpoint.
        endpoint: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The controller does not know the endpoint (an old or another controller).
    #[error("the controller does not serve {endpoint} (404)")]
    Unsupported {
        /// The endpoint.
        endpoint: &'static str,
    },
    /// The controller kept refusing with 429 (its rate limit) until the tries ran out.
    #[error("the controller kept limiting the rate of {endpoint} requests (429)")]
    RateLimited {
        /// The endpoint.
        endpoint: &'static str,
    },
    /// The controller failed the request (500): for `/v1/rotate`, it could not decrypt.
    #[error("the controller could not handle {endpoint} (500)")]
    Failed {
        /// The endpoint.
        endpoint: &'static str,
    },
    /// An answer that is not what the endpoint returns.
    #[error("the controller's answer to {endpoint} is not {expected}")]
    BadAnswer {
        /// The endpoint.
        endpoint: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// An answer larger than [`ANSWER_LIMIT`].
    #[error("the answer to {endpoint} is larger than {} MiB", ANSWER_LIMIT / (1024 * 1024))]
    TooLarge {
        /// The endpoint.
        endpoint: &'static str,
    },
    /// The controller's namespace holds no active key Secret.
    #[error(
        "no active sealing key in namespace {namespace:?} (Secrets labelled {KEY_LABEL}=active)"
    )]
    NoKeys {
        /// The namespace.
        namespace: String,
    },
    /// A key Secret whose certificate cannot be read.
    #[error("the key Secret {name:?} holds no readable certificate: {source}")]
    BadKeySecret {
        /// The Secret.
        name: String,
        /// Why.
        #[source]
        source: CertError,
    },
    /// The request could not be made or was refused by the API server.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

fn what(endpoint: &str) -> &'static str {
    match endpoint {
        "/v1/cert.pem" => "its certificate",
        "/v1/verify" => "the verification (/v1/verify)",
        "/v1/rotate" => "the re-encryption (/v1/rotate)",
        _ => "the request",
    }
}

fn with_reason(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" {reason}")
    }
}

fn with_message(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

impl ControllerError {
    /// The hint: the next command for this controller (its namespace and name) and this user
    /// (the connection flags they gave).
    pub fn hint_at(&self, at: &ControllerPlace) -> Option<String> {
        let ControllerPlace {
            name,
            namespace,
            flags,
        } = at;
        let (name, namespace) = (shell_word(name), shell_word(namespace));
        Some(match self {
            ControllerError::Cluster(e) => return e.hint(),
            ControllerError::Unsupported { .. } => {
                "upgrade the sealed-secrets controller (kubeseal --validate and --re-encrypt need the same endpoints)".into()
            }
            ControllerError::RateLimited { .. } => "retry in a few seconds".into(),
            ControllerError::Failed { .. } => format!(
                "`helm todo-secrets status --validate` names the values the controller cannot decrypt; `kubectl logs service/{name} -n {namespace}{flags}` says why"
            ),
            ControllerError::NoKeys { .. } | ControllerError::BadKeySecret { .. } => {
                "is --controller-namespace right? the controller creates its key on start".into()
            }
            ControllerError::ServiceNotFound { .. } => format!(
                "is the sealed-secrets controller installed? `kubectl get services -A{flags} | grep sealed-secrets` finds it (then pass --controller-name/--controller-namespace), or seal offline with --cert FILE"
            ),
            _ => format!(
                "is the sealed-secrets controller ready? `kubectl describe service {name} -n {namespace}{flags}` shows its endpoints and `kubectl logs service/{name} -n {namespace}{flags}` its log; or seal offline with --cert FILE"
            ),
        })
    }
}

/// Which controller was asked, by whom: what a hint needs to name the next command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControllerPlace {
    /// The controller's Service name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// The user's `--kubeconfig`/`--context` (empty or starting with a space).
    pub flags: String,
}

/// How to install the controller so that the plugins (and kubeseal) find it under its
/// default name, `kube-system/sealed-secrets-controller`.
pub const INSTALL_HINT: &str = "install the sealed-secrets controller: `helm repo add sealed-secrets https://bitnami-labs.github.io/sealed-secrets && helm install sealed-secrets sealed-secrets/sealed-secrets -n kube-system --set-string fullnameOverride=sealed-secrets-controller`";

/// Which controller to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// Its Service name (`sealed-secrets-controller`).
    pub name: String,
    /// Its namespace (`kube-system`).
    pub namespace: String,
}

impl Default for Controller {
    fn default() -> Self {
        Controller {
            name: "sealed-secrets-controller".into(),
            namespace: "kube-system".into(),
        }
    }
}

/// One of the controller's sealing keys, as far as its certificate tells.
#[derive(Debug, Clone)]
pub struct KeyCertificate {
    /// The key Secret's name.
    pub secret: String,
    /// The certificate.
    pub certificate: Certificate,
    /// Its PEM text.
    pub pem: String,
}

/// What the controller answered.
struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Zeroizing<Vec<u8>>,
}

impl Answer {
    /// The API server's own `Status` object, when it answered instead of the controller.
    fn api_status(&self) -> Option<kube::core::Status> {
        let status: kube::core::Status = serde_json::from_slice(&self.body).ok()?;
        (status.code != 0 || !status.reason.is_empty()).then_some(status)
    }
}

impl Controller {
    /// From the flags, with both names checked.
    pub fn from_args(args: &ControllerArgs) -> Result<Self, SecretsError> {
        names::check(NameKind::Service, &args.controller_name)?;
        names::check(NameKind::Namespace, &args.controller_namespace)?;
        Ok(Controller {
            name: args.controller_name.clone(),
            namespace: args.controller_namespace.clone(),
        })
    }

    /// This controller, as the user of `cluster` asks it, for hints.
    pub fn place(&self, cluster: &Cluster) -> ControllerPlace {
        ControllerPlace {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            flags: cluster.context_flags(),
        }
    }

    /// `kube-system/sealed-secrets-controller`.
    pub fn describe(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The service-proxy path of one of the controller's endpoints.
    pub fn proxy_path(&self, port: &str, endpoint: &str) -> String {
        format!(
            "/api/v1/namespaces/{}/services/http:{}:{port}/proxy{endpoint}",
            self.namespace, self.name
        )
    }

    /// The Service's first port name (or number), as kubeseal picks it.
    async fn port(&self, cluster: &Cluster) -> Result<String, ControllerError> {
        use k8s_openapi::api::core::v1::Service;
        let services: kube::Api<Service> =
            kube::Api::namespaced(cluster.client.clone(), &self.namespace);
        let action = Action::new("get", "services", Some(&self.namespace)).named(&self.name);
        let service = crate::cluster::retry(|| services.get(&self.name))
            .await
            .map_err(|e| match e {
                kube::Error::Api(ref s) if s.code == 404 => ControllerError::ServiceNotFound {
                    name: self.name.clone(),
                    namespace: self.namespace.clone(),
                },
                other => cluster.error(&action, other).into(),
            })?;
        service
            .spec
            .and_then(|s| s.ports)
            .and_then(|ports| ports.into_iter().next())
            .map(|p| {
                p.name
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| p.port.to_string())
            })
            .ok_or_else(|| ControllerError::NoPorts {
                name: self.name.clone(),
                namespace: self.namespace.clone(),
            })
    }

    /// Send one request to `path` and read the answer (size-limited, time-limited).
    async fn send(
        &self,
        cluster: &Cluster,
        method: Method,
        path: &str,
        endpoint: &'static str,
        body: Vec<u8>,
    ) -> Result<Answer, ControllerError> {
        let action = Action::new(
            if method == Method::GET {
                "get"
            } else {
                "create"
            },
            "services/proxy",
            Some(&self.namespace),
        )
        .named(&self.name);
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(kube::client::Body::from(body))
            .map_err(|_| ControllerError::BadAnswer {
                endpoint,
                expected: "a valid request path",
            })?;
        let limit = cluster.request_timeout.unwrap_or(PROXY_TIMEOUT);
        let exchange = async {
            let response = cluster.client.send(request).await?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let limited = http_body_util::Limited::new(response.into_body(), ANSWER_LIMIT);
            match limited.collect().await {
                Ok(collected) => Ok(Ok(Answer {
                    status,
                    retry_after,
                    body: Zeroizing::new(collected.to_bytes().to_vec()),
                })),
                Err(e)
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some() =>
                {
                    Ok(Err(ControllerError::TooLarge { endpoint }))
                }
                Err(e) => match e.downcast::<kube::Error>() {
                    Ok(e) => Err(*e),
                    Err(_) => Ok(Err(ControllerError::BadAnswer {
                        endpoint,
                        expected: "a complete HTTP answer",
                    })),
                },
            }
        };
        match tokio::time::timeout(limit, exchange).await {
            Err(_) => Err(ControllerError::Slow {
                endpoint,
                after: limit,
            }),
            Ok(Err(e)) => Err(cluster.error(&action, e).into()),
            Ok(Ok(answer)) => answer,
        }
    }

    /// Call a controller endpoint through the service proxy, waiting out its rate limit.
    /// Returns the controller's status and body; the API server's own refusals become
    /// errors.
    async fn call(
        &self,
        cluster: &Cluster,
        method: Method,
        endpoint: &'static str,
        body: &[u8],
    ) -> Result<Answer, ControllerError> {
        let port = self.port(cluster).await?;
        let path = self.proxy_path(&port, endpoint);
        let mut tries = 0;
        loop {
            let answer = self
                .send(cluster, method.clone(), &path, endpoint, body.to_vec())
                .await?;
            if answer.status == StatusCode::TOO_MANY_REQUESTS && tries < RATE_LIMIT_TRIES {
                tries += 1;
                let wait = answer
                    .retry_after
                    .unwrap_or(Duration::from_millis(500))
                    .min(Duration::from_secs(5));
                tokio::time::sleep(wait).await;
                continue;
            }
            return self.judge(cluster, endpoint, answer);
        }
    }

    /// Who answered, and whether it is an answer the endpoint gives.
    fn judge(
        &self,
        cluster: &Cluster,
        endpoint: &'static str,
        answer: Answer,
    ) -> Result<Answer, ControllerError> {
        if answer.status.is_success() || answer.status == StatusCode::CONFLICT {
            return Ok(answer);
        }
        if let Some(status) = answer.api_status()
            && matches!(status.code, 401 | 403)
        {
            let action =
                Action::new("create", "services/proxy", Some(&self.namespace)).named(&self.name);
            return Err(cluster
                .error(&action, kube::Error::Api(Box::new(status)))
                .into());
        }
        let code = answer.status.as_u16();
        match answer.api_status() {
            Some(status) => Err(ControllerError::NotServing {
                endpoint,
                status: code,
                reason: crate::redact::printable(&status.reason),
                message: crate::redact::printable(
                    &status.message.chars().take(300).collect::<String>(),
                ),
            }),
            None if code == 404 => Err(ControllerError::Unsupported { endpoint }),
            None if code == 429 => Err(ControllerError::RateLimited { endpoint }),
            None if code == 500 => Err(ControllerError::Failed { endpoint }),
            None => Err(ControllerError::NotServing {
                endpoint,
                status: code,
                reason: answer.status.canonical_reason().unwrap_or_default().into(),
                message: String::new(),
            }),
        }
    }

    /// The controller's current certificate, PEM (what kubeseal --fetch-cert prints).
    pub async fn certificate_pem(&self, cluster: &Cluster) -> Result<String, ControllerError> {
        let endpoint = "/v1/cert.pem";
        let answer = self.call(cluster, Method::GET, endpoint, &[]).await?;
        if answer.status != StatusCode::OK {
            return Err(ControllerError::BadAnswer {
                endpoint,
                expected: "a PEM certificate",
            });
        }
        String::from_utf8(answer.body.to_vec()).map_err(|_| ControllerError::BadAnswer {
            endpoint,
            expected: "a PEM certificate",
        })
    }

    /// Whether the controller can decrypt every value of `sealed_secret` (a SealedSecret
    /// object): `/v1/verify` answers 200 or 409.
    pub async fn verify(
        &self,
        cluster: &Cluster,
        sealed_secret: &serde_json::Value,
    ) -> Result<bool, ControllerError> {
        let endpoint = "/v1/verify";
        let body = serde_json::to_vec(sealed_secret).map_err(|_| ControllerError::BadAnswer {
            endpoint,
            expected: "a request body",
        })?;
        let answer = self.call(cluster, Method::POST, endpoint, &body).await?;
        match answer.status {
            StatusCode::OK => Ok(true),
            StatusCode::CONFLICT => Ok(false),
            _ => Err(ControllerError::BadAnswer {
                endpoint,
                expected: "200 or 409",
            }),
        }
    }

    /// Re-encrypt `sealed_secret` with the controller's newest key (`/v1/rotate`); returns
    /// the new SealedSecret.
    pub async fn rotate(
        &self,
        cluster: &Cluster,
        sealed_secret: &serde_json::Value,
    ) -> Result<serde_json::Value, ControllerError> {
        let endpoint = "/v1/rotate";
        let body = serde_json::to_vec(sealed_secret).map_err(|_| ControllerError::BadAnswer {
            endpoint,
            expected: "a request body",
        })?;
        let answer = self.call(cluster, Method::POST, endpoint, &body).await?;
        let bad = || ControllerError::BadAnswer {
            endpoint,
            expected: "a SealedSecret",
        };
        if answer.status != StatusCode::OK {
            return Err(bad());
        }
        let value: serde_json::Value = serde_json::from_slice(&answer.body).map_err(|_| bad())?;
        if value
            .pointer("/spec/encryptedData")
            .and_then(|d| d.as_object())
            .is_none()
        {
            return Err(bad());
        }
        Ok(value)
    }

    /// Every active sealing key's certificate, newest first (the controller seals with the
    /// newest: latest `notBefore`, then the latest created).
    pub async fn active_certificates(
        &self,
        cluster: &Cluster,
    ) -> Result<Vec<KeyCertificate>, ControllerError> {
        let selector = format!("{KEY_LABEL}=active");
        let path = format!(
            "/api/v1/namespaces/{}/secrets?labelSelector={}",
            self.namespace,
            url::form_urlencoded::byte_serialize(selector.as_bytes()).collect::<String>()
        );
        let answer = self
            .send(cluster, Method::GET, &path, KEYS_ENDPOINT, Vec::new())
            .await?;
        if !answer.status.is_success() {
            let action = Action::new("list", "secrets", Some(&self.namespace));
            let status = answer.api_status().unwrap_or_else(|| kube::core::Status {
                code: answer.status.as_u16(),
                ..Default::default()
            });
            return Err(cluster
                .error(&action, kube::Error::Api(Box::new(status)))
                .into());
        }
        let keys = key_certificates(&answer.body)?;
        if keys.is_empty() {
            return Err(ControllerError::NoKeys {
                namespace: self.namespace.clone(),
            });
        }
        Ok(keys)
    }
}

/// Puts the key whose certificate the controller serves (`current`, a fingerprint) first,
/// keeping the others' order. The served key is the newest by definition; the Secrets'
/// timestamps have second resolution and tie when a key is renewed in the second it was
/// made, so their order alone cannot say which one is current.
pub fn current_first(keys: &mut [KeyCertificate], current: &str) {
    keys.sort_by_cached_key(|k| k.certificate.fingerprint() != current);
}

/// What the key Secrets list is called in errors.
const KEYS_ENDPOINT: &str = "Secrets";

/// The certificates of a SecretList of key Secrets, newest first. Only `tls.crt` is
/// deserialized: the private keys are skipped, never held.
fn key_certificates(body: &[u8]) -> Result<Vec<KeyCertificate>, ControllerError> {
    #[derive(Deserialize)]
    struct List {
        #[serde(default)]
        items: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        metadata: Meta,
        #[serde(default)]
        data: Data,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Meta {
        #[serde(default)]
        name: String,
        #[serde(default)]
        creation_timestamp: String,
    }
    #[derive(Deserialize, Default)]
    struct Data {
        #[serde(rename = "tls.crt")]
        crt: Option<String>,
    }
    let list: List = serde_json::from_slice(body).map_err(|_| ControllerError::BadAnswer {
        endpoint: KEYS_ENDPOINT,
        expected: "a list of Secrets",
    })?;
    let mut keys = Vec::new();
    for item in list.items {
        let name = item.metadata.name;
        let pem = item
            .data
            .crt
            .and_then(|b64| {
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).ok()
            })
            .and_then(|der| String::from_utf8(der).ok())
            .unwrap_or_default();
        let certificate = Certificate::from_pem(pem.as_bytes()).map_err(|source| {
            ControllerError::BadKeySecret {
                name: name.clone(),
                source,
            }
        })?;
        keys.push((
            item.metadata.creation_timestamp,
            KeyCertificate {
                secret: name,
                certificate,
                pem,
            },
        ));
    }
    // RFC 3339 timestamps in UTC sort as text.
    keys.sort_by(|(a_created, a), (b_created, b)| {
        b.certificate
            .not_before
            .cmp(&a.certificate.not_before)
            .then_with(|| b_created.cmp(a_created))
    });
    Ok(keys.into_iter().map(|(_, k)| k).collect())
}

#[cfg(test)]
mod tests;
