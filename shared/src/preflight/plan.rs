//! What `helm install/upgrade` of these values would create, read off the computed values the
//! way the chart's templates read them (`charts/todo-chatbot/templates`): images, replicas,
//! requests, the rolling update's surge, Services and NodePorts, PDBs, HPAs, the secrets mode,
//! and the kinds of object rendered. Pure: no cluster, unit-tested on value trees.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use serde_json::Value;

use super::values::ChartMeta;
use crate::chart::{self, Component, Provider, SecretsMode};
use crate::quantity::{self, Resources};
use crate::seal::Scope;

/// An `IntOrString` value of the chart (`maxSurge: 1`, `minAvailable: "50%"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntOrPercent {
    /// A pod count.
    Int(i64),
    /// A percentage of the replicas.
    Percent(i64),
}

impl IntOrPercent {
    fn from_value(v: Option<&Value>) -> Option<IntOrPercent> {
        match v? {
            Value::Number(n) => n.as_i64().map(IntOrPercent::Int),
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => match s.strip_suffix('%') {
                Some(p) => p.trim().parse().ok().map(IntOrPercent::Percent),
                None => s.trim().parse().ok().map(IntOrPercent::Int),
            },
            _ => None,
        }
    }

    /// The pod count for `replicas`, rounding a percentage up (`round_up`, as the Deployment
    /// controller does for maxSurge and a PDB's minAvailable) or down (maxUnavailable).
    pub fn resolve(&self, replicas: i64, round_up: bool) -> i64 {
        match *self {
            IntOrPercent::Int(n) => n,
            IntOrPercent::Percent(p) => {
                let scaled = replicas.saturating_mul(p);
                if round_up {
                    scaled.saturating_add(99).div_euclid(100)
                } else {
                    scaled.div_euclid(100)
                }
            }
        }
    }
}

impl std::fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntOrPercent::Int(n) => write!(f, "{n}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// `<component>.autoscaling` when enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Autoscaling {
    /// `minReplicas`.
    pub min: i64,
    /// `maxReplicas`.
    pub max: i64,
    /// `targetCPUUtilizationPercentage`.
    pub cpu_target: i64,
}

/// `<component>.pdb` when enabled: the one of the two fields the template renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Budget {
    /// `minAvailable`.
    MinAvailable(IntOrPercent),
    /// `maxUnavailable` (wins when both are set).
    MaxUnavailable(IntOrPercent),
}

/// One component as the chart would render it.
#[derive(Debug, Clone)]
pub struct ComponentPlan {
    /// Which.
    pub component: Component,
    /// The Deployment's name, `<fullname>-<component>`.
    pub deployment: String,
    /// The image reference the template renders (`repository:tag[@digest]`).
    pub image: String,
    /// `image.pullPolicy`.
    pub pull_policy: String,
    /// The replicas the Deployment starts with (`minReplicas` under autoscaling).
    pub replicas: i64,
    /// The HPA, when autoscaling is on.
    pub autoscaling: Option<Autoscaling>,
    /// Each pod's requests.
    pub requests: Resources,
    /// `rollingUpdate.maxSurge`.
    pub max_surge: IntOrPercent,
    /// `rollingUpdate.maxUnavailable`.
    pub max_unavailable: IntOrPercent,
    /// `service.type`.
    pub service_type: String,
    /// The NodePort the Service asks for (type NodePort or LoadBalancer with one set).
    pub node_port: Option<i64>,
    /// The PDB, when enabled.
    pub pdb: Option<Budget>,
    /// `nodeSelector`.
    pub node_selector: BTreeMap<String, String>,
    /// `tolerations`.
    pub tolerations: Vec<Toleration>,
}

impl ComponentPlan {
    /// Extra pods a rolling update runs at its peak (maxSurge resolved against the replicas).
    pub fn surge(&self) -> i64 {
        self.max_surge.resolve(self.replicas, true).max(0)
    }
}

/// `secrets.sealed`, as the chart renders it into a SealedSecret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPlan {
    /// The SealedSecret / Secret name the release renders.
    pub secret_name: String,
    /// `secrets.sealed.scope`.
    pub scope: Scope,
    /// `secrets.sealed.namespace` (recorded by `helm todo-secrets`).
    pub sealed_namespace: String,
    /// `secrets.sealed.secretName`.
    pub sealed_name: String,
    /// `secrets.sealed.certificateFingerprint`.
    pub fingerprint: String,
    /// The keys of `encryptedData` with a non-empty value.
    pub keys: Vec<String>,
}

