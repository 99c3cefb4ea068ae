#![allow(clippy::unwrap_used)]

use k8s_openapi::api::core::v1::{
    ContainerImage, Node, NodeCondition, NodeSpec, NodeStatus, Pod, PodSpec, PodStatus, Service,
    ServicePort, ServiceSpec, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::version::Info;
use secrecy::SecretString;
use serde_json::json;

use super::workload::tolerated;
use super::*;
use crate::preflight::plan::{Kind, Plan};
use crate::preflight::reads::{Access, CertificateRead, SealedSide, verbs};
use crate::preflight::values::ChartMeta;
use crate::verify::Status;
use crate::verify::collect::{SecretData, Unread};

const FP: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn meta() -> ChartMeta {
    ChartMeta {
        name: "todo-chatbot".into(),
        version: "0.1.0".into(),
        app_version: Some("1.0.0".into()),
        origin: "charts/todo-chatbot".into(),
    }
}

fn values(overrides: serde_json::Value) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_saphyr::from_str(include_str!("../../../../charts/todo-chatbot/values.yaml"))
            .unwrap();
    v["secrets"]["sealed"]["certificateFingerprint"] = json!(FP);
    v["secrets"]["sealed"]["encryptedData"] = json!({
        "DATABASE_URL": "AgBy", "BETTER_AUTH_SECRET": "AgBy", "OPENAI_API_KEY": "AgBy"
    });
    merge(&mut v, overrides);
    v
}

fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

fn plan(overrides: serde_json::Value) -> Plan {
    Plan::new(&values(overrides), &meta(), "todo", "todo")
}

fn node(name: &str, cpu: &str, images: &[&str]) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            allocatable: Some(
                [
                    ("cpu".to_owned(), Quantity(cpu.into())),
                    ("memory".to_owned(), Quantity("4Gi".into())),
                ]
                .into(),
            ),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..Default::default()
            }]),
            images: Some(vec![ContainerImage {
                names: Some(images.iter().map(|s| (*s).to_owned()).collect()),
                size_bytes: None,
            }]),
            ..Default::default()
        }),
    }
}

const IMAGES: &[&str] = &[
    "docker.io/library/todo-chatbot-backend:1.0.0",
    "todo-chatbot-frontend:1.0.0",
];

fn observed(plan: &Plan) -> Observed {
    let access = verbs(plan, false, true)
        .into_iter()
        .chain(verbs(plan, true, false))
        .map(|(kind, verb)| Access {
            kind,
            verb,
            allowed: Ok((true, String::new())),
        })
        .collect();
    Observed {
        version: Info {
            git_version: "v1.33.1".into(),
            ..Default::default()
        },
        namespace: Ok(Some(Default::default())),
        release: Ok(ReleaseState::default()),
        nodes: Ok(vec![node("minikube", "2", IMAGES)]),
        pods: Ok(Vec::new()),
        services: Ok(Vec::new()),
        sealed: Some(SealedSide {
            api: Ok(true),
            certificate: CertificateRead::Served(FP.into()),
        }),
        existing: None,
        metrics_api: None,
        access,
    }
}

fn run(plan: &Plan, obs: &Observed) -> Vec<CheckResult> {
    let ctx = Context {
        plan,
        obs,
        schema: &[],
        platform: Platform::Minikube {
            profile: "minikube".into(),
        },
        server: "https://127.0.0.1:8443".into(),
        context: "minikube".into(),
        kubectl_flags: " --context minikube".into(),
        helm_flags: " --kube-context minikube".into(),
        create_namespace: false,
        values_file: "todo-secrets.sealed.yaml".into(),
        chart_ref: "charts/todo-chatbot".into(),
        controller: crate::secrets::controller::Controller::default(),
    };
    evaluate(&ctx)
}

fn get<'a>(results: &'a [CheckResult], id: &str) -> &'a CheckResult {
    results.iter().find(|r| r.id == id).unwrap()
}

