//! Fidelity of the simulated node: the scheduler's capacity checks (pods that do not fit
//! stay Pending as Unschedulable) and the kubelet's liveness probes (a failing container is
//! killed and restarted), seen through the real kubectl.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use serde_json::Value;

use todo_e2e::harness::{TestEnv, run};

const UNSCHEDULABLE_CPU: &str = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";

/// A Deployment of `replicas` frontend pods, each requesting `cpu`.
fn deployment(name: &str, replicas: u32, cpu: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: default
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: web
        image: todo-chatbot-frontend:1.0.0
        imagePullPolicy: IfNotPresent
        resources:
          requests: {{cpu: "{cpu}", memory: 64Mi}}
"#
    )
}

/// A bare frontend pod requesting `cpu`.
fn pod(name: &str, cpu: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: default
spec:
  containers:
  - name: web
    image: todo-chatbot-frontend:1.0.0
    imagePullPolicy: IfNotPresent
    resources:
      requests: {{cpu: "{cpu}", memory: 64Mi}}
"#
    )
}

fn apply(env: &TestEnv, file: &str, text: &str) {
    let path = env.write(file, text);
    run(env.kubectl().args(["apply", "-f"]).arg(&path)).expect_code(0);
}

fn pods(env: &TestEnv, selector: Option<&str>) -> Vec<Value> {
    let mut cmd = env.kubectl();
    cmd.args(["get", "pods", "-n", "default", "-o", "json"]);
    if let Some(s) = selector {
        cmd.args(["-l", s]);
    }
    run(&mut cmd).expect_code(0).json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn events(env: &TestEnv) -> Vec<Value> {
    run(env
        .kubectl()
        .args(["get", "events", "-n", "default", "-o", "json"]))
    .expect_code(0)
    .json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Poll `check` until it gives a value or `timeout` passes.
fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn is_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn unschedulable(p: &Value) -> Option<&Value> {
    p["status"]["conditions"].as_array()?.iter().find(|c| {
        c["type"] == "PodScheduled" && c["status"] == "False" && c["reason"] == "Unschedulable"
    })
}

#[test]
fn a_pod_requesting_more_cpu_than_the_node_has_stays_pending_as_unschedulable() {
    let env = TestEnv::sandbox_only("");
    apply(&env, "hog.yaml", &deployment("hog", 1, "3"));
    let pod = wait_for(Duration::from_secs(20), || {
        pods(&env, Some("app=hog"))
            .into_iter()
            .find(|p| unschedulable(p).is_some())
    })
    .expect("the hog pod becomes Unschedulable");
    assert_eq!(pod["status"]["phase"], "Pending", "{pod}");
    assert!(pod["spec"]["nodeName"].is_null(), "{pod}");
    let cond = unschedulable(&pod).cloned().unwrap_or_default();
    assert_eq!(cond["message"], UNSCHEDULABLE_CPU, "{cond}");
    let name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let event = wait_for(Duration::from_secs(10), || {
        events(&env).into_iter().find(|e| {
            e["reason"] == "FailedScheduling" && e["involvedObject"]["name"] == name.as_str()
        })
    })
    .expect("a FailedScheduling event");
    assert_eq!(event["type"], "Warning", "{event}");
    assert_eq!(event["source"]["component"], "default-scheduler", "{event}");
    assert_eq!(event["message"], UNSCHEDULABLE_CPU, "{event}");
    // Still pending a few seconds later, with the event aggregated rather than repeated.
    std::thread::sleep(Duration::from_secs(2));
    let pod = pods(&env, Some("app=hog")).remove(0);
    assert_eq!(pod["status"]["phase"], "Pending", "{pod}");
    let same: Vec<Value> = events(&env)
        .into_iter()
        .filter(|e| e["reason"] == "FailedScheduling")
        .collect();
    assert_eq!(same.len(), 1, "{same:?}");
    // kubectl shows it the usual way.
    let r = run(env
        .kubectl()
        .args(["get", "pods", "-n", "default", "-l", "app=hog"]))
    .expect_code(0);
    assert!(r.stdout.contains("Pending"), "{}", r.stdout);
}

#[test]
fn scaling_down_leaves_no_pod_pending() {
    let env = TestEnv::sandbox_only("");
    // 2 CPUs: two 800m pods fit, the third does not.
    apply(&env, "web.yaml", &deployment("web", 3, "800m"));
    let settled = wait_for(Duration::from_secs(20), || {
        let ps = pods(&env, Some("app=web"));
        let ready = ps.iter().filter(|p| is_ready(p)).count();
        let pending = ps.iter().filter(|p| unschedulable(p).is_some()).count();
        (ready == 2 && pending == 1).then_some(())
    });
    assert!(
        settled.is_some(),
        "{:#?}",
        pods(&env, Some("app=web"))
            .iter()
            .map(|p| p["status"].clone())
            .collect::<Vec<_>>()
    );
    run(env.kubectl().args([
        "scale",
        "deployment",
        "web",
        "-n",
        "default",
        "--replicas=2",
    ]))
    .expect_code(0);
    let done = wait_for(Duration::from_secs(20), || {
        let ps = pods(&env, Some("app=web"));
        (ps.len() == 2 && ps.iter().all(is_ready)).then_some(())
    });
    assert!(done.is_some(), "{:#?}", pods(&env, Some("app=web")));
    run(env.kubectl().args([
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "default",
        "--timeout=20s",
    ]))
    .expect_code(0);
}

#[test]
fn deleting_a_big_pod_lets_a_pending_pod_schedule() {
    let env = TestEnv::sandbox_only("");
    apply(&env, "big.yaml", &pod("big", "1500m"));
    assert!(
        wait_for(Duration::from_secs(20), || {
            pods(&env, None)
                .iter()
                .any(|p| p["metadata"]["name"] == "big" && is_ready(p))
                .then_some(())
        })
        .is_some()
    );
    apply(&env, "small.yaml", &pod("small", "1"));
    let small = wait_for(Duration::from_secs(20), || {
        pods(&env, None)
            .into_iter()
            .find(|p| p["metadata"]["name"] == "small" && unschedulable(p).is_some())
    })
    .expect("small is Unschedulable while big runs");
    assert_eq!(
        unschedulable(&small).unwrap()["message"],
        UNSCHEDULABLE_CPU,
        "{small}"
    );
    run(env
        .kubectl()
        .args(["delete", "pod", "big", "-n", "default", "--wait=true"]))
    .expect_code(0);
    run(env.kubectl().args([
        "wait",
        "--for=condition=Ready",
        "pod/small",
        "-n",
        "default",
        "--timeout=20s",
    ]))
    .expect_code(0);
    let small = pods(&env, None)
        .into_iter()
        .find(|p| p["metadata"]["name"] == "small")
        .expect("small exists");
    assert_eq!(small["spec"]["nodeName"], "minikube", "{small}");
    let scheduled = events(&env).into_iter().any(|e| {
        e["reason"] == "Scheduled"
            && e["involvedObject"]["name"] == "small"
            && e["message"] == "Successfully assigned default/small to minikube"
    });
    assert!(scheduled);
}

#[test]
fn a_failing_liveness_probe_restarts_the_container() {
    let env = TestEnv::sandbox_only("databases: []\n");
    let manifest = r#"apiVersion: v1
kind: Pod
metadata:
  name: backend
  namespace: default
spec:
  containers:
  - name: backend
    image: todo-chatbot-backend:1.0.0
    imagePullPolicy: IfNotPresent
    env:
    - {name: DATABASE_URL, value: "postgresql://todo:pw@ep-gone-000000.us-east-2.aws.neon.tech/todo"}
    ports:
    - {containerPort: 8000, name: http}
    livenessProbe:
      httpGet: {path: /health, port: http}
      periodSeconds: 1
      failureThreshold: 1
"#;
    apply(&env, "backend.yaml", manifest);
    let pod = wait_for(Duration::from_secs(10), || {
        pods(&env, None).into_iter().find(|p| {
            p["status"]["containerStatuses"][0]["restartCount"]
                .as_i64()
                .is_some_and(|n| n >= 1)
        })
    })
    .unwrap_or_else(|| panic!("no restart within 10 s: {:#?}", pods(&env, None)));
    let cs = &pod["status"]["containerStatuses"][0];
    let term = &cs["lastState"]["terminated"];
    assert_eq!(term["exitCode"], 137, "{cs}");
    assert_eq!(term["reason"], "Error", "{cs}");
    let evs = events(&env);
    let find = |reason: &str, message: &str| {
        evs.iter().find(|e| {
            e["reason"] == reason
                && e["message"] == message
                && e["involvedObject"]["fieldPath"] == "spec.containers{backend}"
        })
    };
    let unhealthy = find(
        "Unhealthy",
        "Liveness probe failed: HTTP probe failed with statuscode: 503",
    )
    .unwrap_or_else(|| panic!("no Unhealthy event: {evs:#?}"));
    assert_eq!(unhealthy["type"], "Warning");
    let killing = find(
        "Killing",
        "Container backend failed liveness probe, will be restarted",
    )
    .unwrap_or_else(|| panic!("no Killing event: {evs:#?}"));
    assert_eq!(killing["type"], "Normal");
    // It keeps failing: more restarts, then CrashLoopBackOff shows between them.
    let looping = wait_for(Duration::from_secs(15), || {
        pods(&env, None).into_iter().find(|p| {
            let cs = &p["status"]["containerStatuses"][0];
            cs["restartCount"].as_i64().is_some_and(|n| n >= 2)
        })
    });
    assert!(looping.is_some(), "{:#?}", pods(&env, None));
    let crashloop = wait_for(Duration::from_secs(10), || {
        pods(&env, None).into_iter().find(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        })
    });
    assert!(crashloop.is_some(), "{:#?}", pods(&env, None));
}

#[test]
fn a_passing_liveness_probe_never_restarts() {
    let env = TestEnv::sandbox_only("");
    let manifest = r#"apiVersion: v1
kind: Pod
metadata:
  name: frontend
  namespace: default
spec:
  containers:
  - name: frontend
    image: todo-chatbot-frontend:1.0.0
    imagePullPolicy: IfNotPresent
    ports:
    - {containerPort: 3000, name: http}
    startupProbe:
      httpGet: {path: /api/health, port: http}
      periodSeconds: 1
    livenessProbe:
      httpGet: {path: /api/health, port: http}
      periodSeconds: 1
      failureThreshold: 1
"#;
    apply(&env, "frontend.yaml", manifest);
    run(env.kubectl().args([
        "wait",
        "--for=condition=Ready",
        "pod/frontend",
        "-n",
        "default",
        "--timeout=20s",
    ]))
    .expect_code(0);
    std::thread::sleep(Duration::from_secs(3));
    let pod = pods(&env, None).remove(0);
    assert_eq!(
        pod["status"]["containerStatuses"][0]["restartCount"], 0,
        "{pod}"
    );
    assert!(is_ready(&pod), "{pod}");
}
