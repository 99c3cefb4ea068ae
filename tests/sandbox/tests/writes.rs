//! Fidelity of writes that must not write: `dryRun=All` on every write verb (kubectl's
//! `--dry-run=server`, including `scale`), with admission and validation still answering,
//! and SelfSubjectAccessReviews answered per verb, resource and namespace for the admin and
//! the viewer (with scenario grants), through the real kubectl and raw HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use serde_json::{Value, json};

use common::{Api, apply, can};
use todo_e2e::harness::{TestEnv, run};

const WEB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "todo-chatbot-frontend:1.0.0"}
"#;

/// The stored object at `path` and its resourceVersion.
fn stored(api: &Api<'_>, path: &str) -> (u16, Value, String) {
    let (code, obj) = api.json("GET", path, None);
    let rv = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    (code, obj, rv)
}

fn kubectl_ok(env: &TestEnv, args: &[&str]) -> String {
    run(env.kubectl().args(args)).expect_code(0).stdout
}

const WEB_PATH: &str = "/apis/apps/v1/namespaces/default/deployments/web";

/// A sandbox with `WEB` rolled out, so that only what a test does could write.
fn settled_web() -> TestEnv {
    let env = TestEnv::sandbox_only("");
    apply(&env, "web.yaml", WEB);
    kubectl_ok(
        &env,
        &["rollout", "status", "deployment/web", "--timeout=30s"],
    );
    env
}

#[test]
fn server_dry_run_scales_patches_and_labels_nothing() {
    let env = settled_web();
    let api = Api::new(&env);
    let (_, _, rv) = stored(&api, WEB_PATH);
    let out = kubectl_ok(
        &env,
        &[
            "scale",
            "deployment/web",
            "--replicas=5",
            "--dry-run=server",
        ],
    );
    assert_eq!(out.trim(), "deployment.apps/web scaled (server dry run)");
    let out = kubectl_ok(
        &env,
        &[
            "patch",
            "deployment/web",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":7}}"#,
            "--dry-run=server",
            "-o",
            "jsonpath={.spec.replicas}",
        ],
    );
    assert_eq!(out, "7", "the dry-run answer shows the change");
    kubectl_ok(
        &env,
        &[
            "patch",
            "deployment/web",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":9}]"#,
            "--dry-run=server",
        ],
    );
    kubectl_ok(
        &env,
        &[
            "set",
            "image",
            "deployment/web",
            "web=todo-chatbot-frontend:2.0.0",
            "--dry-run=server",
        ],
    );
    kubectl_ok(
        &env,
        &["label", "deployment/web", "tier=front", "--dry-run=server"],
    );
    assert_untouched(&api, WEB_PATH, &rv);
}

/// The Deployment at `path` is as `WEB` made it and still has resourceVersion `rv`.
fn assert_untouched(api: &Api<'_>, path: &str, rv: &str) {
    let (code, obj, rv_after) = stored(api, path);
    assert_eq!(code, 200, "still there");
    assert_eq!(obj["spec"]["replicas"], 2, "{obj}");
    assert_eq!(obj["metadata"]["labels"], json!({"app": "web"}), "{obj}");
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"][0]["image"],
        "todo-chatbot-frontend:1.0.0"
    );
    assert_eq!(rv, rv_after, "nothing was written");
}

