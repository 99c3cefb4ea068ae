//! Fidelity of the sandbox: the real kubectl and real Helm (v4, through helm-python-sdk)
//! work against it the way they work against a cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use todo_e2e::harness::{TestEnv, run};

const WEB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - {containerPort: 80, name: http}
"#;

fn registry_scenario() -> &'static str {
    "registry: [nginx:1.27]\n"
}

fn env_with_web() -> TestEnv {
    let env = TestEnv::sandbox_only(registry_scenario());
    let file = env.write("web.yaml", WEB);
    run(env.kubectl().args(["create", "-f"]).arg(&file)).expect_code(0);
    env
}

#[test]
fn kubectl_get_reads_objects_as_json_and_jsonpath() {
    let env = TestEnv::sandbox_only("");
    let r = run(env.kubectl().args(["get", "namespaces", "-o", "json"])).expect_code(0);
    let names: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"kube-system".to_owned()), "{names:?}");
    let r = run(env.kubectl().args([
        "get",
        "node",
        "minikube",
        "-o",
        "jsonpath={.status.allocatable.cpu}",
    ]))
    .expect_code(0);
    assert_eq!(r.stdout.trim(), "2");
}

#[test]
fn kubectl_create_then_get_reports_not_found_and_already_exists() {
    let env = env_with_web();
    let file = env.tmp().join("web.yaml");
    let r = run(env.kubectl().args(["create", "-f"]).arg(&file));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("AlreadyExists") || r.stderr.contains("already exists"),
        "{}",
        r.stderr
    );
    let r = run(env.kubectl().args(["get", "deployment", "nope"]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("NotFound") || r.stderr.contains("not found"),
        "{}",
        r.stderr
    );
}

#[test]
fn kubectl_rollout_status_returns_when_pods_are_ready() {
    let env = env_with_web();
    let r = run(env
        .kubectl()
        .args(["rollout", "status", "deployment/web", "--timeout=30s"]))
    .expect_code(0);
    assert!(r.stdout.contains("successfully rolled out"), "{}", r.stdout);
    let r = run(env
        .kubectl()
        .args(["get", "deployment", "web", "-o", "json"]))
    .expect_code(0);
    let d = r.json();
    assert_eq!(d["status"]["readyReplicas"], 2);
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );
}

#[test]
fn kubectl_scale_changes_replicas_and_rollout_follows() {
    let env = env_with_web();
    run(env
        .kubectl()
        .args(["scale", "deployment/web", "--replicas=4"]))
    .expect_code(0);
    run(env
        .kubectl()
        .args(["rollout", "status", "deployment/web", "--timeout=30s"]))
    .expect_code(0);
    let r = run(env
        .kubectl()
        .args(["get", "pods", "-l", "app=web", "-o", "json"]))
    .expect_code(0);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 4);
}

#[test]
fn kubectl_rollout_status_fails_on_progress_deadline() {
    let env = TestEnv::sandbox_only("");
    let broken = WEB
        .replace("nginx:1.27", "nginx:does-not-exist")
        .replace("replicas: 2", "replicas: 1\n  progressDeadlineSeconds: 2");
    let file = env.write("broken.yaml", &broken);
    run(env.kubectl().args(["create", "-f"]).arg(&file)).expect_code(0);
    let r = run(env
        .kubectl()
        .args(["rollout", "status", "deployment/web", "--timeout=30s"]));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("exceeded its progress deadline"),
        "{}",
        r.stderr
    );
}

#[test]
fn kubectl_apply_server_side_creates_and_updates() {
    let env = TestEnv::sandbox_only(registry_scenario());
    let file = env.write("web.yaml", WEB);
    run(env
        .kubectl()
        .args(["apply", "--server-side", "-f"])
        .arg(&file))
    .expect_code(0);
    let file = env.write("web.yaml", &WEB.replace("replicas: 2", "replicas: 3"));
    let r = run(env
        .kubectl()
        .args(["apply", "--server-side", "-f"])
        .arg(&file))
    .expect_code(0);
    assert!(r.stdout.contains("serverside-applied"), "{}", r.stdout);
    let r = run(env.kubectl().args([
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas} {.metadata.generation}",
    ]))
    .expect_code(0);
    assert_eq!(r.stdout.trim(), "3 2");
}

