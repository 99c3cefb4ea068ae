//! Where sealed values go: the namespace, the Helm release and the Secret name they are bound
//! to, from the flags and Helm's environment, checked as Kubernetes names before anything is
//! sealed; and the target a sealed file records, which wins over defaults but not over
//! flags that disagree with it.

use std::path::Path;

use crate::chart::ObjectNames;
use crate::names::{self, NameKind};
use crate::seal::Scope;

use super::SecretsError;
use super::args::TargetArgs;
use super::error::FileMismatch;
use super::files::SealedFile;

/// The Secret name the chart renders by default: `<fullname>-secrets`.
pub fn default_secret_name(release: &str) -> String {
    ObjectNames::for_release(release).default_secret()
}

/// Where the values go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `-n`, then `HELM_NAMESPACE`, then `default`.
    pub namespace: String,
    /// `--release`.
    pub release: String,
    /// `--secret-name` or `<fullname>-secrets`.
    pub secret_name: String,
}

fn helm_namespace() -> Option<String> {
    std::env::var("HELM_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
}

impl Target {
    /// From the flags and `HELM_NAMESPACE`, with every name checked.
    pub fn from_args(args: &TargetArgs) -> Result<Self, SecretsError> {
        let namespace = args
            .namespace
            .clone()
            .or_else(helm_namespace)
            .unwrap_or_else(|| "default".into());
        names::check(NameKind::Namespace, &namespace)?;
        names::check(NameKind::Release, &args.release)?;
        let secret_name = match &args.secret_name {
            Some(name) => {
                names::check(NameKind::Secret, name)?;
                name.clone()
            }
            None => default_secret_name(&args.release),
        };
        names::check(NameKind::Secret, &secret_name)?;
        Ok(Target {
            namespace,
            release: args.release.clone(),
            secret_name,
        })
    }

    /// The target `file` was sealed for: its recorded namespace, release and Secret name win
    /// over the defaults; a namespace or Secret name given explicitly that disagrees with a
    /// scope-bound file is an error (the values could not be unsealed there).
    pub fn for_file(
        args: &TargetArgs,
        file: &SealedFile,
        path: &Path,
    ) -> Result<Self, SecretsError> {
        let mut target = Target::from_args(args)?;
        let explicit_ns = args.namespace.is_some() || helm_namespace().is_some();
        if let Some(ns) = &file.namespace
            && ns != &target.namespace
            && file.scope != Scope::ClusterWide
        {
            if explicit_ns {
                return Err(SecretsError::Mismatch {
                    path: path.to_path_buf(),
                    what: FileMismatch::Namespace {
                        sealed: ns.clone(),
                        wanted: target.namespace,
                    },
                    namespace: ns.clone(),
                });
            }
            names::check(NameKind::Namespace, ns)?;
            target.namespace = ns.clone();
        }
        if let Some(release) = &file.release
            && names::check(NameKind::Release, release).is_ok()
        {
            target.release = release.clone();
        }
        if !file.name.is_empty() {
            if let Some(wanted) = args.secret_name.as_ref().filter(|n| **n != file.name) {
                return Err(SecretsError::Mismatch {
                    path: path.to_path_buf(),
                    what: FileMismatch::SecretName {
                        sealed: file.name.clone(),
                        wanted: wanted.clone(),
                    },
                    namespace: target.namespace.clone(),
                });
            }
            names::check(NameKind::Secret, &file.name)?;
            target.secret_name = file.name.clone();
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(namespace: Option<&str>, release: &str, secret: Option<&str>) -> TargetArgs {
        TargetArgs {
            namespace: namespace.map(str::to_owned),
            release: release.into(),
            secret_name: secret.map(str::to_owned),
        }
    }

    #[test]
    fn default_secret_name_follows_the_chart() {
        assert_eq!(default_secret_name("todo"), "todo-todo-chatbot-secrets");
    }

    #[test]
    fn names_are_checked_before_anything_is_sealed() {
        assert!(matches!(
            Target::from_args(&args(Some("Bad_NS"), "todo", None)),
            Err(SecretsError::Name(_))
        ));
        assert!(matches!(
            Target::from_args(&args(Some("todo"), "Todo", None)),
            Err(SecretsError::Name(_))
        ));
        assert!(matches!(
            Target::from_args(&args(Some("todo"), "todo", Some("a_b"))),
            Err(SecretsError::Name(_))
        ));
        let t = Target::from_args(&args(Some("todo"), "web", None)).unwrap();
        assert_eq!(t.secret_name, "web-todo-chatbot-secrets");
    }

    fn file(namespace: &str, scope: Scope) -> SealedFile {
        SealedFile {
            provider: None,
            name: "s".into(),
            scope,
            fingerprint: String::new(),
            encrypted: Default::default(),
            namespace: Some(namespace.into()),
            release: Some("rel".into()),
        }
    }

    #[test]
    fn the_file_decides_unless_a_flag_disagrees() {
        let for_file = |ns: Option<&str>, secret: Option<&str>, scope| {
            Target::for_file(
                &args(ns, "todo", secret),
                &file("prod", scope),
                Path::new("f"),
            )
        };
        // HELM_NAMESPACE may be set by the environment running the tests.
        if helm_namespace().is_none() {
            let t = for_file(None, None, Scope::Strict).unwrap();
            let got = (
                t.namespace.as_str(),
                t.release.as_str(),
                t.secret_name.as_str(),
            );
            assert_eq!(got, ("prod", "rel", "s"));
        }
        let mismatch = |r: Result<Target, SecretsError>| match r {
            Err(SecretsError::Mismatch { what, .. }) => Some(what),
            _ => None,
        };
        assert!(matches!(
            mismatch(for_file(Some("dev"), None, Scope::Strict)),
            Some(FileMismatch::Namespace { .. })
        ));
        let wide = for_file(Some("dev"), None, Scope::ClusterWide).unwrap();
        assert_eq!(wide.namespace, "dev");
        assert!(matches!(
            mismatch(for_file(None, Some("other"), Scope::Strict)),
            Some(FileMismatch::SecretName { .. })
        ));
    }
}
