//! Preflight's checks: pure functions of the [`Plan`] (what the chart would render) and the
//! [`Observed`] cluster, each returning verify's [`CheckResult`] so the report, renderers,
//! root-cause attribution and exit codes are verify's. [`PREFLIGHT`] lists them in report
//! order. No check ever puts a secret value in a message: Secret values are compared, never
//! shown.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use secrecy::ExposeSecret;

use super::plan::{Budget, ComponentPlan, Plan, SecretsPlan};
use super::reads::{Observed, ReleaseState};
use super::values::SchemaProblem;
use crate::chart::{CHART_NAME, Component, LABEL_INSTANCE, LABEL_NAME};
use crate::image::ImageRef;
use crate::names::{self, NameKind};
use crate::platform::Platform;
use crate::quantity::{self, NodeRoom, Resources};
use crate::redact::printable;
use crate::verify::checks::config::{database_url_problem, is_placeholder};
use crate::verify::{CheckResult, Status};

/// What the checks read besides the plan and the cluster.
#[derive(Debug)]
pub struct Context<'a> {
    /// What the chart would render.
    pub plan: &'a Plan,
    /// What the cluster holds.
    pub obs: &'a Observed,
    /// Schema violations of the computed values.
    pub schema: &'a [SchemaProblem],
    /// The platform (from the kubeconfig and the nodes).
    pub platform: Platform,
    /// The API server URL, as shown.
    pub server: String,
    /// The context name.
    pub context: String,
    /// `--kubeconfig`/`--context` for kubectl hints (empty or starting with a space).
    pub kubectl_flags: String,
    /// `--kubeconfig`/`--kube-context` for Helm hints.
    pub helm_flags: String,
    /// `--create-namespace` will be passed to Helm.
    pub create_namespace: bool,
    /// The values file a hint should name (the last `-f`, else the file init writes).
    pub values_file: String,
    /// The chart as a hint should name it.
    pub chart_ref: String,
    /// The sealed-secrets controller, `namespace/name`.
    pub controller: String,
}

impl Context<'_> {
    fn ns(&self) -> &str {
        &self.plan.namespace
    }

    /// ` -n NS` plus the connection flags, for kubectl hints.
    fn kflags(&self) -> String {
        format!("{} -n {}", self.kubectl_flags, self.ns())
    }

    /// Whether the release exists: the install is an upgrade.
    pub fn upgrade(&self) -> bool {
        matches!(
            &self.obs.release,
            Ok(ReleaseState {
                latest: Some(_),
                ..
            })
        )
    }
}