#[test]
fn server_dry_run_applies_replaces_creates_and_deletes_nothing() {
    let env = settled_web();
    let api = Api::new(&env);
    let (_, _, rv) = stored(&api, WEB_PATH);
    let store_rv = |api: &Api<'_>| {
        api.json("GET", "/api/v1/namespaces", None).1["metadata"]["resourceVersion"].clone()
    };
    let changed = env.write("web3.yaml", &WEB.replace("replicas: 2", "replicas: 3"));
    for args in [
        vec!["apply", "--dry-run=server", "-f"],
        vec!["apply", "--server-side", "--dry-run=server", "-f"],
        vec!["replace", "--dry-run=server", "-f"],
    ] {
        run(env.kubectl().args(&args).arg(&changed)).expect_code(0);
    }
    let out = kubectl_ok(&env, &["delete", "deployment/web", "--dry-run=server"]);
    assert_eq!(
        out.trim(),
        "deployment.apps \"web\" deleted (server dry run)"
    );
    assert_untouched(&api, WEB_PATH, &rv);
    // Nothing anywhere was written (the store's resourceVersion is where it was).
    let before = store_rv(&api);
    let cm = env.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry, namespace: default}\ndata: {a: b}\n",
    );
    let out = run(env
        .kubectl()
        .args(["create", "--dry-run=server", "-f"])
        .arg(&cm))
    .expect_code(0)
    .stdout;
    assert_eq!(out.trim(), "configmap/dry created (server dry run)");
    run(env.kubectl().args(["get", "configmap", "dry"])).expect_code(1);
    assert_eq!(before, store_rv(&api));
}

#[test]
fn server_dry_run_still_validates_and_admits() {
    let env = TestEnv::sandbox_only("");
    apply(&env, "web.yaml", WEB);
    // Validation: a negative replica count is refused, not stored.
    let r = run(env.kubectl().args([
        "scale",
        "deployment/web",
        "--replicas=-1",
        "--dry-run=server",
    ]));
    assert_ne!(r.code, 0, "{}", r.stdout);
    // An existing name conflicts even in a dry run.
    let again = env.write("web-again.yaml", WEB);
    let r = run(env
        .kubectl()
        .args(["create", "--dry-run=server", "-f"])
        .arg(&again));
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("AlreadyExists"), "{}", r.stderr);
    // Admission answers: the node port is taken by a stored Service.
    let svc = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  type: NodePort\n  selector: {{app: web}}\n  ports:\n  - {{port: 80, nodePort: 30080}}\n"
        )
    };
    apply(&env, "a.yaml", &svc("a"));
    let b = env.write("b.yaml", &svc("b"));
    let r = run(env
        .kubectl()
        .args(["create", "--dry-run=server", "-f"])
        .arg(&b));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
        ),
        "{}",
        r.stderr
    );
    // The dry-run answer of a create carries the defaults and a uid but no resourceVersion.
    let c = env.write(
        "c.yaml",
        &svc("c").replace("nodePort: 30080", "nodePort: 30081"),
    );
    let r = run(env
        .kubectl()
        .args(["create", "--dry-run=server", "-o", "json", "-f"])
        .arg(&c))
    .expect_code(0);
    let obj = r.json();
    assert!(
        obj["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{obj}"
    );
    assert!(
        obj["metadata"]["uid"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{obj}"
    );
    assert!(obj["metadata"]["resourceVersion"].is_null(), "{obj}");
    run(env.kubectl().args(["get", "service", "c"])).expect_code(1);
}

#[test]
fn an_unsupported_dry_run_value_and_a_stale_dry_run_update_are_refused() {
    let env = TestEnv::sandbox_only("");
    apply(&env, "web.yaml", WEB);
    let api = Api::new(&env);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let (code, status) = api.json(
        "POST",
        "/api/v1/namespaces/default/configmaps?dryRun=Some",
        Some(&cm),
    );
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: []string{\"Some\"}: supported values: \"All\""
    );
    let path = WEB_PATH;
    let (_, mut obj, _) = stored(&api, path);
    obj["metadata"]["resourceVersion"] = json!("1");
    let (code, status) = api.json("PUT", &format!("{path}?dryRun=All"), Some(&obj));
    assert_eq!(code, 409, "{status}");
    assert_eq!(status["reason"], "Conflict");
}

fn grants_scenario() -> &'static str {
    r#"access:
  viewer:
  - verbs: [create, get, list, watch, update, patch, delete]
    apiGroups: ["", apps]
    resources: [deployments, deployments/scale, services, configmaps, secrets]
    namespaces: [todo]
"#
}

