//! The scenario file: the state a sandbox starts with and the faults it injects.
//! Every key is optional; see `Scenario::default()` for the defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::apiserver::auth::Grant;
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
    /// How long an image pull takes (the container waits in ContainerCreating meanwhile).
    pub pull_ms: u64,
    /// How long an app takes to exit after SIGTERM (when it does not ignore it).
    pub stop_ms: u64,
    /// Real time per second of a grace period (`terminationGracePeriodSeconds`, a preStop
    /// sleep): 1.0 waits the full 30 s of a SIGTERM-ignoring app, 0.01 waits 300 ms.
    pub grace_period_scale: f64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            schedule_ms: 20,
            start_ms: 100,
            ready_ms: 150,
            crash_backoff_ms: 500,
            pull_ms: 0,
            stop_ms: 50,
            grace_period_scale: 1.0,
        }
    }
}

/// One node of several (`nodes:`): what differs from `node:` (every field defaults to it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeOverride {
    /// Node name (default: the platform's name for the node's position).
    pub name: Option<String>,
    /// CPU capacity/allocatable.
    pub cpu: Option<String>,
    /// Memory capacity/allocatable.
    pub memory: Option<String>,
    /// Pod capacity.
    pub pods: Option<String>,
    /// The node's image store.
    pub images: Option<Vec<String>>,
    /// Labels added to the platform's.
    pub labels: BTreeMap<String, String>,
}

/// How a pull of the images a rule matches fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PullFailure {
    /// The registry has the repository but not this tag or digest (permanent).
    NotFound,
    /// The repository does not exist or needs credentials (permanent).
    Denied,
    /// The registry does not answer (transient).
    Timeout,
}

/// A pull error for the images a rule matches (`repo:tag`, `repo@digest`, or `repo`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullErrorSpec {
    /// Image reference or repository.
    pub image: String,
    /// How the pull fails.
    pub error: PullFailure,
}

/// Alpha features of Kubernetes 1.33 the sandbox can turn on (all off, as in 1.33).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureGates {
    /// `status.terminatingReplicas` of ReplicaSets and Deployments.
    #[serde(rename = "DeploymentReplicaSetTerminatingReplicas")]
    pub terminating_replicas: bool,
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
    /// The Todo FastAPI backend: `/health` 200 only with a reachable DATABASE_URL; as an
    /// init container, its database migration (fails when the database is unreachable).
    TodoBackend,
    /// The Todo Next.js frontend: `/api/health` 200.
    TodoFrontend,
    /// Runs to completion: GETs the URL in its args through the simulated Services.
    HttpCheck,
    /// Starts, then exits 1 (or `exitCode`): CrashLoopBackOff, or Init:CrashLoopBackOff.
    Crashloop,
    /// Starts, then is OOMKilled (exit 137).
    Oom,
    /// Runs and is ready; any HTTP path answers 200.
    Generic,
    /// Runs to completion and exits 0 (or `exitCode`), like a job or an init container.
    Complete,
}

/// What the app does on SIGTERM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnSigterm {
    /// Shuts down cleanly (exit 0) after `timings.stopMs`.
    #[default]
    Exit,
    /// Ignores it (a shell or node as PID 1): killed at the end of the grace period (137).
    Ignore,
}

/// How the containers a rule matches behave: by image (`repo:tag` exactly, or `repo` for any
/// tag) and/or by container name; an empty field matches anything. The most specific rule
/// wins: image and container, then container, then image.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppSpec {
    /// Image reference or repository ("" for any).
    pub image: String,
    /// Container name ("" for any), e.g. `migrate` for an init container.
    pub container: String,
    /// Behaviour (default: the image's own).
    pub kind: Option<AppKind>,
    /// Exit code of a crash or completion (crashloop: 1, complete: 0).
    pub exit_code: Option<i32>,
    /// The lines it logs when it starts (instead of its kind's).
    pub logs: Option<Vec<String>>,
    /// How long it runs before a crash or completion (default `timings.startMs`).
    pub run_ms: Option<u64>,
    /// What it does on SIGTERM.
    pub sigterm: OnSigterm,
}

