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
fn values_sealed_for_another_namespace_are_refused_by_the_chart_and_by_the_controller() {
    let env = TestEnv::start("");
    env.create_namespace("todo");
    env.create_namespace("other");
    let sealed = init_from_env(&env, "strict");
    let install = |file: &std::path::Path| {
        run(env
            .helm()
            .args([
                "install",
                "todo",
                "charts/todo-chatbot",
                "-n",
                "other",
                "-f",
            ])
            .arg(file))
    };
    // The file records where it may be unsealed: Helm refuses to render it elsewhere.
    let r = install(&sealed);
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("sealed for namespace \"todo\" (scope strict)")
            && r.stderr.contains("-n todo"),
        "{}",
        r.stderr
    );
    // A file that does not record it (older, or by hand) renders, and the controller refuses.
    let text = std::fs::read_to_string(&sealed).unwrap();
    let unrecorded: String = text
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            !l.starts_with("namespace: ") && !l.starts_with("secretName: ")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let unrecorded_file = env.write("unrecorded.yaml", &unrecorded);
    let r = install(&unrecorded_file);
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

// ---------------------------------------------------------------------------------------
// After the first seal: a key renewal, `status` warning, `rotate` through the controller,
// `status --validate`, `fetch-cert --all`, and backing up and restoring the controller's keys.

const DEMO_VALUES: [(&str, &str); 3] = [
    ("BETTER_AUTH_SECRET", DEMO_AUTH_SECRET),
    ("DATABASE_URL", DEMO_DATABASE_URL),
    ("OPENAI_API_KEY", DEMO_OPENAI_KEY),
];

fn assert_no_secret(r: &todo_e2e::harness::Run) {
    for (_, secret) in DEMO_VALUES {
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "a secret was printed:\n{}\n{}",
            r.stdout,
            r.stderr
        );
    }
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

fn secrets(env: &TestEnv, args: &[&str], file: &std::path::Path) -> todo_e2e::harness::Run {
    let r = run(env
        .plugin("helm-todo-secrets")
        .args(args)
        .arg("-f")
        .arg(file));
    assert_no_secret(&r);
    r
}

/// The sandbox's key renewal (its control API, as the controller's renewal period would):
/// returns the new certificate's fingerprint.
fn renew_key(env: &TestEnv) -> String {
    let body = env.write("renew.json", r#"{"bits": 2048}"#);
    let r = run(env
        .kubectl()
        .args(["create", "--raw", "/sandbox/v1/sealed-secrets/renew", "-f"])
        .arg(&body));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    r.json()["fingerprint"].as_str().unwrap().to_owned()
}

fn recorded_fingerprint(file: &std::path::Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("certificateFingerprint: "))
        .unwrap_or_default()
        .trim_matches(|c| c == '\'' || c == '"')
        .to_owned()
}

/// `kubectl <verb> secret -n kube-system -l <the controller's key label> <more>`: its key
/// Secrets, as the backup procedure in docs/secrets.md reads them.
fn key_secrets(env: &TestEnv, verb_and_flags: &[&str]) -> todo_e2e::harness::Run {
    let (verb, more) = verb_and_flags.split_first().unwrap();
    run(env
        .kubectl()
        .args([verb, "secret", "-n", "kube-system", "-l"])
        .arg("sealedsecrets.bitnami.com/sealed-secrets-key")
        .args(more))
}

