//! The controller's sealing keys, as its key registry holds them: RSA-4096, the first one
//! generated in the background at start (and cached across runs under
//! `$XDG_CACHE_HOME/todo-sandbox/` so a sandbox starts fast), each with the self-signed
//! certificate the controller serves, stored like the controller stores them: a
//! `kubernetes.io/tls` Secret in kube-system labelled as an active key.
//!
//! As in the real controller: the newest key (latest certificate `notBefore`) seals, every
//! key decrypts; a renewal ([`renew`]) adds a key; a restart of the controller's pod
//! ([`reload`]) forgets the keys in memory and loads them from the key Secrets, generating a
//! new one when there is none (which is how a lost key shows, and a restored backup heals).

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
    /// The certificate's `notBefore`, Unix seconds (the controller's key order).
    pub not_before: i64,
}

/// The keys the controller holds, oldest first; the last one seals.
pub struct KeyRegistry {
    /// The keys.
    pub keys: Vec<Arc<SealingKey>>,
    /// The controller pod the keys were loaded by (a new pod reloads them).
    pub pod_uid: Option<String>,
    /// When `/v1/verify` may next be answered (its rate limit).
    pub verify_limiter: std::sync::Mutex<super::server::RateLimiter>,
}

impl KeyRegistry {
    /// A registry of `keys`, ordered as the controller orders them.
    pub fn new(mut keys: Vec<Arc<SealingKey>>, pod_uid: Option<String>) -> Self {
        // Stable: keys with the same notBefore keep their creation order.
        keys.sort_by_key(|k| k.not_before);
        KeyRegistry {
            keys,
            pod_uid,
            verify_limiter: std::sync::Mutex::new(super::server::RateLimiter::default()),
        }
    }

    /// The key that seals (the newest).
    pub fn latest(&self) -> Option<&Arc<SealingKey>> {
        self.keys.last()
    }

    /// Every private key (all of them decrypt).
    pub fn privates(&self) -> Vec<&RsaPrivateKey> {
        self.keys.iter().map(|k| &k.private).collect()
    }

    /// The same keys with `key` added as the newest.
    pub fn with(&self, key: Arc<SealingKey>) -> Self {
        let mut keys = self.keys.clone();
        keys.push(key);
        KeyRegistry::new(keys, self.pod_uid.clone())
    }
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

/// Build the certificate (CN `sealed-secret`, valid from now for 10 years) for a key.
pub fn make_key(private: RsaPrivateKey) -> Result<SealingKey, String> {
    use chrono::{Datelike, Timelike};
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
    let now = chrono::Utc::now();
    let today = now.date_naive();
    let (y, m, d) = (today.year(), today.month() as u8, today.day() as u8);
    // notBefore to the second, as the controller's certificates: it orders keys by it.
    let since_midnight = std::time::Duration::from_secs(u64::from(now.num_seconds_from_midnight()));
    params.not_before = rcgen::date_time_ymd(y, m, d) + since_midnight;
    params.not_after = rcgen::date_time_ymd(y + 10, m, d.min(28));
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
        not_before: now.timestamp(),
    })
}

/// Store `key` as the controller does: a `kubernetes.io/tls` Secret `sealed-secrets-key…`
/// in kube-system labelled active.
fn store(state: &State, key: &SealingKey) {
    let secret = json!({
        "metadata": {
            "generateName": "sealed-secrets-key",
            "namespace": NAMESPACE,
            "labels": {KEY_LABEL: "active"}
        },
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": STANDARD.encode(key.cert_pem.as_bytes()), "tls.key": STANDARD.encode(key.key_pem.as_bytes())}
    });
    if let Err(e) = registry::create(state, Resource::Secret, NAMESPACE, secret, false) {
        tracing::warn!("storing the sealing key failed: {}", e.message);
    }
}

/// The label of the controller's key Secrets.
pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";

/// Load or generate the first key in the background, then store it in kube-system.
pub fn start_key_generation(state: Arc<State>) {
    std::thread::spawn(move || match load_or_generate(4096).and_then(make_key) {
        Ok(key) => {
            let key = Arc::new(key);
            store(&state, &key);
            state.sim().sealing = Some(Arc::new(KeyRegistry::new(vec![key], None)));
        }
        Err(e) => {
            tracing::error!("sealed-secrets controller: {e}");
            state.sim().sealing_error = Some(e);
        }
    });
}