/// One check.
#[derive(Debug)]
pub struct PreflightCheck {
    /// Stable identifier, `group.name`.
    pub id: &'static str,
    /// What it checks, one line (help text).
    pub about: &'static str,
    /// The check.
    pub run: fn(&Context<'_>) -> CheckResult,
}

/// Every preflight check, in report order.
pub static PREFLIGHT: &[PreflightCheck] = &[
    PreflightCheck {
        id: "cluster.reachable",
        about: "the API server answers; server version, context, platform",
        run: reachable,
    },
    PreflightCheck {
        id: "values.valid",
        about: "the values pass values.schema.json and the chart's own refusals",
        run: values_valid,
    },
    PreflightCheck {
        id: "release.name",
        about: "the release name is valid and free, or the install is an upgrade (which revision)",
        run: release_name,
    },
    PreflightCheck {
        id: "release.namespace",
        about: "the namespace exists, or --create-namespace is needed",
        run: release_namespace,
    },
    PreflightCheck {
        id: "backend.image",
        about: "the backend image is on the nodes (local clusters) or a well-formed reference",
        run: |c| image(c, Component::Backend),
    },
    PreflightCheck {
        id: "backend.nodeport",
        about: "the backend NodePort is in range and not taken by another Service",
        run: |c| node_port(c, Component::Backend),
    },
    PreflightCheck {
        id: "frontend.image",
        about: "the frontend image is on the nodes (local clusters) or a well-formed reference",
        run: |c| image(c, Component::Frontend),
    },
    PreflightCheck {
        id: "frontend.nodeport",
        about: "the frontend NodePort is in range and not taken by another Service",
        run: |c| node_port(c, Component::Frontend),
    },
    PreflightCheck {
        id: "config.controller",
        about: "sealed mode: the sealed-secrets CRD, controller Service and certificate",
        run: controller,
    },
    PreflightCheck {
        id: "config.secrets",
        about: "the secrets for the mode: sealed for this controller, namespace and name; the existing Secret's keys; inline warned",
        run: secrets,
    },
    PreflightCheck {
        id: "capacity.requests",
        about: "the nodes have room for every replica's requests (and the rolling update's surge)",
        run: capacity,
    },
    PreflightCheck {
        id: "capacity.disruption",
        about: "PodDisruptionBudgets and HPAs fit the replica counts; the metrics API for HPAs",
        run: disruption,
    },
    PreflightCheck {
        id: "rbac.create",
        about: "you may create (or, on upgrade, patch) every kind the chart renders",
        run: rbac,
    },
];

/// Run every check, then attribute root causes.
pub fn evaluate(ctx: &Context<'_>) -> Vec<CheckResult> {
    let mut results: Vec<CheckResult> = PREFLIGHT.iter().map(|c| (c.run)(ctx)).collect();
    crate::verify::registry::attribute_root_causes(&mut results);
    results
}

fn unread_result(id: &'static str, what: &str, u: &crate::verify::collect::Unread) -> CheckResult {
    let hint = u
        .hint
        .clone()
        .unwrap_or_else(|| "check your access with `kubectl auth can-i --list`".into());
    CheckResult::warn(id, format!("could not {what}: {}", u.message), hint)
}

fn reachable(ctx: &Context<'_>) -> CheckResult {
    let v = &ctx.obs.version;
    CheckResult::pass(
        "cluster.reachable",
        format!(
            "{} answers (Kubernetes {}), context {}, platform {}",
            ctx.server,
            printable(&v.git_version),
            printable(&ctx.context),
            ctx.platform.name()
        ),
    )
}

fn values_valid(ctx: &Context<'_>) -> CheckResult {
    let id = "values.valid";
    let mut details: Vec<String> = ctx
        .schema
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    details.extend(ctx.plan.render_failures.iter().cloned());
    if details.is_empty() {
        return CheckResult::pass(
            id,
            format!(
                "the values pass {}'s schema and templates' checks",
                ctx.plan.chart.origin
            ),
        );
    }
    let n = details.len();
    CheckResult::fail(
        id,
        format!(
            "{n} problem{} in the values: helm would refuse to render",
            if n == 1 { "" } else { "s" }
        ),
        "fix them in your -f file or --set, and run preflight again",
    )
    .with_details(details)
}

fn release_name(ctx: &Context<'_>) -> CheckResult {
    let id = "release.name";
    let plan = ctx.plan;
    if let Err(e) = names::check(NameKind::Release, &plan.release) {
        return CheckResult::fail(
            id,
            e.to_string(),
            "choose a name of lowercase letters, digits and `-` (at most 53), e.g. --release todo",
        );
    }
    let state = match &ctx.obs.release {
        Ok(s) => s,
        Err(u) => return unread_result(id, "read Helm's release records", u),
    };
    let Some((rev, status)) = &state.latest else {
        return CheckResult::pass(
            id,
            format!(
                "no release {} in namespace {}: helm install creates revision 1",
                plan.release,
                ctx.ns()
            ),
        );
    };
    let status = printable(status);
    if let Some(chart) = &state.deployed_chart
        && !chart.starts_with(&format!("{CHART_NAME}-"))
    {
        return CheckResult::fail(
            id,
            format!(
                "release {} in namespace {} is {}, another chart: an upgrade would replace it",
                plan.release,
                ctx.ns(),
                printable(chart)
            ),
            "choose another name with --release (and use it with helm install)",
        );
    }
    if status.starts_with("pending-") || status == "uninstalling" {
        return CheckResult::fail(
            id,
            format!(
                "release {} revision {rev} is {status}: helm refuses while another operation is in progress (or was interrupted)",
                plan.release
            ),
            format!(
                "see `helm history {} -n {}{}`; when nothing is running, `helm rollback {} -n {}{}` unblocks it",
                plan.release,
                ctx.ns(),
                ctx.helm_flags,
                plan.release,
                ctx.ns(),
                ctx.helm_flags
            ),
        );
    }
    let next = rev.saturating_add(1);
    let message = format!(
        "release {} exists (revision {rev}, {status}): this is an upgrade to revision {next} (`helm install` refuses a name in use: use `helm upgrade --install`)",
        plan.release
    );
    if status == "failed" {
        CheckResult::warn(
            id,
            message,
            format!(
                "revision {rev} failed; `helm history {} -n {}{}` says why before you upgrade again",
                plan.release,
                ctx.ns(),
                ctx.helm_flags
            ),
        )
    } else {
        CheckResult::pass(id, message)
    }
}

fn release_namespace(ctx: &Context<'_>) -> CheckResult {
    let id = "release.namespace";
    let ns = ctx.ns();
    match &ctx.obs.namespace {
        Err(u) => unread_result(id, "read the namespace", u),
        Ok(None) if ctx.create_namespace => CheckResult::pass(
            id,
            format!("namespace {ns} does not exist yet: --create-namespace creates it"),
        ),
        Ok(None) => CheckResult::fail(
            id,
            format!("namespace {ns} does not exist: helm install fails without --create-namespace"),
            format!(
                "add --create-namespace to helm install (and to preflight), or `kubectl create namespace {ns}{}`",
                ctx.kubectl_flags
            ),
        ),
        Ok(Some(n)) => {
            let phase = n.status.as_ref().and_then(|s| s.phase.as_deref());
            if phase == Some("Terminating") {
                CheckResult::fail(
                    id,
                    format!("namespace {ns} is being deleted: nothing can be created in it"),
                    format!(
                        "wait for `kubectl get namespace {ns}{}` to report NotFound, then install with --create-namespace",
                        ctx.kubectl_flags
                    ),
                )
            } else {
                CheckResult::pass(id, format!("namespace {ns} exists"))
            }
        }
    }
}

/// The node holds no taint the pod does not tolerate (NoSchedule / NoExecute).
fn tolerated(taint: &Taint, tolerations: &[Toleration]) -> bool {
    if taint.effect == "PreferNoSchedule" {
        return true;
    }
    tolerations.iter().any(|t| {
        let effect_ok = t
            .effect
            .as_deref()
            .is_none_or(|e| e.is_empty() || e == taint.effect);
        let key_ok = match t.key.as_deref() {
            None | Some("") => t.operator.as_deref() == Some("Exists"),
            Some(k) => k == taint.key,
        };
        let value_ok = match t.operator.as_deref() {
            Some("Exists") => true,
            _ => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        };
        effect_ok && key_ok && value_ok
    })
}

/// Nodes a component's pods may land on: schedulable, Ready, matching its nodeSelector, no
/// untolerated taint.
fn candidate_nodes<'a>(nodes: &'a [Node], c: &ComponentPlan) -> Vec<&'a Node> {
    nodes
        .iter()
        .filter(|n| {
            !n.spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false)
        })
        .filter(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_none_or(|cs| {
                    cs.iter()
                        .find(|c| c.type_ == "Ready")
                        .is_none_or(|c| c.status == "True")
                })
        })
        .filter(|n| {
            let labels = n.metadata.labels.clone().unwrap_or_default();
            c.node_selector
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
        })
        .filter(|n| {
            n.spec
                .as_ref()
                .and_then(|s| s.taints.as_ref())
                .is_none_or(|ts| ts.iter().all(|t| tolerated(t, &c.tolerations)))
        })
        .collect()
}

