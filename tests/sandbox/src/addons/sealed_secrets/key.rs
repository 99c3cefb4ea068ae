//! The controller's sealing key: RSA-4096, generated in the background at start (and cached
//! across runs under `$XDG_CACHE_HOME/todo-sandbox/` so a sandbox starts fast), with the
//! self-signed certificate the controller serves, stored like the controller stores it: a
//! `kubernetes.io/tls` Secret in kube-system labelled as the active key.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::json;

use super::NAMESPACE;
use crate::apiserver::registry;
use crate::resources::Resource;
use crate::state::State;

/// The controller's key and certificate.
pub struct SealingKey {
    /// The private key.
    pub private: RsaPrivateKey,
    /// The self-signed certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#1 PEM (as the controller stores it).
    pub key_pem: String,
}

/// Where the generated key is cached.
pub fn cache_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("todo-sandbox").join("sealed-secrets-key.pem"))
}

fn load_or_generate(bits: usize) -> Result<RsaPrivateKey, String> {
    let path = cache_path();
    if let Some(p) = &path
        && let Ok(text) = std::fs::read_to_string(p)
        && let Ok(key) = RsaPrivateKey::from_pkcs8_pem(&text)
        && key.size() * 8 == bits
    {
        return Ok(key);
    }
    let mut rng = rand::thread_rng();
    let key = RsaPrivateKey::new(&mut rng, bits)
        .map_err(|e| format!("generating the sealing key: {e}"))?;
    if let Some(p) = &path
        && let (Some(dir), Ok(pem)) = (p.parent(), key.to_pkcs8_pem(LineEnding::LF))
    {
        let tmp = dir.join(format!(".sealed-secrets-key.{}.tmp", std::process::id()));
        let ok =
            std::fs::create_dir_all(dir).is_ok() && std::fs::write(&tmp, pem.as_bytes()).is_ok();
        if ok {
            let _ = std::fs::rename(&tmp, p);
        } else {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(key)
}

/// Build the certificate (CN `sealed-secret`, valid 10 years) for a key.
pub fn make_key(private: RsaPrivateKey) -> Result<SealingKey, String> {
    use chrono::Datelike;
    let pkcs8 = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?;
    let kp =
        rcgen::KeyPair::from_pem(&pkcs8).map_err(|e| format!("loading the sealing key: {e}"))?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "sealed-secret");
    params.distinguished_name = dn;
    let today = chrono::Utc::now().date_naive();
    let (y, m, d) = (today.year(), today.month() as u8, today.day().min(28) as u8);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    params.not_after = rcgen::date_time_ymd(y + 10, m, d);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&rand::random::<[u8; 16]>()));
    let cert = params
        .self_signed(&kp)
        .map_err(|e| format!("signing the certificate: {e}"))?;
    let key_pem = private
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| e.to_string())?
        .to_string();
    Ok(SealingKey {
        private,
        cert_pem: cert.pem(),
        key_pem,
    })
}

/// Load or generate the key in the background, then store it in kube-system.
pub fn start_key_generation(state: Arc<State>) {
    std::thread::spawn(move || match load_or_generate(4096).and_then(make_key) {
        Ok(key) => {
            let key = Arc::new(key);
            state.sim().sealing = Some(key.clone());
            let secret = json!({
                "metadata": {
                    "generateName": "sealed-secrets-key",
                    "namespace": NAMESPACE,
                    "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}
                },
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": STANDARD.encode(key.cert_pem.as_bytes()), "tls.key": STANDARD.encode(key.key_pem.as_bytes())}
            });
            if let Err(e) = registry::create(&state, Resource::Secret, NAMESPACE, secret, false) {
                tracing::warn!("storing the sealing key failed: {}", e.message);
            }
        }
        Err(e) => {
            tracing::error!("sealed-secrets controller: {e}");
            state.sim().sealing_error = Some(e);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_is_issued_for_the_key() {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let key = make_key(private).unwrap();
        assert!(key.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    }
}
