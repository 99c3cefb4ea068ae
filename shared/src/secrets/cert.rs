//! The sealing certificate: from a file, stdin, or the controller (what `kubeseal
//! --fetch-cert` does), read with a size limit and refused when it cannot seal (not RSA,
//! too weak, expired, not yet valid).

use std::path::PathBuf;

use super::SecretsError;
use super::controller::Controller;
use super::input::{CERT_LIMIT, read_file, read_stdin};
use crate::cluster::Cluster;
use crate::seal::Certificate;

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// A PEM file.
    File(PathBuf),
    /// PEM on standard input (`--cert -`).
    Stdin,
    /// The sealed-secrets controller, through the API server.
    Controller(Controller),
}

impl CertSource {
    /// From `--cert` (file, `-`, or a URL we refuse), else the controller.
    pub fn from_flag(cert: Option<&str>, controller: &Controller) -> Result<Self, SecretsError> {
        match cert {
            None => Ok(CertSource::Controller(controller.clone())),
            Some("-") => Ok(CertSource::Stdin),
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Err(SecretsError::usage(
                    "--cert URL is not supported",
                    format!(
                        "download it first (`curl -fsSLo cert.pem {url}`) and pass --cert cert.pem"
                    ),
                ))
            }
            Some(path) => Ok(CertSource::File(path.into())),
        }
    }

    /// Where, for messages.
    pub fn describe(&self) -> String {
        match self {
            CertSource::File(p) => p.display().to_string(),
            CertSource::Stdin => "standard input".into(),
            CertSource::Controller(c) => format!("service {}", c.describe()),
        }
    }

    /// Whether the certificate is fetched from the cluster.
    pub fn needs_cluster(&self) -> bool {
        matches!(self, CertSource::Controller(_))
    }
}

/// Load and check the certificate (parsed, RSA, not expired). Returns it with its PEM text.
/// `cluster` is needed for [`CertSource::Controller`].
pub async fn load(
    source: &CertSource,
    cluster: Option<&Cluster>,
) -> Result<(Certificate, String), SecretsError> {
    let pem = match source {
        CertSource::File(path) => read_file(path, "a PEM certificate", CERT_LIMIT)?.to_string(),
        CertSource::Stdin => read_stdin("a PEM certificate", CERT_LIMIT)?.to_string(),
        CertSource::Controller(controller) => {
            let cluster = cluster.ok_or_else(|| {
                SecretsError::usage(
                    "no cluster connection to fetch the certificate",
                    "pass --cert FILE to seal offline",
                )
            })?;
            controller.certificate_pem(cluster).await?
        }
    };
    let cert = parse_checked(&pem, source)?;
    Ok((cert, pem))
}

/// Parse PEM text and refuse an invalid or expired certificate, naming where it came from.
pub fn parse_checked(pem: &str, source: &CertSource) -> Result<Certificate, SecretsError> {
    let from = source.describe();
    let cert = Certificate::from_pem(pem.as_bytes()).map_err(|source| SecretsError::Cert {
        from: from.clone(),
        source,
    })?;
    cert.check_valid_now()
        .map_err(|source| SecretsError::Cert { from, source })?;
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_flag_accepts_files_and_stdin_and_refuses_urls() {
        let c = Controller::default();
        assert_eq!(
            CertSource::from_flag(Some("-"), &c).unwrap(),
            CertSource::Stdin
        );
        assert_eq!(
            CertSource::from_flag(Some("c.pem"), &c).unwrap(),
            CertSource::File("c.pem".into())
        );
        assert!(CertSource::from_flag(Some("https://x/cert.pem"), &c).is_err());
        assert!(CertSource::from_flag(None, &c).unwrap().needs_cluster());
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

    #[tokio::test]
    async fn an_endless_certificate_file_is_refused_at_the_limit() {
        let err = load(&CertSource::File("/dev/zero".into()), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}
