//! Fidelity of init containers and native sidecars, through the real kubectl: the order they
//! run in, `kubectl get pods` (Init:N/M, Init:Error, Init:CrashLoopBackOff,
//! Init:ErrImagePull, READY counting sidecars), initContainerStatuses and conditions as the
//! kubelet fills them, the logs of init containers (`-c`, `--previous`), a failing migration
//! with its log line, and the API refusing probes on init containers that are not sidecars.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use serde_json::Value;

use common::{apply, events, pod, pod_row, wait_for, wait_status};
use todo_e2e::harness::{TestEnv, run};

const LONG: Duration = Duration::from_secs(20);

/// A backend pod with init containers `init` (YAML list items, indented for `initContainers`).
fn backend_pod(name: &str, restart: &str, init: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: default}}
spec:
  restartPolicy: {restart}
  initContainers:
{init}
  containers:
  - name: backend
    image: todo-chatbot-backend:1.0.0
    env:
    - {{name: DATABASE_URL, value: "postgresql://todo:pw@ep-demo-123456.us-east-2.aws.neon.tech/todo"}}
"#
    )
}

const MIGRATE: &str = r#"  - name: migrate
    image: todo-chatbot-backend:1.0.0
    command: [alembic, upgrade, head]
    env:
    - {name: DATABASE_URL, value: "postgresql://todo:pw@ep-gone-000000.us-east-2.aws.neon.tech/todo"}"#;

