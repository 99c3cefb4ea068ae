//! Why a pod is unhealthy, and what to do about it. Pure: Pods in, problems out.
//!
//! [`pod_problems`] reads the waiting/terminated reasons of every container (image pulls,
//! crash loops, OOM kills, missing Secret keys) and the scheduling condition, and gives each
//! problem a hint with the command that fixes it. Log lines are fetched by the caller (see
//! [`PodProblem::wants_logs`]) and must go through [`crate::redact::redact`] before they are shown.

use std::sync::LazyLock;

use k8s_openapi::api::core::v1::{
    ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, Pod,
};
use regex::Regex;

use crate::image::ImageRef;
use crate::platform::Platform;
use crate::quantity::Resources;

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
    /// Unschedulable because no node could ever hold the pod (its requests exceed every
    /// node's allocatable, see [`too_large`]), not for want of room others may free.
    #[serde(skip)]
    pub never_fits: bool,
}

/// When a wait stops waiting for a failure that cannot heal (`scale`, `verify --wait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailFast {
    /// A crash loop is permanent once the container restarted this many times.
    pub max_restarts: i32,
    /// An OOM kill is permanent once the container was killed this many times.
    pub max_oom_kills: i32,
}

/// `--max-restarts`' default.
pub const DEFAULT_MAX_RESTARTS: i32 = 3;

impl Default for FailFast {
    fn default() -> Self {
        FailFast {
            max_restarts: DEFAULT_MAX_RESTARTS,
            max_oom_kills: 2,
        }
    }
}

/// The flags every wait takes (`scale`, `verify --wait`): when to stop waiting for a failure
/// that cannot heal.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct FailFastArgs {
    /// A crash loop is a failure that cannot heal once a container restarted this many times.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_RESTARTS, value_parser = clap::value_parser!(i32).range(1..))]
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
    /// `policy.max_restarts`, an OOM kill repeated `policy.max_oom_kills` times, a pod no node
    /// can ever hold. A pull in
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
            "Unschedulable" => self.never_fits,
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
    /// The user's `--kubeconfig`/`--kube-context` (empty or starting with a space), repeated
    /// in every helm command of a hint.
    pub helm_flags: &'a str,
    /// The image references the nodes hold (`node.status.images[].names`), to tell a typo'd
    /// tag from an image that was never loaded.
    pub node_images: &'a [String],
    /// The chart's full name for the release (Deployments are `<fullname>-<component>`).
    pub fullname: Option<&'a str>,
    /// Each schedulable node's allocatable CPU and memory (empty when the nodes were not
    /// read), to tell a pod that waits for room from one no node can ever hold.
    pub allocatable: &'a [Resources],
}

impl<'a> HintContext<'a> {
    /// Hints for `platform` and nothing else known.
    pub fn platform(platform: &'a Platform) -> Self {
        HintContext {
            platform,
            kubectl_flags: "",
            helm_flags: "",
            node_images: &[],
            fullname: None,
            allocatable: &[],
        }
    }
}