/// A scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Scenario {
    /// Pod timings.
    pub timings: Timings,
    /// The node.
    pub node: NodeSpec,
    /// The local cluster played (default: the sandbox's own minikube flavour).
    pub platform: Option<crate::platform::PlatformSpec>,
    /// Several nodes: one entry per node, each defaulting to `node`.
    pub nodes: Vec<NodeOverride>,
    /// Images a registry would serve (pullable with IfNotPresent/Always), `repo:tag`,
    /// `repo:tag@sha256:...` or `repo@sha256:...`.
    pub registry: Vec<String>,
    /// How pulls of particular images fail (others fail as not found when the registry has
    /// the repository, else as denied).
    pub pull_errors: Vec<PullErrorSpec>,
    /// Alpha feature gates.
    pub feature_gates: FeatureGates,
    /// Image behaviours (added to the defaults; earlier entries win).
    pub apps: Vec<AppSpec>,
    /// Reachable PostgreSQL databases, `host/dbname`.
    pub databases: Vec<String>,
    /// Faults.
    pub faults: Faults,
    /// Whether the kubeconfig marks the context as minikube's (without a `platform`; with
    /// one, the platform decides).
    pub minikube: bool,
    /// Objects created at start.
    pub objects: Vec<Value>,
    /// RBAC beyond the defaults: `viewer` grants on top of Kubernetes' `view` role.
    pub access: Access,
}

/// The users' permissions beyond the defaults (the admin is cluster-admin; the viewer has the
/// `view` role).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Access {
    /// Extra rules bound to the viewer user.
    pub viewer: Vec<Grant>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            timings: Timings::default(),
            node: NodeSpec::default(),
            platform: None,
            nodes: Vec::new(),
            registry: Vec::new(),
            pull_errors: Vec::new(),
            feature_gates: FeatureGates::default(),
            apps: Vec::new(),
            databases: vec!["ep-demo-123456.us-east-2.aws.neon.tech/todo".into()],
            faults: Faults::default(),
            minikube: true,
            objects: Vec::new(),
            access: Access::default(),
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

    /// A copy for one controller pass: without the seed objects and the faults, which the
    /// kubelet does not read.
    pub fn for_pass(&self) -> Scenario {
        let mut copy = self.clone();
        copy.objects = Vec::new();
        copy.faults = Faults::default();
        copy
    }

    /// The behaviour of an image: the scenario's entries, then the defaults, else generic.
    pub fn app_for(&self, image: &str) -> AppKind {
        self.app_rule(image, "")
            .and_then(|r| r.kind)
            .unwrap_or_else(|| default_app(image))
    }

    /// The most specific scenario rule for container `container` running `image`.
    pub fn app_rule(&self, image: &str, container: &str) -> Option<&AppSpec> {
        let repo = image_repository(image);
        let image_ok = |r: &AppSpec| r.image == image || r.image == repo;
        let named = |r: &AppSpec| !container.is_empty() && r.container == container;
        let rules = &self.apps;
        rules
            .iter()
            .find(|r| named(r) && image_ok(r))
            .or_else(|| rules.iter().find(|r| named(r) && r.image.is_empty()))
            .or_else(|| {
                rules
                    .iter()
                    .find(|r| r.container.is_empty() && r.image == image)
            })
            .or_else(|| {
                rules
                    .iter()
                    .find(|r| r.container.is_empty() && r.image == repo)
            })
            .or_else(|| {
                rules
                    .iter()
                    .find(|r| r.container.is_empty() && r.image.is_empty())
            })
    }

    /// The spec of node `i`: its `nodes` entry over `node`.
    pub fn node_spec(&self, i: usize) -> NodeSpec {
        let base = &self.node;
        let Some(o) = self.nodes.get(i) else {
            return base.clone();
        };
        NodeSpec {
            name: o.name.clone().unwrap_or_else(|| base.name.clone()),
            cpu: o.cpu.clone().unwrap_or_else(|| base.cpu.clone()),
            memory: o.memory.clone().unwrap_or_else(|| base.memory.clone()),
            pods: o.pods.clone().unwrap_or_else(|| base.pods.clone()),
            images: o.images.clone().unwrap_or_else(|| base.images.clone()),
        }
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

/// The behaviour of the images the sandbox knows by name.
fn default_app(image: &str) -> AppKind {
    match image_repository(image) {
        "todo-chatbot-backend" => AppKind::TodoBackend,
        "todo-chatbot-frontend" => AppKind::TodoFrontend,
        "curlimages/curl" => AppKind::HttpCheck,
        _ => AppKind::Generic,
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
    fn container_rules_win_over_image_rules() {
        let s = Scenario::from_yaml(
            "apps:\n- {image: todo-chatbot-backend, kind: oom}\n- {container: migrate, kind: crashloop, exitCode: 3, logs: [boom]}\n",
        )
        .unwrap();
        let rule = s.app_rule("todo-chatbot-backend:1.0.0", "migrate").unwrap();
        assert_eq!(
            (rule.kind, rule.exit_code),
            (Some(AppKind::Crashloop), Some(3))
        );
        assert_eq!(rule.logs.as_deref(), Some(&["boom".to_owned()][..]));
        let rule = s.app_rule("todo-chatbot-backend:1.0.0", "backend").unwrap();
        assert_eq!(rule.kind, Some(AppKind::Oom));
        assert!(s.app_rule("nginx:1", "web").is_none());
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