#[test]
fn deleted_pod_is_replaced_by_its_replicaset() {
    let env = env_with_web();
    run(env
        .kubectl()
        .args(["rollout", "status", "deployment/web", "--timeout=30s"]))
    .expect_code(0);
    let r = run(env.kubectl().args([
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]))
    .expect_code(0);
    let victim = r.stdout.trim().to_owned();
    run(env
        .kubectl()
        .args(["delete", "pod", &victim, "--timeout=20s"]))
    .expect_code(0);
    assert!(env.wait_rolled_out("default", "app=web", Duration::from_secs(20)));
    let r = run(env.kubectl().args([
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]))
    .expect_code(0);
    let names: Vec<&str> = r.stdout.split_whitespace().collect();
    assert_eq!(names.len(), 2);
    assert!(!names.contains(&victim.as_str()));
}

#[test]
fn kubectl_logs_reads_the_container_log() {
    let env = TestEnv::sandbox_only("");
    let pod = r#"apiVersion: v1
kind: Pod
metadata: {name: crash, namespace: default}
spec:
  containers:
  - {name: app, image: "todo-chatbot-backend:1.0.0"}
"#;
    let file = env.write("pod.yaml", pod);
    run(env.kubectl().args(["create", "-f"]).arg(&file)).expect_code(0);
    let mut log = String::new();
    for _ in 0..50 {
        let r = run(env.kubectl().args(["logs", "crash"]));
        if r.code == 0 && !r.stdout.is_empty() {
            log = r.stdout;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(log.contains("DATABASE_URL"), "log: {log}");
}

#[test]
fn viewer_may_read_but_not_write_nor_read_secrets() {
    let env = env_with_web();
    run(env
        .kubectl()
        .args(["--context", "todo-sandbox-viewer", "get", "deployments"]))
    .expect_code(0);
    let r = run(env
        .kubectl()
        .args(["--context", "todo-sandbox-viewer", "get", "secrets"]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(r#"User "viewer" cannot list resource "secrets""#),
        "{}",
        r.stderr
    );
    let r = run(env.kubectl().args([
        "--context",
        "todo-sandbox-viewer",
        "scale",
        "deployment/web",
        "--replicas=1",
    ]));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("forbidden"), "{}", r.stderr);
}

#[test]
fn bad_token_gets_401() {
    let env = TestEnv::sandbox_only("");
    let r = run(env
        .kubectl()
        .args(["get", "pods", "--token", "not-a-token"]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("Unauthorized") || r.stderr.contains("provide credentials"),
        "{}",
        r.stderr
    );
}

#[test]
fn helm_installs_upgrades_and_uninstalls_a_chart() {
    let env = TestEnv::sandbox_only(registry_scenario());
    let chart = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini");
    let r = run(env
        .helm()
        .args(["install", "mini"])
        .arg(&chart)
        .args(["-n", "default", "--set", "msg=one"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(env.wait_rolled_out("default", "app=mini-web", Duration::from_secs(20)));
    run(env.helm().args(["upgrade", "mini"]).arg(&chart).args([
        "-n",
        "default",
        "--set",
        "msg=two,replicas=2",
    ]))
    .expect_code(0);
    let r = run(env
        .helm()
        .args(["status", "mini", "-n", "default", "-o", "json"]))
    .expect_code(0);
    assert_eq!(r.json()["status"], "deployed");
    assert_eq!(r.json()["revision"], 2);
    let r = run(env
        .kubectl()
        .args(["get", "configmap", "mini-cm", "-o", "jsonpath={.data.msg}"]))
    .expect_code(0);
    assert_eq!(r.stdout.trim(), "two");
    let r = run(env
        .kubectl()
        .args(["get", "secrets", "-l", "owner=helm,name=mini", "-o", "json"]))
    .expect_code(0);
    assert_eq!(
        r.json()["items"].as_array().unwrap().len(),
        2,
        "one release Secret per revision"
    );
    run(env.helm().args(["uninstall", "mini", "-n", "default"])).expect_code(0);
    let r = run(env.kubectl().args(["get", "deployment", "mini-web"]));
    assert_eq!(r.code, 1);
}

#[test]
fn kubectl_auth_can_i_answers_with_the_sandbox_rbac() {
    let env = TestEnv::sandbox_only("");
    let can = |ctx: &str, args: &[&str]| {
        run(env
            .kubectl()
            .args(["--context", ctx, "auth", "can-i"])
            .args(args))
        .stdout
        .trim()
        .to_owned()
    };
    assert_eq!(
        can("todo-sandbox", &["list", "secrets", "-n", "todo"]),
        "yes"
    );
    assert_eq!(
        can("todo-sandbox-viewer", &["list", "secrets", "-n", "todo"]),
        "no"
    );
    assert_eq!(
        can("todo-sandbox-viewer", &["get", "pods", "--subresource=log"]),
        "yes"
    );
    assert_eq!(
        can(
            "todo-sandbox-viewer",
            &["patch", "deployments.apps", "--subresource=scale"]
        ),
        "no"
    );
}

#[test]
fn kubectl_generators_that_send_protobuf_work() {
    let env = TestEnv::sandbox_only("");
    run(env.kubectl().args([
        "create",
        "deployment",
        "gen",
        "--image=todo-chatbot-frontend:1.0.0",
        "--replicas=2",
        "--port=3000",
    ]))
    .expect_code(0);
    run(env
        .kubectl()
        .args(["rollout", "status", "deployment/gen", "--timeout=30s"]))
    .expect_code(0);
    run(env.kubectl().args([
        "expose",
        "deployment",
        "gen",
        "--port=80",
        "--target-port=3000",
        "--type=NodePort",
    ]))
    .expect_code(0);
    run(env
        .kubectl()
        .args(["create", "secret", "generic", "s", "--from-literal=k=v"]))
    .expect_code(0);
    run(env
        .kubectl()
        .args(["create", "configmap", "c", "--from-literal=k=v"]))
    .expect_code(0);
    run(env.kubectl().args(["create", "serviceaccount", "robot"])).expect_code(0);
    run(env
        .kubectl()
        .args(["run", "one", "--image=todo-chatbot-frontend:1.0.0"]))
    .expect_code(0);
    let r = run(env
        .kubectl()
        .args(["get", "deployment", "gen", "-o", "json"]))
    .expect_code(0);
    let d = r.json();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent",
        "defaults apply to decoded bodies"
    );
    let r = run(env.kubectl().args([
        "get",
        "service",
        "gen",
        "-o",
        "jsonpath={.spec.ports[0].targetPort} {.spec.selector.app}",
    ]))
    .expect_code(0);
    assert_eq!(r.stdout.trim(), "3000 gen");
    let r = run(env
        .kubectl()
        .args(["get", "secret", "s", "-o", "jsonpath={.data.k}"]))
    .expect_code(0);
    assert_eq!(r.stdout.trim(), "dg==");
}

#[test]
fn server_side_apply_removes_what_the_manager_no_longer_applies() {
    let env = TestEnv::sandbox_only("");
    let both = env.write("both.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: default}\ndata: {a: '1', b: '2'}\n");
    run(env
        .kubectl()
        .args(["apply", "--server-side", "-f"])
        .arg(&both))
    .expect_code(0);
    run(env.kubectl().args([
        "patch",
        "configmap",
        "ssa",
        "--type=merge",
        "-p",
        r#"{"data":{"c":"3"}}"#,
    ]))
    .expect_code(0);
    let one = env.write("one.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: default}\ndata: {a: '1'}\n");
    run(env
        .kubectl()
        .args(["apply", "--server-side", "-f"])
        .arg(&one))
    .expect_code(0);
    let r = run(env
        .kubectl()
        .args(["get", "configmap", "ssa", "-o", "json"]))
    .expect_code(0);
    let data = r.json()["data"].clone();
    assert_eq!(
        data,
        serde_json::json!({"a": "1", "c": "3"}),
        "b was dropped by its manager, c belongs to another"
    );
}