#[test]
fn a_ready_cluster_passes_every_check() {
    let p = plan(json!({}));
    let results = run(&p, &observed(&p));
    for r in &results {
        assert_eq!(r.status, Status::Pass, "{}: {}", r.id, r.message);
    }
    assert_eq!(
        results.iter().map(|r| r.id).collect::<Vec<_>>(),
        PREFLIGHT.iter().map(|c| c.id).collect::<Vec<_>>()
    );
}

#[test]
fn images_count_only_the_nodes_the_pods_may_use() {
    let p = plan(json!({}));
    let mut obs = observed(&p);
    let mut cordoned = node("old", "2", &[]);
    cordoned.spec = Some(NodeSpec {
        unschedulable: Some(true),
        ..Default::default()
    });
    let mut tainted = node("gpu", "2", &[]);
    tainted.spec = Some(NodeSpec {
        taints: Some(vec![Taint {
            key: "gpu".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        }]),
        ..Default::default()
    });
    obs.nodes = Ok(vec![node("minikube", "2", IMAGES), cordoned, tainted]);
    let results = run(&p, &obs);
    assert_eq!(get(&results, "backend.image").status, Status::Pass);
    obs.nodes = Ok(vec![
        node("m1", "2", IMAGES),
        node("m2", "2", &["todo-chatbot-backend:0.9.0"]),
    ]);
    let results = run(&p, &obs);
    let r = get(&results, "backend.image");
    assert_eq!(r.status, Status::Warn, "{}", r.message);
    assert!(
        r.message.contains("on 1 of 2 nodes; pods placed on m2"),
        "{}",
        r.message
    );
}

#[test]
fn a_typo_d_tag_lists_the_tags_the_node_has() {
    let p = plan(json!({"backend": {"image": {"tag": "9.9.9", "pullPolicy": "Never"}}}));
    let results = run(&p, &observed(&p));
    let r = get(&results, "backend.image");
    assert_eq!(r.status, Status::Fail);
    assert!(r.message.contains("ErrImageNeverPull"), "{}", r.message);
    let hint = r.hint.as_deref().unwrap();
    assert!(hint.contains("todo-chatbot-backend:1.0.0"), "{hint}");
    assert!(
        hint.contains("minikube image load todo-chatbot-backend:9.9.9"),
        "{hint}"
    );
}

#[test]
fn tolerations_match_as_the_scheduler_matches_them() {
    let taint = Taint {
        key: "dedicated".into(),
        value: Some("db".into()),
        effect: "NoSchedule".into(),
        ..Default::default()
    };
    let t = |key: Option<&str>, op: &str, value: Option<&str>, effect: Option<&str>| Toleration {
        key: key.map(Into::into),
        operator: Some(op.into()),
        value: value.map(Into::into),
        effect: effect.map(Into::into),
        ..Default::default()
    };
    assert!(!tolerated(&taint, &[]));
    assert!(tolerated(
        &taint,
        &[t(Some("dedicated"), "Equal", Some("db"), None)]
    ));
    assert!(!tolerated(
        &taint,
        &[t(Some("dedicated"), "Equal", Some("web"), None)]
    ));
    assert!(tolerated(
        &taint,
        &[t(Some("dedicated"), "Exists", None, Some("NoSchedule"))]
    ));
    assert!(!tolerated(
        &taint,
        &[t(Some("dedicated"), "Exists", None, Some("NoExecute"))]
    ));
    assert!(tolerated(&taint, &[t(None, "Exists", None, None)]));
    let soft = Taint {
        effect: "PreferNoSchedule".into(),
        ..taint
    };
    assert!(tolerated(&soft, &[]));
}

