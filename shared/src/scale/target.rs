//! What to scale: parsing `frontend|backend|all|<deployment>` and the replica count, and
//! the pure part of resolving a component to a Deployment of a todo-chatbot release.

use k8s_openapi::api::apps::v1::Deployment;

use super::ScaleError;
use crate::chart::{
    CHART_NAME, Component, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME, ObjectNames,
};

/// The TARGET argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One component of the release.
    Component(Component),
    /// Both components of the release.
    All,
    /// A Deployment by name (any Deployment in the namespace).
    Deployment(String),
}

impl Target {
    /// Parse TARGET. Component names win over Deployment names; a Deployment literally
    /// named `frontend` can be given as `deployment/frontend`.
    pub fn parse(text: &str) -> Result<Target, ScaleError> {
        let text = text.trim();
        let bad = || ScaleError::InvalidTarget(text.to_owned());
        match text {
            "" => Err(bad()),
            "frontend" => Ok(Target::Component(Component::Frontend)),
            "backend" => Ok(Target::Component(Component::Backend)),
            "all" => Ok(Target::All),
            _ => {
                let name = ["deployment/", "deployments/", "deploy/", "deployment.apps/"]
                    .iter()
                    .find_map(|p| text.strip_prefix(p))
                    .unwrap_or(text);
                if is_dns_subdomain(name) {
                    Ok(Target::Deployment(name.to_owned()))
                } else {
                    Err(bad())
                }
            }
        }
    }

    /// The components this target names (empty for a Deployment name).
    pub fn components(&self) -> Vec<Component> {
        match self {
            Target::Component(c) => vec![*c],
            Target::All => vec![Component::Frontend, Component::Backend],
            Target::Deployment(_) => vec![],
        }
    }
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Validate the replica count from the positional N and `--replicas`. Exactly one must be
/// given (or both, equal); it must be a whole number from 0 to 2^31-1.
pub fn parse_replicas(positional: Option<&str>, flag: Option<&str>) -> Result<i32, ScaleError> {
    let parse = |text: &str| -> Result<i32, ScaleError> {
        let t = text.trim();
        match t.parse::<i64>() {
            Ok(n) if n < 0 => Err(ScaleError::InvalidReplicas(format!("{t} is negative"))),
            Ok(n) => i32::try_from(n)
                .map_err(|_| ScaleError::InvalidReplicas(format!("{t} is too large"))),
            Err(_) => Err(ScaleError::InvalidReplicas(format!(
                "{t:?} is not a whole number"
            ))),
        }
    };
    match (
        positional.map(parse).transpose()?,
        flag.map(parse).transpose()?,
    ) {
        (Some(a), Some(b)) if a != b => Err(ScaleError::InvalidReplicas(format!(
            "N is {a} but --replicas is {b}; give one of them"
        ))),
        (Some(n), _) | (None, Some(n)) => Ok(n),
        (None, None) => Err(ScaleError::MissingReplicas),
    }
}

pub use crate::release::releases_of;

/// The Deployment of `component` in `release`: by labels first, then by the name
/// `<fullname>-<component>`. `None` when neither matches.
pub fn find_component<'a>(
    deployments: &'a [Deployment],
    release: &str,
    component: Component,
) -> Option<&'a Deployment> {
    deployments
        .iter()
        .find(|d| {
            label(d, LABEL_INSTANCE) == Some(release)
                && label(d, LABEL_COMPONENT) == Some(component.name())
                && label(d, LABEL_NAME).is_none_or(|n| n == CHART_NAME)
        })
        .or_else(|| {
            let name = ObjectNames::for_release(release).workload(component);
            deployments
                .iter()
                .find(|d| d.metadata.name.as_deref() == Some(name.as_str()))
        })
}

/// The value of a label on an object.
pub fn label<'a>(d: &'a Deployment, key: &str) -> Option<&'a str> {
    d.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

