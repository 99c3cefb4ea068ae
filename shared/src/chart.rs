//! Facts about the `todo-chatbot` chart that the plugins rely on: its name, the labels it puts
//! on every object, its two components, the names it gives objects, its secrets modes and the
//! LLM providers it knows. Everything here mirrors `charts/todo-chatbot/templates/_helpers.tpl`
//! and `values.yaml`; this module is the only place the plugins spell them out.

use std::fmt;

/// The chart's name (`Chart.yaml` `name`), also the value of [`LABEL_NAME`].
pub const CHART_NAME: &str = "todo-chatbot";

/// The chart directory in a checkout of this repository, the default for `--chart`.
pub const DEFAULT_CHART_DIR: &str = "charts/todo-chatbot";

/// The values file `helm todo-secrets init` writes by default, and the one hints name.
pub const DEFAULT_SEALED_FILE: &str = "todo-secrets.sealed.yaml";

/// `app.kubernetes.io/name`: the chart name on every object.
pub const LABEL_NAME: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/instance`: the release name on every object.
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
/// `app.kubernetes.io/component`: `frontend` or `backend` on each component's objects.
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
/// `app.kubernetes.io/part-of`: the chart name.
pub const LABEL_PART_OF: &str = "app.kubernetes.io/part-of";
/// `app.kubernetes.io/managed-by`: who manages the object (`Helm`, `helm-todo-secrets`).
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The label EndpointSlices carry to name their Service.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";

/// Names longer than this are cut, as the chart's `trunc 63` does.
const MAX_NAME: usize = 63;

/// A component of the chart.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// The FastAPI backend.
    Backend,
    /// The Next.js frontend.
    Frontend,
}

impl Component {
    /// Both components, in report order (backend first: the frontend depends on it).
    pub const ALL: [Component; 2] = [Component::Backend, Component::Frontend];

    /// `backend` / `frontend`: the label value, the values key and the object-name suffix.
    pub fn name(self) -> &'static str {
        match self {
            Component::Backend => "backend",
            Component::Frontend => "frontend",
        }
    }

    /// The component a label value or typed name means, if any.
    pub fn from_name(value: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.name() == value)
    }

    /// The chart's default container and Service port (`<component>.service.port`).
    pub fn default_port(self) -> i32 {
        match self {
            Component::Backend => 8000,
            Component::Frontend => 3000,
        }
    }

    /// The chart's default NodePort (`<component>.service.nodePort`).
    pub fn default_node_port(self) -> i32 {
        match self {
            Component::Backend => 30081,
            Component::Frontend => 30080,
        }
    }

    /// The health endpoint the chart's probes use (`<component>.probes.readinessPath`).
    pub fn health_path(self) -> &'static str {
        match self {
            Component::Backend => "/health",
            Component::Frontend => "/api/health",
        }
    }

    /// The values key of the replica count (`backend.replicaCount`).
    pub fn replica_count_key(self) -> String {
        format!("{}.replicaCount", self.name())
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The chart's full name for a release (`todo-chatbot.fullname`): `fullnameOverride` when set,
/// else the release name when it contains `todo-chatbot`, else `<release>-todo-chatbot`; at
/// most 63 characters, without a trailing `-`.
pub fn fullname(release: &str, fullname_override: Option<&str>) -> String {
    match fullname_override.filter(|o| !o.is_empty()) {
        Some(over) => truncate(over),
        None if release.contains(CHART_NAME) => truncate(release),
        None => truncate(&format!("{release}-{CHART_NAME}")),
    }
}

fn truncate(name: &str) -> String {
    let cut: String = name.chars().take(MAX_NAME).collect();
    cut.trim_end_matches('-').to_owned()
}

/// The `helm upgrade` a hint suggests for `release` in `namespace`: the chart's directory,
/// the user's Helm flags (`--kubeconfig`/`--kube-context`, empty or starting with a space),
/// the release's own values kept, plus `extra` arguments.
pub fn upgrade_command(release: &str, namespace: &str, helm_flags: &str, extra: &str) -> String {
    format!(
        "helm upgrade {} {DEFAULT_CHART_DIR} -n {}{helm_flags} --reuse-values{extra}",
        crate::cluster::shell_word(release),
        crate::cluster::shell_word(namespace),
    )
}

/// The names the chart gives a release's objects, from its full name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectNames {
    /// The full name every object name starts with.
    pub fullname: String,
}

impl ObjectNames {
    /// The names for a full name (see [`fullname`]).
    pub fn new(fullname: impl Into<String>) -> Self {
        ObjectNames {
            fullname: fullname.into(),
        }
    }

    /// The names for a release without `fullnameOverride`.
    pub fn for_release(release: &str) -> Self {
        Self::new(fullname(release, None))
    }

    /// The Deployment (and Service) of a component: `<fullname>-<component>`.
    pub fn workload(&self, c: Component) -> String {
        format!("{}-{}", self.fullname, c.name())
    }

    /// The names of the release whose Deployment of component `c` is `workload` (the
    /// inverse of [`ObjectNames::workload`]); `None` when the name does not end in `-<c>`.
    pub fn of_workload(workload: &str, c: Component) -> Option<Self> {
        workload
            .strip_suffix(c.name())
            .and_then(|w| w.strip_suffix('-'))
            .filter(|f| !f.is_empty())
            .map(Self::new)
    }

    /// The Secret the pods read unless `secrets.name`/`secrets.existingSecret` say otherwise.
    pub fn default_secret(&self) -> String {
        format!("{}-secrets", self.fullname)
    }

    /// The ConfigMap both components read.
    pub fn config_map(&self) -> String {
        format!("{}-config", self.fullname)
    }
}

/// The label selector of every object of a release.
pub fn release_selector(release: &str) -> String {
    format!("{LABEL_INSTANCE}={release},{LABEL_NAME}={CHART_NAME}")
}

/// Where the app's secrets come from (`secrets.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SecretsMode {
    /// A SealedSecret rendered from `secrets.sealed.encryptedData` (the default).
    Sealed,
    /// A Secret the user created (`secrets.existingSecret`).
    ExistingSecret,
    /// A Secret rendered from plaintext `secrets.inline` values (development only).
    Inline,
}

