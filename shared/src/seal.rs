//! The Bitnami sealed-secrets format, with no I/O: parse the controller's certificate and
//! seal one value for a scope.
//!
//! Layout of one sealed value (what the controller's `HybridDecrypt` expects):
//! a fresh random 32-byte AES-256-GCM session key per value, a zero 12-byte nonce, no AAD;
//! the session key wrapped with RSA-OAEP (SHA-256, MGF1-SHA-256) under the controller's
//! public key with a label that binds the value to where it may be unsealed (strict:
//! `namespace/name`, namespace-wide: `namespace`, cluster-wide: empty); the bytes are
//! `u16 BE len(rsa) || rsa ciphertext || gcm ciphertext+tag`, base64 standard with padding.
//! The plaintext is the raw value bytes.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use rand::{CryptoRng, RngCore};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPublicKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The smallest RSA modulus we seal with. The controller generates 4096-bit keys.
pub const MIN_RSA_BITS: usize = 2048;

/// Where a sealed value may be unsealed; it decides the RSA-OAEP label.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Only as the Secret `name` in `namespace` (label `namespace/name`).
    #[default]
    Strict,
    /// As any Secret name in `namespace` (label `namespace`).
    NamespaceWide,
    /// Anywhere in the cluster (empty label).
    ClusterWide,
}

impl Scope {
    /// The RSA-OAEP label for a Secret `name` in `namespace` under this scope.
    pub fn label(self, namespace: &str, name: &str) -> String {
        match self {
            Scope::Strict => format!("{namespace}/{name}"),
            Scope::NamespaceWide => namespace.to_owned(),
            Scope::ClusterWide => String::new(),
        }
    }

    /// The name used in values files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            other => Err(format!(
                "unknown scope {other:?} (strict, namespace-wide, cluster-wide)"
            )),
        }
    }
}

/// How a place to unseal differs from where a value was sealed for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misfit {
    /// Another namespace than the strict or namespace-wide value was sealed for.
    #[error("sealed for namespace {sealed:?} (scope {scope}), not {target:?}")]
    Namespace {
        /// The scope (strict or namespace-wide).
        scope: Scope,
        /// The namespace it was sealed for.
        sealed: String,
        /// The namespace it would be unsealed in.
        target: String,
    },
    /// Another Secret name than the strict value was sealed for.
    #[error("sealed for the Secret {sealed:?} (scope strict), not {target:?}")]
    Name {
        /// The name it was sealed for.
        sealed: String,
        /// The name it would be unsealed as.
        target: String,
    },
}

impl Scope {
    /// Whether a value sealed for `sealed_namespace`/`sealed_name` under this scope can be
    /// unsealed as the Secret `name` in `namespace` (what the controller's label check
    /// decides). An unknown (`None` / empty) sealed namespace or name is not compared.
    pub fn admits(
        self,
        sealed_namespace: Option<&str>,
        sealed_name: &str,
        namespace: &str,
        name: &str,
    ) -> Result<(), Misfit> {
        if self == Scope::ClusterWide {
            return Ok(());
        }
        if let Some(sealed) = sealed_namespace.filter(|s| !s.is_empty() && *s != namespace) {
            return Err(Misfit::Namespace {
                scope: self,
                sealed: sealed.to_owned(),
                target: namespace.to_owned(),
            });
        }
        if self == Scope::Strict && !sealed_name.is_empty() && sealed_name != name {
            return Err(Misfit::Name {
                sealed: sealed_name.to_owned(),
                target: name.to_owned(),
            });
        }
        Ok(())
    }
}

/// The first 16 hex digits of a certificate fingerprint, for messages.
pub fn short(fingerprint: &str) -> &str {
    fingerprint.get(..16).unwrap_or(fingerprint)
}

/// Which of the controller's keys sealed a value, as far as the recorded certificate
/// fingerprint (`secrets.sealed.certificateFingerprint`) tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SealedWith {
    /// No fingerprint recorded (sealed by kubeseal or by hand): nothing to compare.
    NotRecorded,
    /// The controller's current key (the newest, the one it seals with).
    Current,
    /// An older key the controller still holds: the values decrypt; `rotate` re-encrypts
    /// them with the current key.
    OlderKey,
    /// None of the certificates given: another controller, a key it no longer holds, or an
    /// older key not among the certificates given (only the current one is public; ask the
    /// controller's `/v1/verify`, or pass every active certificate).
    Unknown,
}