/// Why `pod` can never be scheduled: its requests exceed every node's allocatable (`None`
/// when some node could hold it, or the nodes are unknown). Room taken by other pods is not
/// permanent; a node too small is.
pub fn too_large(pod: &Pod, allocatable: &[Resources]) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if allocatable.is_empty() {
        return None;
    }
    let need = crate::quantity::pod_requests(spec);
    let fits = |a: &Resources| need.cpu <= a.cpu + 1e-9 && need.memory <= a.memory + 1e-9;
    if allocatable.iter().any(fits) {
        return None;
    }
    let largest = allocatable
        .iter()
        .fold(Resources::default(), |a, b| Resources {
            cpu: a.cpu.max(b.cpu),
            memory: a.memory.max(b.memory),
        });
    Some(format!(
        "the pod requests {} CPU and {} memory, more than any node's allocatable (at most {} CPU, {} memory)",
        crate::quantity::format_cpu(need.cpu),
        crate::quantity::format_memory(need.memory),
        crate::quantity::format_cpu(largest.cpu),
        crate::quantity::format_memory(largest.memory)
    ))
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
            let too_large = too_large(pod, ctx.allocatable);
            let never_fits = too_large.is_some();
            let (message, hint) = match too_large {
                Some(why) => (
                    format!(
                        "{why}: no node can ever run it (scheduler: {})",
                        one_line(cond.message.as_deref().unwrap_or("Unschedulable"))
                    ),
                    "lower <component>.resources.requests to fit a node, or add a larger node".to_owned(),
                ),
                None => (
                    one_line(cond.message.as_deref().unwrap_or("no node can run the pod")),
                    "no node has room: lower <component>.resources.requests, scale down other workloads, or add capacity (`kubectl describe nodes` shows what is allocated)".to_owned(),
                ),
            };
            out.push(PodProblem {
                pod: name.clone(),
                container: String::new(),
                reason: "Unschedulable".into(),
                message,
                hint,
                log_tail: Vec::new(),
                restarts: 0,
                init: false,
                never_fits,
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

/// The problem of one container, from its waiting or terminated state (`None` when it is
/// running, starting normally or completed).
fn container_problem(
    pod: &Pod,
    pod_name: &str,
    cs: &ContainerStatus,
    ctx: &HintContext<'_>,
) -> Option<PodProblem> {
    let state = cs.state.as_ref()?;
    let subject = Subject::new(pod, pod_name, cs, ctx);
    if let Some(w) = &state.waiting {
        return subject.waiting(w);
    }
    if let Some(t) = &state.terminated {
        return subject.terminated(t);
    }
    None
}

/// One container being diagnosed, with what its problems' hints need.
struct Subject<'a> {
    pod: &'a Pod,
    pod_name: &'a str,
    cs: &'a ContainerStatus,
    ctx: &'a HintContext<'a>,
    /// ` -n NAMESPACE` and the user's connection flags, for the kubectl commands of hints.
    flags: String,
    /// The image of the pod's spec (what the user wrote), else the one the status reports.
    image: String,
}

impl<'a> Subject<'a> {
    fn new(
        pod: &'a Pod,
        pod_name: &'a str,
        cs: &'a ContainerStatus,
        ctx: &'a HintContext<'a>,
    ) -> Self {
        let ns = pod
            .metadata
            .namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default();
        Subject {
            pod,
            pod_name,
            cs,
            ctx,
            flags: format!("{ns}{}", ctx.kubectl_flags),
            image: spec_image(pod, &cs.name).unwrap_or_else(|| cs.image.clone()),
        }
    }

    fn problem(&self, reason: &str, message: String, hint: String) -> PodProblem {
        PodProblem {
            pod: self.pod_name.to_owned(),
            container: self.cs.name.clone(),
            reason: reason.to_owned(),
            message: one_line(&message),
            hint,
            log_tail: Vec::new(),
            restarts: self.cs.restart_count,
            init: false,
            never_fits: false,
        }
    }

    /// Raise the memory limit, through the release the pod belongs to.
    fn oom_hint(&self) -> String {
        let key = format!("{}.resources.limits.memory", self.cs.name);
        format!(
            "raise {key} (e.g. `{}`)",
            release_upgrade(self.pod, self.ctx, &format!(" --set {key}=1Gi"))
        )
    }

    fn oom_killed(&self, exit_code: i32) -> PodProblem {
        self.problem(
            "OOMKilled",
            oom_message(exit_code, self.cs.restart_count),
            self.oom_hint(),
        )
    }

    /// A waiting container: image pulls, crash loops, configuration and runtime errors
    /// (`None` for the normal reasons, such as ContainerCreating).
    fn waiting(&self, w: &ContainerStateWaiting) -> Option<PodProblem> {
        let (pod_name, flags) = (self.pod_name, &self.flags);
        let reason = w.reason.as_deref().unwrap_or("");
        let message = w.message.clone().unwrap_or_default();
        match reason {
            "ImagePullBackOff" | "ErrImagePull" | "ErrImageNeverPull" | "InvalidImageName" => {
                let message = if message.is_empty() {
                    format!("cannot pull image {:?}", self.image)
                } else {
                    message
                };
                let hint = image_problem_hint(self.pod, &self.image, self.ctx, flags);
                Some(self.problem(reason, message, hint))
            }
            "CrashLoopBackOff" => Some(self.crash_loop()),
            "CreateContainerConfigError" => {
                let hint = config_error_hint(&message);
                Some(self.problem(reason, message, hint))
            }
            "CreateContainerError" | "RunContainerError" => Some(self.problem(
                reason,
                message,
                format!("`kubectl describe pod {pod_name}{flags}` shows the runtime's full error"),
            )),
            _ => None,
        }
    }

    /// A crash loop: an OOM kill when that is how it last ended, else its exit code.
    fn crash_loop(&self) -> PodProblem {
        let cs = self.cs;
        let last_terminated = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
        if let Some(t) = last_terminated.filter(|t| t.reason.as_deref() == Some("OOMKilled")) {
            return self.oom_killed(t.exit_code);
        }
        let exit = last_terminated
            .map(|t| format!(" (exit code {})", t.exit_code))
            .unwrap_or_default();
        self.problem(
            "CrashLoopBackOff",
            format!(
                "container keeps exiting{exit}; restarted {} times",
                cs.restart_count
            ),
            format!(
                "read why it exits: `kubectl logs {} -c {}{} --previous`; the last log lines are below",
                self.pod_name, cs.name, self.flags
            ),
        )
    }

    /// A terminated container: an OOM kill or a non-zero exit (`None` when it completed).
    fn terminated(&self, t: &ContainerStateTerminated) -> Option<PodProblem> {
        let reason = t.reason.as_deref().unwrap_or("Error");
        if reason == "Completed" || t.exit_code == 0 {
            return None;
        }
        if reason == "OOMKilled" {
            return Some(self.oom_killed(t.exit_code));
        }
        Some(self.problem(
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
                "read why it exits: `kubectl logs {} -c {}{}`; the last log lines are below",
                self.pod_name, self.cs.name, self.flags
            ),
        ))
    }
}