impl SecretsMode {
    /// The mode for a `secrets.mode` value; unset or empty means the chart's default, sealed.
    /// `None` for a value the chart's schema refuses.
    pub fn parse(value: Option<&str>) -> Option<SecretsMode> {
        match value.unwrap_or("") {
            "" | "sealed" => Some(SecretsMode::Sealed),
            "existingSecret" => Some(SecretsMode::ExistingSecret),
            "inline" => Some(SecretsMode::Inline),
            _ => None,
        }
    }

    /// The value of `secrets.mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretsMode::Sealed => "sealed",
            SecretsMode::ExistingSecret => "existingSecret",
            SecretsMode::Inline => "inline",
        }
    }
}

impl fmt::Display for SecretsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The secret keys every release needs, whatever the LLM provider.
pub const BASE_SECRET_KEYS: [&str; 2] = ["DATABASE_URL", "BETTER_AUTH_SECRET"];

/// The LLM provider the backend talks to (`llm.provider`); it decides which API key the chart
/// reads (`todo-chatbot.llmKey`).
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
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI (`OPENAI_API_KEY`), the chart's default.
    #[default]
    Openai,
    /// OpenRouter (`OPENROUTER_API_KEY`).
    Openrouter,
    /// Cohere (`COHERE_API_KEY`).
    Cohere,
}

impl Provider {
    /// Every provider, in prompt order.
    pub const ALL: [Provider; 3] = [Provider::Openai, Provider::Openrouter, Provider::Cohere];

