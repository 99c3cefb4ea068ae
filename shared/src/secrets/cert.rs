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
            controller
                .certificate_pem(cluster)
                .await
                .map_err(|e| SecretsError::controller(e, controller, cluster))?
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

    mod props {
        use super::*;
        use crate::seal::{Scope, seal_value, unseal_bytes};
        use base64::Engine;
        use proptest::prelude::*;
        use rsa::pkcs8::DecodePrivateKey;

        const CERT: &str = include_str!("testdata/TEST-ONLY-cert.pem");
        const KEY: &str = include_str!("testdata/TEST-ONLY-key.pem");

        fn wrap(tag: &str, der: &[u8]) -> String {
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            format!("-----BEGIN {tag}-----\n{b64}\n-----END {tag}-----\n")
        }

        proptest! {
            #[test]
            fn pem_reading_never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = Certificate::from_pem(&bytes);
                let _ = Certificate::from_der(bytes);
            }

            #[test]
            fn any_der_in_a_certificate_block_is_refused_not_a_panic(
                der in proptest::collection::vec(any::<u8>(), 0..512),
                tag in "(CERTIFICATE|PUBLIC KEY|X509 CRL)",
            ) {
                let pem = wrap(&tag, &der);
                let err = parse_checked(&pem, &CertSource::File("c.pem".into()));
                prop_assert!(err.is_err());
            }

            #[test]
            fn a_corrupted_certificate_never_panics(at in 0usize..CERT.len(), byte in any::<u8>()) {
                let mut bytes = CERT.as_bytes().to_vec();
                bytes[at] = byte;
                let _ = Certificate::from_pem(&bytes);
            }

            #[test]
            fn text_around_the_certificate_is_ignored(
                before in "[a-zA-Z0-9 #:.\n]{0,80}",
                after in "[a-zA-Z0-9 #:.\n]{0,80}",
            ) {
                let want = Certificate::from_pem(CERT.as_bytes()).map(|c| c.fingerprint());
                let got = Certificate::from_pem(format!("{before}\n{CERT}\n{after}").as_bytes())
                    .map(|c| c.fingerprint());
                prop_assert_eq!(got.ok(), want.ok());
            }
        }

        proptest! {
            // RSA-OAEP with a 4096-bit key: a few cases say enough.
            #![proptest_config(ProptestConfig::with_cases(16))]
            #[test]
            fn sealed_values_unseal_to_the_plaintext(
                plaintext in proptest::collection::vec(any::<u8>(), 0..300),
                scope in prop_oneof![Just(Scope::Strict), Just(Scope::NamespaceWide), Just(Scope::ClusterWide)],
            ) {
                let cert = Certificate::from_pem(CERT.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let text = seal_value(&mut rand::rngs::OsRng, &cert, scope, "todo", "app", &plaintext)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let bytes = base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_default();
                prop_assert_eq!(unseal_bytes(&key, &scope.label("todo", "app"), &bytes), Some(plaintext));
            }
        }
    }
}
