//! API conventions the plugins depend on, checked over raw HTTP (curl) against the sandbox:
//! resourceVersion and generation, conflicts, patch flavours, watch resumption and
//! bookmarks, garbage collection, Status errors, and the fault injection tests rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::Command;

use serde_json::{Value, json};

use todo_e2e::harness::{TestEnv, run};

struct Api<'a> {
    env: &'a TestEnv,
    ca: std::path::PathBuf,
}

impl<'a> Api<'a> {
    fn new(env: &'a TestEnv) -> Self {
        let sb = env.sandbox().expect("a sandbox");
        let ca = env.write("ca.pem", sb.ca_pem());
        Api { env, ca }
    }

    fn curl(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> (u16, String) {
        let sb = self.env.sandbox().expect("a sandbox");
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
            "--cacert",
        ])
        .arg(&self.ca);
        cmd.arg("-H").arg(format!(
            "Authorization: Bearer {}",
            token.unwrap_or(sb.admin_token())
        ));
        if let Some(b) = body {
            cmd.arg("-H")
                .arg(format!("Content-Type: {content_type}"))
                .arg("--data-binary")
                .arg(b.to_string());
        }
        cmd.arg(format!("{}{path}", sb.server_url()));
        let r = run(&mut cmd);
        let (body, code) = r.stdout.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }

    fn json(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.with_type(method, path, "application/json", body)
    }

    fn with_type(&self, method: &str, path: &str, ct: &str, body: Option<&Value>) -> (u16, Value) {
        let (code, text) = self.curl(method, path, ct, body, None);
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
}

const DEPLOY: &str = "/apis/apps/v1/namespaces/default/deployments";

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "todo-chatbot-frontend:1.0.0"}]}}}})
}

#[test]
fn stale_resource_version_update_is_a_409_conflict_status() {
    let env = TestEnv::sandbox_only("");
    let api = Api::new(&env);
    let (code, created) = api.json(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&configmap("cm")),
    );
    assert_eq!(code, 201);
    let mut changed = created.clone();
    changed["data"]["a"] = json!("2");
    assert_eq!(
        api.json(
            "PUT",
            "/api/v1/namespaces/default/configmaps/cm",
            Some(&changed)
        )
        .0,
        200
    );
    let (code, status) = api.json(
        "PUT",
        "/api/v1/namespaces/default/configmaps/cm",
        Some(&changed),
    );
    assert_eq!(code, 409);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "Conflict");
    let (code, status) = api.json(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&configmap("cm")),
    );
    assert_eq!(
        (code, status["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
}

#[test]
fn invalid_objects_get_422_and_unknown_ones_404() {
    let env = TestEnv::sandbox_only("");
    let api = Api::new(&env);
    let (code, status) = api.json(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&configmap("Bad_Name")),
    );
    assert_eq!((code, status["reason"].as_str()), (422, Some("Invalid")));
    let (code, status) = api.json("GET", "/api/v1/namespaces/default/configmaps/missing", None);
    assert_eq!((code, status["reason"].as_str()), (404, Some("NotFound")));
    let (code, _) = api.json(
        "POST",
        "/api/v1/namespaces/nope/configmaps",
        Some(&configmap("x")),
    );
    assert_eq!(code, 404);
}

#[test]
fn generation_bumps_on_spec_changes_only() {
    let env = TestEnv::sandbox_only("");
    let api = Api::new(&env);
    assert_eq!(api.json("POST", DEPLOY, Some(&deployment("g"))).0, 201);
    let (_, d) = api.with_type(
        "PATCH",
        &format!("{DEPLOY}/g"),
        "application/merge-patch+json",
        Some(&json!({"metadata": {"labels": {"x": "y"}}})),
    );
    assert_eq!(d["metadata"]["generation"], 1);
    let (_, d) = api.with_type("PATCH", &format!("{DEPLOY}/g"), "application/strategic-merge-patch+json", Some(&json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "todo-chatbot-frontend:2.0.0"}]}}}})));
    assert_eq!(d["metadata"]["generation"], 2);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let (_, d) = api.with_type(
        "PATCH",
        &format!("{DEPLOY}/g"),
        "application/json-patch+json",
        Some(&json!([{"op": "replace", "path": "/spec/replicas", "value": 3}])),
    );
    assert_eq!(
        (
            d["spec"]["replicas"].as_i64(),
            d["metadata"]["generation"].as_i64()
        ),
        (Some(3), Some(3))
    );
}

