//! Why a pod is unhealthy, and what to do about it. Pure: Pods in, problems out.
//!
//! [`pod_problems`] reads the waiting/terminated reasons of every container (image pulls,
//! crash loops, OOM kills, missing Secret keys) and the scheduling condition, and gives each
//! problem a hint with the command that fixes it. Log lines are fetched by the caller (see
//! [`PodProblem::wants_logs`]) and must go through [`crate::redact::redact`] before they are shown.

use std::sync::LazyLock;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use regex::Regex;

use crate::platform::Platform;

/// One problem of one container (or of the pod, for scheduling).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PodProblem {
    /// The pod name.
    pub pod: String,
    /// The container name (empty for pod-level problems such as Unschedulable).
    pub container: String,
    /// Kubernetes' reason: ImagePullBackOff, ErrImagePull, ErrImageNeverPull,
    /// CrashLoopBackOff, Error, OOMKilled, CreateContainerConfigError, Unschedulable, ...
    pub reason: String,
    /// What Kubernetes said, on one line.
    pub message: String,
    /// The next step, with a command.
    pub hint: String,
    /// The container's last log lines, redacted; filled in by the caller when wanted.
    pub log_tail: Vec<String>,
    /// The container's restart count (0 for pod-level problems).
    pub restarts: i32,
    /// Whether the container is an init container (kubectl shows its reason as
    /// `Init:REASON`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub init: bool,
}

/// When a wait stops waiting for a failure that cannot heal (`scale`, `verify --wait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailFast {
    /// A crash loop is permanent once the container restarted this many times.
    pub max_restarts: i32,
    /// An OOM kill is permanent once the container was killed this many times.
    pub max_oom_kills: i32,
}

impl Default for FailFast {
    fn default() -> Self {
        FailFast {
            max_restarts: 3,
            max_oom_kills: 2,
        }
    }
}

/// The flags every wait takes (`scale`, `verify --wait`): when to stop waiting for a failure
/// that cannot heal.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct FailFastArgs {
    /// A crash loop is a failure that cannot heal once a container restarted this many times.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..))]
    pub max_restarts: i32,
    /// Wait for the timeout even when a failure cannot heal (a missing image, a missing
    /// Secret key, a crash loop at --max-restarts).
    #[arg(long)]
    pub no_fail_fast: bool,
}

impl FailFastArgs {
    /// The policy these flags ask for; `None` with `--no-fail-fast`.
    pub fn policy(&self) -> Option<FailFast> {
        (!self.no_fail_fast).then_some(FailFast {
            max_restarts: self.max_restarts,
            ..FailFast::default()
        })
    }
}

/// What the kubelet and runtimes say when the registry answered and refused: the image or tag
/// does not exist, or access is denied. A timeout or a connection error is not among them.
const PULL_REFUSED: [&str; 8] = [
    "not found",
    "manifest unknown",
    "pull access denied",
    "repository does not exist",
    "unauthorized",
    "authentication required",
    "access denied",
    "denied:",
];

impl PodProblem {
    /// Whether waiting longer cannot fix this problem: an image the node will never get
    /// (`ErrImageNeverPull`, `InvalidImageName`, a pull the registry refused as not found or
    /// denied), a Secret, ConfigMap or key that does not exist, a crash loop that reached
    /// `policy.max_restarts`, an OOM kill repeated `policy.max_oom_kills` times. A pull in
    /// progress, a registry timeout or a probe failing during start are transient.
    pub fn is_permanent(&self, policy: &FailFast) -> bool {
        let message = self.message.to_ascii_lowercase();
        match self.reason.as_str() {
            "ErrImageNeverPull" | "InvalidImageName" => true,
            "ErrImagePull" | "ImagePullBackOff" => PULL_REFUSED.iter().any(|m| message.contains(m)),
            "CreateContainerConfigError" => {
                KEY_NOT_FOUND.is_match(&self.message) || SECRET_NOT_FOUND.is_match(&self.message)
            }
            "CrashLoopBackOff" | "Error" => self.restarts >= policy.max_restarts,
            "OOMKilled" => self.restarts >= policy.max_oom_kills,
            _ => false,
        }
    }

    /// The reason as `kubectl get pods` shows it: `Init:CrashLoopBackOff` for an init
    /// container.
    pub fn shown_reason(&self) -> String {
        if self.init {
            format!("Init:{}", self.reason)
        } else {
            self.reason.clone()
        }
    }

