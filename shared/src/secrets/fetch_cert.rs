//! `fetch-cert`: the controller's current certificate (what kubeseal `--fetch-cert`
//! prints), or with `--all` every active one, read from the controller's key Secrets (the
//! backup of those Secrets is what restores the controller; see docs/secrets.md).

use super::SecretsError;
use super::args::{CertFormat, FetchCertArgs};
use super::cert::{self, CertSource};
use super::controller::{Controller, current_first};
use super::{Session, connect_controller};
use crate::seal::Certificate;

/// One certificate, for output. Holds no secret (certificates are public).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertInfo {
    /// SHA-256 of the DER, hex (what sealed files record).
    pub fingerprint: String,
    /// The subject.
    pub subject: String,
    /// Validity start (RFC 3339).
    pub not_before: String,
    /// Validity end (RFC 3339).
    pub not_after: String,
    /// RSA modulus size.
    pub bits: usize,
    /// Whether the controller seals with it now.
    pub current: bool,
    /// The key Secret it was read from (`--all`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The PEM text.
    pub pem: String,
}

impl CertInfo {
    fn new(cert: &Certificate, pem: &str, current: bool, secret: Option<String>) -> Self {
        let mut pem = pem.trim_end().to_owned();
        pem.push('\n');
        CertInfo {
            fingerprint: cert.fingerprint(),
            subject: cert.subject.clone(),
            not_before: crate::seal::format_time(cert.not_before),
            not_after: cert.not_after_text(),
            bits: cert.key_bits(),
            current,
            secret,
            pem,
        }
    }

    /// `sha256 … · RSA 4096 bits · valid until …`, for stderr.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "sha256 {} · RSA {} bits · valid until {}",
            self.fingerprint, self.bits, self.not_after
        );
        if let Some(secret) = &self.secret {
            line += &format!(" · Secret {secret}");
        }
        if self.current {
            line += " · current";
        }
        line
    }
}

/// What `fetch-cert` produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FetchCertOutcome {
    /// How to render this on stdout.
    #[serde(skip)]
    pub output: CertFormat,
    /// The certificates: the one the controller serves first, then the others newest first.
    pub certificates: Vec<CertInfo>,
}

impl FetchCertOutcome {
    /// The PEM blocks, one after another.
    pub fn render_pem(&self) -> String {
        self.certificates.iter().map(|c| c.pem.as_str()).collect()
    }
}

/// `fetch-cert`.
pub async fn fetch_cert(
    args: &FetchCertArgs,
    s: &Session,
) -> Result<FetchCertOutcome, SecretsError> {
    let controller = Controller::from_args(&args.controller)?;
    let source = CertSource::from_flag(args.cert.as_deref(), &controller)?;
    let cluster = match source.needs_cluster() {
        true => Some(connect_controller(&args.cluster, None, &controller, &s.deadline).await?),
        false => None,
    };
    let (current, pem) = cert::load(&source, cluster.as_ref()).await?;
    let certificates = match (&cluster, args.all) {
        (Some(cluster), true) => {
            let mut keys = controller
                .active_certificates(cluster)
                .await
                .map_err(|e| SecretsError::controller(e, &controller, cluster))?;
            let now = current.fingerprint();
            current_first(&mut keys, &now);
            if !keys.iter().any(|k| k.certificate.fingerprint() == now) {
                s.ui.warn("the controller's current certificate is not among its key Secrets (restart it after restoring keys)");
            }
            keys.iter()
                .map(|k| {
                    CertInfo::new(
                        &k.certificate,
                        &k.pem,
                        k.certificate.fingerprint() == now,
                        Some(k.secret.clone()),
                    )
                })
                .collect()
        }
        _ => vec![CertInfo::new(&current, &pem, source.needs_cluster(), None)],
    };
    for c in &certificates {
        s.ui.note(&c.summary());
    }
    Ok(FetchCertOutcome {
        output: args.output,
        certificates,
    })
}