#[test]
fn scale_subresource_reads_and_writes_replicas() {
    let env = TestEnv::sandbox_only("");
    let api = Api::new(&env);
    api.json("POST", DEPLOY, Some(&deployment("s")));
    let (code, scale) = api.json("GET", &format!("{DEPLOY}/s/scale"), None);
    assert_eq!(
        (
            code,
            scale["kind"].as_str(),
            scale["spec"]["replicas"].as_i64()
        ),
        (200, Some("Scale"), Some(1))
    );
    // Controllers write status concurrently, so a client re-reads on 409, as kubectl does.
    let mut stale = Value::Null;
    let mut scaled = Value::Null;
    for _ in 0..20 {
        let (_, mut put) = api.json("GET", &format!("{DEPLOY}/s/scale"), None);
        put["spec"]["replicas"] = json!(4);
        stale = put.clone();
        let (code, body) = api.json("PUT", &format!("{DEPLOY}/s/scale"), Some(&put));
        if code == 200 {
            scaled = body;
            break;
        }
        assert_eq!(body["reason"], "Conflict");
    }
    assert_eq!(scaled["spec"]["replicas"], 4);
    let (code, status) = api.json("PUT", &format!("{DEPLOY}/s/scale"), Some(&stale));
    assert_eq!(
        (code, status["reason"].as_str()),
        (409, Some("Conflict")),
        "the old resourceVersion is stale now"
    );
}