    /// Who has the problem: `POD`, `POD/CONTAINER`, or `POD/CONTAINER (init container)`.
    pub fn who(&self) -> String {
        match (self.container.is_empty(), self.init) {
            (true, _) => self.pod.clone(),
            (false, false) => format!("{}/{}", self.pod, self.container),
            (false, true) => format!("{}/{} (init container)", self.pod, self.container),
        }
    }

    /// Whether the last log lines would explain this problem (crashes and OOM kills).
    pub fn wants_logs(&self) -> bool {
        matches!(
            self.reason.as_str(),
            "CrashLoopBackOff" | "Error" | "OOMKilled" | "RunContainerError"
        )
    }
}

/// The problems of these pods, with hints for a cluster that is not a local one.
pub fn pod_problems(pods: &[Pod]) -> Vec<PodProblem> {
    pod_problems_on(pods, &Platform::Other)
}

/// What the hints of [`pod_problems_in`] know about the cluster and the user.
#[derive(Debug, Clone, Copy)]
pub struct HintContext<'a> {
    /// The platform (its own image load command).
    pub platform: &'a Platform,
    /// The connection flags the user gave (`--kubeconfig`, `--context`; empty or starting
    /// with a space), repeated in every kubectl command of a hint.
    pub kubectl_flags: &'a str,
    /// The image references the nodes hold (`node.status.images[].names`), to tell a typo'd
    /// tag from an image that was never loaded.
    pub node_images: &'a [String],
    /// The chart's full name for the release (Deployments are `<fullname>-<component>`).
    pub fullname: Option<&'a str>,
}

impl<'a> HintContext<'a> {
    /// Hints for `platform` and nothing else known.
    pub fn platform(platform: &'a Platform) -> Self {
        HintContext {
            platform,
            kubectl_flags: "",
            node_images: &[],
            fullname: None,
        }
    }
}

/// The problems of these pods, with hints for `platform`.
pub fn pod_problems_on(pods: &[Pod], platform: &Platform) -> Vec<PodProblem> {
    pod_problems_in(pods, &HintContext::platform(platform))
}

/// The problems of these pods, with hints that fit `ctx`.
pub fn pod_problems_in(pods: &[Pod], ctx: &HintContext<'_>) -> Vec<PodProblem> {
    let mut out = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let Some(status) = &pod.status else { continue };
        if let Some(cond) = status.conditions.iter().flatten().find(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        }) {
            out.push(PodProblem {
                pod: name.clone(),
                container: String::new(),
                reason: "Unschedulable".into(),
                message: one_line(cond.message.as_deref().unwrap_or("no node can run the pod")),
                hint: "no node has room: lower <component>.resources.requests, scale down other workloads, or add capacity (`kubectl describe nodes` shows what is allocated)".into(),
                log_tail: Vec::new(),
                restarts: 0,
                init: false,
            });
        }
        let statuses = status
            .init_container_statuses
            .iter()
            .flatten()
            .map(|cs| (cs, true))
            .chain(
                status
                    .container_statuses
                    .iter()
                    .flatten()
                    .map(|cs| (cs, false)),
            );
        for (cs, init) in statuses {
            if let Some(mut p) = container_problem(pod, &name, cs, ctx) {
                p.init = init;
                out.push(p);
            }
        }
    }
    out
}