fn node_images(n: &Node) -> Vec<String> {
    n.status
        .as_ref()
        .and_then(|s| s.images.as_ref())
        .into_iter()
        .flatten()
        .flat_map(|i| i.names.iter().flatten().cloned())
        .collect()
}

fn image(ctx: &Context<'_>, comp: Component) -> CheckResult {
    let id = if comp == Component::Backend {
        "backend.image"
    } else {
        "frontend.image"
    };
    let c = ctx.plan.component(comp);
    let shown = printable(&c.image);
    let key = format!("{}.image", comp.name());
    let reference = match ImageRef::parse(&c.image) {
        Ok(r) => r,
        Err(e) => {
            return CheckResult::fail(
                id,
                format!(
                    "{shown} is not a valid image reference: {e} (the pods would fail InvalidImageName)"
                ),
                format!("set {key}.repository and {key}.tag to a valid reference"),
            );
        }
    };
    let policy = c.pull_policy.as_str();
    let nodes = match &ctx.obs.nodes {
        Ok(n) => n,
        Err(u) => return unread_result(id, "read the nodes' images", u),
    };
    let local_policy = matches!(policy, "Never" | "IfNotPresent");
    if !ctx.platform.is_local() || !local_policy {
        let held = nodes.iter().any(|n| reference.held_in(&node_images(n)));
        if policy == "Always" && ctx.platform.is_local() && held {
            return CheckResult::warn(
                id,
                format!(
                    "{shown} is on the node, but pullPolicy Always pulls it from its registry at every start (the loaded copy is not used)"
                ),
                format!(
                    "set {key}.pullPolicy=IfNotPresent to run the image loaded into {}",
                    ctx.platform.name()
                ),
            );
        }
        return CheckResult::pass(
            id,
            format!(
                "{shown} is a well-formed reference, pulled by the nodes (pullPolicy {policy})"
            ),
        );
    }
    let candidates = candidate_nodes(nodes, c);
    if candidates.is_empty() {
        return CheckResult::skip(
            id,
            "no node can take the pods to hold the image (see capacity.requests)",
        );
    }
    let holding: Vec<&&Node> = candidates
        .iter()
        .filter(|n| reference.held_in(&node_images(n)))
        .collect();
    let total = candidates.len();
    if holding.len() == total {
        let on = if total == 1 {
            "the node".to_owned()
        } else {
            format!("all {total} nodes")
        };
        return CheckResult::pass(id, format!("{shown} is on {on} (pullPolicy {policy})"));
    }
    let all_names: Vec<String> = candidates.iter().flat_map(|n| node_images(n)).collect();
    let others = reference.other_tags(&all_names);
    let fix = if others.is_empty() {
        ctx.platform.image_load_hint(&reference.familiar())
    } else {
        format!(
            "the node has {}: set {key}.tag to one of them, or {}",
            others
                .iter()
                .map(|o| printable(o))
                .collect::<Vec<_>>()
                .join(", "),
            ctx.platform.image_load_hint(&reference.familiar())
        )
    };
    let outcome = if policy == "Never" {
        "ErrImageNeverPull"
    } else {
        "ImagePullBackOff (a local cluster cannot pull a locally built image)"
    };
    if holding.is_empty() {
        CheckResult::fail(
            id,
            format!(
                "{shown} is not on the node{}: the pods would fail {outcome}",
                if total == 1 { "" } else { "s" }
            ),
            fix,
        )
    } else {
        let missing: Vec<String> = candidates
            .iter()
            .filter(|n| !reference.held_in(&node_images(n)))
            .map(|n| printable(n.metadata.name.as_deref().unwrap_or("?")))
            .collect();
        CheckResult::warn(
            id,
            format!(
                "{shown} is on {} of {total} nodes; pods placed on {} would fail {outcome}",
                holding.len(),
                missing.join(", ")
            ),
            fix,
        )
    }
}