/// For a TARGET that names nothing: the component word (`frontend`, `backend`, `all`) or
/// Deployment name of the namespace within two edits of it, the closest first.
pub fn suggest(typed: &str, deployments: &[Deployment]) -> Option<String> {
    let words = ["frontend", "backend", "all"].into_iter().chain(
        deployments
            .iter()
            .filter_map(|d| d.metadata.name.as_deref()),
    );
    crate::complete::closest(typed, words).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn a_mistyped_target_gets_the_closest_component_or_deployment() {
        let listed = [
            deployment("todo-todo-chatbot-backend", &[]),
            deployment("redis", &[]),
        ];
        assert_eq!(suggest("backnd", &listed).as_deref(), Some("backend"));
        assert_eq!(suggest("frotnend", &listed).as_deref(), Some("frontend"));
        assert_eq!(suggest("rediss", &listed).as_deref(), Some("redis"));
        assert_eq!(suggest("postgres", &listed), None);
    }

    fn deployment(name: &str, labels: &[(&str, &str)]) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn chart_deployment(release: &str, component: &str) -> Deployment {
        deployment(
            &format!("{}-{component}", crate::chart::fullname(release, None)),
            &[
                (LABEL_NAME, CHART_NAME),
                (LABEL_INSTANCE, release),
                (LABEL_COMPONENT, component),
            ],
        )
    }

    #[test]
    fn target_parses_components_all_and_names() {
        assert_eq!(
            Target::parse("frontend").unwrap(),
            Target::Component(Component::Frontend)
        );
        assert_eq!(
            Target::parse("backend").unwrap(),
            Target::Component(Component::Backend)
        );
        assert_eq!(Target::parse("all").unwrap(), Target::All);
        assert_eq!(
            Target::parse("web-1").unwrap(),
            Target::Deployment("web-1".into())
        );
        assert_eq!(
            Target::parse("deployment/frontend").unwrap(),
            Target::Deployment("frontend".into())
        );
        assert_eq!(
            Target::parse("deploy/api").unwrap(),
            Target::Deployment("api".into())
        );
    }

    #[test]
    fn target_rejects_invalid_names() {
        for bad in ["", "Web", "web_1", "-web", "web-", "a b", "deployment/"] {
            assert!(
                matches!(Target::parse(bad), Err(ScaleError::InvalidTarget(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn all_names_both_components() {
        assert_eq!(
            Target::All.components(),
            vec![Component::Frontend, Component::Backend]
        );
        assert!(Target::Deployment("x".into()).components().is_empty());
    }

    #[test]
    fn replicas_accepts_positional_or_flag() {
        assert_eq!(parse_replicas(Some("3"), None).unwrap(), 3);
        assert_eq!(parse_replicas(None, Some("0")).unwrap(), 0);
        assert_eq!(parse_replicas(Some("2"), Some("2")).unwrap(), 2);
    }

    #[test]
    fn replicas_rejects_negative_garbage_and_conflicts() {
        assert!(
            matches!(parse_replicas(Some("-1"), None), Err(ScaleError::InvalidReplicas(m)) if m.contains("negative"))
        );
        assert!(
            matches!(parse_replicas(Some("two"), None), Err(ScaleError::InvalidReplicas(m)) if m.contains("whole number"))
        );
        assert!(matches!(
            parse_replicas(Some("1.5"), None),
            Err(ScaleError::InvalidReplicas(_))
        ));
        assert!(
            matches!(parse_replicas(Some("99999999999"), None), Err(ScaleError::InvalidReplicas(m)) if m.contains("too large"))
        );
        assert!(matches!(
            parse_replicas(Some("1"), Some("2")),
            Err(ScaleError::InvalidReplicas(_))
        ));
        assert!(matches!(
            parse_replicas(None, None),
            Err(ScaleError::MissingReplicas)
        ));
    }

    #[test]
    fn releases_are_found_from_deployment_labels() {
        let ds = [
            chart_deployment("todo", "frontend"),
            chart_deployment("todo", "backend"),
            chart_deployment("staging", "backend"),
            deployment("other", &[(LABEL_INSTANCE, "x")]),
        ];
        assert_eq!(
            releases_of(&ds),
            vec!["staging".to_string(), "todo".to_string()]
        );
    }

    #[test]
    fn component_is_found_by_labels_then_by_name() {
        let ds = [
            chart_deployment("todo", "frontend"),
            chart_deployment("staging", "frontend"),
        ];
        let d = find_component(&ds, "staging", Component::Frontend).unwrap();
        assert_eq!(
            d.metadata.name.as_deref(),
            Some("staging-todo-chatbot-frontend")
        );
        assert!(find_component(&ds, "todo", Component::Backend).is_none());
        let unlabelled = [deployment("todo-todo-chatbot-backend", &[])];
        assert!(find_component(&unlabelled, "todo", Component::Backend).is_some());
    }
}