fn container_problem(
    pod: &Pod,
    pod_name: &str,
    cs: &ContainerStatus,
    ctx: &HintContext<'_>,
) -> Option<PodProblem> {
    let ns = pod
        .metadata
        .namespace
        .as_deref()
        .map(|n| format!(" -n {n}"))
        .unwrap_or_default();
    let flags = format!("{ns}{}", ctx.kubectl_flags);
    let state = cs.state.as_ref()?;
    let last_terminated = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    let image = spec_image(pod, &cs.name).unwrap_or_else(|| cs.image.clone());
    let problem = |reason: &str, message: String, hint: String| PodProblem {
        pod: pod_name.to_owned(),
        container: cs.name.clone(),
        reason: reason.to_owned(),
        message: one_line(&message),
        hint,
        log_tail: Vec::new(),
        restarts: cs.restart_count,
        init: false,
    };
    if let Some(w) = &state.waiting {
        let reason = w.reason.as_deref().unwrap_or("");
        let message = w.message.clone().unwrap_or_default();
        return match reason {
            "ImagePullBackOff" | "ErrImagePull" | "ErrImageNeverPull" | "InvalidImageName" => {
                let message = if message.is_empty() {
                    format!("cannot pull image {image:?}")
                } else {
                    message
                };
                Some(problem(
                    reason,
                    message,
                    image_problem_hint(pod, &image, ctx, &flags),
                ))
            }
            "CrashLoopBackOff" => {
                if let Some(t) =
                    last_terminated.filter(|t| t.reason.as_deref() == Some("OOMKilled"))
                {
                    Some(problem(
                        "OOMKilled",
                        oom_message(t.exit_code, cs.restart_count),
                        oom_hint(&cs.name),
                    ))
                } else {
                    let exit = last_terminated
                        .map(|t| format!(" (exit code {})", t.exit_code))
                        .unwrap_or_default();
                    Some(problem(
                        "CrashLoopBackOff",
                        format!(
                            "container keeps exiting{exit}; restarted {} times",
                            cs.restart_count
                        ),
                        format!(
                            "read why it exits: `kubectl logs {pod_name} -c {}{flags} --previous`; the last log lines are below",
                            cs.name
                        ),
                    ))
                }
            }
            "CreateContainerConfigError" => {
                let hint = config_error_hint(&message);
                Some(problem(reason, message, hint))
            }
            "CreateContainerError" | "RunContainerError" => Some(problem(
                reason,
                message,
                format!("`kubectl describe pod {pod_name}{flags}` shows the runtime's full error"),
            )),
            _ => None,
        };
    }
    if let Some(t) = &state.terminated {
        let reason = t.reason.as_deref().unwrap_or("Error");
        if reason == "Completed" || t.exit_code == 0 {
            return None;
        }
        if reason == "OOMKilled" {
            return Some(problem(
                "OOMKilled",
                oom_message(t.exit_code, cs.restart_count),
                oom_hint(&cs.name),
            ));
        }
        return Some(problem(
            "Error",
            format!(
                "container exited with code {}{}",
                t.exit_code,
                t.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
            format!(
                "read why it exits: `kubectl logs {pod_name} -c {}{flags}`; the last log lines are below",
                cs.name
            ),
        ));
    }
    None
}

fn spec_image(pod: &Pod, container: &str) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == container)
        .and_then(|c| c.image.clone())
}

fn oom_message(exit_code: i32, restarts: i32) -> String {
    format!(
        "killed for using more memory than its limit (OOMKilled, exit code {exit_code}); restarted {restarts} times"
    )
}

fn oom_hint(container: &str) -> String {
    format!(
        "raise {container}.resources.limits.memory (e.g. `helm upgrade <release> charts/todo-chatbot --reuse-values --set {container}.resources.limits.memory=1Gi`)"
    )
}

/// The fix for an image the node cannot get: when the node holds other tags of the same
/// repository, the tag is the mistake (go back, or pick one the node has); else the
/// platform's load command.
fn image_problem_hint(pod: &Pod, image: &str, ctx: &HintContext<'_>, flags: &str) -> String {
    let (repo, _) = split_image(image);
    let mut others: Vec<String> = ctx
        .node_images
        .iter()
        .map(|n| normalize_image(n))
        .filter(|n| split_image(n).0 == repo && !n.contains('@') && *n != normalize_image(image))
        .collect();
    others.sort();
    others.dedup();
    if others.is_empty() {
        return image_hint(image, ctx.platform);
    }
    let component = crate::pod::component(pod);
    let undo = match (ctx.fullname, component) {
        (Some(full), Some(c)) => format!(
            "go back with `kubectl rollout undo deployment/{full}-{}{flags}`, or ",
            c.name()
        ),
        _ => String::new(),
    };
    let key = component.map_or("<component>", |c| c.name());
    format!(
        "the node has no {image} and cannot pull it; it has {}: {undo}set {key}.image.tag to one of them and upgrade",
        others.join(", ")
    )
}

/// An image reference without the registry and library prefixes Docker Hub adds
/// (`docker.io/library/x:1` is `x:1`).
fn normalize_image(name: &str) -> String {
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    let name = name.strip_prefix("library/").unwrap_or(name);
    name.to_owned()
}

