//! The emulated sealed-secrets controller: an RSA-4096 sealing key (cached across runs so a
//! sandbox starts fast) with a self-signed certificate, stored in a `kubernetes.io/tls`
//! Secret in kube-system, and the unsealing of `bitnami.com/v1alpha1` SealedSecrets into
//! Secrets with a `Synced` condition, in the wire format of bitnami-labs/sealed-secrets.

use std::path::PathBuf;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::events::{Level, Source};
use super::{SEALED_NS, controller_uid, meta, owner_ref};
use crate::objects;
use crate::resources::rt;
use crate::state::{State, now};
use crate::store::Key;

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
                    "namespace": SEALED_NS,
                    "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}
                },
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": STANDARD.encode(key.cert_pem.as_bytes()), "tls.key": STANDARD.encode(key.key_pem.as_bytes())}
            });
            if let Err(e) = objects::create(&state, rt("v1/secrets"), SEALED_NS, secret, false) {
                tracing::warn!("storing the sealing key failed: {}", e.message);
            }
        }
        Err(e) => {
            tracing::error!("sealed-secrets controller: {e}");
            state.sim().sealing_error = Some(e);
        }
    });
}

/// The OAEP label for a SealedSecret's scope.
pub fn scope_label(annotations: Option<&Value>, namespace: &str, name: &str) -> String {
    let flag = |k: &str| annotations.and_then(|a| a.get(k)).and_then(Value::as_str) == Some("true");
    if flag("sealedsecrets.bitnami.com/cluster-wide") {
        String::new()
    } else if flag("sealedsecrets.bitnami.com/namespace-wide") {
        namespace.to_owned()
    } else {
        format!("{namespace}/{name}")
    }
}

/// Decrypt one `encryptedData` value.
pub fn unseal_value(key: &RsaPrivateKey, label: &str, ciphertext_b64: &str) -> Option<Vec<u8>> {
    let text = ciphertext_b64.trim();
    let data = STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .ok()?;
    if data.len() < 2 {
        return None;
    }
    let len = u16::from_be_bytes([data[0], data[1]]) as usize;
    if data.len() < 2 + len {
        return None;
    }
    let session = key
        .decrypt(Oaep::new_with_label::<Sha256, _>(label), &data[2..2 + len])
        .ok()?;
    let cipher = Aes256Gcm::new_from_slice(&session).ok()?;
    cipher
        .decrypt(Nonce::from_slice(&[0u8; 12]), &data[2 + len..])
        .ok()
}

/// Encrypt a value like kubeseal (for tests).
pub fn seal_value(public: &RsaPublicKey, label: &str, plaintext: &[u8]) -> Result<String, String> {
    let mut rng = rand::thread_rng();
    let session: [u8; 32] = rand::random();
    let rsa_ct = public
        .encrypt(&mut rng, Oaep::new_with_label::<Sha256, _>(label), &session)
        .map_err(|e| e.to_string())?;
    let cipher = Aes256Gcm::new_from_slice(&session).map_err(|e| e.to_string())?;
    let aes_ct = cipher
        .encrypt(Nonce::from_slice(&[0u8; 12]), plaintext)
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(2 + rsa_ct.len() + aes_ct.len());
    out.extend_from_slice(&(rsa_ct.len() as u16).to_be_bytes());
    out.extend_from_slice(&rsa_ct);
    out.extend_from_slice(&aes_ct);
    Ok(STANDARD.encode(out))
}

/// Decrypt every value of a SealedSecret, or name the first key that fails.
pub fn unseal_all(key: &RsaPrivateKey, ss: &Value) -> Result<Map<String, Value>, String> {
    let ns = meta(ss, "namespace");
    let name = meta(ss, "name");
    let label = scope_label(ss.pointer("/metadata/annotations"), ns, name);
    let mut data = Map::new();
    for (k, v) in ss
        .pointer("/spec/encryptedData")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let plain = v
            .as_str()
            .and_then(|c| unseal_value(key, &label, c))
            .ok_or_else(|| format!("no key could decrypt secret ({k})"))?;
        data.insert(k.clone(), json!(STANDARD.encode(plain)));
    }
    Ok(data)
}

fn set_status(state: &State, ss: &Value, ok: bool, reason: &str, message: &str) {
    let ts = now();
    let generation = ss
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let status_str = if ok { "True" } else { "False" };
    let prev = ss
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some("Synced"))
        })
        .cloned();
    let same = prev
        .as_ref()
        .is_some_and(|c| c.get("status").and_then(Value::as_str) == Some(status_str));
    let lt = if same {
        prev.as_ref()
            .and_then(|c| c.get("lastTransitionTime"))
            .cloned()
            .unwrap_or(json!(ts))
    } else {
        json!(ts)
    };
    let mut cond = json!({"type": "Synced", "status": status_str, "lastUpdateTime": ts, "lastTransitionTime": lt});
    if !ok {
        cond["reason"] = json!(reason);
        cond["message"] = json!(message);
    }
    let uid = meta(ss, "uid").to_owned();
    state.store.modify(
        &Key::new(
            rt("bitnami.com/v1alpha1/sealedsecrets"),
            meta(ss, "namespace"),
            meta(ss, "name"),
        ),
        |o| {
            if o.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid.as_str()) {
                return false;
            }
            o["status"] = json!({"conditions": [cond], "observedGeneration": generation});
            true
        },
    );
}

