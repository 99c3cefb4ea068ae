//! Unit tests of the pod diagnosis, and the pod fixtures other modules' tests share.

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
        [
            (
                "app.kubernetes.io/component".to_owned(),
                "backend".to_owned(),
            ),
            ("app.kubernetes.io/instance".to_owned(), "todo".to_owned()),
        ]
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
        helm_flags: " --kube-context dev",
        node_images: &images,
        fullname: Some("todo-todo-chatbot"),
        allocatable: &[],
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
    // The values fix is the release's whole upgrade, with a tag the node has.
    assert!(
        p.hint.contains("`helm upgrade todo charts/todo-chatbot -n todo --kube-context dev --reuse-values --set backend.image.tag=1.0.0`"),
        "{}",
        p.hint
    );
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
    let p = &pod_problems(std::slice::from_ref(&pod))[0];
    assert_eq!(p.reason, "OOMKilled");
    assert!(
        p.hint.contains("backend.resources.limits.memory"),
        "{}",
        p.hint
    );
    // The upgrade names the pod's release and namespace, and the user's Helm flags.
    let mut pod = pod;
    pod.metadata.namespace = Some("shop".into());
    pod.metadata.labels = Some(
        [(crate::chart::LABEL_INSTANCE.to_owned(), "todo".to_owned())]
            .into_iter()
            .collect(),
    );
    let platform = Platform::Other;
    let ctx = HintContext {
        helm_flags: " --kube-context dev",
        ..HintContext::platform(&platform)
    };
    let p = &pod_problems_in(&[pod], &ctx)[0];
    assert!(
        p.hint.contains("`helm upgrade todo charts/todo-chatbot -n shop --kube-context dev --reuse-values --set backend.resources.limits.memory=1Gi`"),
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

/// A pod the scheduler could not place, with its message.
fn unschedulable(message: &str) -> Pod {
    let mut pod = pod_with("b-1", waiting("ContainerCreating", ""), None);
    let status = pod.status.as_mut().unwrap();
    status.container_statuses = None;
    status.conditions = Some(vec![PodCondition {
        type_: "PodScheduled".into(),
        status: "False".into(),
        reason: Some("Unschedulable".into()),
        message: Some(message.into()),
        ..Default::default()
    }]);
    pod
}

#[test]
fn unschedulable_pod_is_reported() {
    let pod = unschedulable("0/1 nodes are available: 1 Insufficient memory.");
    let p = &pod_problems(&[pod])[0];
    assert_eq!(
        (p.reason.as_str(), p.container.as_str()),
        ("Unschedulable", "")
    );
    assert!(p.message.contains("Insufficient memory"));
}

#[test]
fn a_pod_larger_than_every_node_cannot_heal_one_that_waits_for_room_can() {
    use crate::quantity::Resources;
    let mut pod = unschedulable("0/2 nodes are available: 2 Insufficient cpu.");
    let c = &mut pod.spec.as_mut().unwrap().containers[0];
    c.resources = Some(k8s_openapi::api::core::v1::ResourceRequirements {
        requests: Some(
            [(
                "cpu".to_owned(),
                k8s_openapi::apimachinery::pkg::api::resource::Quantity("3".into()),
            )]
            .into(),
        ),
        ..Default::default()
    });
    let small = [
        Resources {
            cpu: 2.0,
            memory: 4e9,
        },
        Resources {
            cpu: 1.0,
            memory: 8e9,
        },
    ];
    let platform = crate::platform::Platform::Other;
    let ctx = HintContext {
        allocatable: &small,
        ..HintContext::platform(&platform)
    };
    let pods = [pod];
    let p = &pod_problems_in(&pods, &ctx)[0];
    assert!(
        p.message
            .contains("more than any node's allocatable (at most 2 CPU"),
        "{}",
        p.message
    );
    assert!(p.hint.contains("add a larger node"), "{}", p.hint);
    let policy = FailFast::default();
    assert!(p.is_permanent(&policy));
    // A node that could hold it: the pod waits for room, which can free up.
    let big = [Resources {
        cpu: 4.0,
        memory: 8e9,
    }];
    let roomy = HintContext {
        allocatable: &big,
        ..HintContext::platform(&platform)
    };
    assert!(!pod_problems_in(&pods, &roomy)[0].is_permanent(&policy));
    // Nodes unknown: never called permanent.
    assert!(!pod_problems_in(&pods, &HintContext::platform(&platform))[0].is_permanent(&policy));
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
        never_fits: false,
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