#[test]
fn access_reviews_answer_per_verb_resource_and_namespace() {
    let env = TestEnv::sandbox_only(grants_scenario());
    let viewer = "todo-sandbox-viewer";
    for (args, want) in [
        (vec!["create", "deployments", "-n", "todo"], "yes"),
        (vec!["create", "deployments.apps", "-n", "default"], "no"),
        (vec!["create", "secrets", "-n", "todo"], "yes"),
        (vec!["get", "secrets", "-n", "default"], "no"),
        (
            vec!["patch", "deployments", "--subresource=scale", "-n", "todo"],
            "yes",
        ),
        (vec!["create", "networkpolicies", "-n", "todo"], "no"),
        (
            vec!["create", "sealedsecrets.bitnami.com", "-n", "todo"],
            "no",
        ),
        (
            vec![
                "create",
                "horizontalpodautoscalers.autoscaling",
                "-n",
                "todo",
            ],
            "no",
        ),
        (vec!["list", "pods", "-n", "default"], "yes"),
    ] {
        assert_eq!(can(&env, viewer, &args), want, "viewer: can-i {args:?}");
    }
    assert_eq!(
        can(
            &env,
            "todo-sandbox",
            &["create", "sealedsecrets.bitnami.com", "-n", "x"]
        ),
        "yes"
    );
}

#[test]
fn the_review_carries_the_reason_and_the_real_request_agrees() {
    let env = TestEnv::sandbox_only(grants_scenario());
    let viewer = "todo-sandbox-viewer";
    // The review itself, as preflight sends it: status.allowed with the authorizer's reason.
    let api = Api::new(&env);
    let review = |ns: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "create", "group": "apps", "resource": "deployments", "namespace": ns}}})
    };
    let token = env.sandbox().unwrap().viewer_token().to_owned();
    let path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    let ask = |ns: &str| {
        let (code, text) = api.curl(
            "POST",
            path,
            "application/json",
            Some(&review(ns)),
            Some(&token),
        );
        assert_eq!(code, 201, "{text}");
        serde_json::from_str::<Value>(&text).unwrap()
    };
    let yes = ask("todo");
    assert_eq!(yes["status"]["allowed"], true, "{yes}");
    assert!(
        yes["status"]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("RBAC: allowed by RoleBinding")),
        "{yes}"
    );
    let no = ask("default");
    assert_eq!(no["status"], json!({"allowed": false}), "{no}");
    // The real request agrees with the review.
    let r = run(env.kubectl().args([
        "--context",
        viewer,
        "-n",
        "default",
        "create",
        "configmap",
        "c",
        "--from-literal=a=b",
    ]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(r#"User "viewer" cannot create resource "configmaps" in API group "" in the namespace "default""#),
        "{}",
        r.stderr
    );
    run(env.kubectl().args(["create", "namespace", "todo"])).expect_code(0);
    run(env.kubectl().args([
        "--context",
        viewer,
        "-n",
        "todo",
        "create",
        "configmap",
        "c",
        "--from-literal=a=b",
    ]))
    .expect_code(0);
}

#[test]
fn a_dry_run_pod_delete_answers_as_a_graceful_delete_and_keeps_the_pod() {
    let env = settled_web();
    let api = Api::new(&env);
    let (_, list) = api.json("GET", "/api/v1/namespaces/default/pods", None);
    let name = list["items"][0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/namespaces/default/pods/{name}");
    let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]});
    let (code, answer) = api.json("DELETE", &path, Some(&body));
    assert_eq!(code, 200, "{answer}");
    assert_eq!(
        answer["metadata"]["deletionGracePeriodSeconds"], 30,
        "{answer}"
    );
    assert!(
        answer["metadata"]["deletionTimestamp"].is_string(),
        "{answer}"
    );
    let (code, stored) = api.json("GET", &path, None);
    assert_eq!(code, 200);
    assert!(
        stored["metadata"]["deletionTimestamp"].is_null(),
        "{stored}"
    );
    let r = run(env
        .kubectl()
        .args(["delete", "pod", &name, "--dry-run=server"]))
    .expect_code(0);
    assert_eq!(
        r.stdout.trim(),
        format!("pod \"{name}\" deleted (server dry run)")
    );
    let (_, stored) = api.json("GET", &path, None);
    assert!(
        stored["metadata"]["deletionTimestamp"].is_null(),
        "{stored}"
    );
}