/// Compare `recorded` with the controller's certificates, newest first (`certs[0]` is the
/// current one).
pub fn sealed_with(recorded: &str, certs: &[Certificate]) -> SealedWith {
    if recorded.is_empty() {
        return SealedWith::NotRecorded;
    }
    match certs
        .iter()
        .position(|c| c.fingerprint().eq_ignore_ascii_case(recorded))
    {
        Some(0) => SealedWith::Current,
        Some(_) => SealedWith::OlderKey,
        None => SealedWith::Unknown,
    }
}

/// The annotation the chart puts on its SealedSecret with the recorded certificate
/// fingerprint, so that the installed object tells which key sealed it.
pub const FINGERPRINT_ANNOTATION: &str = "todo-chatbot.dev/certificate-fingerprint";

/// Why a certificate cannot be used for sealing. Display is the reason shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not PEM at all, or no `CERTIFICATE` block in it.
    #[error("not a PEM certificate: {0}")]
    NotPem(String),
    /// The PEM block does not hold a valid X.509 certificate.
    #[error("malformed X.509 certificate: {0}")]
    Malformed(String),
    /// The certificate's key is not RSA.
    #[error("the certificate's public key is not RSA (sealed-secrets uses RSA-OAEP)")]
    NotRsa,
    /// The RSA key is too small to be a sealed-secrets key.
    #[error("the certificate's RSA key has {0} bits; at least {MIN_RSA_BITS} are required")]
    WeakKey(usize),
    /// The certificate's validity ended.
    #[error("the certificate expired on {0}")]
    Expired(String),
    /// The certificate's validity has not started.
    #[error("the certificate is not valid before {0}")]
    NotYetValid(String),
}

/// A sealing certificate: its DER, RSA public key and validity.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    public_key: RsaPublicKey,
    /// Validity start, Unix seconds.
    pub not_before: i64,
    /// Validity end, Unix seconds.
    pub not_after: i64,
    /// The subject, RFC 4514 text.
    pub subject: String,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("fingerprint", &self.fingerprint())
            .field("not_after", &self.not_after)
            .finish()
    }
}

impl Certificate {
    /// Parse the first `CERTIFICATE` block of a PEM text. Does not check the dates; see
    /// [`Certificate::check_valid_at`].
    pub fn from_pem(text: &[u8]) -> Result<Self, CertError> {
        let blocks = pem::parse_many(text).map_err(|e| CertError::NotPem(e.to_string()))?;
        let block = blocks
            .into_iter()
            .find(|b| b.tag() == "CERTIFICATE")
            .ok_or_else(|| CertError::NotPem("no CERTIFICATE block found".into()))?;
        Self::from_der(block.into_contents())
    }

    /// Parse a DER-encoded X.509 certificate.
    pub fn from_der(der: Vec<u8>) -> Result<Self, CertError> {
        let (rest, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| CertError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertError::Malformed(
                "trailing bytes after the certificate".into(),
            ));
        }
        let spki = cert.public_key();
        if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
            return Err(CertError::NotRsa);
        }
        let public_key = RsaPublicKey::from_public_key_der(spki.raw)
            .map_err(|e| CertError::Malformed(e.to_string()))?;
        let bits = public_key.n().bits();
        if bits < MIN_RSA_BITS {
            return Err(CertError::WeakKey(bits));
        }
        let validity = cert.validity();
        let not_before = validity.not_before.timestamp();
        let not_after = validity.not_after.timestamp();
        let subject = cert.subject().to_string();
        drop(cert);
        Ok(Certificate {
            der,
            public_key,
            not_before,
            not_after,
            subject,
        })
    }

    /// Refuse a certificate outside its validity at `now` (Unix seconds).
    pub fn check_valid_at(&self, now: i64) -> Result<(), CertError> {
        if now > self.not_after {
            return Err(CertError::Expired(format_time(self.not_after)));
        }
        if now < self.not_before {
            return Err(CertError::NotYetValid(format_time(self.not_before)));
        }
        Ok(())
    }

    /// Refuse a certificate outside its validity now.
    pub fn check_valid_now(&self) -> Result<(), CertError> {
        self.check_valid_at(chrono::Utc::now().timestamp())
    }

    /// SHA-256 of the certificate DER, lowercase hex (what `certificateFingerprint` holds).
    pub fn fingerprint(&self) -> String {
        hex(&Sha256::digest(&self.der))
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The RSA public key values are sealed with.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public_key
    }

    /// The RSA modulus size in bits.
    pub fn key_bits(&self) -> usize {
        self.public_key.n().bits()
    }

    /// The validity end as RFC 3339 text.
    pub fn not_after_text(&self) -> String {
        format_time(self.not_after)
    }
}