/// A key renewal (what `--key-renew-period` or the controller's renewal signal does): a new
/// key of `bits` becomes the sealing key; the old ones keep decrypting. Blocks while the key
/// is generated; returns its certificate's PEM.
pub fn renew(state: &State, bits: usize) -> Result<String, String> {
    let private = RsaPrivateKey::new(&mut rand::thread_rng(), bits)
        .map_err(|e| format!("generating the sealing key: {e}"))?;
    let key = Arc::new(make_key(private)?);
    store(state, &key);
    let mut sim = state.sim();
    let next = match &sim.sealing {
        Some(current) => current.with(key.clone()),
        None => KeyRegistry::new(vec![key.clone()], None),
    };
    sim.sealing = Some(Arc::new(next));
    Ok(key.cert_pem.clone())
}

/// The active key Secrets of kube-system, parsed (a Secret that does not parse is skipped,
/// as the controller logs and skips it).
fn keys_from_secrets(state: &State) -> Vec<Arc<SealingKey>> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let (secrets, _) = state.store.list(Resource::Secret, Some(NAMESPACE));
    let mut found: Vec<(String, Arc<SealingKey>)> = secrets
        .iter()
        .filter(|s| {
            s.pointer(&format!(
                "/metadata/labels/{}",
                KEY_LABEL.replace('/', "~1")
            ))
            .and_then(|v| v.as_str())
                == Some("active")
        })
        .filter_map(|s| {
            let field = |k: &str| {
                let b64 = s
                    .pointer(&format!("/data/{}", k.replace('/', "~1")))?
                    .as_str()?;
                String::from_utf8(STANDARD.decode(b64).ok()?).ok()
            };
            let (cert_pem, key_pem) = (field("tls.crt")?, field("tls.key")?);
            let private = RsaPrivateKey::from_pkcs1_pem(&key_pem).ok()?;
            let not_before = cert_not_before(&cert_pem)?;
            let created = crate::fields::meta(s, "creationTimestamp").to_owned();
            Some((
                created,
                Arc::new(SealingKey {
                    private,
                    cert_pem,
                    key_pem,
                    not_before,
                }),
            ))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.into_iter().map(|(_, k)| k).collect()
}

/// The `notBefore` of a PEM certificate, Unix seconds: the first UTCTime or
/// GeneralizedTime of the DER (validity comes before any other time field), read without a
/// full X.509 parser since the sandbox reads back only what it wrote.
fn cert_not_before(cert_pem: &str) -> Option<i64> {
    let der = pem::parse(cert_pem).ok()?;
    let der = der.contents();
    (0..der.len().saturating_sub(2)).find_map(|i| {
        let (tag, len) = (der[i], usize::from(der[i + 1]));
        let century = match (tag, len) {
            (0x17, 13) => "20",
            (0x18, 15) => "",
            _ => return None,
        };
        let text = std::str::from_utf8(der.get(i + 2..i + 2 + len)?).ok()?;
        let full = format!("{century}{}", text.strip_suffix('Z')?);
        let t = chrono::NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S").ok()?;
        Some(t.and_utc().timestamp())
    })
}

/// The controller's pod started (again) as `pod_uid`: load the keys from the key Secrets, as
/// the controller does on start; none there means a new key is generated (in the
/// background) and stored. Every SealedSecret is unsealed again.
pub fn reload(state: &Arc<State>, pod_uid: &str) {
    let keys = keys_from_secrets(state);
    let mut sim = state.sim();
    sim.unsealed.clear();
    if !keys.is_empty() {
        sim.sealing = Some(Arc::new(KeyRegistry::new(keys, Some(pod_uid.to_owned()))));
        return;
    }
    sim.sealing = None;
    drop(sim);
    let state = state.clone();
    let pod_uid = pod_uid.to_owned();
    std::thread::spawn(move || {
        let generated = RsaPrivateKey::new(&mut rand::thread_rng(), 4096)
            .map_err(|e| format!("generating the sealing key: {e}"))
            .and_then(make_key);
        match generated {
            Ok(key) => {
                let key = Arc::new(key);
                store(&state, &key);
                state.sim().sealing = Some(Arc::new(KeyRegistry::new(vec![key], Some(pod_uid))));
            }
            Err(e) => state.sim().sealing_error = Some(e),
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
        assert_eq!(cert_not_before(&key.cert_pem), Some(key.not_before));
    }

    #[test]
    fn the_newest_key_seals() {
        let k = |nb: i64| {
            let private = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
            Arc::new(SealingKey {
                private,
                cert_pem: nb.to_string(),
                key_pem: String::new(),
                not_before: nb,
            })
        };
        let reg = KeyRegistry::new(vec![k(20), k(10)], None);
        assert_eq!(reg.latest().unwrap().not_before, 20);
        let reg = reg.with(k(30));
        assert_eq!(reg.latest().unwrap().not_before, 30);
        assert_eq!(reg.privates().len(), 3);
    }
}