/// The default NodePort range of the API server (`--service-node-port-range`).
const NODE_PORT_RANGE: std::ops::RangeInclusive<i64> = 30000..=32767;

fn node_port(ctx: &Context<'_>, comp: Component) -> CheckResult {
    let id = if comp == Component::Backend {
        "backend.nodeport"
    } else {
        "frontend.nodeport"
    };
    let c = ctx.plan.component(comp);
    let key = format!("{}.service", comp.name());
    let Some(port) = c.node_port else {
        return CheckResult::pass(
            id,
            format!(
                "Service type {}: no NodePort asked for",
                printable(&c.service_type)
            ),
        );
    };
    if !NODE_PORT_RANGE.contains(&port) {
        return CheckResult::fail(
            id,
            format!(
                "NodePort {port} is outside the API server's default range 30000-32767: the Service would be refused"
            ),
            format!(
                "set {key}.nodePort to a port in 30000-32767, or leave it empty for a random one"
            ),
        );
    }
    if comp == Component::Frontend && ctx.plan.component(Component::Backend).node_port == Some(port)
    {
        return CheckResult::fail(
            id,
            format!("NodePort {port} is also the backend's: the second Service would be refused"),
            format!("give {key}.nodePort another port"),
        );
    }
    let services = match &ctx.obs.services {
        Ok(s) => s,
        Err(u) => return unread_result(id, "list the cluster's Services", u),
    };
    let own = c.deployment.as_str();
    let taken = services.iter().find(|s| {
        let is_own = s.metadata.namespace.as_deref() == Some(ctx.ns())
            && s.metadata.name.as_deref() == Some(own);
        !is_own
            && s.spec
                .as_ref()
                .and_then(|sp| sp.ports.as_ref())
                .into_iter()
                .flatten()
                .any(|p| p.node_port.map(i64::from) == Some(port))
    });
    match taken {
        Some(s) => {
            let who = format!(
                "{}/{}",
                printable(s.metadata.namespace.as_deref().unwrap_or("?")),
                printable(s.metadata.name.as_deref().unwrap_or("?"))
            );
            let mine = s
                .metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.get(LABEL_NAME).map(String::as_str) == Some(CHART_NAME));
            let whose = if mine {
                format!(
                    " (release {})",
                    printable(
                        s.metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get(LABEL_INSTANCE))
                            .map(String::as_str)
                            .unwrap_or("?")
                    )
                )
            } else {
                String::new()
            };
            CheckResult::fail(
                id,
                format!(
                    "NodePort {port} is taken by Service {who}{whose}: the install would fail with \"provided port is already allocated\""
                ),
                format!(
                    "set {key}.nodePort to a free port, or {key}.type=ClusterIP (reach it with `kubectl port-forward`)"
                ),
            )
        }
        None => CheckResult::pass(id, format!("NodePort {port} is free")),
    }
}