/// Where the pods' secrets come from, with what the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsPlan {
    /// A SealedSecret from `secrets.sealed`.
    Sealed(SealedPlan),
    /// A Secret the user created.
    Existing {
        /// `secrets.existingSecret` (empty: the chart refuses to render).
        name: String,
    },
    /// Plaintext values in the release record (development only).
    Inline {
        /// The Secret name the release renders.
        secret_name: String,
        /// The keys of `secrets.inline` with a non-empty value.
        keys: Vec<String>,
    },
}

/// A kind of object the chart renders, for the RBAC check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Kind {
    /// API group (`""` for core).
    pub group: &'static str,
    /// Resource (plural).
    pub resource: &'static str,
}

impl Kind {
    const fn new(group: &'static str, resource: &'static str) -> Self {
        Kind { group, resource }
    }

    /// `deployments.apps`, `secrets`: kubectl's spelling.
    pub fn shown(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_owned()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

/// The whole release as it would be rendered.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The release name.
    pub release: String,
    /// The namespace.
    pub namespace: String,
    /// `todo-chatbot.fullname`.
    pub fullname: String,
    /// The chart.
    pub chart: ChartMeta,
    /// Both components, backend first.
    pub components: Vec<ComponentPlan>,
    /// `llm.provider`.
    pub provider: Provider,
    /// The secrets.
    pub secrets: SecretsPlan,
    /// Every kind of object the chart renders with these values (Helm's own release record,
    /// a Secret, included).
    pub kinds: Vec<Kind>,
    /// What the chart's templates would refuse with `fail` (the render stops, nothing is
    /// installed): one line each.
    pub render_failures: Vec<String>,
}

fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

fn string(v: &Value, path: &str) -> String {
    match at(v, path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn int(v: &Value, path: &str, default: i64) -> i64 {
    match at(v, path) {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(default),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(default),
        _ => default,
    }
}

fn truthy(v: &Value, path: &str) -> bool {
    match at(v, path) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    }
}

fn keys_with_values(v: &Value, path: &str) -> Vec<String> {
    at(v, path)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| match v {
                    Value::String(s) => !s.is_empty(),
                    Value::Null => false,
                    _ => true,
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn resources(v: &Value, path: &str) -> Resources {
    let q = |k: &str| {
        let text = string(v, &format!("{path}.{k}"));
        quantity::parse_quantity(&text).unwrap_or(0.0)
    };
    Resources {
        cpu: q("cpu"),
        memory: q("memory"),
    }
}

/// `todo-chatbot.image`: `repository:tag[@digest]`, the tag defaulting to the chart's
/// appVersion; a `latest` tag is a render failure.
fn image_ref(v: &Value, c: Component, app_version: &str, failures: &mut Vec<String>) -> String {
    let p = |k: &str| format!("{}.{k}", c.name());
    let repository = string(v, &p("image.repository"));
    let tag = match string(v, &p("image.tag")) {
        t if t.is_empty() => app_version.to_owned(),
        t => t,
    };
    if tag == "latest" {
        failures.push(format!(
            "{}: the image tag must not be \"latest\" (the chart refuses it); set {} to a version",
            p("image.tag"),
            p("image.tag")
        ));
    }
    let digest = string(v, &p("image.digest"));
    if digest.is_empty() {
        format!("{repository}:{tag}")
    } else {
        format!("{repository}:{tag}@{digest}")
    }
}

fn component_plan(
    v: &Value,
    c: Component,
    fullname: &str,
    app_version: &str,
    failures: &mut Vec<String>,
) -> ComponentPlan {
    let p = |k: &str| format!("{}.{k}", c.name());
    let image = image_ref(v, c, app_version, failures);
    let autoscaling = truthy(v, &p("autoscaling.enabled")).then(|| Autoscaling {
        min: int(v, &p("autoscaling.minReplicas"), 1),
        max: int(v, &p("autoscaling.maxReplicas"), 1),
        cpu_target: int(v, &p("autoscaling.targetCPUUtilizationPercentage"), 0),
    });
    if let Some(a) = &autoscaling
        && a.min > a.max
    {
        failures.push(format!(
            "{}: minReplicas ({}) is greater than maxReplicas ({}) (the chart refuses it)",
            p("autoscaling"),
            a.min,
            a.max
        ));
    }
    let replicas = match &autoscaling {
        Some(a) => a.min,
        None => int(v, &p("replicaCount"), 1),
    };
    let service_type = match string(v, &p("service.type")) {
        t if t.is_empty() => "ClusterIP".to_owned(),
        t => t,
    };
    let node_port = (service_type != "ClusterIP")
        .then(|| int(v, &p("service.nodePort"), 0))
        .filter(|n| *n != 0);
    let pdb = truthy(v, &p("pdb.enabled")).then(|| {
        match IntOrPercent::from_value(at(v, &p("pdb.maxUnavailable"))) {
            Some(m) => Budget::MaxUnavailable(m),
            None => Budget::MinAvailable(
                IntOrPercent::from_value(at(v, &p("pdb.minAvailable")))
                    .unwrap_or(IntOrPercent::Int(1)),
            ),
        }
    });
    let node_selector = at(v, &p("nodeSelector"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let tolerations = at(v, &p("tolerations"))
        .cloned()
        .and_then(|t| serde_json::from_value(t).ok())
        .unwrap_or_default();
    ComponentPlan {
        component: c,
        deployment: format!("{fullname}-{}", c.name()),
        image,
        pull_policy: string(v, &p("image.pullPolicy")),
        replicas,
        autoscaling,
        requests: resources(v, &p("resources.requests")),
        max_surge: IntOrPercent::from_value(at(v, &p("rollingUpdate.maxSurge")))
            .unwrap_or(IntOrPercent::Percent(25)),
        max_unavailable: IntOrPercent::from_value(at(v, &p("rollingUpdate.maxUnavailable")))
            .unwrap_or(IntOrPercent::Percent(25)),
        service_type,
        node_port,
        pdb,
        node_selector,
        tolerations,
    }
}

/// The secrets mode and what the checks need of it. A sealed scope that does not admit this
/// namespace or name is left to the `config.secrets` check, which has the fix.
fn secrets_plan(v: &Value, fullname: &str, failures: &mut Vec<String>) -> SecretsPlan {
    let rendered_name = match string(v, "secrets.name") {
        n if n.is_empty() => chart::ObjectNames::new(fullname).default_secret(),
        n => n,
    };
    match SecretsMode::parse(Some(&string(v, "secrets.mode"))) {
        Some(SecretsMode::ExistingSecret) => {
            let name = string(v, "secrets.existingSecret");
            if name.is_empty() {
                failures.push("secrets.mode is existingSecret but secrets.existingSecret is empty (the chart refuses it): set it to the name of the Secret you created".into());
            }
            SecretsPlan::Existing { name }
        }
        Some(SecretsMode::Inline) => SecretsPlan::Inline {
            secret_name: rendered_name,
            keys: keys_with_values(v, "secrets.inline"),
        },
        Some(SecretsMode::Sealed) | None => {
            let scope = string(v, "secrets.sealed.scope")
                .parse()
                .unwrap_or(Scope::Strict);
            SecretsPlan::Sealed(SealedPlan {
                secret_name: rendered_name,
                scope,
                sealed_namespace: string(v, "secrets.sealed.namespace"),
                sealed_name: string(v, "secrets.sealed.secretName"),
                fingerprint: string(v, "secrets.sealed.certificateFingerprint").to_lowercase(),
                keys: keys_with_values(v, "secrets.sealed.encryptedData"),
            })
        }
    }
}

impl Plan {
    /// Read the plan off the computed values for `release` in `namespace`.
    pub fn new(values: &Value, chart: &ChartMeta, release: &str, namespace: &str) -> Plan {
        let over = string(values, "fullnameOverride");
        let fullname = chart::fullname(release, Some(&over));
        let app_version = chart.app_version.clone().unwrap_or_default();
        let mut render_failures = Vec::new();
        let components = Component::ALL
            .into_iter()
            .map(|c| component_plan(values, c, &fullname, &app_version, &mut render_failures))
            .collect::<Vec<_>>();
        let provider_name = string(values, "llm.provider");
        let provider = Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == provider_name)
            .unwrap_or_else(|| {
                render_failures.push(format!(
                    "llm.provider must be one of openai, openrouter, cohere (the chart refuses {})",
                    crate::redact::printable(&provider_name)
                ));
                Provider::Openai
            });
        let secrets = secrets_plan(values, &fullname, &mut render_failures);
        let mut kinds = vec![
            Kind::new("apps", "deployments"),
            Kind::new("", "services"),
            Kind::new("", "configmaps"),
            // Helm stores the release record as a Secret in the namespace.
            Kind::new("", "secrets"),
        ];
        if matches!(secrets, SecretsPlan::Sealed(_)) {
            kinds.push(Kind::new("bitnami.com", "sealedsecrets"));
        }
        if truthy(values, "serviceAccount.create") {
            kinds.push(Kind::new("", "serviceaccounts"));
        }
        if components.iter().any(|c| c.pdb.is_some()) {
            kinds.push(Kind::new("policy", "poddisruptionbudgets"));
        }
        if components.iter().any(|c| c.autoscaling.is_some()) {
            kinds.push(Kind::new("autoscaling", "horizontalpodautoscalers"));
        }
        if truthy(values, "networkPolicy.enabled") {
            kinds.push(Kind::new("networking.k8s.io", "networkpolicies"));
        }
        kinds.sort();
        kinds.dedup();
        Plan {
            release: release.to_owned(),
            namespace: namespace.to_owned(),
            fullname,
            chart: chart.clone(),
            components,
            provider,
            secrets,
            kinds,
            render_failures,
        }
    }

    /// What the install would create, for the JSON report: per component its Deployment,
    /// image, pull policy, replicas, Service type and NodePort, requests; the secrets mode
    /// and Secret name; the kinds of object. Never a secret value.
    pub fn summary(&self) -> Value {
        let components: Vec<Value> = self
            .components
            .iter()
            .map(|c| {
                serde_json::json!({
                    "component": c.component.name(),
                    "deployment": c.deployment,
                    "image": c.image,
                    "pullPolicy": c.pull_policy,
                    "replicas": c.replicas,
                    "autoscaling": c.autoscaling.as_ref().map(|a| serde_json::json!({"min": a.min, "max": a.max})),
                    "serviceType": c.service_type,
                    "nodePort": c.node_port,
                    "requests": {
                        "cpu": quantity::format_cpu(c.requests.cpu),
                        "memory": quantity::format_memory(c.requests.memory),
                    },
                })
            })
            .collect();
        let (mode, secret) = match &self.secrets {
            SecretsPlan::Sealed(s) => ("sealed", s.secret_name.as_str()),
            SecretsPlan::Existing { name } => ("existingSecret", name.as_str()),
            SecretsPlan::Inline { secret_name, .. } => ("inline", secret_name.as_str()),
        };
        serde_json::json!({
            "release": self.release,
            "namespace": self.namespace,
            "fullname": self.fullname,
            "chart": format!("{}-{}", self.chart.name, self.chart.version),
            "secretsMode": mode,
            "secretName": secret,
            "components": components,
            "kinds": self.kinds.iter().map(Kind::shown).collect::<Vec<_>>(),
        })
    }

    /// The secret keys the pods read (`DATABASE_URL`, `BETTER_AUTH_SECRET`, the provider's).
    pub fn required_keys(&self) -> Vec<&'static str> {
        vec![
            "DATABASE_URL",
            "BETTER_AUTH_SECRET",
            self.provider.key_name(),
        ]
    }

    /// The component's plan.
    pub fn component(&self, c: Component) -> &ComponentPlan {
        self.components
            .iter()
            .find(|p| p.component == c)
            .unwrap_or(&self.components[0])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn meta() -> ChartMeta {
        ChartMeta {
            name: "todo-chatbot".into(),
            version: "0.1.0".into(),
            app_version: Some("1.0.0".into()),
            origin: "test".into(),
        }
    }

    fn defaults() -> Value {
        serde_saphyr::from_str(include_str!("../../../charts/todo-chatbot/values.yaml")).unwrap()
    }

    #[test]
    fn the_default_values_render_what_the_chart_renders() {
        let plan = Plan::new(&defaults(), &meta(), "todo", "todo");
        assert_eq!(plan.fullname, "todo-todo-chatbot");
        let b = plan.component(Component::Backend);
        assert_eq!(b.deployment, "todo-todo-chatbot-backend");
        assert_eq!(b.image, "todo-chatbot-backend:1.0.0");
        assert_eq!(b.pull_policy, "IfNotPresent");
        assert_eq!((b.replicas, b.surge()), (1, 1));
        assert_eq!(b.node_port, Some(30081));
        assert!((b.requests.cpu - 0.1).abs() < 1e-9);
        assert_eq!(plan.component(Component::Frontend).node_port, Some(30080));
        assert!(matches!(
            &plan.secrets,
            SecretsPlan::Sealed(s) if s.secret_name == "todo-todo-chatbot-secrets" && s.keys.is_empty()
        ));
        let kinds: Vec<String> = plan.kinds.iter().map(Kind::shown).collect();
        assert_eq!(
            kinds,
            [
                "configmaps",
                "secrets",
                "serviceaccounts",
                "services",
                "deployments.apps",
                "sealedsecrets.bitnami.com"
            ]
        );
        assert!(
            plan.render_failures.is_empty(),
            "{:?}",
            plan.render_failures
        );
    }

    #[test]
    fn autoscaling_digests_pdbs_and_surge_percentages() {
        let mut v = defaults();
        v["backend"]["autoscaling"] = json!({"enabled": true, "minReplicas": 3, "maxReplicas": 2});
        v["backend"]["image"]["digest"] = json!(format!("sha256:{}", "a".repeat(64)));
        v["backend"]["rollingUpdate"]["maxSurge"] = json!("50%");
        v["frontend"]["pdb"] = json!({"enabled": true, "minAvailable": 1, "maxUnavailable": "50%"});
        v["frontend"]["service"]["type"] = json!("ClusterIP");
        let plan = Plan::new(&v, &meta(), "todo-chatbot", "prod");
        assert_eq!(plan.fullname, "todo-chatbot");
        let b = plan.component(Component::Backend);
        assert_eq!(b.replicas, 3);
        assert_eq!(b.surge(), 2, "50% of 3, rounded up");
        assert!(
            b.image
                .ends_with(&format!("1.0.0@sha256:{}", "a".repeat(64)))
        );
        let f = plan.component(Component::Frontend);
        assert_eq!(f.node_port, None);
        assert_eq!(
            f.pdb,
            Some(Budget::MaxUnavailable(IntOrPercent::Percent(50)))
        );
        assert!(
            plan.render_failures[0].contains("minReplicas (3) is greater than maxReplicas (2)")
        );
        assert!(
            plan.kinds
                .iter()
                .any(|k| k.resource == "horizontalpodautoscalers")
        );
        assert!(
            plan.kinds
                .iter()
                .any(|k| k.resource == "poddisruptionbudgets")
        );
    }

    #[test]
    fn the_chart_refusals_are_known_before_rendering() {
        let mut v = defaults();
        v["frontend"]["image"]["tag"] = json!("latest");
        v["secrets"]["sealed"]["namespace"] = json!("other");
        v["llm"]["provider"] = json!("bogus\u{1b}[2J");
        let plan = Plan::new(&v, &meta(), "todo", "todo");
        let all = plan.render_failures.join("\n");
        assert!(
            all.contains("frontend.image.tag: the image tag must not be \"latest\""),
            "{all}"
        );
        assert!(
            !all.contains("namespace"),
            "config.secrets reports the scope: {all}"
        );
        assert!(
            all.contains("llm.provider") && !all.contains('\u{1b}'),
            "{all}"
        );
        v["secrets"] = json!({"mode": "existingSecret", "existingSecret": ""});
        let plan = Plan::new(&v, &meta(), "todo", "todo");
        assert!(
            plan.render_failures
                .iter()
                .any(|f| f.contains("existingSecret is empty"))
        );
        assert_eq!(
            plan.secrets,
            SecretsPlan::Existing {
                name: String::new()
            }
        );
    }

    #[test]
    fn percentages_resolve_as_the_controllers_do() {
        assert_eq!(IntOrPercent::Percent(25).resolve(3, true), 1);
        assert_eq!(IntOrPercent::Percent(25).resolve(3, false), 0);
        assert_eq!(IntOrPercent::Percent(100).resolve(4, false), 4);
        assert_eq!(IntOrPercent::Int(2).resolve(9, true), 2);
        assert_eq!(
            IntOrPercent::from_value(Some(&json!("30%"))),
            Some(IntOrPercent::Percent(30))
        );
        assert_eq!(IntOrPercent::from_value(Some(&json!(""))), None);
    }
}
