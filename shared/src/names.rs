//! Kubernetes and Helm name rules, checked before a name is used (a sealed value is bound to
//! its namespace and Secret name, so a name the API server would refuse must be refused
//! before anything is sealed). Pure; the messages quote the name (names are not secret)
//! without control characters.

/// Which rule a name must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A namespace: an RFC 1123 label (63 characters at most).
    Namespace,
    /// A Service name: an RFC 1123 label.
    Service,
    /// A Secret (or SealedSecret) name: an RFC 1123 subdomain (253 characters at most).
    Secret,
    /// A Helm release name: lowercase letters, digits, `-` and `.`, 53 characters at most.
    Release,
}

impl NameKind {
    /// What the name is, for messages.
    pub fn what(self) -> &'static str {
        match self {
            NameKind::Namespace => "namespace name",
            NameKind::Service => "Service name",
            NameKind::Secret => "Secret name",
            NameKind::Release => "Helm release name",
        }
    }

    fn max_len(self) -> usize {
        match self {
            NameKind::Namespace | NameKind::Service => 63,
            NameKind::Secret => 253,
            NameKind::Release => 53,
        }
    }
}

/// Why a name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    /// The name is empty.
    #[error("it is empty")]
    Empty,
    /// Longer than the rule allows.
    #[error("it is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside `a-z`, `0-9`, `-` (and `.` where allowed).
    #[error("only lowercase letters, digits and '-'{} are allowed", if *.dots { " and '.'" } else { "" })]
    BadCharacter {
        /// Whether dots are allowed.
        dots: bool,
    },
    /// Starts or ends with something other than a letter or digit (or has an empty part
    /// between dots).
    #[error("it must start and end with a lowercase letter or digit")]
    BadEdge,
}

/// A name refused for its kind. Display: `"My_NS" is not a valid namespace name: …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is not a valid {}: {problem}", quoted(.name), .kind.what())]
pub struct NameError {
    /// The refused name.
    pub name: String,
    /// The rule it broke.
    pub kind: NameKind,
    /// How.
    #[source]
    pub problem: NameProblem,
}

fn quoted(name: &str) -> String {
    let shown: String = name.chars().take(80).collect();
    format!(
        "{:?}{}",
        crate::redact::printable(&shown),
        if name.chars().count() > 80 { "…" } else { "" }
    )
}

impl From<NameError> for crate::error::UsageError {
    /// A name given on the command line: a usage error with the rule as the hint.
    fn from(e: NameError) -> Self {
        let hint = match e.kind {
            NameKind::Release => {
                "a Helm release name: lowercase letters, digits, `-` and `.`, at most 53 (e.g. --release todo)"
            }
            NameKind::Namespace => {
                "a namespace name: lowercase letters, digits and `-`, at most 63 (e.g. -n todo)"
            }
            NameKind::Service => "a Service name: lowercase letters, digits and `-`, at most 63",
            NameKind::Secret => {
                "a Secret name: lowercase letters, digits, `-` and `.`, at most 253"
            }
        };
        crate::error::UsageError::new(e.to_string(), hint)
    }
}

/// Check the names given on the command line before they reach a request, a hint or a
/// report: the namespace, and the release when one was given.
pub fn check_target(
    namespace: &str,
    release: Option<&str>,
) -> Result<(), crate::error::UsageError> {
    check(NameKind::Namespace, namespace)?;
    if let Some(r) = release {
        check(NameKind::Release, r)?;
    }
    Ok(())
}

/// Check `name` against the rule of `kind`.
pub fn check(kind: NameKind, name: &str) -> Result<(), NameError> {
    problem(kind, name).map_or(Ok(()), |problem| {
        Err(NameError {
            name: name.to_owned(),
            kind,
            problem,
        })
    })
}

fn problem(kind: NameKind, name: &str) -> Option<NameProblem> {
    if name.is_empty() {
        return Some(NameProblem::Empty);
    }
    let len = name.chars().count();
    if len > kind.max_len() {
        return Some(NameProblem::TooLong {
            len,
            max: kind.max_len(),
        });
    }
    let dots = matches!(kind, NameKind::Secret | NameKind::Release);
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if !name.chars().all(|c| allowed(c) || (dots && c == '.')) {
        return Some(NameProblem::BadCharacter { dots });
    }
    let edge_ok = |part: &str| {
        let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        alnum(part.chars().next()) && alnum(part.chars().last())
    };
    if !name.split('.').all(edge_ok) {
        return Some(NameProblem::BadEdge);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_rfc1123_labels() {
        assert!(check(NameKind::Namespace, "todo-prod").is_ok());
        assert!(check(NameKind::Namespace, "a").is_ok());
        for bad in [
            "",
            "Todo",
            "todo_prod",
            "-todo",
            "todo-",
            "a.b",
            &"a".repeat(64),
        ] {
            assert!(check(NameKind::Namespace, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_names_are_subdomains() {
        assert!(check(NameKind::Secret, "todo-todo-chatbot-secrets").is_ok());
        assert!(check(NameKind::Secret, "app.env").is_ok());
        assert!(check(NameKind::Secret, "a..b").is_err());
        assert!(check(NameKind::Secret, &"a".repeat(254)).is_err());
    }

    #[test]
    fn release_names_follow_helm() {
        assert!(check(NameKind::Release, "my-todo-chatbot").is_ok());
        assert!(check(NameKind::Release, &"a".repeat(54)).is_err());
        assert!(check(NameKind::Release, "My").is_err());
    }

    #[test]
    fn the_message_names_the_kind_and_strips_control_characters() {
        let err = check(NameKind::Namespace, "bad\x1b[2J").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("is not a valid namespace name"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        assert!(matches!(
            err.problem,
            NameProblem::BadCharacter { dots: false }
        ));
    }
}
