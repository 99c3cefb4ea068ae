//! CLI transcripts (insta snapshots): every binary's `--help`, the usage errors (exit 2 with
//! a `hint:` line) and each output format of `scale`, `verify` and `preflight`, so wording
//! changes are reviewed as diffs. What varies from run to run (times, the server's port, the
//! context, the controller's fingerprint) is redacted. `INSTA_UPDATE=always` rewrites the
//! snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::Command;
use std::time::Duration;

use todo_e2e::harness::{TestEnv, bin_dir, run};

const NS: &str = "todo";

/// A binary of the suite, run directly, without colour or a kubeconfig of the machine.
fn binary(name: &str) -> Command {
    let mut cmd = Command::new(bin_dir().join(name));
    cmd.env("NO_COLOR", "1")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("COLUMNS")
        .env_remove("TODO_CHART")
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT");
    cmd
}

/// `exit CODE`, then stdout and stderr.
fn transcript(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Durations (`339ms`, `1.2s`, `"elapsedMs": 12`) vary from run to run.
fn redact(text: &str) -> String {
    let ms = regex::Regex::new(r#""elapsedMs": \d+"#).unwrap();
    let took = regex::Regex::new(r"\b\d+(\.\d+)?(ms|s)\b").unwrap();
    let yaml = regex::Regex::new(r"elapsedMs: \d+").unwrap();
    let text = ms.replace_all(text, r#""elapsedMs": [ms]"#);
    let text = yaml.replace_all(&text, "elapsedMs: [ms]");
    took.replace_all(&text, "[time]").into_owned()
}

#[test]
fn help_of_every_binary() {
    for (name, args) in [
        ("kubectl-todo", &["--help"][..]),
        ("kubectl-todo", &["completion", "--help"]),
        ("kubectl-todo-scale", &["--help"]),
        ("kubectl-todo-verify", &["--help"]),
        ("kubectl-todo-preflight", &["--help"]),
        ("helm-todo-secrets", &["--help"]),
        ("helm-todo-secrets", &["init", "--help"]),
        ("helm-todo-secrets", &["seal", "--help"]),
        ("helm-todo-secrets", &["status", "--help"]),
        ("helm-todo-secrets", &["rotate", "--help"]),
        ("helm-todo-secrets", &["fetch-cert", "--help"]),
    ] {
        let snapshot = format!("help {name} {}", args.join(" ")).replace(' ', "_");
        insta::assert_snapshot!(snapshot, transcript(binary(name).args(args)));
    }
}

#[test]
fn usage_errors_say_what_and_hint_how() {
    for (name, args) in [
        ("kubectl-todo", &["bogus"][..]),
        ("kubectl-todo", &["scal"]),
        ("kubectl-todo-scale", &["backend"]),
        ("kubectl-todo-scale", &["backend", "two"]),
        ("kubectl-todo-scale", &["backend", "2", "--replicas", "3"]),
        ("kubectl-todo-scale", &["backend", "2", "--dry-run=maybe"]),
        ("kubectl-todo-scale", &["backend", "2", "-o", "wide"]),
        ("kubectl-todo-scale", &["backend", "2", "--reset-others"]),
        ("kubectl-todo-verify", &["-o", "xml"]),
        ("kubectl-todo-verify", &["--only", "backend.helth"]),
        ("kubectl-todo-preflight", &["-o", "xml"]),
        (
            "kubectl-todo-preflight",
            &["--set", "secrets.inline.OPENAI_API_KEY=sk-x"],
        ),
        ("helm-todo-secrets", &["bogus"]),
        ("helm-todo-secrets", &["init", "--format", "zip"]),
    ] {
        let snapshot = format!("usage {name} {}", args.join(" ")).replace(' ', "_");
        let text = transcript(binary(name).args(args));
        assert!(text.starts_with("exit 2\n"), "{snapshot}: {text}");
        insta::assert_snapshot!(snapshot, text);
    }
}

#[test]
fn scale_output_formats() {
    let env = TestEnv::start("");
    env.install_chart("todo", NS, "", Duration::from_secs(60))
        .expect_code(0);
    for format in ["table", "json", "yaml"] {
        let r = run(env.plugin("kubectl-todo-scale").args([
            "-n",
            NS,
            "backend",
            "3",
            "--dry-run=client",
            "-o",
            format,
        ]))
        .expect_code(0);
        let context = env.context().unwrap_or_default();
        let text = redact(&r.stdout).replace(&context, "[context]");
        insta::assert_snapshot!(format!("scale_-o_{format}"), text);
    }
}

/// The parts of a report that differ from run to run: the server's port, the context,
/// durations, pod name suffixes and the controller's certificate fingerprint (the sandbox's
/// controller makes a new key each start).
fn redact_report(env: &TestEnv, text: &str) -> String {
    let server = env
        .sandbox()
        .map(|sb| sb.server_url().to_string())
        .unwrap_or_default();
    let context = env.context().unwrap_or_default();
    let text = redact(text)
        .replace(&server, "[server]")
        .replace(&context, "[context]");
    let pod =
        regex::Regex::new(r"(todo-todo-chatbot-(backend|frontend))-[a-z0-9]{6,10}-[a-z0-9]{5}")
            .unwrap();
    let duration =
        regex::Regex::new(r#""durationMs": \d+|durationMs: \d+|time="[0-9.]+"|\b\d+ ms\b"#)
            .unwrap();
    let fingerprint = regex::Regex::new(r"\b[0-9a-f]{16}\b").unwrap();
    let text = pod.replace_all(&text, "$1-[pod]");
    let text = duration.replace_all(&text, "[duration]");
    fingerprint.replace_all(&text, "[fingerprint]").into_owned()
}

/// Each format of a report command's document, as a snapshot named `<command>_-o_<format>`.
fn report_formats(env: &TestEnv, command: &str) {
    for format in ["table", "json", "yaml", "junit"] {
        let r = run(env
            .plugin(&format!("kubectl-todo-{command}"))
            .args(["-n", NS, "-o", format]));
        let text = format!("exit {}\n{}", r.code, redact_report(env, &r.stdout));
        insta::assert_snapshot!(format!("{command}_-o_{format}"), text);
    }
}

#[test]
fn verify_and_preflight_output_formats() {
    let env = TestEnv::start("");
    if !env.is_sandbox() {
        return; // the documents name the sandbox's objects
    }
    // Before the install: preflight's verdict on the chart's defaults (no namespace yet, no
    // sealed values), so it fails and says why.
    report_formats(&env, "preflight");
    env.install_chart("todo", NS, "", Duration::from_secs(60))
        .expect_code(0);
    report_formats(&env, "verify");
}