    /// The Secret key holding this provider's API key.
    pub fn key_name(self) -> &'static str {
        match self {
            Provider::Openai => "OPENAI_API_KEY",
            Provider::Openrouter => "OPENROUTER_API_KEY",
            Provider::Cohere => "COHERE_API_KEY",
        }
    }

    /// The value of `llm.provider`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Openai => "openai",
            Provider::Openrouter => "openrouter",
            Provider::Cohere => "cohere",
        }
    }

    /// The name shown in prompts.
    pub fn title(self) -> &'static str {
        match self {
            Provider::Openai => "OpenAI",
            Provider::Openrouter => "OpenRouter",
            Provider::Cohere => "Cohere",
        }
    }

    /// Parse `openai` / `OpenAI` / ... (surrounding blanks ignored).
    pub fn parse(text: &str) -> Option<Provider> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The provider whose API key is named `key`.
    pub fn for_key(key: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.key_name() == key)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The secret keys a release with this provider needs: [`BASE_SECRET_KEYS`] and the
/// provider's API key.
pub fn required_secret_keys(provider: Provider) -> Vec<&'static str> {
    let mut keys = BASE_SECRET_KEYS.to_vec();
    keys.push(provider.key_name());
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_names_invert_to_the_full_name() {
        let names = ObjectNames::new("todo-todo-chatbot");
        for c in [Component::Frontend, Component::Backend] {
            assert_eq!(
                ObjectNames::of_workload(&names.workload(c), c),
                Some(names.clone())
            );
        }
        assert_eq!(ObjectNames::of_workload("web", Component::Backend), None);
        assert_eq!(
            ObjectNames::of_workload("xbackend", Component::Backend),
            None
        );
        assert_eq!(
            ObjectNames::of_workload("-backend", Component::Backend),
            None
        );
    }

    #[test]
    fn the_upgrade_command_keeps_values_and_quotes_names() {
        assert_eq!(
            upgrade_command("todo", "my ns", " --kube-context dev", " --set a=b"),
            "helm upgrade todo charts/todo-chatbot -n 'my ns' --kube-context dev --reuse-values --set a=b"
        );
    }

    #[test]
    fn fullname_follows_the_chart_rule() {
        assert_eq!(fullname("todo", None), "todo-todo-chatbot");
        assert_eq!(fullname("my-todo-chatbot", None), "my-todo-chatbot");
        assert_eq!(fullname("todo", Some("app")), "app");
        assert_eq!(fullname("todo", Some("")), "todo-todo-chatbot");
        assert_eq!(fullname(&"a".repeat(60), None).len(), 63);
        assert!(!fullname(&format!("{}-x", "b".repeat(49)), None).ends_with('-'));
    }

    #[test]
    fn object_names_derive_from_the_fullname() {
        let n = ObjectNames::for_release("todo");
        assert_eq!(n.workload(Component::Backend), "todo-todo-chatbot-backend");
        assert_eq!(n.default_secret(), "todo-todo-chatbot-secrets");
        assert_eq!(n.config_map(), "todo-todo-chatbot-config");
    }

    #[test]
    fn components_round_trip_their_names() {
        for c in Component::ALL {
            assert_eq!(Component::from_name(c.name()), Some(c));
        }
        assert_eq!(Component::from_name("db"), None);
    }

    #[test]
    fn secrets_mode_defaults_to_sealed_and_refuses_unknown() {
        assert_eq!(SecretsMode::parse(None), Some(SecretsMode::Sealed));
        assert_eq!(SecretsMode::parse(Some("")), Some(SecretsMode::Sealed));
        assert_eq!(
            SecretsMode::parse(Some("existingSecret")),
            Some(SecretsMode::ExistingSecret)
        );
        assert_eq!(SecretsMode::parse(Some("vault")), None);
    }

    #[test]
    fn providers_name_their_keys() {
        assert_eq!(Provider::parse(" OpenRouter "), Some(Provider::Openrouter));
        assert_eq!(Provider::for_key("COHERE_API_KEY"), Some(Provider::Cohere));
        assert_eq!(
            required_secret_keys(Provider::Cohere),
            ["DATABASE_URL", "BETTER_AUTH_SECRET", "COHERE_API_KEY"]
        );
    }
}
