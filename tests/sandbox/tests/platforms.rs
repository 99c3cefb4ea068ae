//! Fidelity of the local clusters the sandbox plays, through the real kubectl: node names,
//! labels, annotations and providerIDs of minikube, kind, k3d, Docker Desktop and Rancher
//! Desktop, the kubeconfig's context names and minikube's extensions (and a renamed copy
//! without them), and several nodes: scheduling across them, kind's tainted control plane,
//! and the scheduler's message when no node fits.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use serde_json::Value;

use common::{apply, events_for, pod, wait_for};
use todo_e2e::harness::{TestEnv, run};

fn nodes(env: &TestEnv) -> Vec<Value> {
    run(env.kubectl().args(["get", "nodes", "-o", "json"]))
        .expect_code(0)
        .json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn contexts(env: &TestEnv) -> (String, Vec<String>) {
    let current = run(env.kubectl().args(["config", "current-context"])).expect_code(0);
    let all = run(env.kubectl().args(["config", "get-contexts", "-o", "name"])).expect_code(0);
    (
        current.stdout.trim().to_owned(),
        all.stdout.lines().map(str::to_owned).collect(),
    )
}

fn label<'a>(n: &'a Value, k: &str) -> &'a Value {
    &n["metadata"]["labels"][k]
}

#[test]
fn minikube_nodes_and_kubeconfig_carry_minikube_s_marks() {
    let env = TestEnv::sandbox_only("platform: {name: minikube, cluster: demo}\nnodes: [{}, {}]\n");
    let (current, all) = contexts(&env);
    assert_eq!(current, "demo");
    assert!(all.contains(&"demo-viewer".to_owned()), "{all:?}");
    let ext = |path: &str| {
        let q = format!("jsonpath={{{path}.extensions[0].extension.provider}}");
        run(env.kubectl().args(["config", "view", "-o", &q]))
            .expect_code(0)
            .stdout
    };
    assert_eq!(ext(".clusters[0].cluster"), "minikube.sigs.k8s.io");
    assert_eq!(ext(".contexts[0].context"), "minikube.sigs.k8s.io");
    let ns = nodes(&env);
    assert_eq!(ns[0]["metadata"]["name"], "demo");
    assert_eq!(ns[1]["metadata"]["name"], "demo-m02");
    assert_eq!(label(&ns[0], "minikube.k8s.io/name"), "demo");
    assert_eq!(label(&ns[0], "minikube.k8s.io/primary"), "true");
    assert_eq!(label(&ns[1], "minikube.k8s.io/primary"), "false");
    assert_eq!(label(&ns[0], "minikube.k8s.io/version"), "v1.36.0");
    assert!(ns[0]["spec"]["providerID"].is_null());
    assert!(
        ns[0]["status"]["nodeInfo"]["containerRuntimeVersion"]
            .as_str()
            .unwrap()
            .starts_with("docker://")
    );
    let r = run(env.kubectl().args(["get", "nodes", "--no-headers"])).expect_code(0);
    let roles: Vec<&str> = r
        .stdout
        .lines()
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(roles, ["control-plane", "<none>"]);
}

