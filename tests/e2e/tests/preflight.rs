//! `kubectl todo preflight` end to end: the real kubectl runs the built plugin against the
//! sandbox (or a real cluster with TODO_E2E_REAL_CLUSTER=1; the tests that break the cluster
//! return early there). One test per check failing, and the whole flow passing: preflight
//! says ready, and then `helm install` and `verify --wait` do succeed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use todo_e2e::harness::{DEMO_AUTH_SECRET, DEMO_DATABASE_URL, DEMO_OPENAI_KEY, Run, TestEnv, run};

const NS: &str = "todo";

fn preflight(env: &TestEnv, args: &[&str]) -> Run {
    run(env
        .kubectl()
        .args(["todo", "preflight", "-o", "json"])
        .args(args))
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

fn text(c: &Value) -> String {
    format!("{} {} {}", c["message"], c["hint"], c["details"])
}

/// `helm todo-secrets init --from-env` for release `todo` in `ns`, sealed with the sandbox
/// controller's certificate.
fn sealed_file(env: &TestEnv, ns: &str) -> PathBuf {
    let out = env.tmp().join(format!("sealed-{ns}.yaml"));
    if out.exists() {
        return out;
    }
    run(env
        .plugin("helm-todo-secrets")
        .args(["init", "--from-env", "--release", "todo", "-f"])
        .arg(&out)
        .env("HELM_NAMESPACE", ns)
        .env("DATABASE_URL", DEMO_DATABASE_URL)
        .env("BETTER_AUTH_SECRET", DEMO_AUTH_SECRET)
        .env("OPENAI_API_KEY", DEMO_OPENAI_KEY)
        .env("LLM_PROVIDER", "openai"))
    .expect_code(0);
    out
}

/// Preflight with one values file, `--create-namespace`, in [`NS`].
fn with_file(env: &TestEnv, file: &std::path::Path) -> Run {
    preflight(
        env,
        &["-n", NS, "--create-namespace", "-f", file.to_str().unwrap()],
    )
}

/// Preflight with the sealed file and `extra` values (YAML) in a fresh namespace.
fn with_values(env: &TestEnv, extra: &str, args: &[&str]) -> Run {
    let sealed = sealed_file(env, NS);
    let extra = env.write("extra.yaml", extra);
    let mut all = vec![
        "-n",
        NS,
        "--create-namespace",
        "-f",
        sealed.to_str().unwrap(),
        "-f",
        extra.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    preflight(env, &all)
}

fn failing(r: Run, id: &str) -> Value {
    let v = r.expect_code(1).json();
    assert_eq!(check(&v, id)["status"], "fail", "{id}: {v:#}");
    assert_eq!(v["ready"], false);
    v
}

#[test]
fn preflight_passes_and_the_install_it_approves_becomes_healthy() {
    let env = TestEnv::start("");
    let sealed = sealed_file(&env, NS);
    let r = with_file(&env, &sealed).expect_code(0);
    let v = r.json();
    assert_eq!(v["kind"], "PreflightReport");
    assert_eq!(v["ready"], true);
    for c in v["checks"].as_array().unwrap() {
        assert!(
            c["status"] == "pass" || c["status"] == "skip",
            "every check passes: {c}"
        );
    }
    assert!(text(check(&v, "config.secrets")).contains("current certificate"));
    // The table, through the dispatcher, ends with the verdict.
    let table = run(env.kubectl().args([
        "todo",
        "preflight",
        "-n",
        NS,
        "--create-namespace",
        "-f",
        sealed.to_str().unwrap(),
    ]))
    .expect_code(0);
    assert!(
        table
            .stdout
            .contains("helm install todo of todo-chatbot-0.1.0 in namespace todo: READY"),
        "{}",
        table.stdout
    );
    // What preflight approved installs and becomes healthy.
    run(env
        .helm()
        .args([
            "install",
            "todo",
            "charts/todo-chatbot",
            "-n",
            NS,
            "--create-namespace",
            "-f",
        ])
        .arg(&sealed))
    .expect_code(0);
    run(env
        .kubectl()
        .args(["todo", "verify", "-n", NS, "--wait", "--timeout", "60s"]))
    .expect_code(0);
    // Now the same values are an upgrade to revision 2.
    let v = preflight(&env, &["-n", NS, "-f", sealed.to_str().unwrap()])
        .expect_code(0)
        .json();
    let name = check(&v, "release.name");
    assert_eq!(name["status"], "pass");
    assert!(
        text(name).contains("upgrade to revision 2"),
        "{}",
        text(name)
    );
    assert_eq!(v["release"]["revision"], 1);
}

#[test]
fn a_missing_namespace_needs_create_namespace() {
    let env = TestEnv::start("");
    let sealed = sealed_file(&env, "fresh");
    let v = failing(
        preflight(&env, &["-n", "fresh", "-f", sealed.to_str().unwrap()]),
        "release.namespace",
    );
    assert!(text(check(&v, "release.namespace")).contains("--create-namespace"));
}

#[test]
fn values_the_chart_refuses_fail_before_rendering() {
    let env = TestEnv::start("");
    let v = failing(
        with_values(&env, "frontend:\n  image:\n    tag: latest\n", &[]),
        "values.valid",
    );
    assert!(
        text(check(&v, "values.valid")).contains("frontend.image.tag"),
        "{v:#}"
    );
    // --set parsed as Helm parses it, then the chart's schema: by path, never the value.
    let v = failing(
        with_values(
            &env,
            "{}\n",
            &[
                "--set",
                "backend.replicaCount=many,secrets.mode=vault-S3CRET",
            ],
        ),
        "values.valid",
    );
    let t = text(check(&v, "values.valid"));
    assert!(
        t.contains("backend.replicaCount: must be an integer"),
        "{t}"
    );
    assert!(
        t.contains("secrets.mode: must be one of sealed, existingSecret, inline"),
        "{t}"
    );
    assert!(!t.contains("S3CRET") && !t.contains("many"), "{t}");
}

#[test]
fn an_image_not_on_the_node_names_the_tags_it_has_and_the_load_command() {
    let env = TestEnv::start("");
    if !env.is_sandbox() {
        return;
    }
    let v = failing(
        with_values(&env, "backend:\n  image:\n    tag: 9.9.9\n", &[]),
        "backend.image",
    );
    let t = text(check(&v, "backend.image"));
    assert!(
        t.contains("todo-chatbot-backend:9.9.9 is not on the node"),
        "{t}"
    );
    assert!(t.contains("todo-chatbot-backend:1.0.0"), "{t}");
    assert!(t.contains("minikube image load"), "{t}");
    assert_eq!(check(&v, "frontend.image")["status"], "pass");
}

#[test]
fn a_node_port_taken_by_another_service_is_named() {
    let env = TestEnv::start("");
    env.create_namespace("other");
    let svc = env.write(
        "svc.json",
        r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"squatter","namespace":"other"},
           "spec":{"type":"NodePort","selector":{"app":"x"},"ports":[{"port":80,"nodePort":30081}]}}"#,
    );
    run(env.kubectl().args(["apply", "-f"]).arg(&svc)).expect_code(0);
    let v = failing(with_values(&env, "{}\n", &[]), "backend.nodeport");
    let t = text(check(&v, "backend.nodeport"));
    assert!(t.contains("taken by Service other/squatter"), "{t}");
    assert_eq!(check(&v, "frontend.nodeport")["status"], "pass");
}

