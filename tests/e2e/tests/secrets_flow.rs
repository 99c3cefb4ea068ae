//! The whole secrets flow on the sandbox: `helm todo-secrets init --from-env` seals with the
//! controller's certificate fetched through the API server, real Helm installs the chart
//! with the sealed file, the sandbox's sealed-secrets controller unseals it, and
//! `kubectl todo verify` passes the configuration checks. The sealed file never holds a
//! plaintext value.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use todo_e2e::harness::{DEMO_AUTH_SECRET, DEMO_DATABASE_URL, DEMO_OPENAI_KEY, TestEnv, run};

fn init_from_env(env: &TestEnv, scope: &str) -> std::path::PathBuf {
    let out = env.tmp().join(format!("sealed-{scope}.yaml"));
    let r = run(env
        .plugin("helm-todo-secrets")
        .args([
            "init",
            "--from-env",
            "--release",
            "todo",
            "--scope",
            scope,
            "-f",
        ])
        .arg(&out)
        .env("HELM_NAMESPACE", "todo")
        .env("DATABASE_URL", DEMO_DATABASE_URL)
        .env("BETTER_AUTH_SECRET", DEMO_AUTH_SECRET)
        .env("OPENAI_API_KEY", DEMO_OPENAI_KEY)
        .env("LLM_PROVIDER", "openai"));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for secret in [
        DEMO_DATABASE_URL,
        DEMO_AUTH_SECRET,
        DEMO_OPENAI_KEY,
        "s3cr3t-Passw0rd",
    ] {
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "a secret was printed"
        );
    }
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    for secret in [
        DEMO_DATABASE_URL,
        DEMO_AUTH_SECRET,
        DEMO_OPENAI_KEY,
        "s3cr3t-Passw0rd",
    ] {
        assert!(
            !text.contains(secret),
            "the sealed file holds a plaintext value"
        );
    }
    out
}

fn sealed_install_is_verified_healthy(scope: &str) {
    let env = TestEnv::start("");
    env.create_namespace("todo");
    let sealed = init_from_env(&env, scope);
    let r = run(env
        .helm()
        .args(["install", "todo", "charts/todo-chatbot", "-n", "todo", "-f"])
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        env.wait_rolled_out(
            "todo",
            "app.kubernetes.io/instance=todo",
            Duration::from_secs(30)
        ),
        "pods start once the Secret is unsealed"
    );
    let r = run(env.kubectl().args([
        "todo",
        "verify",
        "-n",
        "todo",
        "-o",
        "json",
        "--only",
        "config.secrets,config.sealed-secret,backend.health",
    ]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    for id in ["config.secrets", "config.sealed-secret", "backend.health"] {
        let c = checks
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {report}"));
        assert_eq!(c["status"], "pass", "{id}: {c}");
    }
    assert!(!r.stdout.contains("s3cr3t-Passw0rd"));
}

#[test]
fn strict_scope_sealed_values_install_and_verify() {
    sealed_install_is_verified_healthy("strict");
}

#[test]
fn namespace_wide_sealed_values_install_and_verify() {
    sealed_install_is_verified_healthy("namespace-wide");
}

#[test]
fn cluster_wide_sealed_values_install_and_verify() {
    sealed_install_is_verified_healthy("cluster-wide");
}

#[test]
fn values_sealed_for_another_namespace_do_not_unseal() {
    let env = TestEnv::start("");
    env.create_namespace("todo");
    env.create_namespace("other");
    let sealed = init_from_env(&env, "strict");
    let r = run(env
        .helm()
        .args([
            "install",
            "todo",
            "charts/todo-chatbot",
            "-n",
            "other",
            "-f",
        ])
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    std::thread::sleep(Duration::from_millis(500));
    let r = run(env.kubectl().args([
        "todo",
        "verify",
        "-n",
        "other",
        "-o",
        "json",
        "--only",
        "config.sealed-secret",
    ]));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let c = &r.json()["checks"][0];
    assert_eq!(c["status"], "fail", "{c}");
}

#[test]
fn fetch_cert_prints_the_controller_certificate() {
    let env = TestEnv::start("");
    let r = run(env.plugin("helm-todo-secrets").arg("fetch-cert"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("-----BEGIN CERTIFICATE-----"));
}
