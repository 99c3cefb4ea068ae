//! Fidelity of graceful termination, through the real kubectl: a deleted pod keeps running as
//! Terminating with deletionTimestamp and deletionGracePeriodSeconds, leaves its Service's
//! endpoints (EndpointSlice `ready: false, terminating: true`), gets SIGTERM (`Killing`), is
//! replaced at once by its ReplicaSet, which (like kube-controller-manager 1.33) does not
//! count it in `status.replicas`, and disappears when its containers stopped; `--grace-period`
//! shortens it, `--grace-period=0 --force` removes it at once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use serde_json::Value;

use common::{apply, events_for, items, pod, pod_row, pod_rows, pods, wait_for};
use todo_e2e::harness::{TestEnv, run};

/// Apps that ignore SIGTERM wait out their grace period: 30 s scaled to 3 s.
const SLOW_STOP: &str =
    "timings: {gracePeriodScale: 0.1}\napps:\n- {image: todo-chatbot-frontend, sigterm: ignore}\n";

fn web(replicas: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: default}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: todo-chatbot-frontend:1.0.0
        ports: [{{containerPort: 3000, name: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: default}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: http}}]
"#
    )
}

fn rolled_out(env: &TestEnv) {
    run(env
        .kubectl()
        .args(["rollout", "status", "deployment/web", "--timeout=30s"]))
    .expect_code(0);
}

/// A sandbox with `web` rolled out at 3 replicas, then scaled to 1 (its pods terminating).
fn scaled_down(scenario: &str) -> TestEnv {
    let env = TestEnv::sandbox_only(scenario);
    apply(&env, "web.yaml", &web(3));
    rolled_out(&env);
    run(env
        .kubectl()
        .args(["scale", "deployment/web", "--replicas=1"]))
    .expect_code(0);
    env
}

fn names(ps: &[Value]) -> Vec<String> {
    ps.iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// The EndpointSlice conditions of the pod `name`.
fn slice_conditions(env: &TestEnv, name: &str) -> Option<Value> {
    items(
        env,
        "endpointslices",
        Some("kubernetes.io/service-name=web"),
    )
    .iter()
    .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
    .find(|e| e["targetRef"]["name"] == name)
    .map(|e| e["conditions"].clone())
}

#[test]
fn a_deleted_pod_terminates_gracefully_and_is_replaced_at_once() {
    let env = TestEnv::sandbox_only(SLOW_STOP);
    apply(&env, "web.yaml", &web(1));
    rolled_out(&env);
    let victim = names(&pods(&env, Some("app=web"))).remove(0);
    let before = chrono::Utc::now();
    run(env
        .kubectl()
        .args(["delete", "pod", &victim, "--wait=false"]))
    .expect_code(0);
    let p = pod(&env, &victim).expect("still there while it terminates");
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30, "{p}");
    let ts = p["metadata"]["deletionTimestamp"].as_str().unwrap();
    let ts = chrono::DateTime::parse_from_rfc3339(ts).unwrap();
    let ahead = (ts.with_timezone(&chrono::Utc) - before).num_seconds();
    assert!(
        (29..=31).contains(&ahead),
        "deletionTimestamp is now + 30 s: {ahead}"
    );
    assert_eq!(pod_row(&env, &victim)[2], "Terminating");
    // Out of the Endpoints at once, kept in the EndpointSlice as terminating.
    let conds = wait_for(Duration::from_secs(5), || {
        slice_conditions(&env, &victim).filter(|c| c["terminating"] == true)
    })
    .expect("the slice marks the pod terminating");
    assert_eq!(conds["ready"], false, "{conds}");
    assert_eq!(conds["serving"], true, "{conds}");
    let ep = run(env
        .kubectl()
        .args(["get", "endpoints", "web", "-o", "json"]))
    .expect_code(0)
    .json();
    assert!(!ep.to_string().contains(&victim), "{ep}");
    // The ReplicaSet replaces it at once and does not count it.
    let replacement = wait_for(Duration::from_secs(10), || {
        pods(&env, Some("app=web"))
            .into_iter()
            .find(|p| p["metadata"]["name"] != victim.as_str() && common::is_ready(p))
    });
    assert!(replacement.is_some(), "{:#?}", pods(&env, None));
    let rs = items(&env, "replicasets", Some("app=web")).remove(0);
    assert_eq!(rs["status"]["replicas"], 1, "{}", rs["status"]);
    assert!(
        rs["status"].get("terminatingReplicas").is_none(),
        "the 1.33 gate is off"
    );
    assert!(
        events_for(&env, &victim, "Killing")
            .iter()
            .any(|e| e["message"] == "Stopping container web"),
        "{:#?}",
        common::events(&env)
    );
    // It ignores SIGTERM: killed when the (scaled) grace period ends, then gone.
    let gone = wait_for(Duration::from_secs(10), || {
        pod(&env, &victim).is_none().then_some(())
    });
    assert!(gone.is_some(), "still there: {:?}", pod(&env, &victim));
    let elapsed = (chrono::Utc::now() - before).num_milliseconds();
    assert!(elapsed >= 2500, "gone after the grace period: {elapsed} ms");
}