#[test]
fn values_sealed_for_another_namespace_fail_with_the_fix() {
    let env = TestEnv::start("");
    let sealed = sealed_file(&env, "elsewhere");
    let v = failing(with_file(&env, &sealed), "config.secrets");
    let t = text(check(&v, "config.secrets"));
    assert!(t.contains("sealed for namespace \\\"elsewhere\\\""), "{t}");
    assert!(t.contains("helm todo-secrets init -n todo"), "{t}");
}

#[test]
fn values_sealed_with_another_certificate_fail() {
    let env = TestEnv::start("");
    let values = format!(
        "secrets:\n  sealed:\n    certificateFingerprint: {}\n    encryptedData:\n      DATABASE_URL: AgBy3i4OJSWK+PiTySYZZA==\n      BETTER_AUTH_SECRET: AgBy3i4OJSWK+PiTySYZZA==\n      OPENAI_API_KEY: AgBy3i4OJSWK+PiTySYZZA==\n",
        "ab".repeat(32)
    );
    let f = env.write("foreign.yaml", &values);
    let v = failing(with_file(&env, &f), "config.secrets");
    assert!(
        text(check(&v, "config.secrets")).contains("sealed with certificate abababababababab"),
        "{v:#}"
    );
}

#[test]
fn a_missing_controller_is_the_root_cause() {
    let env = TestEnv::start("");
    if !env.is_sandbox() {
        return;
    }
    run(env.kubectl().args([
        "delete",
        "service",
        "sealed-secrets-controller",
        "-n",
        "kube-system",
    ]))
    .expect_code(0);
    let sealed = env.write(
        "sealed.yaml",
        "secrets:\n  sealed:\n    encryptedData:\n      DATABASE_URL: AgBy\n      BETTER_AUTH_SECRET: AgBy\n      OPENAI_API_KEY: AgBy\n",
    );
    let v = failing(with_file(&env, &sealed), "config.controller");
    assert!(text(check(&v, "config.controller")).contains("helm install sealed-secrets"));
    assert_eq!(
        check(&v, "config.secrets")["blockedBy"],
        "config.controller"
    );
}