fn controller(ctx: &Context<'_>) -> CheckResult {
    let id = "config.controller";
    let Some(side) = &ctx.obs.sealed else {
        return CheckResult::skip(id, "secrets.mode is not sealed: no controller needed");
    };
    let install = "install the controller: `helm repo add sealed-secrets https://bitnami-labs.github.io/sealed-secrets && helm install sealed-secrets sealed-secrets/sealed-secrets -n kube-system --set-string fullnameOverride=sealed-secrets-controller`";
    match &side.api {
        Ok(false) => {
            return CheckResult::fail(
                id,
                "the API does not serve sealedsecrets.bitnami.com: the sealed-secrets CRD is not installed, and helm would refuse the SealedSecret",
                install,
            );
        }
        Err(u) => return unread_result(id, "ask the API for sealedsecrets.bitnami.com", u),
        Ok(true) => {}
    }
    match &side.service {
        Ok(None) => {
            return CheckResult::fail(
                id,
                format!(
                    "no Service {}: the controller that unseals the values is not installed there",
                    ctx.controller
                ),
                format!("{install} (or pass --controller-name/--controller-namespace)"),
            );
        }
        Err(u) => return unread_result(id, "read the controller's Service", u),
        Ok(Some(_)) => {}
    }
    match &side.fingerprint {
        Ok(fp) => CheckResult::pass(
            id,
            format!(
                "controller {} serves certificate {}",
                ctx.controller,
                crate::seal::short(fp)
            ),
        ),
        Err(e) => CheckResult::fail(
            id,
            format!(
                "the controller {} does not serve its certificate: {}",
                ctx.controller,
                printable(e)
            ),
            format!(
                "see `kubectl logs -n {} deploy/{}{}`",
                ctx.controller.split('/').next().unwrap_or("kube-system"),
                ctx.controller
                    .rsplit('/')
                    .next()
                    .unwrap_or("sealed-secrets-controller"),
                ctx.kubectl_flags
            ),
        ),
    }
}