/// (repository, tag or digest) of an image reference; the tag defaults to `latest`.
fn split_image(image: &str) -> (String, String) {
    let image = normalize_image(image);
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo.to_owned(), digest.to_owned());
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (
            image[..last_slash + i].to_owned(),
            image[last_slash + i + 1..].to_owned(),
        ),
        None => (image.clone(), "latest".to_owned()),
    }
}

/// The fix for an image the node cannot get.
pub fn image_hint(image: &str, platform: &Platform) -> String {
    let what = if platform.is_local() {
        "the node does not have the image"
    } else {
        "the node cannot get the image"
    };
    format!("{what}; {}", platform.image_load_hint(image))
}

#[allow(clippy::expect_used)] // a constant pattern, tested below
static SECRET_NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(secret|configmap) "([^"]+)" not found"#).expect("constant regex")
});
#[allow(clippy::expect_used)] // a constant pattern, tested below
static KEY_NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"couldn't find key (\S+) in (Secret|ConfigMap) ([^/\s]+)/(\S+)")
        .expect("constant regex")
});

/// Hint for CreateContainerConfigError, naming the missing Secret (or ConfigMap) and key.
fn config_error_hint(message: &str) -> String {
    if let Some(c) = KEY_NOT_FOUND.captures(message) {
        let (key, kind, ns, name) = (&c[1], &c[2], &c[3], &c[4]);
        return if kind == "Secret" {
            format!(
                "Secret {name:?} has no key {key}: add it (`helm todo-secrets init -n {ns}`, or recreate the Secret with `kubectl create secret generic {name} -n {ns} --from-env-file=FILE --dry-run=client -o yaml | kubectl apply -f -`)"
            )
        } else {
            format!(
                "ConfigMap {name:?} has no key {key}: add it, or fix the chart values that reference it"
            )
        };
    }
    if let Some(c) = SECRET_NOT_FOUND.captures(message) {
        let name = &c[2];
        return if &c[1] == "secret" {
            format!(
                "Secret {name:?} does not exist: create it (`helm todo-secrets init`, or `kubectl create secret generic {name} --from-env-file=FILE`) or fix secrets.name/secrets.existingSecret"
            )
        } else {
            format!("ConfigMap {name:?} does not exist: `helm upgrade` the release to recreate it")
        };
    }
    "`kubectl describe pod` shows which Secret or ConfigMap reference is wrong".into()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateTerminated, ContainerStateWaiting, PodCondition,
        PodSpec, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    pub fn pod_with(name: &str, state: ContainerState, last: Option<ContainerState>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "backend".into(),
                    image: Some("todo-chatbot-backend:1.0.0".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some("Pending".into()),
                container_statuses: Some(vec![ContainerStatus {
                    name: "backend".into(),
                    image: "todo-chatbot-backend:1.0.0".into(),
                    state: Some(state),
                    last_state: last,
                    restart_count: 3,
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    pub fn waiting(reason: &str, message: &str) -> ContainerState {
        ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.into()),
                message: Some(message.into()),
            }),
            ..Default::default()
        }
    }

    fn terminated(reason: &str, code: i32) -> ContainerState {
        ContainerState {
            terminated: Some(ContainerStateTerminated {
                reason: Some(reason.into()),
                exit_code: code,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn never_pull_gives_the_minikube_image_load_fix() {
        let pod = pod_with(
            "b-1",
            waiting(
                "ErrImageNeverPull",
                r#"Container image "todo-chatbot-backend:1.0.0" is not present with pull policy of Never"#,
            ),
            None,
        );
        let minikube = Platform::Minikube {
            profile: "minikube".into(),
        };
        let p = &pod_problems_on(&[pod], &minikube)[0];
        assert_eq!(p.reason, "ErrImageNeverPull");
        assert!(
            p.hint
                .contains("minikube image load todo-chatbot-backend:1.0.0"),
            "{}",
            p.hint
        );
        assert!(p.hint.contains("eval $(minikube docker-env)"));
    }

    #[test]
    fn a_typod_tag_lists_the_tags_the_node_has_and_offers_undo() {
        let mut pod = pod_with(
            "b-1",
            waiting("ErrImageNeverPull", "not present with pull policy of Never"),
            None,
        );
        pod.metadata.namespace = Some("todo".into());
        pod.metadata.labels = Some(
            [(
                "app.kubernetes.io/component".to_owned(),
                "backend".to_owned(),
            )]
            .into_iter()
            .collect(),
        );
        pod.spec.as_mut().unwrap().containers[0].image = Some("todo-chatbot-backend:9.9.9".into());
        let minikube = Platform::Minikube {
            profile: "minikube".into(),
        };
        let images = [
            "docker.io/library/todo-chatbot-backend:1.0.0".to_owned(),
            "todo-chatbot-backend@sha256:abc".to_owned(),
            "todo-chatbot-frontend:9.9.9".to_owned(),
        ];
        let ctx = HintContext {
            platform: &minikube,
            kubectl_flags: " --context dev",
            node_images: &images,
            fullname: Some("todo-todo-chatbot"),
        };
        let p = &pod_problems_in(std::slice::from_ref(&pod), &ctx)[0];
        assert!(
            p.hint.contains("it has todo-chatbot-backend:1.0.0:"),
            "{}",
            p.hint
        );
        assert!(
            p.hint.contains(
                "kubectl rollout undo deployment/todo-todo-chatbot-backend -n todo --context dev"
            ),
            "{}",
            p.hint
        );
        assert!(p.hint.contains("backend.image.tag"), "{}", p.hint);
        assert!(!p.hint.contains("minikube image load"), "{}", p.hint);
        // Without another tag of the repository on the node, loading it is the fix.
        let ctx = HintContext {
            node_images: &images[2..],
            ..ctx
        };
        let p = &pod_problems_in(&[pod], &ctx)[0];
        assert!(
            p.hint
                .contains("minikube image load todo-chatbot-backend:9.9.9"),
            "{}",
            p.hint
        );
    }

    #[test]
    fn image_references_split_into_repository_and_tag() {
        assert_eq!(split_image("docker.io/library/x:1").0, "x");
        assert_eq!(
            split_image("localhost:5000/a/b:2"),
            ("localhost:5000/a/b".into(), "2".into())
        );
        assert_eq!(
            split_image("localhost:5000/a/b"),
            ("localhost:5000/a/b".into(), "latest".into())
        );
        assert_eq!(split_image("b@sha256:00"), ("b".into(), "sha256:00".into()));
    }

    #[test]
    fn image_pull_backoff_off_minikube_says_push_to_a_registry() {
        let pod = pod_with(
            "b-1",
            waiting("ImagePullBackOff", "Back-off pulling image"),
            None,
        );
        let p = &pod_problems_on(&[pod], &Platform::Other)[0];
        assert!(
            p.hint.contains("registry") && !p.hint.contains("minikube"),
            "{}",
            p.hint
        );
    }

    #[test]
    fn crash_loop_wants_logs() {
        let pod = pod_with(
            "b-1",
            waiting("CrashLoopBackOff", "back-off 10s"),
            Some(terminated("Error", 1)),
        );
        let p = &pod_problems(&[pod])[0];
        assert_eq!(p.reason, "CrashLoopBackOff");
        assert!(p.message.contains("exit code 1"));
        assert!(p.wants_logs());
    }

    #[test]
    fn oom_killed_says_raise_the_memory_limit() {
        let pod = pod_with(
            "b-1",
            waiting("CrashLoopBackOff", "back-off"),
            Some(terminated("OOMKilled", 137)),
        );
        let p = &pod_problems(&[pod])[0];
        assert_eq!(p.reason, "OOMKilled");
        assert!(
            p.hint.contains("backend.resources.limits.memory"),
            "{}",
            p.hint
        );
    }

    #[test]
    fn missing_secret_key_is_named() {
        let pod = pod_with(
            "b-1",
            waiting(
                "CreateContainerConfigError",
                "couldn't find key OPENAI_API_KEY in Secret todo/todo-todo-chatbot-secrets",
            ),
            None,
        );
        let p = &pod_problems(&[pod])[0];
        assert!(
            p.hint.contains("OPENAI_API_KEY") && p.hint.contains("todo-todo-chatbot-secrets"),
            "{}",
            p.hint
        );
    }

    #[test]
    fn missing_secret_is_named() {
        let pod = pod_with(
            "b-1",
            waiting(
                "CreateContainerConfigError",
                r#"secret "app-secrets" not found"#,
            ),
            None,
        );
        let p = &pod_problems(&[pod])[0];
        assert!(
            p.hint.contains("\"app-secrets\" does not exist"),
            "{}",
            p.hint
        );
    }

    #[test]
    fn unschedulable_pod_is_reported() {
        let mut pod = pod_with("b-1", waiting("ContainerCreating", ""), None);
        pod.status.as_mut().unwrap().container_statuses = None;
        pod.status.as_mut().unwrap().conditions = Some(vec![PodCondition {
            type_: "PodScheduled".into(),
            status: "False".into(),
            reason: Some("Unschedulable".into()),
            message: Some("0/1 nodes are available: 1 Insufficient memory.".into()),
            ..Default::default()
        }]);
        let p = &pod_problems(&[pod])[0];
        assert_eq!(
            (p.reason.as_str(), p.container.as_str()),
            ("Unschedulable", "")
        );
        assert!(p.message.contains("Insufficient memory"));
    }

    fn problem(reason: &str, message: &str, restarts: i32) -> PodProblem {
        PodProblem {
            pod: "p".into(),
            container: "c".into(),
            reason: reason.into(),
            message: message.into(),
            hint: String::new(),
            log_tail: Vec::new(),
            restarts,
            init: false,
        }
    }

    #[test]
    fn permanent_failures_are_told_from_transient_ones() {
        let policy = FailFast::default();
        let permanent = [
            problem(
                "ErrImageNeverPull",
                "not present with pull policy of Never",
                0,
            ),
            problem("InvalidImageName", "couldn't parse image name", 0),
            problem(
                "ErrImagePull",
                "failed to pull image \"x:9\": rpc error: docker.io/library/x:9: not found",
                0,
            ),
            problem(
                "ImagePullBackOff",
                "Back-off pulling image \"x\": pull access denied",
                0,
            ),
            problem(
                "CreateContainerConfigError",
                "couldn't find key OPENAI_API_KEY in Secret todo/s",
                0,
            ),
            problem("CreateContainerConfigError", "secret \"s\" not found", 0),
            problem("CrashLoopBackOff", "back-off", 3),
            problem("OOMKilled", "killed", 2),
        ];
        for p in &permanent {
            assert!(p.is_permanent(&policy), "{p:?}");
        }
        let transient = [
            problem("ErrImagePull", "dial tcp: i/o timeout", 0),
            problem("ImagePullBackOff", "Back-off pulling image \"x\"", 0),
            problem("CrashLoopBackOff", "back-off", 2),
            problem("OOMKilled", "killed", 1),
            problem("Unschedulable", "0/1 nodes are available", 0),
            problem("CreateContainerConfigError", "something else", 0),
        ];
        for p in &transient {
            assert!(!p.is_permanent(&policy), "{p:?}");
        }
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            f: FailFastArgs,
        }
        let default = Flags::try_parse_from(["x"]).unwrap().f.policy().unwrap();
        assert_eq!(default, FailFast::default());
        let five = Flags::try_parse_from(["x", "--max-restarts", "5"])
            .unwrap()
            .f;
        assert_eq!(five.policy().unwrap().max_restarts, 5);
        assert!(
            Flags::try_parse_from(["x", "--no-fail-fast"])
                .unwrap()
                .f
                .policy()
                .is_none()
        );
        assert!(Flags::try_parse_from(["x", "--max-restarts", "0"]).is_err());
        let patient = FailFast {
            max_restarts: 10,
            ..policy
        };
        assert!(!problem("CrashLoopBackOff", "back-off", 3).is_permanent(&patient));
    }

    #[test]
    fn healthy_and_starting_containers_are_not_problems() {
        let pod = pod_with("b-1", waiting("ContainerCreating", ""), None);
        assert!(pod_problems(&[pod]).is_empty());
    }
    #[test]
    fn init_container_problems_are_named_as_init_containers() {
        let mut pod = pod_with(
            "todo-backend-1",
            waiting("CrashLoopBackOff", "back-off"),
            None,
        );
        let status = pod.status.as_mut().unwrap();
        let mut init = status.container_statuses.take().unwrap();
        init[0].name = "migrate".into();
        status.init_container_statuses = Some(init);
        let problems = pod_problems(&[pod]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let p = &problems[0];
        assert!(p.init);
        assert_eq!(p.shown_reason(), "Init:CrashLoopBackOff");
        assert_eq!(p.who(), "todo-backend-1/migrate (init container)");
    }
}