fn condition(p: &Value, ty: &str) -> Value {
    p["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty).cloned())
        .unwrap_or_default()
}

fn logs(env: &TestEnv, args: &[&str]) -> todo_e2e::harness::Run {
    run(env.kubectl().arg("logs").args(args))
}

#[test]
fn init_containers_run_in_order_and_kubectl_shows_init_progress() {
    let scenario = "apps:\n- {container: fetch, runMs: 1500}\n- {container: seed, runMs: 1500}\n";
    let env = TestEnv::sandbox_only(scenario);
    let init = "  - {name: fetch, image: \"todo-chatbot-frontend:1.0.0\"}\n  - {name: seed, image: \"todo-chatbot-frontend:1.0.0\"}";
    apply(&env, "web.yaml", &backend_pod("web", "Always", init));
    let row = wait_status(&env, "web", "Init:0/2", LONG);
    assert_eq!(row[1], "0/1", "{row:?}");
    let p = pod(&env, "web").unwrap();
    assert_eq!(p["status"]["phase"], "Pending");
    let init = &p["status"]["initContainerStatuses"];
    assert!(init[0]["state"]["running"].is_object(), "{init}");
    assert_eq!(
        init[1]["state"]["waiting"]["reason"], "PodInitializing",
        "{init}"
    );
    let app = &p["status"]["containerStatuses"][0];
    assert_eq!(
        app["state"]["waiting"]["reason"], "PodInitializing",
        "{app}"
    );
    let c = condition(&p, "Initialized");
    assert_eq!(
        (c["status"].clone(), c["reason"].clone()),
        ("False".into(), "ContainersNotInitialized".into())
    );
    assert_eq!(
        c["message"],
        "containers with incomplete status: [fetch seed]"
    );
    wait_status(&env, "web", "Init:1/2", LONG);
    let row = wait_status(&env, "web", "Running", LONG);
    run(env
        .kubectl()
        .args(["wait", "--for=condition=Ready", "pod/web", "--timeout=20s"]))
    .expect_code(0);
    let p = pod(&env, "web").unwrap();
    for c in p["status"]["initContainerStatuses"].as_array().unwrap() {
        assert_eq!(c["state"]["terminated"]["reason"], "Completed", "{c}");
        assert_eq!(c["state"]["terminated"]["exitCode"], 0, "{c}");
        assert_eq!(
            (c["ready"].clone(), c["started"].clone()),
            (true.into(), false.into()),
            "{c}"
        );
    }
    assert_eq!(condition(&p, "Initialized")["status"], "True");
    assert_eq!(row[3], "0", "no restarts: {row:?}");
    // Started strictly one after the other: each Started event after the previous init ended.
    let started: Vec<String> = events(&env)
        .into_iter()
        .filter(|e| e["reason"] == "Started" && e["involvedObject"]["name"] == "web")
        .map(|e| {
            e["involvedObject"]["fieldPath"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(
        started,
        [
            "spec.initContainers{fetch}",
            "spec.initContainers{seed}",
            "spec.containers{backend}"
        ]
    );
}

#[test]
fn a_failing_migration_crash_loops_with_its_log() {
    let env = TestEnv::sandbox_only("timings: {crashBackoffMs: 3000}\n");
    apply(&env, "api.yaml", &backend_pod("api", "Always", MIGRATE));
    let row = wait_status(&env, "api", "Init:CrashLoopBackOff", LONG);
    assert_eq!(row[1], "0/1", "{row:?}");
    let p = pod(&env, "api").unwrap();
    assert_eq!(p["status"]["phase"], "Pending");
    let m = &p["status"]["initContainerStatuses"][0];
    assert_eq!(m["lastState"]["terminated"]["exitCode"], 1, "{m}");
    assert_eq!(m["lastState"]["terminated"]["reason"], "Error", "{m}");
    assert!(m["restartCount"].as_i64().unwrap() >= 1, "{m}");
    let waiting = m["state"]["waiting"]["message"].as_str().unwrap();
    assert!(waiting.starts_with("back-off "), "{waiting}");
    assert!(
        waiting.contains("s restarting failed container=migrate pod=api_default("),
        "{waiting}"
    );
    // The last run's log, with or without --previous, as the kubelet serves it.
    let want = "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at \"ep-gone-000000.us-east-2.aws.neon.tech\", port 5432 failed: Connection refused";
    let r = logs(&env, &["api", "-c", "migrate"]).expect_code(0);
    assert_eq!(r.stdout.lines().last(), Some(want), "{}", r.stdout);
    let r = logs(&env, &["api", "-c", "migrate", "--previous"]).expect_code(0);
    assert_eq!(r.stdout.lines().last(), Some(want), "{}", r.stdout);
    let r = logs(&env, &["api", "-c", "backend"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("container \"backend\" in pod \"api\" is waiting to start: PodInitializing"),
        "{}",
        r.stderr
    );
    let r = logs(&env, &["api", "-c", "nope"]);
    assert!(
        r.stderr.contains("container nope is not valid for pod api"),
        "{}",
        r.stderr
    );
    let backoff = events(&env).into_iter().find(|e| {
        e["reason"] == "BackOff"
            && e["involvedObject"]["fieldPath"] == "spec.initContainers{migrate}"
    });
    let backoff = backoff.expect("a BackOff event for the init container");
    assert_eq!(backoff["type"], "Warning");
    assert!(
        backoff["message"]
            .as_str()
            .unwrap()
            .starts_with("Back-off restarting failed container migrate in pod api_default(")
    );
}

#[test]
fn a_scenario_makes_an_init_container_fail_with_a_log_line() {
    let scenario = "apps:\n- container: migrate\n  kind: crashloop\n  exitCode: 3\n  logs: [\"alembic.util.exc.CommandError: Can't locate revision identified by 'abc123'\"]\n";
    let env = TestEnv::sandbox_only(scenario);
    apply(&env, "api.yaml", &backend_pod("api", "Never", MIGRATE));
    let row = wait_status(&env, "api", "Init:Error", LONG);
    assert_eq!(row[1], "0/1");
    let p = wait_for(LONG, || {
        pod(&env, "api").filter(|p| p["status"]["phase"] == "Failed")
    })
    .expect("restartPolicy Never: the pod fails");
    let m = &p["status"]["initContainerStatuses"][0];
    assert_eq!(m["state"]["terminated"]["exitCode"], 3, "{m}");
    assert_eq!(m["restartCount"], 0, "{m}");
    assert_eq!(condition(&p, "Ready")["reason"], "PodFailed");
    let r = logs(&env, &["api", "-c", "migrate"]).expect_code(0);
    assert_eq!(
        r.stdout.trim(),
        "alembic.util.exc.CommandError: Can't locate revision identified by 'abc123'"
    );
    let r = logs(&env, &["api", "-c", "migrate", "--previous"]);
    assert!(
        r.stderr
            .contains("previous terminated container \"migrate\" in pod \"api\" not found"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_init_container_image_that_cannot_be_pulled_shows_init_err_image_pull() {
    let env = TestEnv::sandbox_only("timings: {crashBackoffMs: 400}\n");
    let init = "  - {name: migrate, image: \"todo-chatbot-backend:9.9.9\"}";
    apply(&env, "api.yaml", &backend_pod("api", "Always", init));
    wait_status(&env, "api", "Init:ErrImagePull", LONG);
    wait_status(&env, "api", "Init:ImagePullBackOff", LONG);
    let r = logs(&env, &["api", "-c", "migrate"]);
    assert!(
        r.stderr
            .contains("is waiting to start: trying and failing to pull image")
            || r.stderr
                .contains("is waiting to start: image can't be pulled"),
        "{}",
        r.stderr
    );
}

const SIDECAR_POD: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: app, namespace: default}
spec:
  initContainers:
  - name: proxy
    image: todo-chatbot-frontend:1.0.0
    restartPolicy: Always
    ports: [{containerPort: 3000, name: http}]
    startupProbe:
      httpGet: {path: /api/health, port: http}
      periodSeconds: 1
    readinessProbe:
      httpGet: {path: /api/health, port: http}
  - {name: migrate, image: "todo-chatbot-frontend:1.0.0"}
  containers:
  - {name: web, image: "todo-chatbot-frontend:1.0.0"}
"#;

#[test]
fn a_sidecar_starts_before_the_next_init_container_and_counts_for_ready() {
    let env = TestEnv::sandbox_only("");
    apply(&env, "app.yaml", SIDECAR_POD);
    // The migration waits for the sidecar's startup probe.
    let p = wait_for(LONG, || {
        pod(&env, "app")
            .filter(|p| p["status"]["initContainerStatuses"][0]["state"]["running"].is_object())
    })
    .unwrap();
    let s = &p["status"]["initContainerStatuses"];
    if s[0]["started"] == false {
        assert_eq!(s[1]["state"]["waiting"]["reason"], "PodInitializing", "{s}");
    }
    run(env
        .kubectl()
        .args(["wait", "--for=condition=Ready", "pod/app", "--timeout=20s"]))
    .expect_code(0);
    let row = pod_row(&env, "app");
    assert_eq!(
        (row[1].as_str(), row[2].as_str()),
        ("2/2", "Running"),
        "{row:?}"
    );
    let p = pod(&env, "app").unwrap();
    let proxy = &p["status"]["initContainerStatuses"][0];
    assert!(proxy["state"]["running"].is_object(), "{proxy}");
    assert_eq!(
        (proxy["started"].clone(), proxy["ready"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(
        p["status"]["initContainerStatuses"][1]["state"]["terminated"]["reason"],
        "Completed"
    );
    // The sidecar's log, like any container's.
    let r = logs(&env, &["app", "-c", "proxy"]).expect_code(0);
    assert!(r.stdout.contains("Next.js"), "{}", r.stdout);
}

#[test]
fn the_api_refuses_probes_on_init_containers_that_are_not_sidecars() {
    let env = TestEnv::sandbox_only("");
    let init = "  - name: migrate\n    image: todo-chatbot-backend:1.0.0\n    readinessProbe: {exec: {command: [\"true\"]}}\n    livenessProbe: {exec: {command: [\"true\"]}}";
    let file = env.write("bad.yaml", &backend_pod("bad", "Always", init));
    let r = run(env.kubectl().args(["apply", "-f"]).arg(&file));
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "The Pod \"bad\" is invalid: \n* spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always\n* spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"
    );
    run(env.kubectl().args(["get", "pod", "bad"])).expect_code(1);
    // A sidecar may have them.
    apply(&env, "sidecar.yaml", SIDECAR_POD);
}