#[test]
fn an_existing_secret_is_checked_by_key_names_never_values() {
    let env = TestEnv::start("");
    env.create_namespace(NS);
    let values = env.write(
        "existing.yaml",
        "secrets:\n  mode: existingSecret\n  existingSecret: app-secrets\n",
    );
    let args = ["-n", NS, "-f", values.to_str().unwrap()];
    let v = failing(preflight(&env, &args), "config.secrets");
    assert!(
        text(check(&v, "config.secrets"))
            .contains("app-secrets (secrets.existingSecret) does not exist")
    );
    env.create_demo_secret(NS, "app-secrets", &[("OPENAI_API_KEY", "changeme")]);
    let r = preflight(&env, &args);
    assert!(!r.stdout.contains(DEMO_AUTH_SECRET) && !r.stdout.contains("s3cr3t"));
    let v = failing(r, "config.secrets");
    let t = text(check(&v, "config.secrets"));
    assert!(t.contains("OPENAI_API_KEY: a placeholder"), "{t}");
    assert!(!t.contains("changeme"), "{t}");
    env.create_demo_secret(NS, "app-secrets", &[]);
    let v = preflight(&env, &args).expect_code(0).json();
    assert_eq!(check(&v, "config.secrets")["status"], "pass");
}

#[test]
fn inline_secrets_warn_that_they_are_for_development() {
    let env = TestEnv::start("");
    let values = env.write(
        "inline.yaml",
        &format!("secrets:\n  mode: inline\n  inline:\n    DATABASE_URL: {DEMO_DATABASE_URL}\n    BETTER_AUTH_SECRET: {DEMO_AUTH_SECRET}\n    OPENAI_API_KEY: {DEMO_OPENAI_KEY}\n"),
    );
    let r = with_file(&env, &values).expect_code(0);
    assert!(!r.stdout.contains(DEMO_AUTH_SECRET));
    let v = r.json();
    assert_eq!(check(&v, "config.secrets")["status"], "warn");
    let strict = run(env.kubectl().args([
        "todo",
        "preflight",
        "-n",
        NS,
        "--create-namespace",
        "--strict",
        "-f",
        values.to_str().unwrap(),
    ]));
    assert_eq!(strict.code, 1, "{}", strict.stdout);
}

#[test]
fn replicas_that_do_not_fit_fail_capacity() {
    let env = TestEnv::start("");
    if !env.is_sandbox() {
        return;
    }
    let v = failing(
        with_values(
            &env,
            "backend:\n  replicaCount: 3\n  resources:\n    requests:\n      cpu: 900m\n",
            &[],
        ),
        "capacity.requests",
    );
    let t = text(check(&v, "capacity.requests"));
    assert!(t.contains("would stay Pending"), "{t}");
    let v = failing(
        with_values(
            &env,
            "backend:\n  resources:\n    requests:\n      memory: 64Gi\n    limits:\n      memory: 64Gi\n",
            &[],
        ),
        "capacity.requests",
    );
    assert!(text(check(&v, "capacity.requests")).contains("can never be scheduled"));
}