/// The controller's private keys by certificate fingerprint, written as PEM files (read from
/// its key Secrets, as an administrator can).
fn controller_keys(env: &TestEnv) -> std::collections::BTreeMap<String, std::path::PathBuf> {
    let certs = run(env
        .plugin("helm-todo-secrets")
        .args(["fetch-cert", "--all", "-o", "json"]))
    .expect_code(0)
    .json();
    let secrets = key_secrets(env, &["get", "-o", "json"])
        .expect_code(0)
        .json();
    let mut keys = std::collections::BTreeMap::new();
    for cert in certs["certificates"].as_array().unwrap() {
        let name = cert["secret"].as_str().unwrap();
        let item = secrets["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["metadata"]["name"] == name)
            .unwrap();
        let pem = base64_decode(item["data"]["tls.key"].as_str().unwrap());
        let path = env.write(&format!("{name}.key"), &pem);
        keys.insert(cert["fingerprint"].as_str().unwrap().to_owned(), path);
    }
    keys
}

fn base64_decode(text: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

/// What the independent Python decryptor (tests/secrets) makes of `file` with `key`.
fn python_unseal(file: &std::path::Path, key: &std::path::Path) -> serde_json::Value {
    let root = todo_e2e::harness::repo_root();
    let python = std::env::var("TODO_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join(".venv/bin/python"));
    let python = if python.exists() {
        python
    } else {
        "python3".into()
    };
    let out = std::process::Command::new(python)
        .arg(root.join("tests/secrets/unseal_file.py"))
        .arg(file)
        .arg(key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_renewed_key_is_warned_about_and_rotate_moves_every_value_to_it() {
    let env = TestEnv::start("");
    env.create_namespace("todo");
    let sealed = init_from_env(&env, "strict");
    let old = recorded_fingerprint(&sealed);
    let new = renew_key(&env);
    assert_ne!(old, new);

    let r = secrets(&env, &["status"], &sealed);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("older key the controller still holds"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("helm todo-secrets rotate"),
        "{}",
        r.stdout
    );
    let state = secrets(&env, &["status", "-o", "json"], &sealed).json();
    assert_eq!(state["controller"]["state"], "older-key", "{state}");
    assert_eq!(state["controller"]["current"], new.as_str());

    let r = secrets(&env, &["rotate"], &sealed);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(recorded_fingerprint(&sealed), new);
    let r = secrets(&env, &["status", "--validate"], &sealed);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("sealed with the controller's current certificate")
    );
    assert!(r.stdout.contains("the controller can decrypt every value"));

    let keys = controller_keys(&env);
    let with_new = python_unseal(&sealed, &keys[&new]);
    for (name, value) in DEMO_VALUES {
        assert_eq!(with_new[name], value, "{name} with the new key");
    }
    let with_old = python_unseal(&sealed, &keys[&old]);
    for (name, _) in DEMO_VALUES {
        assert!(
            with_old[name].is_null(),
            "{name} still decrypts with the old key"
        );
    }

    let r = run(env
        .helm()
        .args(["install", "todo", "charts/todo-chatbot", "-n", "todo", "-f"])
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(env.wait_rolled_out(
        "todo",
        "app.kubernetes.io/instance=todo",
        Duration::from_secs(30)
    ));
}

#[test]
fn fetch_cert_all_lists_the_old_and_the_new_certificate() {
    let env = TestEnv::start("");
    let r = run(env.plugin("helm-todo-secrets").arg("fetch-cert"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let new = renew_key(&env);
    let r = run(env
        .plugin("helm-todo-secrets")
        .args(["fetch-cert", "--all", "-o", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let certs = r.json()["certificates"].as_array().cloned().unwrap();
    assert_eq!(certs.len(), 2, "{certs:?}");
    assert_eq!(certs[0]["fingerprint"], new.as_str());
    assert_eq!(certs[0]["current"], true);
    assert_eq!(certs[1]["current"], false);
    assert!(!r.stdout.contains("PRIVATE KEY"));
    let pem = run(env
        .plugin("helm-todo-secrets")
        .args(["fetch-cert", "--all"]));
    assert_eq!(pem.stdout.matches("BEGIN CERTIFICATE").count(), 2);
}

#[test]
fn status_validate_names_a_value_sealed_for_another_namespace() {
    let env = TestEnv::start("");
    env.create_namespace("todo");
    let sealed = init_from_env(&env, "strict");
    let other = env.tmp().join("prod.yaml");
    let r = run(env
        .plugin("helm-todo-secrets")
        .args(["init", "--from-env", "-n", "prod", "-f"])
        .arg(&other)
        .env("DATABASE_URL", DEMO_DATABASE_URL)
        .env("BETTER_AUTH_SECRET", DEMO_AUTH_SECRET)
        .env("OPENAI_API_KEY", DEMO_OPENAI_KEY));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Copy the value sealed for prod into the file sealed for todo.
    let line = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .find(|l| l.trim_start().starts_with("OPENAI_API_KEY:"))
            .unwrap()
            .to_owned()
    };
    let text = std::fs::read_to_string(&sealed)
        .unwrap()
        .replace(&line(&sealed), &line(&other));
    std::fs::write(&sealed, text).unwrap();
    let r = secrets(&env, &["status", "--validate"], &sealed);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("validate:    the controller cannot decrypt OPENAI_API_KEY"),
        "{}",
        r.stdout
    );
    // After a renewal the controller cannot re-encrypt what it cannot decrypt: it says which.
    renew_key(&env);
    let before = std::fs::read_to_string(&sealed).unwrap();
    let r = secrets(&env, &["rotate"], &sealed);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("cannot decrypt OPENAI_API_KEY of")
            && r.stderr.contains("rotate --reenter"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&sealed).unwrap(), before);
}

#[test]
fn status_that_cannot_reach_the_controller_exits_2() {
    let env = TestEnv::start("");
    env.create_namespace("todo");
    let sealed = init_from_env(&env, "strict");
    let r = secrets(
        &env,
        &["status", "--controller-name", "no-such-controller"],
        &sealed,
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("not found") && r.stderr.contains("hint:"));
}

fn sealed_secret_condition(env: &TestEnv) -> serde_json::Value {
    let r = run(env.kubectl().args([
        "get",
        "sealedsecret",
        "-n",
        "todo",
        "todo-todo-chatbot-secrets",
        "-o",
        "json",
    ]));
    r.json()["status"]["conditions"][0].clone()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn restart_controller(env: &TestEnv) {
    run(env.kubectl().args([
        "delete",
        "pod",
        "-n",
        "kube-system",
        "-l",
        "name=sealed-secrets-controller",
    ]))
    .expect_code(0);
}

#[test]
fn the_documented_key_backup_restores_a_controller_that_lost_its_keys() {
    let env = TestEnv::start("");
    env.create_namespace("todo");
    let sealed = init_from_env(&env, "strict");
    let r = run(env
        .helm()
        .args(["install", "todo", "charts/todo-chatbot", "-n", "todo", "-f"])
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    wait_for("the SealedSecret to unseal", || {
        sealed_secret_condition(&env)["status"] == "True"
    });

    // Backup (docs/secrets.md): the key Secrets, the one plaintext-equivalent file.
    let backup = key_secrets(&env, &["get", "-o", "yaml"]).expect_code(0);
    let backup_file = env.write("main.key", &backup.stdout);

    // Disaster: the keys are gone and the controller restarts with a new one.
    key_secrets(&env, &["delete"]).expect_code(0);
    restart_controller(&env);
    wait_for("the new controller to fail unsealing", || {
        let c = sealed_secret_condition(&env);
        c["status"] == "False"
    });
    let c = sealed_secret_condition(&env);
    assert_eq!(c["reason"], "ErrUnsealFailed", "{c}");
    assert_eq!(
        c["message"],
        "no key could decrypt secret (BETTER_AUTH_SECRET, DATABASE_URL, OPENAI_API_KEY)"
    );
    let r = secrets(&env, &["status"], &sealed);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("no key of the controller decrypts"),
        "{}",
        r.stdout
    );

    // Restore: apply the backup and restart the controller. (`--validate=false` only because
    // kubectl validates a `kind: List` with /openapi/v2, which the sandbox does not serve.)
    run(env
        .kubectl()
        .args(["apply", "--validate=false", "-f"])
        .arg(&backup_file))
    .expect_code(0);
    restart_controller(&env);
    wait_for("the restored controller to unseal", || {
        sealed_secret_condition(&env)["status"] == "True"
    });
    let r = secrets(&env, &["status", "--validate"], &sealed);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}