fn missing_keys(required: &[&'static str], have: &[String]) -> Vec<&'static str> {
    required
        .iter()
        .filter(|k| !have.iter().any(|h| h == *k))
        .copied()
        .collect()
}

fn secrets(ctx: &Context<'_>) -> CheckResult {
    let id = "config.secrets";
    let plan = ctx.plan;
    let required = plan.required_keys();
    let init = format!(
        "helm todo-secrets init -n {} --release {}{} -f {}",
        ctx.ns(),
        plan.release,
        ctx.helm_flags,
        ctx.values_file
    );
    match &plan.secrets {
        SecretsPlan::Inline { keys, .. } => {
            let missing = missing_keys(&required, keys);
            if !missing.is_empty() {
                return CheckResult::fail(
                    id,
                    format!(
                        "secrets.inline lacks {} (the chart refuses to render)",
                        missing.join(", ")
                    ),
                    format!("seal them instead: `{init}`"),
                );
            }
            CheckResult::warn(
                id,
                "secrets.mode=inline: the values go in plaintext into Helm's release record (development only)",
                format!("for anything shared, seal them: `{init}`, and install with -f that file"),
            )
        }
        SecretsPlan::Existing { name } if name.is_empty() => CheckResult::fail(
            id,
            "secrets.mode=existingSecret without secrets.existingSecret",
            "set secrets.existingSecret to the name of your Secret",
        )
        .caused_by(&["values.valid"]),
        SecretsPlan::Existing { name } => existing(ctx, name, &required),
        SecretsPlan::Sealed {
            secret_name,
            scope,
            sealed_namespace,
            sealed_name,
            fingerprint,
            keys,
        } => {
            if keys.is_empty() {
                return CheckResult::fail(
                    id,
                    "secrets.mode=sealed but no sealed values (secrets.sealed.encryptedData is empty; the chart refuses to render)",
                    format!("seal them: `{init}`, then preflight and install with -f that file"),
                );
            }
            if let Err(misfit) =
                scope.admits(Some(sealed_namespace), sealed_name, ctx.ns(), secret_name)
            {
                return CheckResult::fail(
                    id,
                    format!(
                        "the sealed values cannot be unsealed here: {misfit} (the chart refuses to render)"
                    ),
                    format!(
                        "install into the namespace they were sealed for, or seal them for this one: `{init}`"
                    ),
                );
            }
            let missing = missing_keys(&required, keys);
            if !missing.is_empty() {
                let seal: Vec<String> = missing
                    .iter()
                    .map(|k| {
                        format!(
                            "`helm todo-secrets seal {k} -n {} -f {}{}`",
                            ctx.ns(),
                            ctx.values_file,
                            ctx.helm_flags
                        )
                    })
                    .collect();
                return CheckResult::fail(
                    id,
                    format!(
                        "secrets.sealed.encryptedData lacks {} (llm.provider={})",
                        missing.join(", "),
                        plan.provider.as_str()
                    ),
                    format!("seal them: {}", seal.join(", ")),
                );
            }
            let Some(side) = &ctx.obs.sealed else {
                return CheckResult::skip(id, "the controller was not asked");
            };
            let current = match &side.fingerprint {
                Ok(fp) => fp,
                Err(_) => {
                    return CheckResult::fail(
                        id,
                        "cannot tell whether the controller can unseal the values",
                        "see config.controller",
                    )
                    .caused_by(&["config.controller"]);
                }
            };
            if fingerprint.is_empty() {
                return CheckResult::warn(
                    id,
                    format!(
                        "{} sealed values for {scope} scope; no certificate fingerprint recorded, so whether this controller can unseal them is unknown",
                        keys.len()
                    ),
                    format!(
                        "re-seal with `{init}` (it records the fingerprint), or check after install with `kubectl todo verify`"
                    ),
                );
            }
            if fingerprint != current {
                return CheckResult::fail(
                    id,
                    format!(
                        "the values were sealed with certificate {}, but controller {} serves {}: sealed for another controller (or a key it no longer holds), they would not unseal",
                        crate::seal::short(fingerprint),
                        ctx.controller,
                        crate::seal::short(current)
                    ),
                    format!(
                        "re-seal them for this cluster: `{init}` (or `helm todo-secrets rotate -f {}` if the controller still holds the old key)",
                        ctx.values_file
                    ),
                );
            }
            CheckResult::pass(
                id,
                format!(
                    "{} sealed values ({}) for {scope} scope, namespace {}, Secret {}, with the controller's current certificate",
                    keys.len(),
                    keys.join(", "),
                    ctx.ns(),
                    secret_name
                ),
            )
        }
    }
}

fn existing(ctx: &Context<'_>, name: &str, required: &[&'static str]) -> CheckResult {
    let id = "config.secrets";
    let create = format!(
        "`kubectl create secret generic {name} --from-env-file=.env{}` (or `helm todo-secrets init --format secret`)",
        ctx.kflags()
    );
    let data = match &ctx.obs.existing {
        Some(Ok(Some(d))) => d,
        Some(Ok(None)) => {
            return CheckResult::fail(
                id,
                format!(
                    "Secret {name} (secrets.existingSecret) does not exist in namespace {}: the pods would fail CreateContainerConfigError",
                    ctx.ns()
                ),
                create,
            );
        }
        Some(Err(u)) => return unread_result(id, &format!("read Secret {name}"), u),
        None => return CheckResult::skip(id, "the Secret was not read"),
    };
    let mut problems = Vec::new();
    for key in required {
        match data.values.get(*key) {
            None => problems.push(format!("{key}: missing")),
            Some(v) if v.expose_secret().is_empty() => problems.push(format!("{key}: empty")),
            Some(v) if is_placeholder(v.expose_secret()) => {
                problems.push(format!("{key}: a placeholder, not a real value"));
            }
            Some(v) if *key == "DATABASE_URL" => {
                if let Some(p) = database_url_problem(v.expose_secret()) {
                    problems.push(format!("{key}: {}", crate::redact::redact(&p)));
                }
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        CheckResult::pass(
            id,
            format!(
                "Secret {name} has {} (values not shown)",
                required.join(", ")
            ),
        )
    } else {
        CheckResult::fail(
            id,
            format!("Secret {name} is not usable: {}", problems.join("; ")),
            format!(
                "set the keys: `kubectl edit secret {name}{}`, or re-create it: {create}",
                ctx.kflags()
            ),
        )
    }
}

/// Place `pods` (each `requests`) on `rooms` largest-free first; how many did not fit.
fn unplaced(
    rooms: &mut [(String, Resources)],
    pods: &[(Component, Resources, Vec<String>)],
) -> Vec<Component> {
    let mut left = Vec::new();
    for (c, need, allowed) in pods {
        let best = rooms
            .iter_mut()
            .filter(|(n, free)| {
                allowed.contains(n)
                    && free.cpu + 1e-9 >= need.cpu
                    && free.memory + 1e-9 >= need.memory
            })
            .max_by(|a, b| {
                (a.1.cpu / need.cpu.max(1e-9))
                    .min(a.1.memory / need.memory.max(1e-9))
                    .total_cmp(
                        &(b.1.cpu / need.cpu.max(1e-9)).min(b.1.memory / need.memory.max(1e-9)),
                    )
            });
        match best {
            Some((_, free)) => {
                free.cpu -= need.cpu;
                free.memory -= need.memory;
            }
            None => left.push(*c),
        }
    }
    left
}

fn capacity(ctx: &Context<'_>) -> CheckResult {
    let id = "capacity.requests";
    let (nodes, pods) = match (&ctx.obs.nodes, &ctx.obs.pods) {
        (Ok(n), Ok(p)) => (n, p),
        (Err(u), _) => return unread_result(id, "read the nodes", u),
        (_, Err(u)) => return unread_result(id, "list the cluster's pods", u),
    };
    let upgrade = ctx.upgrade();
    // On upgrade the release's own pods are replaced: count the new ones instead.
    let others: Vec<Pod> = pods
        .iter()
        .filter(|p| {
            !(upgrade
                && p.metadata.namespace.as_deref() == Some(ctx.ns())
                && p.metadata.labels.as_ref().is_some_and(|l| {
                    l.get(LABEL_INSTANCE) == Some(&ctx.plan.release)
                        && l.get(LABEL_NAME).map(String::as_str) == Some(CHART_NAME)
                }))
        })
        .cloned()
        .collect();
    let rooms: Vec<NodeRoom> = quantity::node_rooms(nodes, &others);
    let mut free: Vec<(String, Resources)> =
        rooms.iter().map(|r| (r.node.clone(), r.free())).collect();
    let mut wanted: Vec<(Component, Resources, Vec<String>)> = Vec::new();
    let mut never: Vec<String> = Vec::new();
    let mut counts = Vec::new();
    for c in &ctx.plan.components {
        let allowed: Vec<String> = candidate_nodes(nodes, c)
            .iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        let n = c.replicas.max(0) + if upgrade { c.surge() } else { 0 };
        counts.push(format!("{} {}", c.replicas.max(0), c.component.name()));
        if allowed.is_empty() && n > 0 {
            never.push(format!(
                "no schedulable node matches the {} pods' nodeSelector and tolerations",
                c.component.name()
            ));
            continue;
        }
        let biggest = rooms
            .iter()
            .filter(|r| allowed.contains(&r.node))
            .map(|r| r.allocatable)
            .fold(Resources::default(), |a, b| Resources {
                cpu: a.cpu.max(b.cpu),
                memory: a.memory.max(b.memory),
            });
        if c.requests.cpu > biggest.cpu + 1e-9 || c.requests.memory > biggest.memory + 1e-9 {
            never.push(format!(
                "each {} pod requests {} CPU and {} memory, more than any node's allocatable ({} CPU, {} memory)",
                c.component.name(),
                quantity::format_cpu(c.requests.cpu),
                quantity::format_memory(c.requests.memory),
                quantity::format_cpu(biggest.cpu),
                quantity::format_memory(biggest.memory)
            ));
            continue;
        }
        for _ in 0..n.min(10_000) {
            wanted.push((c.component, c.requests, allowed.clone()));
        }
    }
    let surge = if upgrade {
        " (+ the rolling update's surge)"
    } else {
        ""
    };
    let key_hint = "lower <component>.resources.requests or replicaCount, or add nodes";
    if !never.is_empty() {
        return CheckResult::fail(
            id,
            format!("pods that can never be scheduled: {}", never.join("; ")),
            key_hint,
        );
    }
    wanted.sort_by(|a, b| (b.1.cpu + b.1.memory / 1e9).total_cmp(&(a.1.cpu + a.1.memory / 1e9)));
    let left = unplaced(&mut free, &wanted);
    let total = wanted.len();
    let free_sum = rooms.iter().fold(Resources::default(), |a, r| {
        let f = r.free();
        Resources {
            cpu: a.cpu + f.cpu.max(0.0),
            memory: a.memory + f.memory.max(0.0),
        }
    });
    let free_text = format!(
        "free {} CPU, {} memory on {} node{}",
        quantity::format_cpu(free_sum.cpu),
        quantity::format_memory(free_sum.memory),
        rooms.len(),
        if rooms.len() == 1 { "" } else { "s" }
    );
    if left.is_empty() {
        return CheckResult::pass(
            id,
            format!(
                "room for all {total} pods ({}){surge}: {free_text}",
                counts.join(", ")
            ),
        );
    }
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &left {
        *by.entry(c.name()).or_default() += 1;
    }
    let which: Vec<String> = by.iter().map(|(c, n)| format!("{n} {c}")).collect();
    CheckResult::fail(
        id,
        format!(
            "{} of {total} pods{surge} would stay Pending (FailedScheduling: Insufficient cpu/memory): {}; {free_text}",
            left.len(),
            which.join(", ")
        ),
        key_hint,
    )
}

fn disruption(ctx: &Context<'_>) -> CheckResult {
    let id = "capacity.disruption";
    let mut warnings = Vec::new();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for c in &ctx.plan.components {
        let name = c.component.name();
        if let Some(pdb) = &c.pdb {
            let replicas = c.autoscaling.as_ref().map_or(c.replicas, |a| a.min);
            let allowed = match pdb {
                Budget::MinAvailable(m) => replicas - m.resolve(replicas, true),
                Budget::MaxUnavailable(m) => m.resolve(replicas, true),
            };
            if allowed <= 0 {
                warnings.push(format!(
                    "{name}: the PDB ({}) allows no voluntary disruption with {replicas} replica{}: `kubectl drain` and node upgrades would block",
                    match pdb { Budget::MinAvailable(m) => format!("minAvailable {m}"), Budget::MaxUnavailable(m) => format!("maxUnavailable {m}") },
                    if replicas == 1 { "" } else { "s" }
                ));
            } else {
                notes.push(format!("{name} PDB allows {allowed} disruption(s)"));
            }
        }
        if let Some(a) = &c.autoscaling {
            if a.cpu_target > 0 && c.requests.cpu <= 0.0 {
                failures.push(format!("{name}: the HPA targets {}% CPU but the pods request no CPU: it cannot compute utilisation", a.cpu_target));
            }
            notes.push(format!("{name} HPA {}-{}", a.min, a.max));
        }
        if c.autoscaling.is_none()
            && c.max_surge.resolve(c.replicas, true) <= 0
            && c.max_unavailable.resolve(c.replicas, false) <= 0
        {
            failures.push(format!("{name}: rollingUpdate maxSurge and maxUnavailable are both 0: the Deployment is refused"));
        }
    }
    match &ctx.obs.metrics_api {
        Some(Ok(false)) => {
            warnings.push("no metrics API (metrics.k8s.io): the HPAs would never scale".into())
        }
        Some(Err(u)) => warnings.push(format!("could not ask for the metrics API: {}", u.message)),
        _ => {}
    }
    let metrics_fix = match &ctx.platform {
        Platform::Minikube { .. } => "`minikube addons enable metrics-server`",
        _ => {
            "install metrics-server (`kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/latest/download/components.yaml`)"
        }
    };
    if !failures.is_empty() {
        failures.extend(warnings);
        return CheckResult::fail(
            id,
            failures.join("; "),
            "fix <component>.autoscaling / rollingUpdate / resources in the values",
        );
    }
    if !warnings.is_empty() {
        return CheckResult::warn(
            id,
            warnings.join("; "),
            format!(
                "raise <component>.replicaCount above the PDB's minAvailable (or set pdb.maxUnavailable: 1); for HPAs {metrics_fix}"
            ),
        );
    }
    if notes.is_empty() {
        CheckResult::pass(id, "no PodDisruptionBudget or HPA enabled")
    } else {
        CheckResult::pass(id, notes.join(", "))
    }
}

fn rbac(ctx: &Context<'_>) -> CheckResult {
    let id = "rbac.create";
    let upgrade = ctx.upgrade();
    let create_ns = matches!(ctx.obs.namespace, Ok(None));
    let wanted = super::reads::verbs(ctx.plan, upgrade, create_ns);
    let mut denied = Vec::new();
    let mut unknown = Vec::new();
    for (kind, verb) in &wanted {
        match ctx
            .obs
            .access
            .iter()
            .find(|a| a.kind == *kind && a.verb == *verb)
            .map(|a| &a.allowed)
        {
            Some(Ok((true, _))) => {}
            Some(Ok((false, _))) => denied.push(format!("{verb} {}", kind.shown())),
            Some(Err(u)) => unknown.push(format!("{verb} {} ({})", kind.shown(), u.message)),
            None => unknown.push(format!("{verb} {}", kind.shown())),
        }
    }
    if let Some(first) = denied.first() {
        let mut parts = first.splitn(2, ' ');
        let (verb, what) = (parts.next().unwrap_or("create"), parts.next().unwrap_or(""));
        return CheckResult::fail(
            id,
            format!(
                "you may not {} in namespace {}: helm would stop with 403 Forbidden",
                denied.join(", "),
                ctx.ns()
            ),
            format!(
                "ask the cluster's admin for a Role with these verbs; `kubectl auth can-i {verb} {what}{}` confirms",
                ctx.kflags()
            ),
        );
    }
    if !unknown.is_empty() {
        return CheckResult::warn(
            id,
            format!(
                "could not ask the API whether you may {}",
                unknown.join(", ")
            ),
            format!(
                "`kubectl auth can-i --list{}` shows what you may do",
                ctx.kflags()
            ),
        );
    }
    let verb = if upgrade { "patch (upgrade)" } else { "create" };
    CheckResult::pass(
        id,
        format!(
            "you may {verb} all {} kinds the chart renders",
            wanted.len()
        ),
    )
    .with_details(vec![
        wanted
            .iter()
            .map(|(k, v)| format!("{v} {}", k.shown()))
            .collect::<Vec<_>>()
            .join(", "),
    ])
}

/// Whether a result blocks the install.
pub fn blocks(r: &CheckResult, strict: bool) -> bool {
    r.status == Status::Fail || (strict && r.status == Status::Warn)
}
