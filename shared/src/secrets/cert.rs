//! Getting the sealing certificate: from a file, stdin, or the controller through the API
//! server's service proxy (what `kubeseal --fetch-cert` does).

use std::io::Read as _;
use std::path::Path;

use k8s_openapi::api::core::v1::Service;
use kube::Api;

use super::SecretsError;
use crate::cluster::{Action, Cluster};
use crate::seal::Certificate;

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// A PEM file.
    File(std::path::PathBuf),
    /// PEM on standard input (`--cert -`).
    Stdin,
    /// The sealed-secrets controller's Service, through the API server.
    Controller {
        /// The Service name (`sealed-secrets-controller`).
        name: String,
        /// Its namespace (`kube-system`).
        namespace: String,
    },
}

impl CertSource {
    /// From `--cert` (file, `-`, or a URL we refuse) or the controller flags.
    pub fn from_flags(
        cert: Option<&str>,
        name: &str,
        namespace: &str,
    ) -> Result<Self, SecretsError> {
        match cert {
            None => Ok(CertSource::Controller {
                name: name.into(),
                namespace: namespace.into(),
            }),
            Some("-") => Ok(CertSource::Stdin),
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Err(SecretsError::Usage {
                    message: "--cert URL is not supported".into(),
                    hint: format!(
                        "download it first (`curl -fsSLo cert.pem {url}`) and pass --cert cert.pem"
                    ),
                })
            }
            Some(path) => Ok(CertSource::File(path.into())),
        }
    }

    /// Where, for messages.
    pub fn describe(&self) -> String {
        match self {
            CertSource::File(p) => p.display().to_string(),
            CertSource::Stdin => "standard input".into(),
            CertSource::Controller { name, namespace } => format!("service {namespace}/{name}"),
        }
    }
}

/// How long to wait for the certificate when `--request-timeout` is not given.
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// The service-proxy path of the controller's `/v1/cert.pem`.
pub fn proxy_path(namespace: &str, name: &str, port: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/services/http:{name}:{port}/proxy/v1/cert.pem")
}

/// Fetch the controller's certificate PEM: read its Service for the first port's name (or
/// number), then GET `/v1/cert.pem` through the API server's service proxy.
pub async fn fetch_pem(
    cluster: &Cluster,
    name: &str,
    namespace: &str,
) -> Result<String, SecretsError> {
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), namespace);
    let action = Action::new("get", "services", Some(namespace)).named(name);
    let service = crate::cluster::retry(|| services.get(name)).await.map_err(|e| match e {
        kube::Error::Api(ref s) if s.code == 404 => SecretsError::Controller(format!(
            "service {name:?} not found in namespace {namespace:?}: is the sealed-secrets controller installed?"
        )),
        other => SecretsError::from(cluster.error(&action, other)),
    })?;
    let port = service
        .spec
        .and_then(|s| s.ports)
        .and_then(|ports| ports.into_iter().next())
        .map(|p| {
            p.name
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| p.port.to_string())
        })
        .ok_or_else(|| {
            SecretsError::Controller(format!("service {namespace}/{name} has no ports"))
        })?;
    let path = proxy_path(namespace, name, &port);
    let proxy = Action::new("get", "services/proxy", Some(namespace)).named(name);
    let request = http::Request::get(&path)
        .body(Vec::new())
        .map_err(|e| SecretsError::Controller(format!("cannot build request for {path}: {e}")))?;
    // kube's client retries 429/503/504 with a long backoff; a controller without ready
    // endpoints answers 503 forever, so bound the wait.
    let limit = cluster.request_timeout.unwrap_or(FETCH_TIMEOUT);
    let answer = tokio::time::timeout(limit, cluster.client.request_text(request))
        .await
        .map_err(|_| {
            SecretsError::Controller(format!(
                "the controller did not serve its certificate within {}s (the API server kept answering \
                 503/429/504, e.g. no ready endpoints for service {namespace}/{name})",
                limit.as_secs()
            ))
        })?;
    let text = answer.map_err(|e| match e {
        kube::Error::Api(ref s) if s.code == 503 || s.code == 404 => {
            SecretsError::Controller(format!(
                "the controller did not serve its certificate ({} {}): {}",
                s.code, s.reason, s.message
            ))
        }
        other => SecretsError::from(cluster.error(&proxy, other)),
    })?;
    Ok(text)
}

/// Load and check the certificate (parsed, RSA, not expired). Returns it with its PEM text.
pub async fn load(
    source: &CertSource,
    cluster: Option<&Cluster>,
) -> Result<(Certificate, String), SecretsError> {
    let pem = match source {
        CertSource::File(path) => read_file(path)?,
        CertSource::Stdin => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| SecretsError::io(Path::new("<stdin>"), e))?;
            text
        }
        CertSource::Controller { name, namespace } => {
            let cluster = cluster.ok_or_else(|| SecretsError::Usage {
                message: "no cluster connection to fetch the certificate".into(),
                hint: "pass --cert FILE to seal offline".into(),
            })?;
            fetch_pem(cluster, name, namespace).await?
        }
    };
    let cert = parse_checked(&pem, source)?;
    Ok((cert, pem))
}

/// Parse PEM text and refuse an invalid or expired certificate, naming where it came from.
pub fn parse_checked(pem: &str, source: &CertSource) -> Result<Certificate, SecretsError> {
    let from = source.describe();
    let cert = Certificate::from_pem(pem.as_bytes()).map_err(|reason| SecretsError::Cert {
        from: from.clone(),
        reason,
    })?;
    cert.check_valid_now()
        .map_err(|reason| SecretsError::Cert { from, reason })?;
    Ok(cert)
}

fn read_file(path: &Path) -> Result<String, SecretsError> {
    std::fs::read_to_string(path).map_err(|e| SecretsError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_path_matches_kubeseal() {
        assert_eq!(
            proxy_path("kube-system", "sealed-secrets-controller", "http"),
            "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem"
        );
    }

    #[test]
    fn cert_flag_accepts_files_and_stdin_and_refuses_urls() {
        assert_eq!(
            CertSource::from_flags(Some("-"), "n", "ns").unwrap(),
            CertSource::Stdin
        );
        assert_eq!(
            CertSource::from_flags(Some("c.pem"), "n", "ns").unwrap(),
            CertSource::File("c.pem".into())
        );
        assert!(CertSource::from_flags(Some("https://x/cert.pem"), "n", "ns").is_err());
        assert!(matches!(
            CertSource::from_flags(None, "n", "ns").unwrap(),
            CertSource::Controller { .. }
        ));
    }

    #[test]
    fn expired_certificate_error_names_the_source_and_date() {
        let pem = include_str!("testdata/TEST-ONLY-expired-cert.pem");
        let err = parse_checked(pem, &CertSource::File("old.pem".into())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("old.pem") && text.contains("expired on 2001-01-01"),
            "{text}"
        );
    }
}
