//! The checks: pure functions from a [`Snapshot`] to [`CheckResult`]s.
//!
//! Each submodule owns the checks of one area; [`evaluate`] runs the selected ones in
//! [`super::REGISTRY`] order.

pub mod cluster;
pub mod config;
pub mod events;
pub mod health;
pub mod release;
pub mod security;
pub mod service;
pub mod wiring;
pub mod workload;

use super::collect::Snapshot;
use super::registry::{REGISTRY, attribute_root_causes};
use super::{CheckResult, Selection};

/// Run every selected check on the snapshot, in report order, then attribute root causes.
pub fn evaluate(snap: &Snapshot, sel: &Selection) -> Vec<CheckResult> {
    let mut results: Vec<CheckResult> = REGISTRY
        .iter()
        .filter(|d| sel.wants(d.id))
        .map(|d| (d.run)(snap))
        .collect();
    attribute_root_causes(&mut results);
    results
}

/// A healthy release as typed objects, for the checks' unit tests.
#[cfg(test)]
pub(crate) mod fixture {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStatus};
    use k8s_openapi::api::core::v1::{
        Capabilities, ConfigMap, ConfigMapEnvSource, Container, ContainerPort, ContainerState,
        ContainerStateRunning, ContainerStatus, EnvFromSource, EnvVar, EnvVarSource, HTTPGetAction,
        Pod, PodCondition, PodSecurityContext, PodSpec, PodStatus, PodTemplateSpec, Probe,
        ResourceRequirements, SecretKeySelector, SecurityContext, Service, ServicePort,
        ServiceSpec,
    };
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointSlice};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use k8s_openapi::jiff::Timestamp;
    use secrecy::SecretString;

    use crate::chart::Component;
    use crate::release::decode;
    use crate::release::tests::helm_secret;
    use crate::verify::collect::{HealthOutcome, HealthProbe, SecretData, Snapshot};

    pub const FULL: &str = "todo-todo-chatbot";

    fn labels(c: &str) -> Option<BTreeMap<String, String>> {
        Some(
            [
                ("app.kubernetes.io/name", "todo-chatbot"),
                ("app.kubernetes.io/instance", "todo"),
                ("app.kubernetes.io/component", c),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        )
    }

    fn q(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, Quantity>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                .collect(),
        )
    }

    pub fn container(c: Component) -> Container {
        let probe = |path: &str| {
            Some(Probe {
                http_get: Some(HTTPGetAction {
                    path: Some(path.into()),
                    port: IntOrString::String("http".into()),
                    ..Default::default()
                }),
                ..Default::default()
            })
        };
        let secret_env = |key: &str| EnvVar {
            name: key.into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: format!("{FULL}-secrets"),
                    key: key.into(),
                    optional: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let keys: &[&str] = match c {
            Component::Backend => &["DATABASE_URL", "BETTER_AUTH_SECRET", "OPENAI_API_KEY"],
            Component::Frontend => &["BETTER_AUTH_SECRET", "DATABASE_URL"],
        };
        Container {
            name: c.name().into(),
            image: Some(format!("todo-chatbot-{}:1.0.0", c.name())),
            ports: Some(vec![ContainerPort {
                name: Some("http".into()),
                container_port: c.default_port(),
                ..Default::default()
            }]),
            env_from: Some(vec![EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: format!("{FULL}-config"),
                    optional: None,
                }),
                ..Default::default()
            }]),
            env: Some(keys.iter().map(|k| secret_env(k)).collect()),
            liveness_probe: probe(c.health_path()),
            readiness_probe: probe(c.health_path()),
            resources: Some(ResourceRequirements {
                requests: q(&[("cpu", "100m"), ("memory", "128Mi")]),
                limits: q(&[("cpu", "500m"), ("memory", "512Mi")]),
                ..Default::default()
            }),
            security_context: Some(SecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(1001),
                allow_privilege_escalation: Some(false),
                privileged: Some(false),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".into()]),
                    add: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn deployment(c: Component, replicas: i32) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some(format!("{FULL}-{}", c.name())),
                labels: labels(c.name()),
                generation: Some(1),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: labels(c.name()),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![container(c)],
                        security_context: Some(PodSecurityContext {
                            run_as_non_root: Some(true),
                            run_as_user: Some(1001),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            status: Some(DeploymentStatus {
                observed_generation: Some(1),
                replicas: Some(replicas),
                updated_replicas: Some(replicas),
                ready_replicas: Some(replicas),
                available_replicas: Some(replicas),
                ..Default::default()
            }),
        }
    }

    pub fn pod(c: Component, i: usize) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(format!("{FULL}-{}-abc12-{i}", c.name())),
                labels: labels(c.name()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![container(c)],
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                pod_ip: Some(format!("10.0.0.{i}")),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    ..Default::default()
                }]),
                container_statuses: Some(vec![ContainerStatus {
                    name: c.name().into(),
                    image: format!("todo-chatbot-{}:1.0.0", c.name()),
                    ready: true,
                    started: Some(true),
                    state: Some(ContainerState {
                        running: Some(ContainerStateRunning::default()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    pub fn service(c: Component) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some(format!("{FULL}-{}", c.name())),
                labels: labels(c.name()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("NodePort".into()),
                selector: labels(c.name()),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: c.default_port(),
                    target_port: Some(IntOrString::String("http".into())),
                    node_port: Some(c.default_node_port()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: None,
        }
    }

    pub fn slice(c: Component, ready: usize) -> EndpointSlice {
        EndpointSlice {
            address_type: "IPv4".into(),
            metadata: ObjectMeta {
                name: Some(format!("{FULL}-{}-xyz", c.name())),
                labels: Some(
                    [(
                        "kubernetes.io/service-name".to_owned(),
                        format!("{FULL}-{}", c.name()),
                    )]
                    .into_iter()
                    .collect(),
                ),
                ..Default::default()
            },
            endpoints: (0..ready)
                .map(|i| Endpoint {
                    addresses: vec![format!("10.0.0.{i}")],
                    conditions: Some(EndpointConditions {
                        ready: Some(true),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
            ports: None,
        }
    }

    pub fn secret_values(pairs: &[(&str, &str)]) -> SecretData {
        SecretData {
            name: format!("{FULL}-secrets"),
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), SecretString::from(v.to_string())))
                .collect(),
        }
    }

    pub const GOOD_DB: &str =
        "postgresql://owner:npg_pass@ep-demo-123456.us-east-2.aws.neon.tech/todo?sslmode=require";
    pub const GOOD_AUTH: &str = "0123456789abcdef0123456789abcdef0123";

    pub fn snapshot() -> Snapshot {
        snapshot_with(serde_json::json!({"secrets": {"mode": "inline"}}))
    }

    pub fn snapshot_with(config: serde_json::Value) -> Snapshot {
        let release = decode(&helm_secret("todo", 2, "todo-chatbot", "deployed", config)).unwrap();
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(format!("{FULL}-config")),
                ..Default::default()
            },
            data: Some(
                [(
                    "BACKEND_URL".to_owned(),
                    format!("http://{FULL}-backend:8000"),
                )]
                .into_iter()
                .collect(),
            ),
            ..Default::default()
        };
        let probe = |c: Component| HealthProbe {
            component: c,
            service: format!("{FULL}-{}", c.name()),
            path: c.health_path().into(),
            outcome: HealthOutcome::Answered {
                code: 200,
                latency: Duration::from_millis(7),
                body: "{\"status\":\"ok\"}".into(),
            },
            log_tail: Vec::new(),
        };
        Snapshot {
            context: "todo-sandbox".into(),
            namespace: "todo".into(),
            server: "https://127.0.0.1:6443".into(),
            kubectl_flags: String::new(),
            helm_flags: String::new(),
            allocatable: Vec::new(),
            platform: crate::platform::Platform::Minikube {
                profile: "minikube".into(),
            },
            node_images: vec![
                "todo-chatbot-backend:1.0.0".into(),
                "todo-chatbot-frontend:1.0.0".into(),
            ],
            server_version: "v1.33.1".into(),
            release_name: "todo".into(),
            secret_name: release.secret_name(),
            fullname: release.fullname(),
            release: Ok(release),
            deployments: vec![
                deployment(Component::Backend, 2),
                deployment(Component::Frontend, 2),
            ],
            pods: vec![
                pod(Component::Backend, 1),
                pod(Component::Backend, 2),
                pod(Component::Frontend, 3),
                pod(Component::Frontend, 4),
            ],
            services: vec![service(Component::Backend), service(Component::Frontend)],
            endpoint_slices: vec![slice(Component::Backend, 2), slice(Component::Frontend, 2)],
            config_maps: vec![cm],
            secret: Some(Ok(Some(secret_values(&[
                ("DATABASE_URL", GOOD_DB),
                ("BETTER_AUTH_SECRET", GOOD_AUTH),
                ("OPENAI_API_KEY", "sk-proj-abcdefghijklmnop"),
            ])))),
            sealed: None,
            events: Some(Ok(Vec::new())),
            health: vec![probe(Component::Backend), probe(Component::Frontend)],
            logs: BTreeMap::new(),
            now: Timestamp::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;

    #[test]
    fn a_healthy_release_passes_every_check() {
        let results = evaluate(&fixture::snapshot(), &Selection::all());
        for r in &results {
            assert!(
                r.status == Status::Pass
                    || (r.id == "config.sealed-secret" && r.status == Status::Skip),
                "{r:?}"
            );
        }
        assert_eq!(results.len(), REGISTRY.len());
    }

    #[test]
    fn only_selected_checks_run() {
        let sel = Selection::new(&["backend".into()], &[]).unwrap();
        let ids: Vec<_> = evaluate(&fixture::snapshot(), &sel)
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(
            ids,
            [
                "backend.rollout",
                "backend.pods",
                "backend.service",
                "backend.health"
            ]
        );
    }
}