fn spec_image(pod: &Pod, container: &str) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == container)
        .and_then(|c| c.image.clone())
}

/// The `helm upgrade` of the release `pod` belongs to (its instance label), in its
/// namespace, with the user's Helm flags, keeping the release's values, plus `extra`.
fn release_upgrade(pod: &Pod, ctx: &HintContext<'_>, extra: &str) -> String {
    let meta = &pod.metadata;
    let release = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(crate::chart::LABEL_INSTANCE))
        .map_or("RELEASE", String::as_str);
    let ns = meta.namespace.as_deref().unwrap_or("NAMESPACE");
    crate::chart::upgrade_command(release, ns, ctx.helm_flags, extra)
}

fn oom_message(exit_code: i32, restarts: i32) -> String {
    format!(
        "killed for using more memory than its limit (OOMKilled, exit code {exit_code}); restarted {restarts} times"
    )
}

/// The fix for an image the node cannot get: when the node holds other tags of the same
/// repository, the tag is the mistake (go back, or pick one the node has); else the
/// platform's load command.
fn image_problem_hint(pod: &Pod, image: &str, ctx: &HintContext<'_>, flags: &str) -> String {
    let others = ImageRef::parse(image)
        .map(|r| r.other_tags(ctx.node_images))
        .unwrap_or_default();
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
    let tag = others
        .first()
        .and_then(|o| ImageRef::parse(o).ok())
        .and_then(|r| r.tag)
        .unwrap_or_else(|| "TAG".into());
    format!(
        "the node has no {image} and cannot pull it; it has {}: {undo}set {key}.image.tag to one of them: `{}`",
        others.join(", "),
        release_upgrade(
            pod,
            ctx,
            &format!(
                " --set {key}.image.tag={}",
                crate::cluster::shell_word(&tag)
            )
        )
    )
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
pub(crate) mod tests;

/// The container states `container_problem` tells apart that the shared tests do not reach.
#[cfg(test)]
mod container_tests {
    use super::tests::{pod_with, waiting};
    use super::*;
    use k8s_openapi::api::core::v1::ContainerState;

    fn ended(reason: &str, code: i32, message: Option<&str>) -> ContainerState {
        ContainerState {
            terminated: Some(ContainerStateTerminated {
                reason: Some(reason.into()),
                exit_code: code,
                message: message.map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn only(pod: &Pod) -> Option<PodProblem> {
        let mut ps = pod_problems_on(std::slice::from_ref(pod), &Platform::Other);
        assert!(ps.len() <= 1, "{ps:?}");
        ps.pop()
    }

    #[test]
    fn a_terminated_container_is_an_error_an_oom_kill_or_nothing() {
        let p = only(&pod_with("p", ended("Error", 2, Some("boom")), None)).unwrap();
        assert_eq!(p.reason, "Error");
        assert_eq!(p.message, "container exited with code 2: boom");
        assert!(p.hint.contains("kubectl logs p -c backend`"), "{}", p.hint);
        let p = only(&pod_with("p", ended("OOMKilled", 137, None), None)).unwrap();
        assert_eq!(p.reason, "OOMKilled");
        assert!(only(&pod_with("p", ended("Completed", 0, None), None)).is_none());
        assert!(only(&pod_with("p", ended("Error", 0, None), None)).is_none());
    }

    #[test]
    fn runtime_errors_point_at_describe_and_normal_waits_are_no_problem() {
        let mut pod = pod_with("p", waiting("RunContainerError", "exec failed"), None);
        pod.metadata.namespace = Some("todo".into());
        let p = only(&pod).unwrap();
        assert_eq!(
            (p.reason.as_str(), p.message.as_str()),
            ("RunContainerError", "exec failed")
        );
        assert!(
            p.hint.contains("kubectl describe pod p -n todo`"),
            "{}",
            p.hint
        );
        assert!(only(&pod_with("p", waiting("ContainerCreating", ""), None)).is_none());
    }

    #[test]
    fn an_image_pull_without_a_message_names_the_image() {
        let p = only(&pod_with("p", waiting("ErrImagePull", ""), None)).unwrap();
        assert_eq!(
            p.message,
            "cannot pull image \"todo-chatbot-backend:1.0.0\""
        );
        assert_eq!(p.restarts, 3);
    }
}
