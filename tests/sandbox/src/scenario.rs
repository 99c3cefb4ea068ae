//! The scenario file: the state a sandbox starts with and the faults it injects.
//! Every key is optional; see `Scenario::default()` for the defaults.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::faults::{ErrorFault, Faults};

/// Pod lifecycle timings, in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Timings {
    /// Creation → scheduled on the node.
    pub schedule_ms: u64,
    /// Scheduled → containers running.
    pub start_ms: u64,
    /// Running → readiness probe passes.
    pub ready_ms: u64,
    /// First crash-loop back-off (doubles, capped at 8x).
    pub crash_backoff_ms: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            schedule_ms: 20,
            start_ms: 100,
            ready_ms: 150,
            crash_backoff_ms: 500,
        }
    }
}

/// The simulated node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeSpec {
    /// Node name.
    pub name: String,
    /// CPU capacity/allocatable (a Kubernetes quantity).
    pub cpu: String,
    /// Memory capacity/allocatable.
    pub memory: String,
    /// Pod capacity.
    pub pods: String,
    /// The node's image store (what `minikube image ls` shows).
    pub images: Vec<String>,
}

impl Default for NodeSpec {
    fn default() -> Self {
        NodeSpec {
            name: "minikube".into(),
            cpu: "2".into(),
            memory: "3920Mi".into(),
            pods: "110".into(),
            images: vec![
                "todo-chatbot-backend:1.0.0".into(),
                "todo-chatbot-frontend:1.0.0".into(),
                "curlimages/curl:8.10.1".into(),
            ],
        }
    }
}

/// Simulated behaviour of a container image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppKind {
    /// The Todo FastAPI backend: `/health` 200 only with a reachable DATABASE_URL.
    TodoBackend,
    /// The Todo Next.js frontend: `/api/health` 200.
    TodoFrontend,
    /// Runs to completion: GETs the URL in its args through the simulated Services.
    HttpCheck,
    /// Starts, then exits 1 (CrashLoopBackOff).
    Crashloop,
    /// Starts, then is OOMKilled (exit 137).
    Oom,
    /// Runs and is ready; any HTTP path answers 200.
    Generic,
}

/// An image → behaviour mapping. `image` is `repo:tag` (exact) or `repo` (any tag).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppSpec {
    /// Image reference or repository.
    pub image: String,
    /// Behaviour.
    pub kind: AppKind,
}

/// A scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Scenario {
    /// Pod timings.
    pub timings: Timings,
    /// The node.
    pub node: NodeSpec,
    /// Images a registry would serve (pullable with IfNotPresent/Always).
    pub registry: Vec<String>,
    /// Image behaviours (added to the defaults; earlier entries win).
    pub apps: Vec<AppSpec>,
    /// Reachable PostgreSQL databases, `host/dbname`.
    pub databases: Vec<String>,
    /// Faults.
    pub faults: Faults,
    /// Whether the kubeconfig marks the context as minikube's.
    pub minikube: bool,
    /// Objects created at start.
    pub objects: Vec<Value>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            timings: Timings::default(),
            node: NodeSpec::default(),
            registry: Vec::new(),
            apps: Vec::new(),
            databases: vec!["ep-demo-123456.us-east-2.aws.neon.tech/todo".into()],
            faults: Faults::default(),
            minikube: true,
            objects: Vec::new(),
        }
    }
}

impl Scenario {
    /// Parse a scenario from YAML (or JSON).
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Scenario::default());
        }
        serde_saphyr::from_str(text).map_err(|e| format!("invalid scenario: {e}"))
    }

    /// The behaviour of an image: the scenario's entries, then the defaults, else generic.
    pub fn app_for(&self, image: &str) -> AppKind {
        let repo = image_repository(image);
        let defaults = [
            ("todo-chatbot-backend", AppKind::TodoBackend),
            ("todo-chatbot-frontend", AppKind::TodoFrontend),
            ("curlimages/curl", AppKind::HttpCheck),
        ];
        self.apps
            .iter()
            .find(|a| a.image == image)
            .or_else(|| self.apps.iter().find(|a| a.image == repo))
            .map(|a| a.kind)
            .or_else(|| defaults.iter().find(|(r, _)| *r == repo).map(|(_, k)| *k))
            .unwrap_or(AppKind::Generic)
    }

    /// Whether the node's image store holds `image` (`repo` alone means `repo:latest`).
    pub fn node_has_image(&self, image: &str) -> bool {
        let norm = normalize_image(image);
        self.node.images.iter().any(|i| normalize_image(i) == norm)
    }

    /// Whether a registry serves `image`.
    pub fn registry_has_image(&self, image: &str) -> bool {
        let norm = normalize_image(image);
        self.registry.iter().any(|i| normalize_image(i) == norm)
    }
}

/// `repo:tag` with `:latest` added when no tag or digest is given; `docker.io/library/`
/// prefixes removed.
pub fn normalize_image(image: &str) -> String {
    let image = image
        .trim_start_matches("docker.io/")
        .trim_start_matches("library/");
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || last.contains('@') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

/// The repository part of an image reference.
pub fn image_repository(image: &str) -> &str {
    let image = image
        .trim_start_matches("docker.io/")
        .trim_start_matches("library/");
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

/// The tag of an image reference, if it has one (`app:v1@sha256:...` → `v1`; `app` and
/// `app@sha256:...` → None).
pub fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, tag)| tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_map_todo_images() {
        let s = Scenario::default();
        assert_eq!(
            s.app_for("todo-chatbot-backend:1.0.0"),
            AppKind::TodoBackend
        );
        assert_eq!(s.app_for("nginx:1.27"), AppKind::Generic);
    }

    #[test]
    fn scenario_entries_override_by_exact_image_first() {
        let s = Scenario::from_yaml(
            "apps:\n- {image: 'todo-chatbot-backend:crash', kind: crashloop}\n",
        )
        .unwrap();
        assert_eq!(s.app_for("todo-chatbot-backend:crash"), AppKind::Crashloop);
        assert_eq!(
            s.app_for("todo-chatbot-backend:1.0.0"),
            AppKind::TodoBackend
        );
    }

    #[test]
    fn image_names_normalize() {
        assert_eq!(normalize_image("nginx"), "nginx:latest");
        assert_eq!(normalize_image("docker.io/library/nginx:1.2"), "nginx:1.2");
        assert_eq!(
            image_repository("localhost:5000/app:v1"),
            "localhost:5000/app"
        );
        assert_eq!(image_tag("localhost:5000/app"), None);
        assert_eq!(image_tag("app:v1"), Some("v1"));
        assert_eq!(image_tag("app:v1@sha256:abc"), Some("v1"));
        assert_eq!(image_tag("app@sha256:abc"), None);
    }
}
