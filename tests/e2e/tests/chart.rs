//! The todo-chatbot chart on the sandbox with real Helm: installs, pods become Ready,
//! `helm test` passes, upgrades roll the pods, and values select what is rendered.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use todo_e2e::harness::{TestEnv, run};

#[test]
fn chart_installs_and_both_components_become_ready() {
    let env = TestEnv::start("");
    let r = env.install_chart("todo", "todo", "", Duration::from_secs(30));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("kubectl todo verify"),
        "NOTES mention verify:\n{}",
        r.stdout
    );
    assert!(env.wait_rolled_out(
        "todo",
        "app.kubernetes.io/instance=todo",
        Duration::from_secs(30)
    ));
    let r = run(env.kubectl().args([
        "get",
        "pods",
        "-n",
        "todo",
        "-l",
        "app.kubernetes.io/instance=todo",
        "-o",
        "json",
    ]))
    .expect_code(0);
    let pods = r.json()["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(pods.len(), 2, "one frontend and one backend pod");
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Running");
    }
    let r = run(env.kubectl().args([
        "get",
        "svc",
        "-n",
        "todo",
        "-o",
        "jsonpath={.items[*].spec.ports[0].nodePort}",
    ]))
    .expect_code(0);
    let mut ports: Vec<&str> = r.stdout.split_whitespace().collect();
    ports.sort();
    assert_eq!(ports, vec!["30080", "30081"]);
}

#[test]
fn helm_test_checks_the_backend_health_through_the_service() {
    let env = TestEnv::start("");
    env.install_chart("todo", "todo", "", Duration::from_secs(30))
        .expect_code(0);
    let r = run(env
        .helm()
        .args(["test", "todo", "-n", "todo", "--timeout", "60s"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn backend_without_a_reachable_database_is_not_ready() {
    let env = TestEnv::start("databases: []\n");
    if !env.is_sandbox() {
        return; // the database reachability is a sandbox scenario setting
    }
    env.install_chart("todo", "todo", "", Duration::ZERO)
        .expect_code(0);
    assert!(!env.wait_rolled_out(
        "todo",
        "app.kubernetes.io/component=backend",
        Duration::from_secs(3)
    ));
    let r = run(env.kubectl().args([
        "get",
        "endpointslices",
        "-n",
        "todo",
        "-l",
        "kubernetes.io/service-name=todo-todo-chatbot-backend",
        "-o",
        "json",
    ]))
    .expect_code(0);
    let slices = r.json()["items"].as_array().cloned().unwrap_or_default();
    let ready = slices
        .iter()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["conditions"]["ready"] == true)
        .count();
    assert_eq!(ready, 0);
}

#[test]
fn upgrade_with_a_new_value_rolls_the_pods() {
    let env = TestEnv::start("");
    env.install_chart("todo", "todo", "", Duration::from_secs(30))
        .expect_code(0);
    let before = run(env.kubectl().args([
        "get",
        "pods",
        "-n",
        "todo",
        "-l",
        "app.kubernetes.io/component=backend",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]))
    .expect_code(0)
    .stdout;
    let values = env.write("upgrade.yaml", "secrets:\n  mode: existingSecret\n  existingSecret: todo-demo-secrets\nconfig:\n  logLevel: debug\n");
    run(env
        .helm()
        .args(["upgrade", "todo", "charts/todo-chatbot", "-n", "todo", "-f"])
        .arg(&values))
    .expect_code(0);
    assert!(env.wait_rolled_out(
        "todo",
        "app.kubernetes.io/instance=todo",
        Duration::from_secs(30)
    ));
    let after = run(env.kubectl().args([
        "get",
        "pods",
        "-n",
        "todo",
        "-l",
        "app.kubernetes.io/component=backend",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]))
    .expect_code(0)
    .stdout;
    assert_ne!(
        before.trim(),
        after.trim(),
        "the ConfigMap checksum annotation must roll the pods"
    );
}