#[test]
fn kind_nodes_have_kind_provider_ids_and_a_tainted_control_plane() {
    let env = TestEnv::sandbox_only("platform: {name: kind, cluster: dev}\nnodes: [{}, {}, {}]\n");
    let (current, all) = contexts(&env);
    assert_eq!(current, "kind-dev");
    assert!(all.contains(&"kind-dev-viewer".to_owned()), "{all:?}");
    let ns = nodes(&env);
    let names: Vec<&str> = ns
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev-control-plane", "dev-worker", "dev-worker2"]);
    assert_eq!(
        ns[0]["spec"]["providerID"],
        "kind://docker/dev/dev-control-plane"
    );
    assert_eq!(ns[2]["spec"]["providerID"], "kind://docker/dev/dev-worker2");
    assert_eq!(
        ns[0]["spec"]["taints"][0]["key"],
        "node-role.kubernetes.io/control-plane"
    );
    assert_eq!(ns[0]["spec"]["taints"][0]["effect"], "NoSchedule");
    assert!(ns[1]["spec"]["taints"].is_null());
    assert!(
        ns[1]["status"]["nodeInfo"]["containerRuntimeVersion"]
            .as_str()
            .unwrap()
            .starts_with("containerd://")
    );
    let images = ns[0]["status"]["images"].to_string();
    assert!(
        images.contains("docker.io/library/todo-chatbot-backend:1.0.0"),
        "containerd names are qualified: {images}"
    );
    // Pods go to the workers; each worker's pods get that node's addresses.
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec:\n  containers:\n  - {name: c, image: \"todo-chatbot-frontend:1.0.0\"}\n";
    apply(&env, "p.yaml", pod);
    run(env
        .kubectl()
        .args(["wait", "--for=condition=Ready", "pod/p", "--timeout=20s"]))
    .expect_code(0);
    let p = common::pod(&env, "p").unwrap();
    let node = p["spec"]["nodeName"].as_str().unwrap().to_owned();
    assert!(node.starts_with("dev-worker"), "{node}");
    let n = ns
        .iter()
        .find(|n| n["metadata"]["name"] == node.as_str())
        .unwrap();
    assert_eq!(
        p["status"]["hostIP"],
        n["status"]["addresses"][0]["address"]
    );
    let subnet = n["spec"]["podCIDR"]
        .as_str()
        .unwrap()
        .trim_end_matches("0/24")
        .to_owned();
    assert!(
        p["status"]["podIP"].as_str().unwrap().starts_with(&subnet),
        "{p}"
    );
    let scheduled = events_for(&env, "p", "Scheduled");
    assert_eq!(
        scheduled[0]["message"],
        format!("Successfully assigned default/p to {node}")
    );
    assert_eq!(
        events_for(&env, "p", "Started")[0]["source"]["host"],
        node.as_str()
    );
}

#[test]
fn when_no_node_fits_the_scheduler_counts_the_reasons_per_node() {
    let scenario =
        "platform: {name: kind, cluster: dev}\nnodes: [{}, {cpu: \"1\"}, {cpu: \"1\"}]\n";
    let env = TestEnv::sandbox_only(scenario);
    let big = "apiVersion: v1\nkind: Pod\nmetadata: {name: big, namespace: default}\nspec:\n  containers:\n  - name: c\n    image: todo-chatbot-frontend:1.0.0\n    resources: {requests: {cpu: 1500m}}\n";
    apply(&env, "big.yaml", big);
    let want = "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.";
    let event = wait_for(Duration::from_secs(10), || {
        events_for(&env, "big", "FailedScheduling").pop()
    });
    assert_eq!(event.expect("FailedScheduling")["message"], want);
    // Tolerating the taint, it fits on the control plane's 2 CPUs.
    let tolerant = big.replace("name: big", "name: tolerant").replace(
        "  containers:",
        "  tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]\n  containers:",
    );
    apply(&env, "t.yaml", &tolerant);
    run(env.kubectl().args([
        "wait",
        "--for=condition=Ready",
        "pod/tolerant",
        "--timeout=20s",
    ]))
    .expect_code(0);
    assert_eq!(
        pod(&env, "tolerant").unwrap()["spec"]["nodeName"],
        "dev-control-plane"
    );
}

#[test]
fn k3d_and_k3s_style_nodes() {
    let env = TestEnv::sandbox_only("platform: {name: k3d, cluster: dev}\nnodes: [{}, {}]\n");
    assert_eq!(contexts(&env).0, "k3d-dev");
    let user = run(env
        .kubectl()
        .args(["config", "view", "-o", "jsonpath={.users[0].name}"]))
    .expect_code(0);
    assert_eq!(user.stdout, "admin@k3d-dev");
    // Listed by name, as the API lists them: the agent first.
    let mut ns = nodes(&env);
    assert_eq!(ns[0]["metadata"]["name"], "k3d-dev-agent-0");
    ns.reverse();
    assert_eq!(ns[0]["metadata"]["name"], "k3d-dev-server-0");
    assert_eq!(ns[0]["spec"]["providerID"], "k3s://k3d-dev-server-0");
    assert_eq!(label(&ns[0], "node.kubernetes.io/instance-type"), "k3s");
    assert_eq!(
        label(&ns[0], "node-role.kubernetes.io/control-plane"),
        "true"
    );
    assert_eq!(label(&ns[0], "node-role.kubernetes.io/master"), "true");
    assert!(label(&ns[1], "node-role.kubernetes.io/control-plane").is_null());
    assert_eq!(
        ns[0]["metadata"]["annotations"]["k3s.io/hostname"],
        "k3d-dev-server-0"
    );
    assert_eq!(ns[0]["spec"]["podCIDR"], "10.42.0.0/24");
    assert_eq!(
        ns[0]["status"]["nodeInfo"]["kubeletVersion"],
        "v1.33.1+k3s1"
    );
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\nspec:\n  ports: [{port: 80}]\n";
    apply(&env, "s.yaml", svc);
    let ip = run(env
        .kubectl()
        .args(["get", "svc", "s", "-o", "jsonpath={.spec.clusterIP}"]))
    .expect_code(0);
    assert!(
        ip.stdout.starts_with("10.43."),
        "k3s' service network: {}",
        ip.stdout
    );
}

#[test]
fn docker_desktop_and_rancher_desktop_nodes() {
    let env = TestEnv::sandbox_only("platform: {name: docker-desktop}\n");
    assert_eq!(contexts(&env).0, "docker-desktop");
    let n = nodes(&env).remove(0);
    assert_eq!(n["metadata"]["name"], "docker-desktop");
    assert_eq!(n["status"]["nodeInfo"]["osImage"], "Docker Desktop");
    assert!(n["spec"]["providerID"].is_null());
    let env = TestEnv::sandbox_only("platform: {name: rancher-desktop}\n");
    assert_eq!(contexts(&env).0, "rancher-desktop");
    let n = nodes(&env).remove(0);
    assert_eq!(n["metadata"]["name"], "lima-rancher-desktop");
    assert_eq!(n["spec"]["providerID"], "k3s://lima-rancher-desktop");
    assert_eq!(label(&n, "node.kubernetes.io/instance-type"), "k3s");
}

#[test]
fn a_renamed_kubeconfig_leaves_only_the_nodes_to_tell() {
    let env = TestEnv::sandbox_only("platform: {name: minikube, kubeconfig: {context: work}}\n");
    let (current, all) = contexts(&env);
    assert_eq!(current, "work");
    assert!(all.contains(&"work-viewer".to_owned()), "{all:?}");
    let view = run(env.kubectl().args(["config", "view"]))
        .expect_code(0)
        .stdout;
    assert!(!view.contains("minikube.sigs.k8s.io"), "{view}");
    let n = nodes(&env).remove(0);
    assert_eq!(n["metadata"]["name"], "minikube");
    assert_eq!(label(&n, "minikube.k8s.io/name"), "minikube");
    // The viewer context works under its new name.
    run(env
        .kubectl()
        .args(["--context", "work-viewer", "get", "pods"]))
    .expect_code(0);
}

#[test]
fn the_default_sandbox_is_the_minikube_it_always_was() {
    let env = TestEnv::sandbox_only("");
    assert_eq!(contexts(&env).0, "todo-sandbox");
    let view = run(env.kubectl().args(["config", "view"]))
        .expect_code(0)
        .stdout;
    assert!(view.contains("provider: minikube.sigs.k8s.io"), "{view}");
    let n = nodes(&env).remove(0);
    assert_eq!(n["metadata"]["name"], "minikube");
    assert_eq!(label(&n, "minikube.k8s.io/primary"), "true");
}