/// Unseal SealedSecrets that are new, changed, or whose Secret changed.
pub fn reconcile(state: &State) {
    let Some(key) = state.sim().sealing.clone() else {
        return;
    };
    let (list, _) = state.store.list("bitnami.com/v1alpha1/sealedsecrets", None);
    if list.is_empty() {
        return;
    }
    for ss in &list {
        let uid = meta(ss, "uid").to_owned();
        let ns = meta(ss, "namespace");
        let name = meta(ss, "name");
        let generation = ss
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let secret_key = Key::new(rt("v1/secrets"), ns, name);
        let existing = state.store.get(&secret_key);
        let existing_rv = existing
            .as_ref()
            .map(|s| meta(s, "resourceVersion").to_owned())
            .unwrap_or_else(|| "-".into());
        if state.sim().unsealed.get(&uid) == Some(&(generation, existing_rv.clone())) {
            continue;
        }
        let src = Source {
            object: ss,
            field_path: None,
            component: "sealed-secrets-controller",
        };
        if let Some(s) = &existing {
            let managed = controller_uid(s) == Some(uid.as_str())
                || s.pointer("/metadata/annotations")
                    .and_then(|a| a.get("sealedsecrets.bitnami.com/managed"))
                    .and_then(Value::as_str)
                    == Some("true");
            if !managed {
                let msg =
                    format!("Resource {name:?} already exists and is not managed by SealedSecret");
                set_status(state, ss, false, "ErrUpdateFailed", &msg);
                state
                    .sim()
                    .events
                    .emit(state, &src, Level::Warning, "ErrUpdateFailed", &msg);
                state.sim().unsealed.insert(uid, (generation, existing_rv));
                continue;
            }
        }
        let data = match unseal_all(&key.private, ss) {
            Ok(d) => d,
            Err(msg) => {
                set_status(state, ss, false, "ErrUnsealFailed", &msg);
                state.sim().events.emit(
                    state,
                    &src,
                    Level::Warning,
                    "ErrUnsealFailed",
                    &format!("Failed to unseal: {msg}"),
                );
                state.sim().unsealed.insert(uid, (generation, existing_rv));
                continue;
            }
        };
        let template = ss
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let labels = template.pointer("/metadata/labels").cloned();
        let annotations = template.pointer("/metadata/annotations").cloned();
        let ty = template
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .unwrap_or("Opaque")
            .to_owned();
        let written = match existing {
            None => {
                let mut metadata =
                    json!({"name": name, "namespace": ns, "ownerReferences": [owner_ref(ss)]});
                if let Some(l) = &labels {
                    metadata["labels"] = l.clone();
                }
                if let Some(a) = &annotations {
                    metadata["annotations"] = a.clone();
                }
                let secret = json!({"metadata": metadata, "type": ty, "data": data});
                objects::create(state, rt("v1/secrets"), ns, secret, false).ok()
            }
            Some(_) => {
                let owner = owner_ref(ss);
                state.store.modify(&secret_key, |o| {
                    o["data"] = Value::Object(data);
                    o["type"] = json!(ty);
                    if let Some(l) = &labels {
                        o["metadata"]["labels"] = l.clone();
                    }
                    if let Some(a) = &annotations {
                        o["metadata"]["annotations"] = a.clone();
                    }
                    o["metadata"]["ownerReferences"] = json!([owner]);
                    true
                });
                state.store.get(&secret_key)
            }
        };
        match written {
            Some(secret) => {
                set_status(state, ss, true, "", "");
                state.sim().events.emit(
                    state,
                    &src,
                    Level::Normal,
                    "Unsealed",
                    "SealedSecret unsealed successfully",
                );
                state.sim().unsealed.insert(
                    uid,
                    (generation, meta(&secret, "resourceVersion").to_owned()),
                );
            }
            None => {
                set_status(
                    state,
                    ss,
                    false,
                    "ErrUpdateFailed",
                    &format!("failed to create Secret {name:?}"),
                );
                state.sim().unsealed.insert(uid, (generation, existing_rv));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> RsaPrivateKey {
        RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap()
    }

    #[test]
    fn unseal_round_trip_for_every_scope() {
        let key = test_key();
        let public = RsaPublicKey::from(&key);
        for (annotations, label) in [
            (json!({}), "todo/todo-secrets"),
            (
                json!({"sealedsecrets.bitnami.com/namespace-wide": "true"}),
                "todo",
            ),
            (
                json!({"sealedsecrets.bitnami.com/cluster-wide": "true"}),
                "",
            ),
        ] {
            let ct = seal_value(&public, label, b"postgresql://u:p@h/db").unwrap();
            let ss = json!({"metadata": {"name": "todo-secrets", "namespace": "todo", "annotations": annotations}, "spec": {"encryptedData": {"DATABASE_URL": ct}}});
            let data = unseal_all(&key, &ss).unwrap();
            assert_eq!(
                data["DATABASE_URL"],
                json!(STANDARD.encode("postgresql://u:p@h/db"))
            );
        }
    }

    #[test]
    fn strict_scope_rejects_a_renamed_secret() {
        let key = test_key();
        let ct = seal_value(&RsaPublicKey::from(&key), "todo/todo-secrets", b"v").unwrap();
        let ss = json!({"metadata": {"name": "other", "namespace": "todo"}, "spec": {"encryptedData": {"K": ct}}});
        assert_eq!(
            unseal_all(&key, &ss).unwrap_err(),
            "no key could decrypt secret (K)"
        );
    }

    #[test]
    fn certificate_is_issued_for_the_key() {
        let key = make_key(test_key()).unwrap();
        assert!(key.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    }
}