#[test]
fn a_pdb_that_blocks_every_drain_warns() {
    let env = TestEnv::start("");
    let r = with_values(
        &env,
        "backend:\n  pdb:\n    enabled: true\n    minAvailable: 1\n",
        &[],
    );
    let v = r.expect_code(0).json();
    let c = check(&v, "capacity.disruption");
    assert_eq!(c["status"], "warn", "{c}");
    assert!(text(c).contains("allows no voluntary disruption"), "{c}");
}

#[test]
fn a_user_who_may_not_create_is_told_before_helm_says_403() {
    let env = TestEnv::start("");
    let Some(viewer) = env.viewer_context() else {
        return;
    };
    env.create_namespace(NS);
    let sealed = sealed_file(&env, NS);
    let v = failing(
        preflight(
            &env,
            &[
                "--context",
                &viewer,
                "-n",
                NS,
                "-f",
                sealed.to_str().unwrap(),
            ],
        ),
        "rbac.create",
    );
    let t = text(check(&v, "rbac.create"));
    assert!(t.contains("may not create"), "{t}");
    assert!(t.contains(&format!("--context {viewer}")), "{t}");
}

#[test]
fn an_invalid_release_or_namespace_is_a_usage_error() {
    let env = TestEnv::start("");
    for args in [["--release", "Bad_Name"], ["-n", "Bad_NS"]] {
        let r = run(env.kubectl().args(["todo", "preflight"]).args(args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("is not a valid"), "{}", r.stderr);
        assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    }
}

#[test]
fn a_stale_minikube_endpoint_is_exit_2_with_update_context() {
    let env = TestEnv::start("");
    if !env.is_sandbox() {
        return;
    }
    let text = std::fs::read_to_string(env.kubeconfig()).unwrap();
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_owned();
    // A port nothing listens on: what a restarted minikube leaves behind.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let stale = env.write(
        "stale-kubeconfig",
        &text.replace(&server, &format!("https://127.0.0.1:{port}")),
    );
    let r = run(env
        .kubectl()
        .args(["todo", "preflight", "-n", NS, "--timeout", "10s"])
        .env("KUBECONFIG", &stale));
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("minikube update-context"), "{}", r.stderr);
}

#[test]
fn preflight_makes_the_same_requests_whatever_the_replicas_and_the_cluster_s_size() {
    let env = TestEnv::start("");
    if !env.is_sandbox() {
        return;
    }
    let sealed = sealed_file(&env, NS);
    let requests = |extra: &str| {
        let f = env.write("replicas.yaml", extra);
        let before = env.request_count();
        let r = run(env
            .plugin("kubectl-todo-preflight")
            .args(["-n", NS, "--create-namespace", "-o", "json", "-f"])
            .arg(&sealed)
            .arg("-f")
            .arg(&f));
        assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
        env.request_count() - before
    };
    let small = requests("{}\n");
    // More replicas asked for, and more objects in the cluster (another release's pods and
    // Services).
    env.install_chart(
        "other",
        "other",
        "backend:\n  replicaCount: 3\n",
        Duration::ZERO,
    )
    .expect_code(0);
    let large = requests("backend:\n  replicaCount: 12\nfrontend:\n  replicaCount: 12\n");
    eprintln!(
        "preflight requests: {small} (1+1 replicas), {large} (12+12, another release installed)"
    );
    assert_eq!(small, large);
    assert!(small < 30, "{small} requests");
}

#[test]
fn a_release_name_taken_by_another_chart_fails() {
    let env = TestEnv::start("");
    env.create_namespace(NS);
    let chart = env.tmp().join("other-chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: wordpress\nversion: 1.2.3\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-wp\ndata: {}\n",
    )
    .unwrap();
    run(env
        .helm()
        .args(["install", "todo"])
        .arg(&chart)
        .args(["-n", NS]))
    .expect_code(0);
    let v = failing(with_values(&env, "{}\n", &[]), "release.name");
    let t = text(check(&v, "release.name"));
    assert!(t.contains("wordpress-1.2.3, another chart"), "{t}");
    assert!(t.contains("--release"), "{t}");
}