#[test]
fn kubectl_delete_waits_for_a_pod_that_exits_on_sigterm() {
    let env = TestEnv::sandbox_only("");
    apply(&env, "web.yaml", &web(1));
    rolled_out(&env);
    let victim = names(&pods(&env, Some("app=web"))).remove(0);
    let r = run(env
        .kubectl()
        .args(["delete", "pod", &victim, "--timeout=20s"]))
    .expect_code(0);
    assert_eq!(r.stdout.trim(), format!("pod \"{victim}\" deleted"));
    assert!(pod(&env, &victim).is_none());
}

#[test]
fn a_shorter_grace_period_shortens_and_force_deletes_at_once() {
    let env = TestEnv::sandbox_only(&SLOW_STOP.replace("0.1", "1.0"));
    apply(&env, "web.yaml", &web(2));
    rolled_out(&env);
    let ps = names(&pods(&env, Some("app=web")));
    run(env
        .kubectl()
        .args(["delete", "pod", &ps[0], "--grace-period=60", "--wait=false"]))
    .expect_code(0);
    let grace = |n: &str| pod(&env, n).map(|p| p["metadata"]["deletionGracePeriodSeconds"].clone());
    assert_eq!(grace(&ps[0]), Some(60.into()));
    run(env.kubectl().args([
        "delete",
        "pod",
        &ps[0],
        "--grace-period=120",
        "--wait=false",
    ]))
    .expect_code(0);
    assert_eq!(
        grace(&ps[0]),
        Some(60.into()),
        "a longer grace period changes nothing"
    );
    run(env
        .kubectl()
        .args(["delete", "pod", &ps[0], "--grace-period=1", "--wait=false"]))
    .expect_code(0);
    assert_eq!(grace(&ps[0]), Some(1.into()));
    let r = run(env
        .kubectl()
        .args(["delete", "pod", &ps[1], "--grace-period=0", "--force"]))
    .expect_code(0);
    assert!(r.stderr.contains("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated."), "{}", r.stderr);
    assert_eq!(r.stdout.trim(), format!("pod \"{}\" force deleted", ps[1]));
    assert!(pod(&env, &ps[1]).is_none(), "gone at once");
}

#[test]
fn a_scale_down_counts_terminating_pods_as_kube_controller_manager_does() {
    let env = scaled_down(SLOW_STOP);
    let d = wait_for(Duration::from_secs(10), || {
        let d = items(&env, "deployments", None).remove(0);
        (d["status"]["replicas"] == 1).then_some(d)
    })
    .expect("status.replicas drops at once");
    let terminating = pods(&env, Some("app=web"))
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_string())
        .count();
    assert_eq!(terminating, 2, "the deleted pods still terminate");
    assert!(
        d["status"].get("terminatingReplicas").is_none(),
        "{}",
        d["status"]
    );
    let rows = pod_rows(&env);
    let shown = rows
        .iter()
        .filter(|r| r.get(2).map(String::as_str) == Some("Terminating"));
    assert_eq!(shown.count(), 2, "{rows:?}");
}

#[test]
fn the_alpha_gate_adds_terminating_replicas() {
    let scenario =
        format!("{SLOW_STOP}featureGates: {{DeploymentReplicaSetTerminatingReplicas: true}}\n");
    let env = scaled_down(&scenario);
    let d = wait_for(Duration::from_secs(10), || {
        let d = items(&env, "deployments", None).remove(0);
        (d["status"]["terminatingReplicas"] == 2).then_some(d)
    })
    .unwrap_or_else(|| panic!("{:#?}", items(&env, "deployments", None)));
    assert_eq!(d["status"]["replicas"], 1, "{}", d["status"]);
    let rs = items(&env, "replicasets", None).remove(0);
    assert_eq!(rs["status"]["terminatingReplicas"], 2, "{}", rs["status"]);
    let settled = wait_for(Duration::from_secs(10), || {
        let rs = items(&env, "replicasets", None).remove(0);
        (rs["status"]["terminatingReplicas"] == 0).then_some(())
    });
    assert!(settled.is_some(), "terminatingReplicas goes back to 0");
}