fn running_pod(ns: &str, release: Option<&str>, node: &str, cpu: &str) -> Pod {
    let labels = release.map(|r| {
        [
            ("app.kubernetes.io/instance".to_owned(), r.to_owned()),
            (
                "app.kubernetes.io/name".to_owned(),
                "todo-chatbot".to_owned(),
            ),
        ]
        .into()
    });
    Pod {
        metadata: ObjectMeta {
            namespace: Some(ns.into()),
            labels,
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some(node.into()),
            containers: vec![k8s_openapi::api::core::v1::Container {
                name: "c".into(),
                resources: Some(k8s_openapi::api::core::v1::ResourceRequirements {
                    requests: Some([("cpu".to_owned(), Quantity(cpu.into()))].into()),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            ..Default::default()
        }),
    }
}

#[test]
fn capacity_counts_the_surge_on_upgrade_and_replaces_the_release_s_own_pods() {
    // 1 CPU node; 2 backend + 2 frontend at 200m = 800m.
    let p = plan(json!({
        "backend": {"replicaCount": 2, "resources": {"requests": {"cpu": "200m"}}},
        "frontend": {"replicaCount": 2, "resources": {"requests": {"cpu": "200m"}}}
    }));
    let mut obs = observed(&p);
    obs.nodes = Ok(vec![node("minikube", "1", IMAGES)]);
    assert_eq!(
        get(&run(&p, &obs), "capacity.requests").status,
        Status::Pass
    );
    // Upgrade: the release's 4 pods (800m) are replaced, but the surge (1 each) needs 400m
    // more than the 1000m: 1200m > 1000m.
    obs.release = Ok(ReleaseState {
        latest: Some((1, "deployed".into())),
        deployed_chart: Some("todo-chatbot-0.1.0".into()),
    });
    obs.pods = Ok((0..4)
        .map(|_| running_pod("todo", Some("todo"), "minikube", "200m"))
        .collect());
    let results = run(&p, &obs);
    let r = get(&results, "capacity.requests");
    assert_eq!(r.status, Status::Fail, "{}", r.message);
    assert!(
        r.message
            .contains("1 of 6 pods (+ the rolling update's surge) would stay Pending"),
        "{}",
        r.message
    );
    // Another namespace's pods are not replaced: 900m used leaves room for none.
    obs.release = Ok(ReleaseState::default());
    obs.pods = Ok(vec![running_pod("kube-system", None, "minikube", "900m")]);
    let r = get(&run(&p, &obs), "capacity.requests").clone();
    assert!(
        r.message.contains("4 of 4 pods would stay Pending"),
        "{}",
        r.message
    );
}

#[test]
fn a_pod_larger_than_any_node_can_never_be_scheduled() {
    let p = plan(json!({"backend": {"resources": {"requests": {"cpu": "4"}}}}));
    let r = get(&run(&p, &observed(&p)), "capacity.requests").clone();
    assert_eq!(r.status, Status::Fail);
    assert!(
        r.message.contains("more than any node's allocatable"),
        "{}",
        r.message
    );
    assert!(
        r.hint.as_deref().unwrap().contains("add a larger node"),
        "{:?}",
        r.hint
    );
}

#[test]
fn disruption_budgets_and_autoscalers_fit_the_replicas() {
    let p = plan(
        json!({"backend": {"replicaCount": 2, "pdb": {"enabled": true, "minAvailable": "50%"}}}),
    );
    let r = get(&run(&p, &observed(&p)), "capacity.disruption").clone();
    assert_eq!(r.status, Status::Pass, "{}", r.message);
    assert!(
        r.message.contains("backend PDB allows 1 disruption"),
        "{}",
        r.message
    );
    let p = plan(json!({"frontend": {"pdb": {"enabled": true, "maxUnavailable": 0}}}));
    let r = get(&run(&p, &observed(&p)), "capacity.disruption").clone();
    assert_eq!(r.status, Status::Warn, "{}", r.message);
    let p = plan(
        json!({"backend": {"autoscaling": {"enabled": true}, "resources": {"requests": {"cpu": null}}}}),
    );
    let mut obs = observed(&p);
    obs.metrics_api = Some(Ok(false));
    let r = get(&run(&p, &obs), "capacity.disruption").clone();
    assert_eq!(r.status, Status::Fail, "{}", r.message);
    assert!(
        r.message.contains("request no CPU") && r.message.contains("no metrics API"),
        "{}",
        r.message
    );
}

#[test]
fn rbac_asks_for_patch_on_upgrade_and_names_the_can_i_command() {
    let p = plan(json!({}));
    let mut obs = observed(&p);
    obs.release = Ok(ReleaseState {
        latest: Some((3, "deployed".into())),
        deployed_chart: Some("todo-chatbot-0.1.0".into()),
    });
    for a in &mut obs.access {
        if a.kind.resource == "deployments" && a.verb == "patch" {
            a.allowed = Ok((false, String::new()));
        }
    }
    let results = run(&p, &obs);
    let r = get(&results, "rbac.create");
    assert_eq!(r.status, Status::Fail);
    assert!(
        r.message.contains("patch deployments.apps"),
        "{}",
        r.message
    );
    assert!(
        r.hint
            .as_deref()
            .unwrap()
            .contains("kubectl auth can-i patch deployments.apps --context minikube -n todo"),
        "{:?}",
        r.hint
    );
    let name = get(&results, "release.name");
    assert!(
        name.message.contains("upgrade to revision 4"),
        "{}",
        name.message
    );
    // On install the same denial does not matter: it asks for create.
    obs.release = Ok(ReleaseState::default());
    assert_eq!(get(&run(&p, &obs), "rbac.create").status, Status::Pass);
    // A refused review is a warning, not a verdict.
    obs.access[0].allowed = Err(Unread {
        message: "403".into(),
        hint: None,
        forbidden: true,
    });
    assert_eq!(get(&run(&p, &obs), "rbac.create").status, Status::Warn);
}

#[test]
fn release_names_in_use_pending_or_another_chart_fail() {
    let p = plan(json!({}));
    let mut obs = observed(&p);
    let state = |status: &str, chart: &str| ReleaseState {
        latest: Some((2, status.into())),
        deployed_chart: Some(chart.into()),
    };
    obs.release = Ok(state("pending-upgrade", "todo-chatbot-0.1.0"));
    let r = get(&run(&p, &obs), "release.name").clone();
    assert_eq!(r.status, Status::Fail);
    assert!(
        r.hint
            .unwrap()
            .contains("helm rollback todo -n todo --kube-context minikube")
    );
    obs.release = Ok(state("deployed", "wordpress-1.0.0"));
    let r = get(&run(&p, &obs), "release.name").clone();
    assert_eq!(r.status, Status::Fail);
    assert!(
        r.message.contains("wordpress-1.0.0, another chart"),
        "{}",
        r.message
    );
    obs.release = Ok(state("failed", "todo-chatbot-0.1.0"));
    assert_eq!(get(&run(&p, &obs), "release.name").status, Status::Warn);
}

#[test]
fn a_node_port_held_by_the_release_itself_is_free_for_the_upgrade() {
    let p = plan(json!({}));
    let mut obs = observed(&p);
    let svc = |ns: &str, name: &str, port: i32| Service {
        metadata: ObjectMeta {
            namespace: Some(ns.into()),
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            ports: Some(vec![ServicePort {
                port: 80,
                node_port: Some(port),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    };
    obs.services = Ok(vec![svc("todo", "todo-todo-chatbot-backend", 30081)]);
    assert_eq!(get(&run(&p, &obs), "backend.nodeport").status, Status::Pass);
    obs.services = Ok(vec![svc("todo", "todo-todo-chatbot-frontend", 30081)]);
    let r = get(&run(&p, &obs), "backend.nodeport").clone();
    assert_eq!(r.status, Status::Fail);
    assert!(
        r.message
            .contains("taken by Service todo/todo-todo-chatbot-frontend")
    );
    let p = plan(json!({"frontend": {"service": {"nodePort": 30081}}}));
    let r = get(&run(&p, &observed(&p)), "frontend.nodeport").clone();
    assert!(r.message.contains("also the backend's"), "{}", r.message);
    let p = plan(json!({"backend": {"service": {"nodePort": 8080}}}));
    let r = get(&run(&p, &observed(&p)), "backend.nodeport").clone();
    assert!(r.message.contains("outside"), "{}", r.message);
}

#[test]
fn an_existing_secret_is_judged_by_key_without_showing_a_value() {
    let p = plan(json!({"secrets": {"mode": "existingSecret", "existingSecret": "app"}}));
    let mut obs = observed(&p);
    obs.sealed = None;
    let data = |pairs: &[(&str, &str)]| SecretData {
        name: "app".into(),
        values: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from((*v).to_owned())))
            .collect(),
    };
    obs.existing = Some(Ok(Some(data(&[
        ("DATABASE_URL", "mysql://u:HUNTER2@h/db"),
        ("BETTER_AUTH_SECRET", ""),
    ]))));
    let r = get(&run(&p, &obs), "config.secrets").clone();
    assert_eq!(r.status, Status::Fail);
    let all = format!("{} {:?}", r.message, r.hint);
    assert!(all.contains("BETTER_AUTH_SECRET: empty"), "{all}");
    assert!(all.contains("OPENAI_API_KEY: missing"), "{all}");
    assert!(all.contains("DATABASE_URL:"), "{all}");
    assert!(!all.contains("HUNTER2"), "{all}");
    obs.existing = Some(Ok(None));
    let r = get(&run(&p, &obs), "config.secrets").clone();
    assert!(r.hint.unwrap().contains(
        "kubectl create secret generic app --from-env-file=.env --context minikube -n todo"
    ));
}

#[test]
fn sealed_values_must_fit_the_controller_the_scope_and_the_keys() {
    let p = plan(json!({"secrets": {"sealed": {"certificateFingerprint": "ff".repeat(32)}}}));
    let r = get(&run(&p, &observed(&p)), "config.secrets").clone();
    assert_eq!(r.status, Status::Fail);
    assert!(
        r.message
            .contains("sealed with certificate ffffffffffffffff"),
        "{}",
        r.message
    );
    let p = plan(json!({"secrets": {"sealed": {"namespace": "prod"}}}));
    let r = get(&run(&p, &observed(&p)), "config.secrets").clone();
    assert!(
        r.message.contains("sealed for namespace \"prod\""),
        "{}",
        r.message
    );
    let p = plan(json!({"llm": {"provider": "cohere"}}));
    let r = get(&run(&p, &observed(&p)), "config.secrets").clone();
    assert!(r.message.contains("lacks COHERE_API_KEY"), "{}", r.message);
    assert!(
        r.hint
            .unwrap()
            .contains("helm todo-secrets seal COHERE_API_KEY -n todo")
    );
    let p = plan(json!({}));
    let mut obs = observed(&p);
    obs.sealed = Some(SealedSide {
        api: Ok(true),
        certificate: CertificateRead::NoService,
    });
    let results = run(&p, &obs);
    assert_eq!(get(&results, "config.controller").status, Status::Fail);
    assert_eq!(
        get(&results, "config.secrets").blocked_by,
        Some("config.controller")
    );
    assert!(
        get(&results, "config.controller")
            .message
            .contains("no Service kube-system/sealed-secrets-controller")
    );
    // No CRD: helm would refuse the SealedSecret itself.
    obs.sealed = Some(SealedSide {
        api: Ok(false),
        certificate: CertificateRead::NoService,
    });
    let r = get(&run(&p, &obs), "config.controller").clone();
    assert!(r.message.contains("CRD is not installed"), "{}", r.message);
    assert!(
        r.hint
            .unwrap()
            .contains("fullnameOverride=sealed-secrets-controller")
    );
}

#[test]
fn kinds_shown_as_kubectl_spells_them() {
    assert_eq!(
        Kind {
            group: "apps",
            resource: "deployments"
        }
        .shown(),
        "deployments.apps"
    );
}