/// Unix seconds as RFC 3339 UTC text (the number itself when out of range).
pub fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| unix.to_string())
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Sealing failed inside the crypto library (it does not for a valid key and a value that fits).
#[derive(Debug, thiserror::Error)]
#[error("sealing failed: {0}")]
pub struct SealError(String);

/// Seal `plaintext` for `label` under `key`; returns the raw sealed bytes.
pub fn seal_bytes<R: RngCore + CryptoRng>(
    rng: &mut R,
    key: &RsaPublicKey,
    label: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let mut session = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(session.as_mut_slice());
    let wrapped = key
        .encrypt(
            rng,
            Oaep::new_with_label::<Sha256, _>(label),
            session.as_slice(),
        )
        .map_err(|e| SealError(e.to_string()))?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(session.as_slice()));
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&[0u8; 12]),
            Payload {
                msg: plaintext,
                aad: &[],
            },
        )
        .map_err(|e| SealError(e.to_string()))?;
    let len =
        u16::try_from(wrapped.len()).map_err(|_| SealError("RSA ciphertext too long".into()))?;
    let mut out = Vec::with_capacity(2 + wrapped.len() + sealed.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Seal `plaintext` for a Secret `name` in `namespace` under `scope`; returns the base64
/// text that goes into `encryptedData`.
pub fn seal_value<R: RngCore + CryptoRng>(
    rng: &mut R,
    cert: &Certificate,
    scope: Scope,
    namespace: &str,
    name: &str,
    plaintext: &[u8],
) -> Result<String, SealError> {
    let bytes = seal_bytes(
        rng,
        cert.public_key(),
        &scope.label(namespace, name),
        plaintext,
    )?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Reverse of [`seal_bytes`], for tests: what the controller does with its private key.
#[cfg(test)]
pub(crate) fn unseal_bytes(
    key: &rsa::RsaPrivateKey,
    label: &str,
    sealed: &[u8],
) -> Option<Vec<u8>> {
    let len = usize::from(u16::from_be_bytes([*sealed.first()?, *sealed.get(1)?]));
    let wrapped = sealed.get(2..2 + len)?;
    let body = sealed.get(2 + len..)?;
    let session = key
        .decrypt(Oaep::new_with_label::<Sha256, _>(label), wrapped)
        .ok()?;
    let cipher = Aes256Gcm::new_from_slice(&session).ok()?;
    cipher.decrypt(Nonce::from_slice(&[0u8; 12]), body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::DecodePrivateKey;

    pub(crate) const CERT: &str = include_str!("secrets/testdata/TEST-ONLY-cert.pem");
    const EXPIRED: &str = include_str!("secrets/testdata/TEST-ONLY-expired-cert.pem");
    const KEY: &str = include_str!("secrets/testdata/TEST-ONLY-key.pem");

    fn key() -> rsa::RsaPrivateKey {
        rsa::RsaPrivateKey::from_pkcs8_pem(KEY).unwrap()
    }

    fn unseal_b64(key: &rsa::RsaPrivateKey, label: &str, text: &str) -> Option<Vec<u8>> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?;
        unseal_bytes(key, label, &bytes)
    }

    /// The shared vectors (tests/vectors/sealed-secrets.json): ciphertexts made by a third
    /// implementation and checked with the controller's own HybridDecrypt.
    mod vectors {
        use super::*;

        const VECTORS: &str = include_str!("../../tests/vectors/sealed-secrets.json");

        #[derive(serde::Deserialize)]
        pub struct Vectors {
            pub private_key_pem: String,
            pub certificate_pem: String,
            pub entries: Vec<Entry>,
            pub negative: Vec<Entry>,
        }

        #[derive(serde::Deserialize)]
        pub struct Entry {
            #[serde(default)]
            pub why: String,
            pub scope: Scope,
            pub namespace: String,
            pub name: String,
            #[serde(default)]
            pub plaintext_b64: String,
            pub ciphertext: String,
        }

        pub fn load() -> (Vectors, rsa::RsaPrivateKey) {
            let v: Vectors = serde_json::from_str(VECTORS).unwrap();
            let key = rsa::RsaPrivateKey::from_pkcs8_pem(&v.private_key_pem).unwrap();
            (v, key)
        }

        /// The ciphertext's bytes as Go's decoder reads them (CR and LF skipped).
        pub fn bytes(text: &str) -> Option<Vec<u8>> {
            let clean: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            base64::engine::general_purpose::STANDARD.decode(clean).ok()
        }
    }

    #[test]
    fn the_shared_vectors_unseal_as_this_crate_reads_the_format() {
        let (v, key) = vectors::load();
        for e in &v.entries {
            let plain = base64::engine::general_purpose::STANDARD
                .decode(&e.plaintext_b64)
                .unwrap();
            let label = e.scope.label(&e.namespace, &e.name);
            let sealed = vectors::bytes(&e.ciphertext).unwrap();
            assert_eq!(
                unseal_bytes(&key, &label, &sealed),
                Some(plain),
                "{}/{}",
                e.namespace,
                e.name
            );
        }
        for e in &v.negative {
            let label = e.scope.label(&e.namespace, &e.name);
            let opened = vectors::bytes(&e.ciphertext).and_then(|b| unseal_bytes(&key, &label, &b));
            assert_eq!(opened, None, "{}", e.why);
        }
    }

    #[test]
    fn values_sealed_here_unseal_under_the_shared_vector_key() {
        let (v, key) = vectors::load();
        let cert = Certificate::from_pem(v.certificate_pem.as_bytes()).unwrap();
        for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
            let text = seal_value(
                &mut rand::rngs::OsRng,
                &cert,
                scope,
                "todo",
                "s",
                b"\x00binary\xff",
            )
            .unwrap();
            assert_eq!(
                unseal_b64(&key, &scope.label("todo", "s"), &text).as_deref(),
                Some(&b"\x00binary\xff"[..])
            );
        }
    }

    #[test]
    fn scope_labels_follow_sealed_secrets() {
        assert_eq!(
            Scope::Strict.label("todo", "todo-todo-chatbot-secrets"),
            "todo/todo-todo-chatbot-secrets"
        );
        assert_eq!(Scope::NamespaceWide.label("todo", "x"), "todo");
        assert_eq!(Scope::ClusterWide.label("todo", "x"), "");
        assert_eq!(
            "namespace-wide".parse::<Scope>().unwrap(),
            Scope::NamespaceWide
        );
        assert!("global".parse::<Scope>().is_err());
    }

    #[test]
    fn certificate_parses_and_fingerprints_der() {
        let cert = Certificate::from_pem(CERT.as_bytes()).unwrap();
        assert_eq!(cert.key_bits(), 2048);
        let der = pem::parse(CERT).unwrap().into_contents();
        assert_eq!(cert.fingerprint(), hex(&Sha256::digest(&der)));
        assert_eq!(cert.fingerprint().len(), 64);
        assert!(cert.check_valid_now().is_ok());
    }

    #[test]
    fn expired_certificate_is_refused_with_date() {
        let cert = Certificate::from_pem(EXPIRED.as_bytes()).unwrap();
        let err = cert.check_valid_now().unwrap_err();
        assert_eq!(err, CertError::Expired("2001-01-01T00:00:00Z".into()));
    }

    #[test]
    fn not_yet_valid_certificate_is_refused() {
        let cert = Certificate::from_pem(CERT.as_bytes()).unwrap();
        assert!(matches!(
            cert.check_valid_at(0),
            Err(CertError::NotYetValid(_))
        ));
    }

    #[test]
    fn malformed_certificates_are_refused() {
        assert!(matches!(
            Certificate::from_pem(b"hello"),
            Err(CertError::NotPem(_))
        ));
        let junk = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            Certificate::from_pem(junk.as_bytes()),
            Err(CertError::Malformed(_))
        ));
        assert!(matches!(
            Certificate::from_pem(KEY.as_bytes()),
            Err(CertError::NotPem(_))
        ));
    }

    #[test]
    fn sealed_value_has_published_layout() {
        let cert = Certificate::from_pem(CERT.as_bytes()).unwrap();
        let text = seal_value(
            &mut rand::rngs::OsRng,
            &cert,
            Scope::Strict,
            "todo",
            "s",
            b"hunter2",
        )
        .unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&text)
            .unwrap();
        assert_eq!(u16::from_be_bytes([bytes[0], bytes[1]]), 256);
        assert_eq!(bytes.len(), 2 + 256 + 7 + 16);
    }

    #[test]
    fn each_scope_unseals_only_under_its_label() {
        let cert = Certificate::from_pem(CERT.as_bytes()).unwrap();
        for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
            let text = seal_value(
                &mut rand::rngs::OsRng,
                &cert,
                scope,
                "todo",
                "app-secrets",
                b"v4lue",
            )
            .unwrap();
            assert_eq!(
                unseal_b64(&key(), &scope.label("todo", "app-secrets"), &text).as_deref(),
                Some(&b"v4lue"[..])
            );
            if scope != Scope::ClusterWide {
                assert_eq!(
                    unseal_b64(&key(), &scope.label("other", "app-secrets"), &text),
                    None
                );
            }
            if scope == Scope::Strict {
                assert_eq!(unseal_b64(&key(), "todo/other-secrets", &text), None);
            }
        }
    }

    #[test]
    fn scopes_admit_only_where_the_controller_would_unseal() {
        assert!(Scope::Strict.admits(Some("todo"), "s", "todo", "s").is_ok());
        assert!(matches!(
            Scope::Strict.admits(Some("todo"), "s", "prod", "s"),
            Err(Misfit::Namespace { .. })
        ));
        assert!(matches!(
            Scope::Strict.admits(Some("todo"), "s", "todo", "other"),
            Err(Misfit::Name { .. })
        ));
        assert!(
            Scope::NamespaceWide
                .admits(Some("todo"), "s", "todo", "other")
                .is_ok()
        );
        assert!(
            Scope::NamespaceWide
                .admits(Some("todo"), "s", "prod", "s")
                .is_err()
        );
        assert!(
            Scope::ClusterWide
                .admits(Some("todo"), "s", "prod", "x")
                .is_ok()
        );
        assert!(Scope::Strict.admits(None, "", "prod", "x").is_ok());
    }

    #[test]
    fn the_recorded_fingerprint_tells_which_key_sealed() {
        let cert = Certificate::from_pem(CERT.as_bytes()).unwrap();
        let old = Certificate::from_pem(EXPIRED.as_bytes()).unwrap();
        let certs = [cert.clone(), old.clone()];
        assert_eq!(sealed_with("", &certs), SealedWith::NotRecorded);
        assert_eq!(
            sealed_with(&cert.fingerprint(), &certs),
            SealedWith::Current
        );
        assert_eq!(
            sealed_with(&old.fingerprint().to_uppercase(), &certs),
            SealedWith::OlderKey
        );
        assert_eq!(sealed_with(&"00".repeat(32), &certs), SealedWith::Unknown);
        assert_eq!(
            sealed_with(&old.fingerprint(), &certs[..1]),
            SealedWith::Unknown
        );
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let cert = Certificate::from_pem(CERT.as_bytes()).unwrap();
        let a = seal_value(
            &mut rand::rngs::OsRng,
            &cert,
            Scope::Strict,
            "n",
            "s",
            b"same",
        )
        .unwrap();
        let b = seal_value(
            &mut rand::rngs::OsRng,
            &cert,
            Scope::Strict,
            "n",
            "s",
            b"same",
        )
        .unwrap();
        assert_ne!(a, b);
    }
}