#[test]
fn watch_resumes_from_a_resource_version_and_sends_bookmarks() {
    let env = TestEnv::sandbox_only("");
    let api = Api::new(&env);
    let (_, first) = api.json(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&configmap("w1")),
    );
    let rv = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .to_owned();
    api.json(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&configmap("w2")),
    );
    api.json("DELETE", "/api/v1/namespaces/default/configmaps/w1", None);
    let (_, text) = api.curl("GET", &format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=2"), "", None, None);
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["type"] != "BOOKMARK")
        .map(|e| {
            (
                e["type"].as_str().unwrap_or(""),
                e["object"]["metadata"]["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![("ADDED", "w2"), ("DELETED", "w1")],
        "only what happened after rv {rv}"
    );
    assert!(
        events.iter().any(|e| e["type"] == "BOOKMARK"),
        "bookmarks were asked for: {text}"
    );
}

#[test]
fn deleting_an_owner_garbage_collects_its_dependents() {
    let env = TestEnv::sandbox_only("");
    let api = Api::new(&env);
    api.json("POST", DEPLOY, Some(&deployment("gc")));
    let count = |api: &Api| {
        api.json(
            "GET",
            "/api/v1/namespaces/default/pods?labelSelector=app%3Dgc",
            None,
        )
        .1["items"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let start = std::time::Instant::now();
    while count(&api) == 0 && start.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(count(&api), 1);
    api.json("DELETE", &format!("{DEPLOY}/gc"), None);
    let start = std::time::Instant::now();
    while count(&api) > 0 && start.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(count(&api), 0, "ReplicaSet and Pods follow their owner");
    let (_, rs) = api.json("GET", "/apis/apps/v1/namespaces/default/replicasets", None);
    assert_eq!(rs["items"].as_array().map_or(0, Vec::len), 0);
}

#[test]
fn injected_429_carries_retry_after_and_stats_count_requests() {
    let env = TestEnv::sandbox_only(
        "faults:\n  errors: [{code: 429, count: 2, pathContains: /configmaps}]\n",
    );
    let api = Api::new(&env);
    let sb = env.sandbox().expect("a sandbox");
    sb.reset_request_count();
    let (a, _) = api.json("GET", "/api/v1/namespaces/default/configmaps", None);
    let (b, _) = api.json("GET", "/api/v1/namespaces/default/configmaps", None);
    let (c, _) = api.json("GET", "/api/v1/namespaces/default/configmaps", None);
    assert_eq!((a, b, c), (429, 429, 200));
    let (_, stats) = api.json("GET", "/sandbox/v1/stats", None);
    assert_eq!(stats["requests"], 3);
    let (code, _) = api.curl(
        "GET",
        "/api/v1/namespaces/default/configmaps",
        "",
        None,
        Some("wrong"),
    );
    assert_eq!(code, 401);
}

/// The Todo backend (healthy with the scenario's reachable database) behind a Service whose
/// port is named `http`.
const BACKEND: &str = r#"apiVersion: v1
kind: Secret
metadata: {name: db, namespace: todo}
stringData:
  DATABASE_URL: postgresql://todo:pw@ep-demo-123456.us-east-2.aws.neon.tech/todo?sslmode=require
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: todo-todo-chatbot-backend, namespace: todo, labels: {app: backend}}
spec:
  replicas: 1
  selector: {matchLabels: {app: backend}}
  template:
    metadata: {labels: {app: backend}}
    spec:
      containers:
      - name: backend
        image: todo-chatbot-backend:1.0.0
        ports: [{name: http, containerPort: 8000}]
        envFrom: [{secretRef: {name: db}}]
        readinessProbe: {httpGet: {path: /health, port: http}}
---
apiVersion: v1
kind: Service
metadata: {name: todo-todo-chatbot-backend, namespace: todo}
spec:
  selector: {app: backend}
  ports: [{name: http, port: 8000, targetPort: http}]
"#;

#[test]
fn service_proxy_reaches_the_simulated_backend_or_says_no_endpoints() {
    let env = TestEnv::sandbox_only("");
    run(env.kubectl().args(["create", "namespace", "todo"])).expect_code(0);
    let file = env.write("backend.yaml", BACKEND);
    run(env.kubectl().args(["apply", "-f"]).arg(&file)).expect_code(0);
    assert!(env.wait_rolled_out("todo", "app=backend", std::time::Duration::from_secs(30)));
    let api = Api::new(&env);
    let (code, body) = api.curl(
        "GET",
        "/api/v1/namespaces/todo/services/todo-todo-chatbot-backend:http/proxy/health",
        "",
        None,
        None,
    );
    assert_eq!(code, 200, "{body}");
    run(env.kubectl().args([
        "scale",
        "deployment/todo-todo-chatbot-backend",
        "-n",
        "todo",
        "--replicas=0",
    ]))
    .expect_code(0);
    let start = std::time::Instant::now();
    let mut last = (0, String::new());
    while start.elapsed().as_secs() < 10 {
        last = api.curl(
            "GET",
            "/api/v1/namespaces/todo/services/todo-todo-chatbot-backend:http/proxy/health",
            "",
            None,
            None,
        );
        if last.0 == 503 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(last.0, 503);
    assert!(
        last.1.contains("no endpoints available for service"),
        "{}",
        last.1
    );
}

#[test]
fn sealed_secrets_certificate_is_served_through_the_service_proxy() {
    let env = TestEnv::sandbox_only("");
    let api = Api::new(&env);
    let (code, pem) = api.curl("GET", "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem", "", None, None);
    assert_eq!(code, 200);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
}

#[test]
fn filtered_watch_sees_objects_enter_and_leave_the_selection() {
    let env = TestEnv::sandbox_only("");
    let api = Api::new(&env);
    let mut cm = configmap("sel");
    cm["metadata"]["labels"] = json!({"tier": "web"});
    let (_, created) = api.json("POST", "/api/v1/namespaces/default/configmaps", Some(&cm));
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .to_owned();
    let path = "/api/v1/namespaces/default/configmaps/sel";
    api.with_type(
        "PATCH",
        path,
        "application/merge-patch+json",
        Some(&json!({"metadata": {"labels": {"tier": null}}})),
    );
    api.with_type(
        "PATCH",
        path,
        "application/merge-patch+json",
        Some(&json!({"data": {"b": "2"}})),
    );
    api.with_type(
        "PATCH",
        path,
        "application/merge-patch+json",
        Some(&json!({"metadata": {"labels": {"tier": "web"}}})),
    );
    let (_, text) = api.curl("GET", &format!("/api/v1/namespaces/default/configmaps?watch=1&labelSelector=tier%3Dweb&resourceVersion={rv}&timeoutSeconds=1"), "", None, None);
    let kinds: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|e| e["type"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        kinds,
        vec!["DELETED", "ADDED"],
        "leaving the selection is a DELETED, entering it an ADDED: {text}"
    );
}
