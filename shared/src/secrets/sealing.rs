//! Sealing gathered values for a target, and the checks before new values join an existing
//! sealed file (same scope, a place its values can be unsealed, the same certificate).

use std::collections::BTreeMap;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::SecretsError;
use super::error::FileMismatch;
use super::files::SealedFile;
use super::target::Target;
use crate::seal::{self, Certificate, Misfit, Scope};

/// Seal every value for `target` under `scope`; returns key → `encryptedData` text.
pub fn seal_all(
    cert: &Certificate,
    scope: Scope,
    target: &Target,
    values: &BTreeMap<String, SecretString>,
) -> Result<BTreeMap<String, String>, SecretsError> {
    let mut rng = rand::rngs::OsRng;
    values
        .iter()
        .map(|(k, v)| {
            let sealed = seal::seal_value(
                &mut rng,
                cert,
                scope,
                &target.namespace,
                &target.secret_name,
                v.expose_secret().as_bytes(),
            )?;
            Ok((k.clone(), sealed))
        })
        .collect()
}

/// The mismatch of a [`Misfit`].
pub fn mismatch(misfit: Misfit) -> FileMismatch {
    match misfit {
        Misfit::Namespace { sealed, target, .. } => FileMismatch::Namespace {
            sealed,
            wanted: target,
        },
        Misfit::Name { sealed, target } => FileMismatch::SecretName {
            sealed,
            wanted: target,
        },
    }
}

/// Whether values sealed now for `target` under `scope` with `cert` can join `old`: the
/// same scope, a target its values can be unsealed at, the same certificate (else `rotate`
/// first: one file, one key).
pub fn check_mergeable(
    old: &SealedFile,
    path: &Path,
    target: &Target,
    scope: Scope,
    cert: &Certificate,
) -> Result<(), SecretsError> {
    let refuse = |what| SecretsError::Mismatch {
        path: path.to_path_buf(),
        what,
        namespace: old
            .namespace
            .clone()
            .unwrap_or_else(|| target.namespace.clone()),
    };
    if old.scope != scope {
        return Err(refuse(FileMismatch::Scope {
            sealed: old.scope,
            wanted: scope,
        }));
    }
    scope
        .admits(
            old.namespace.as_deref(),
            &old.name,
            &target.namespace,
            &target.secret_name,
        )
        .map_err(|m| refuse(mismatch(m)))?;
    if !old.fingerprint.is_empty() && !old.fingerprint.eq_ignore_ascii_case(&cert.fingerprint()) {
        return Err(refuse(FileMismatch::Certificate {
            sealed: old.fingerprint.clone(),
            current: cert.fingerprint(),
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::UserError;

    #[test]
    fn merge_is_refused_when_the_certificate_changed() {
        let cert = Certificate::from_pem(include_bytes!("testdata/TEST-ONLY-cert.pem")).unwrap();
        let target = Target {
            namespace: "todo".into(),
            release: "todo".into(),
            secret_name: "s".into(),
        };
        let old = SealedFile {
            provider: None,
            name: "s".into(),
            scope: Scope::Strict,
            fingerprint: "00".repeat(32),
            encrypted: BTreeMap::new(),
            namespace: Some("todo".into()),
            release: None,
        };
        let err = check_mergeable(&old, Path::new("f"), &target, Scope::Strict, &cert).unwrap_err();
        assert!(err.hint().unwrap().contains("rotate"));
        let same = SealedFile {
            fingerprint: cert.fingerprint(),
            ..old.clone()
        };
        assert!(check_mergeable(&same, Path::new("f"), &target, Scope::Strict, &cert).is_ok());
        let other_ns = Target {
            namespace: "prod".into(),
            ..target.clone()
        };
        assert!(check_mergeable(&same, Path::new("f"), &other_ns, Scope::Strict, &cert).is_err());
        assert!(matches!(
            check_mergeable(&same, Path::new("f"), &target, Scope::ClusterWide, &cert),
            Err(SecretsError::Mismatch {
                what: FileMismatch::Scope { .. },
                ..
            })
        ));
    }
}
