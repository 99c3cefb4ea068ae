//! `kubectl todo verify` end to end: the real kubectl runs the built plugin against the
//! sandbox (or a real cluster with TODO_E2E_REAL_CLUSTER=1; fault tests then return early).
//! Each failure mode is injected through the scenario or the chart values and must fail the
//! right check with the right hint.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use serde_json::Value;
use todo_e2e::harness::{Run, TestEnv, run};
use todo_sandbox::Faults;
use todo_sandbox::scenario::ErrorFault;

const NS: &str = "todo";
const RELEASE: &str = "todo";
const WAIT: Duration = Duration::from_secs(60);

/// A sandbox with the chart installed as `todo` in `todo`, waited for when `wait`.
fn installed(scenario: &str, values: &str, wait: bool) -> TestEnv {
    let env = TestEnv::start(scenario);
    env.install_chart(
        RELEASE,
        NS,
        values,
        if wait { WAIT } else { Duration::ZERO },
    )
    .expect_code(0);
    env
}

fn verify(env: &TestEnv, args: &[&str]) -> Run {
    run(env.kubectl().args(["todo", "verify", "-n", NS]).args(args))
}

fn verify_json(env: &TestEnv, args: &[&str], code: i32) -> Value {
    let mut all = vec!["-o", "json"];
    all.extend_from_slice(args);
    verify(env, &all).expect_code(code).json()
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

/// Poll `verify -o json` until check `id` fails with `needle` in its message, hint or
/// details (pods need a moment to get to their failure).
fn until_fails_with(env: &TestEnv, id: &str, needle: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let r = verify(env, &["-o", "json"]);
        let v: Value = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
        if v.is_object()
            && check(&v, id)["status"] == "fail"
            && text(check(&v, id)).contains(needle)
        {
            return v;
        }
        if std::time::Instant::now() > deadline {
            panic!("{id} never failed with {needle:?}: {v:#}\n{}", r.stderr);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn verify_passes_on_a_healthy_release() {
    let env = installed(
        "",
        "backend:\n  replicaCount: 2\nfrontend:\n  replicaCount: 2\n",
        true,
    );
    let r = verify(&env, &[]).expect_code(0);
    assert!(
        r.stdout
            .contains("HEALTHY: 14 passed, 0 warnings, 0 failed, 1 skipped"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains('\u{1b}'),
        "NO_COLOR and no terminal: no colour"
    );
    let v = verify_json(&env, &[], 0);
    assert_eq!(v["apiVersion"], "todo-kube.dev/v1");
    assert_eq!(v["healthy"], true);
    assert_eq!(v["release"]["name"], RELEASE);
    assert_eq!(v["release"]["status"], "deployed");
    assert_eq!(v["checks"].as_array().map(Vec::len), Some(15));
    assert_eq!(check(&v, "config.sealed-secret")["status"], "skip");
    assert!(
        check(&v, "backend.health")["message"]
            .as_str()
            .unwrap_or("")
            .contains(": 200 in")
    );
    // The Secret's values never reach the output.
    assert!(
        !r.stdout.contains("s3cr3t-Passw0rd")
            && !serde_json::to_string(&v).unwrap().contains("s3cr3t")
    );
}

#[test]
fn verify_junit_has_one_testcase_per_check() {
    let env = installed("", "", true);
    let r = verify(&env, &["-o", "junit"]).expect_code(0);
    assert!(r.stdout.starts_with("<?xml"));
    assert_eq!(r.stdout.matches("<testcase ").count(), 15, "{}", r.stdout);
    assert!(r.stdout.contains("failures=\"0\""));
}

#[test]
fn verify_only_and_skip_select_checks() {
    let env = installed("", "", true);
    let v = verify_json(
        &env,
        &[
            "--only",
            "backend,config.secrets",
            "--skip",
            "backend.health",
        ],
        0,
    );
    let ids: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "backend.rollout",
            "backend.pods",
            "backend.service",
            "config.secrets"
        ]
    );
    let r = verify(&env, &["--only", "backend.podz"]).expect_code(2);
    assert!(
        r.stderr.contains("unknown check \"backend.podz\""),
        "{}",
        r.stderr
    );
}

#[test]
fn verify_reports_image_not_on_the_minikube_node() {
    let env = installed(
        "node:\n  images: [todo-chatbot-frontend:1.0.0]\n",
        "",
        false,
    );
    let v = until_fails_with(&env, "backend.pods", "ImagePull");
    let c = check(&v, "backend.pods");
    let t = text(c);
    assert!(
        t.contains("minikube image load todo-chatbot-backend:1.0.0"),
        "{t}"
    );
    assert_eq!(v["healthy"], false);
    verify(&env, &[]).expect_code(1);
}

#[test]
fn verify_reports_err_image_never_pull_with_the_load_fix() {
    let env = installed(
        "node:\n  images: [todo-chatbot-frontend:1.0.0]\n",
        "backend:\n  image:\n    pullPolicy: Never\n",
        false,
    );
    let v = until_fails_with(&env, "backend.pods", "ErrImageNeverPull");
    let t = text(check(&v, "backend.pods"));
    assert!(
        t.contains("minikube image load todo-chatbot-backend:1.0.0") && t.contains("docker-env)"),
        "{t}"
    );
}

#[test]
fn verify_reports_crash_loop_with_redacted_log_lines() {
    let env = installed(
        "apps:\n  - {image: todo-chatbot-backend, kind: crashloop}\n",
        "",
        false,
    );
    let v = until_fails_with(&env, "backend.pods", "last log lines");
    let c = check(&v, "backend.pods");
    let t = text(c);
    assert!(t.contains("CrashLoopBackOff") || t.contains("Error"), "{t}");
    assert!(
        !t.contains("s3cr3t-Passw0rd"),
        "secrets must be redacted: {t}"
    );
}

#[test]
fn verify_reports_oom_killed_with_the_memory_limit_hint() {
    let env = installed(
        "apps:\n  - {image: todo-chatbot-backend, kind: oom}\n",
        "",
        false,
    );
    let v = until_fails_with(&env, "backend.pods", "OOMKilled");
    let t = text(check(&v, "backend.pods"));
    assert!(t.contains("backend.resources.limits.memory"), "{t}");
}

#[test]
fn verify_reports_an_unschedulable_backend_with_the_capacity_hint() {
    // The node has 2 CPUs; a backend asking for 3 can never be scheduled.
    let env = installed(
        "",
        "backend:\n  resources:\n    requests: {cpu: '3', memory: 256Mi}\n    limits: {cpu: '3', memory: 512Mi}\n",
        false,
    );
    let v = until_fails_with(&env, "backend.pods", "Unschedulable");
    let t = text(check(&v, "backend.pods"));
    assert!(t.contains("Insufficient cpu"), "{t}");
    assert!(t.contains("resources.requests"), "{t}");
}

#[test]
fn verify_names_the_missing_secret_key() {
    // llm.provider cohere: the backend needs COHERE_API_KEY, the demo Secret lacks it.
    let env = installed("", "llm:\n  provider: cohere\n", false);
    let v = until_fails_with(&env, "backend.pods", "CreateContainerConfigError");
    let t = text(check(&v, "backend.pods"));
    assert!(
        t.contains("COHERE_API_KEY") && t.contains("todo-demo-secrets"),
        "{t}"
    );
    let c = check(&v, "config.secrets");
    assert_eq!(c["status"], "fail");
    assert!(
        c["message"]
            .as_str()
            .unwrap_or("")
            .contains("COHERE_API_KEY: missing"),
        "{c}"
    );
}

#[test]
fn verify_explains_an_unreachable_database_from_the_backend_log() {
    let env = installed("databases: []\n", "", false);
    let frontend = "app.kubernetes.io/instance=todo,app.kubernetes.io/component=frontend";
    assert!(env.wait_rolled_out(NS, frontend, WAIT));
    let v = until_fails_with(&env, "backend.pods", "last log lines");
    let pods = text(check(&v, "backend.pods"));
    assert!(pods.contains("not ready"), "{pods}");
    assert!(
        pods.contains("postgresql://todo:***@"),
        "the log is shown, password redacted: {pods}"
    );
    assert!(!pods.contains("s3cr3t-Passw0rd"), "{pods}");
    let health = check(&v, "backend.health");
    assert_eq!(health["status"], "fail", "{health}");
    // The Secret itself is well-formed: the database is what is wrong.
    assert_eq!(check(&v, "config.secrets")["status"], "pass");
    assert_eq!(check(&v, "frontend.health")["status"], "pass");
}

#[test]
fn verify_rejects_placeholder_and_short_secrets_without_printing_them() {
    let env = installed("", "", true);
    env.create_demo_secret(
        NS,
        "todo-demo-secrets",
        &[
            ("DATABASE_URL", "postgresql://changeme@<host>/db"),
            ("BETTER_AUTH_SECRET", "tooshort-but-secret"),
        ],
    );
    let v = verify_json(&env, &["--only", "config"], 1);
    let c = check(&v, "config.secrets");
    assert_eq!(c["status"], "fail");
    let t = text(c);
    assert!(
        t.contains("DATABASE_URL: a placeholder")
            && t.contains("BETTER_AUTH_SECRET: 19 characters"),
        "{t}"
    );
    assert!(
        !t.contains("tooshort-but-secret") && !t.contains("changeme@"),
        "{t}"
    );
}

#[test]
fn verify_reports_a_frontend_wired_to_the_wrong_backend() {
    let env = installed(
        "",
        "frontend:\n  extraEnv:\n    - name: BACKEND_URL\n      value: http://todo-backend:8000\n",
        true,
    );
    let v = verify_json(&env, &[], 1);
    let c = check(&v, "wiring.backend-url");
    assert_eq!(c["status"], "fail");
    assert!(
        text(c).contains("\\\"todo-backend\\\"") || text(c).contains("todo-backend"),
        "{c}"
    );
    assert!(
        c["hint"]
            .as_str()
            .unwrap_or("")
            .contains("http://todo-todo-chatbot-backend")
    );
}

#[test]
fn verify_reports_a_sealed_secret_the_controller_cannot_unseal() {
    let values = "secrets:\n  mode: sealed\n  existingSecret: \"\"\n  sealed:\n    encryptedData:\n      DATABASE_URL: AgBy3i4OJSWK+PiTySYZZA==\n      BETTER_AUTH_SECRET: AgBy3i4OJSWK+PiTySYZZA==\n      OPENAI_API_KEY: AgBy3i4OJSWK+PiTySYZZA==\n";
    let env = installed("", values, false);
    let v = until_fails_with(&env, "config.sealed-secret", "not synced");
    let c = check(&v, "config.sealed-secret");
    assert!(text(c).contains("todo-todo-chatbot-secrets"), "{c}");
    assert!(
        c["hint"]
            .as_str()
            .unwrap_or("")
            .contains("helm todo-secrets"),
        "{c}"
    );
}

#[test]
fn verify_wait_returns_once_the_release_becomes_healthy() {
    let env = installed(
        "timings: {scheduleMs: 200, startMs: 600, readyMs: 800}\n",
        "",
        false,
    );
    let r = verify(&env, &["--wait", "--timeout", "60s"]).expect_code(0);
    assert!(r.stdout.contains("HEALTHY"), "{}", r.stdout);
    assert!(
        r.stderr.contains("waiting for release todo"),
        "progress on stderr: {}",
        r.stderr
    );
}

#[test]
fn verify_wait_times_out_on_a_release_that_stays_broken() {
    let env = installed(
        "apps:\n  - {image: todo-chatbot-backend, kind: crashloop}\n",
        "",
        false,
    );
    // A crash loop becomes a failure that cannot heal at --max-restarts; --no-fail-fast waits
    // for the timeout anyway.
    let r = verify(&env, &["--wait", "--timeout", "3s", "--no-fail-fast"]).expect_code(1);
    assert!(r.stderr.contains("not healthy after 3s"), "{}", r.stderr);
    assert!(r.stdout.contains("timed out waiting"), "{}", r.stdout);
}

#[test]
fn verify_wait_stops_at_a_failure_that_cannot_heal() {
    // pullPolicy Never and an image the node lacks: ErrImageNeverPull never heals, so the
    // wait ends with the diagnosis long before --timeout (timedOut false proves it).
    let env = installed(
        "node:\n  images: [todo-chatbot-frontend:1.0.0]\n",
        "backend:\n  image:\n    pullPolicy: Never\n",
        false,
    );
    let r = verify(&env, &["--wait", "--timeout", "120s", "-o", "json"]).expect_code(1);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["timedOut"], false, "{}", r.stdout);
    let permanent = v["permanent"].as_str().unwrap_or_default();
    assert!(permanent.ends_with("ErrImageNeverPull"), "{}", r.stdout);
    assert!(
        text(check(&v, "backend.pods")).contains("minikube image load todo-chatbot-backend:1.0.0"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("cannot heal") && r.stderr.contains("--no-fail-fast"),
        "{}",
        r.stderr
    );
    // The platform is in the document, as the cluster.reachable line says it.
    assert_eq!(v["platform"]["name"], "minikube", "{}", r.stdout);
    // A crash loop: permanent once a container restarted --max-restarts times.
    let env = installed(
        "apps:\n  - {image: todo-chatbot-backend, kind: crashloop}\n",
        "",
        false,
    );
    let r = verify(
        &env,
        &["--wait", "--timeout", "120s", "--max-restarts", "1"],
    )
    .expect_code(1);
    assert!(
        r.stdout.contains("stopped waiting") && r.stdout.contains("cannot heal"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("timed out waiting"), "{}", r.stdout);
}

#[test]
fn verify_as_viewer_names_the_refused_verb_and_resource() {
    let env = installed("", "", true);
    // The viewer may not list Helm's release records: the Deployments' labels name the
    // release, and what the viewer may not read is a warning.
    let v = verify_json(&env, &["--context", "todo-sandbox-viewer"], 0);
    assert_eq!(v["release"]["name"], RELEASE, "{v}");
    assert_eq!(check(&v, "config.secrets")["status"], "warn");
    // Where no Deployment names a release either, the viewer is told to pass --release.
    let r = run(env.kubectl().args([
        "todo",
        "verify",
        "-n",
        "default",
        "--context",
        "todo-sandbox-viewer",
    ]))
    .expect_code(2);
    assert!(r.stderr.contains("may not list Secrets"), "{}", r.stderr);
    assert!(r.stderr.contains("--release NAME"), "{}", r.stderr);
    // With --release the rest is checked; what the viewer may not read is a warning.
    let v = verify_json(
        &env,
        &["--context", "todo-sandbox-viewer", "--release", RELEASE],
        0,
    );
    let h = check(&v, "backend.health");
    assert_eq!(h["status"], "warn");
    assert!(
        h["message"]
            .as_str()
            .unwrap_or("")
            .contains("get services/proxy"),
        "{h}"
    );
    // The check it suggests asks as the viewer, not as the admin.
    assert!(
        h["hint"]
            .as_str()
            .unwrap_or("")
            .contains("`kubectl auth can-i get services/proxy --context todo-sandbox-viewer -n"),
        "{h}"
    );
    assert_eq!(check(&v, "config.secrets")["status"], "warn");
    assert_eq!(check(&v, "backend.pods")["status"], "pass");
    verify(
        &env,
        &[
            "--context",
            "todo-sandbox-viewer",
            "--release",
            RELEASE,
            "--strict",
        ],
    )
    .expect_code(1);
}

#[test]
fn verify_release_not_found_or_ambiguous_is_a_usage_error() {
    let env = installed("", "", true);
    // No release in the namespace given: the one in another namespace is named, with the -n.
    let r = run(env.kubectl().args(["todo", "verify", "-n", "default"])).expect_code(2);
    assert!(
        r.stderr
            .contains("no Helm release of chart todo-chatbot in namespace \"default\""),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("release todo of chart todo-chatbot is in namespace todo: add `-n todo`"),
        "{}",
        r.stderr
    );
    let r = verify(&env, &["--release", "nope"]).expect_code(2);
    assert!(
        r.stderr.contains("Helm release \"nope\" not found") && r.stderr.contains("todo"),
        "{}",
        r.stderr
    );
    let cluster_ip =
        "backend:\n  service: {type: ClusterIP}\nfrontend:\n  service: {type: ClusterIP}\n";
    env.install_chart("second", NS, cluster_ip, Duration::ZERO)
        .expect_code(0);
    let r = verify(&env, &[]).expect_code(2);
    assert!(
        r.stderr.contains("2 releases of chart todo-chatbot"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--release"), "{}", r.stderr);
}

#[test]
fn verify_unreachable_server_is_a_connection_error() {
    let env = TestEnv::start("");
    let kc = std::fs::read_to_string(env.kubeconfig()).unwrap();
    let server = kc
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_owned();
    let dead = env.write("dead.yaml", &kc.replace(&server, "https://127.0.0.1:1"));
    let r = run(env
        .kubectl()
        .args(["todo", "verify", "-n", NS, "--kubeconfig"])
        .arg(&dead))
    .expect_code(2);
    assert!(
        r.stderr.contains("cannot reach the API server"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 2, "one line + hint: {}", r.stderr);
}

#[test]
fn verify_bad_token_is_a_401_with_a_hint() {
    let env = TestEnv::start("");
    let Some(sb) = env.sandbox() else { return };
    let kc = std::fs::read_to_string(env.kubeconfig()).unwrap();
    let bad = env.write(
        "bad.yaml",
        &kc.replace(sb.admin_token(), "not-a-valid-token"),
    );
    let r = run(env
        .kubectl()
        .args(["todo", "verify", "-n", NS, "--kubeconfig"])
        .arg(&bad))
    .expect_code(2);
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    assert!(r.stderr.contains("credentials"), "{}", r.stderr);
}

#[test]
fn verify_retries_429_bursts() {
    let env = installed("", "", true);
    if !env.is_sandbox() {
        return;
    }
    env.set_faults(Faults {
        errors: vec![
            ErrorFault {
                code: 429,
                count: 2,
                path_contains: "/pods".into(),
                method: String::new(),
            },
            ErrorFault {
                code: 500,
                count: 1,
                path_contains: "/deployments".into(),
                method: String::new(),
            },
        ],
        ..Default::default()
    });
    let v = verify_json(&env, &[], 0);
    assert_eq!(v["healthy"], true);
}

#[test]
fn verify_slow_api_is_bounded_by_the_timeout() {
    let env = installed("", "", true);
    if !env.is_sandbox() {
        return;
    }
    env.set_faults(Faults {
        latency_ms: 5000,
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let r = verify(&env, &["--timeout", "1s"]).expect_code(2);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert!(r.stderr.contains("did not answer"), "{}", r.stderr);
}

#[test]
fn verify_request_count_does_not_grow_with_replicas() {
    let env = installed("", "", true);
    if !env.is_sandbox() {
        return;
    }
    let count = |env: &TestEnv| {
        let before = env.request_count();
        verify(env, &[]).expect_code(0);
        env.request_count() - before
    };
    let one = count(&env);
    run(env.kubectl().args([
        "scale",
        "deployment",
        "todo-todo-chatbot-backend",
        "todo-todo-chatbot-frontend",
        "--replicas",
        "4",
        "-n",
        NS,
    ]))
    .expect_code(0);
    assert!(env.wait_rolled_out(NS, "app.kubernetes.io/instance=todo", WAIT));
    let four = count(&env);
    eprintln!("verify requests: {one} with 1 replica, {four} with 4 replicas");
    assert_eq!(one, four);
    assert!(one <= 12, "{one} requests");
}

#[test]
fn verify_version_and_completions() {
    let env = TestEnv::start("");
    let r = run(env.plugin("kubectl-todo-verify").arg("--version")).expect_code(0);
    assert!(r.stdout.contains(env!("CARGO_PKG_VERSION")), "{}", r.stdout);
    // kubectl_complete-todo-verify asks `kubectl-todo-verify __complete WORDS...`.
    let r = run(env
        .plugin("kubectl-todo-verify")
        .args(["__complete", "--only", "backend.p"]))
    .expect_code(0);
    let values: Vec<&str> = r
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(l))
        .collect();
    assert!(values.contains(&"backend.pods"), "{}", r.stdout);
    assert!(!values.contains(&"frontend.pods"), "{}", r.stdout);
    assert!(
        values.last().is_some_and(|l| l.starts_with(':')),
        "{}",
        r.stdout
    );
    let r = run(env
        .plugin("kubectl-todo-verify")
        .args(["__complete", "-o", ""]))
    .expect_code(0);
    for f in ["table", "json", "yaml", "junit"] {
        assert!(
            r.stdout.lines().any(|l| l.starts_with(f)),
            "{f}: {}",
            r.stdout
        );
    }
    // The one spelling is `kubectl todo completion SHELL`; the hidden flag is gone.
    run(env
        .plugin("kubectl-todo-verify")
        .args(["--completions", "bash"]))
    .expect_code(2);
}

#[test]
fn verify_tls_failure_is_a_connection_error() {
    let env = TestEnv::start("");
    let key = env.tmp().join("ca.key");
    let crt = env.tmp().join("ca.crt");
    let made = run(std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other-ca",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&crt));
    if made.code != 0 {
        return; // no openssl here
    }
    let pem = std::fs::read(&crt).unwrap();
    let b64 = base64_encode(&pem);
    let kc = std::fs::read_to_string(env.kubeconfig()).unwrap();
    let other: String = kc
        .lines()
        .map(|l| match l.split_once("certificate-authority-data: ") {
            Some((indent, _)) => format!("{indent}certificate-authority-data: {b64}"),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = env.write("other-ca.yaml", &other);
    let r = run(env
        .kubectl()
        .args(["todo", "verify", "-n", NS, "--kubeconfig"])
        .arg(&path))
    .expect_code(2);
    assert!(r.stderr.contains("TLS"), "{}", r.stderr);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
}

fn base64_encode(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn verify_reports_a_failed_helm_release() {
    let env = installed("", "", true);
    // Same NodePorts as `todo`: the install fails and Helm records revision 1 as failed.
    let r = env.install_chart("second", NS, "", Duration::ZERO);
    assert_ne!(r.code, 0, "{}", r.stdout);
    let v = verify_json(&env, &["--release", "second"], 1);
    let c = check(&v, "release.status");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["message"].as_str().unwrap_or("").contains("failed"),
        "{c}"
    );
    assert!(
        c["hint"]
            .as_str()
            .unwrap_or("")
            .contains("helm history second -n todo"),
        "{c}"
    );
}

#[test]
fn verify_wait_survives_dropped_watches() {
    let scenario = "timings: {scheduleMs: 200, startMs: 800, readyMs: 1200}\nfaults: {dropWatchesAfterMs: 300}\n";
    let env = installed(scenario, "", false);
    let r = verify(&env, &["--wait", "--timeout", "60s"]).expect_code(0);
    assert!(r.stdout.contains("HEALTHY"), "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn verify_names_one_root_cause_for_a_file_sealed_for_another_controller() {
    // Values sealed with a key the controller does not have: the SealedSecret never unseals,
    // so the Secret is missing and the pods cannot start. One root cause, one fix.
    let values = "secrets:\n  mode: sealed\n  existingSecret: \"\"\n  sealed:\n    encryptedData:\n      DATABASE_URL: AgBy3i4OJSWK+PiTySYZZA==\n      BETTER_AUTH_SECRET: AgBy3i4OJSWK+PiTySYZZA==\n      OPENAI_API_KEY: AgBy3i4OJSWK+PiTySYZZA==\n";
    let env = installed("", values, false);
    let v = until_fails_with(&env, "backend.pods", "CreateContainerConfigError");
    let root = check(&v, "config.sealed-secret");
    assert_eq!(root["status"], "fail", "{root}");
    assert!(root["blockedBy"].is_null(), "{root}");
    for id in ["backend.pods", "config.secrets"] {
        let c = check(&v, id);
        if c["status"] != "fail" {
            continue;
        }
        assert_eq!(c["blockedBy"], "config.sealed-secret", "{id}: {c}");
        let hint = c["hint"].as_str().unwrap_or_default();
        assert!(
            hint.contains("blocked by config.sealed-secret"),
            "{id}: {hint}"
        );
        assert!(
            !hint.contains("kubectl create secret") && !hint.contains("todo-secrets init"),
            "{id} must not offer its own (wrong) fix: {hint}"
        );
    }
    let r = verify(&env, &[]).expect_code(1);
    assert!(
        r.stdout
            .contains("UNHEALTHY (root cause: config.sealed-secret)"),
        "{}",
        r.stdout
    );
}

#[test]
fn verify_blames_a_typod_tag_not_the_node() {
    // The node has todo-chatbot-backend:1.0.0; the release asks for :9.9.9, which no
    // registry has.
    let env = installed("", "backend:\n  image:\n    tag: 9.9.9\n", false);
    let v = until_fails_with(&env, "backend.pods", "ImagePull");
    let hint = check(&v, "backend.pods")["hint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        hint.contains("the node has no todo-chatbot-backend:9.9.9 and cannot pull it")
            && hint.contains("todo-chatbot-backend:1.0.0"),
        "{hint}"
    );
    assert!(
        hint.contains("kubectl rollout undo deployment/todo-todo-chatbot-backend -n todo"),
        "{hint}"
    );
    assert!(hint.contains("backend.image.tag"), "{hint}");
    assert!(!hint.contains("minikube image load"), "{hint}");
}

#[test]
fn verify_gives_each_platform_its_own_image_command() {
    let never = "backend:\n  image:\n    pullPolicy: Never\n";
    for (platform, want) in [
        (
            "platform: {name: kind, cluster: dev}\n",
            "kind load docker-image todo-chatbot-backend:1.0.0 --name dev",
        ),
        (
            "platform: {name: k3d, cluster: dev}\n",
            "k3d image import todo-chatbot-backend:1.0.0 -c dev",
        ),
        (
            // A renamed copy of a minikube kubeconfig: the node's labels still tell.
            "platform: {name: minikube, cluster: demo, kubeconfig: {context: work}}\n",
            "minikube image load todo-chatbot-backend:1.0.0 -p demo",
        ),
    ] {
        let scenario = format!("{platform}node:\n  images: [todo-chatbot-frontend:1.0.0]\n");
        let env = installed(&scenario, never, false);
        let v = until_fails_with(&env, "backend.pods", "ErrImageNeverPull");
        let t = text(check(&v, "backend.pods"));
        assert!(t.contains(want), "{platform}: {t}");
    }
}

#[test]
fn verify_wait_stops_when_no_node_can_ever_hold_the_pod() {
    // Requests larger than the node's allocatable (2 CPU): Unschedulable for good, unlike a
    // pod that waits for room other pods may free.
    let env = installed(
        "",
        "backend:\n  resources:\n    requests:\n      cpu: \"8\"\n    limits:\n      cpu: \"8\"\n",
        false,
    );
    let r = verify(&env, &["--wait", "--timeout", "120s", "-o", "json"]).expect_code(1);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["timedOut"], false, "{}", r.stdout);
    assert!(
        v["permanent"]
            .as_str()
            .unwrap_or_default()
            .ends_with("Unschedulable"),
        "{}",
        r.stdout
    );
    let pods = text(check(&v, "backend.pods"));
    assert!(
        pods.contains("more than any node's allocatable") && pods.contains("add a larger node"),
        "{pods}"
    );
}

#[test]
fn verify_shows_a_failing_migration_init_container_with_its_log() {
    // A migration init container added to the backend (as a post-renderer or kustomize
    // overlay would) that cannot reach the database: the pod never starts, and verify says
    // which container, that it is an init container, and why, from its log.
    let env = installed(
        "apps:\n  - container: migrate\n    kind: crashloop\n    exitCode: 1\n    logs:\n      - \"INFO  [alembic.runtime.migration] Running upgrade -> 0001\"\n      - \"sqlalchemy.exc.OperationalError: could not connect to server: Connection refused\"\n",
        "",
        false,
    );
    let patch = r#"[{"op":"add","path":"/spec/template/spec/initContainers","value":[{"name":"migrate","image":"todo-chatbot-backend:1.0.0","command":["alembic","upgrade","head"]}]}]"#;
    run(env.kubectl().args([
        "patch",
        "deployment",
        "todo-todo-chatbot-backend",
        "-n",
        NS,
        "--type=json",
        "-p",
        patch,
    ]))
    .expect_code(0);
    let v = until_fails_with(&env, "backend.pods", "Init:CrashLoopBackOff");
    let t = text(check(&v, "backend.pods"));
    assert!(t.contains("/migrate (init container)"), "{t}");
    assert!(t.contains("could not connect to server"), "{t}");
    // The wait ends at --max-restarts, naming the init container.
    let r = verify(
        &env,
        &[
            "--wait",
            "--timeout",
            "120s",
            "--max-restarts",
            "1",
            "-o",
            "json",
        ],
    )
    .expect_code(1);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["timedOut"], false, "{}", r.stdout);
    assert!(
        v["permanent"]
            .as_str()
            .unwrap_or_default()
            .ends_with("Init:CrashLoopBackOff"),
        "{}",
        r.stdout
    );
}
