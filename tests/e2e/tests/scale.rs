//! `kubectl todo scale` end to end: the real kubectl runs the built plugin against the
//! sandbox (or a real cluster with TODO_E2E_REAL_CLUSTER=1; fault tests then return early).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

#[path = "common/terminal.rs"]
mod terminal;
use todo_e2e::harness::{Run, TestEnv, run};
use todo_sandbox::Faults;
use todo_sandbox::scenario::ErrorFault;

const NS: &str = "todo";
const RELEASE: &str = "todo";
const BACKEND: &str = "todo-todo-chatbot-backend";
const FRONTEND: &str = "todo-todo-chatbot-frontend";

/// A sandbox with the chart installed as `todo` in `todo` and rolled out.
fn installed(scenario: &str, values: &str) -> TestEnv {
    let env = TestEnv::start(scenario);
    env.install_chart(RELEASE, NS, values, Duration::from_secs(60))
        .expect_code(0);
    env
}

fn scale(env: &TestEnv, args: &[&str]) -> Run {
    run(env.kubectl().args(["todo", "scale", "-n", NS]).args(args))
}

fn deployment(env: &TestEnv, name: &str) -> Value {
    run(env
        .kubectl()
        .args(["get", "deployment", name, "-n", NS, "-o", "json"]))
    .expect_code(0)
    .json()
}

fn spec_replicas(env: &TestEnv, name: &str) -> i64 {
    deployment(env, name)["spec"]["replicas"]
        .as_i64()
        .unwrap_or(-1)
}

#[test]
fn scale_backend_up_then_down_waits_until_every_replica_is_ready() {
    let env = installed("", "");
    let out = scale(&env, &["backend", "3", "-o", "json"])
        .expect_code(0)
        .json();
    let t = &out["targets"][0];
    assert_eq!(t["deployment"], BACKEND);
    assert_eq!(t["outcome"], "complete");
    assert_eq!((t["from"].as_i64(), t["to"].as_i64()), (Some(1), Some(3)));
    assert_eq!(t["replicas"]["ready"], 3);
    // When the command returns, the cluster agrees.
    let d = deployment(&env, BACKEND);
    assert_eq!(d["status"]["readyReplicas"], 3);

    let out = scale(&env, &["backend", "--replicas", "1", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(out["targets"][0]["outcome"], "complete");
    assert_eq!(out["targets"][0]["replicas"]["current"], 1);
    assert_eq!(spec_replicas(&env, BACKEND), 1);
}

#[test]
fn scale_text_output_names_the_deployment_and_elapsed_time() {
    let env = installed("", "");
    let r = scale(&env, &["frontend", "2"]).expect_code(0);
    assert!(
        r.stdout.contains(&format!(
            "deployment.apps/{FRONTEND} scaled 1 → 2: 2/2 replicas ready in"
        )),
        "{}",
        r.stdout
    );
    // Not a terminal: plain progress lines on stderr, no bar escapes.
    assert!(r.stderr.contains("ready"), "{}", r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "{}", r.stderr);
}

#[test]
fn scale_all_times_each_deployment_and_says_nothing_changed_for_a_no_op() {
    // New pods take 1.5 s to become ready: the backend's wait is long, the frontend's none.
    let env = TestEnv::start("timings: {readyMs: 1500}\n");
    env.install_chart(RELEASE, NS, "", Duration::from_secs(60))
        .expect_code(0);
    scale(&env, &["frontend", "2"]).expect_code(0);
    let out = scale(&env, &["all", "2", "-o", "json"])
        .expect_code(0)
        .json();
    let of = |name: &str| {
        out["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["deployment"] == name)
            .cloned()
            .unwrap()
    };
    let (frontend, backend) = (of(FRONTEND), of(BACKEND));
    assert_eq!(frontend["outcome"], "unchanged", "{out}");
    assert_eq!(backend["outcome"], "complete", "{out}");
    let (f_ms, b_ms) = (
        frontend["elapsedMs"].as_u64().unwrap(),
        backend["elapsedMs"].as_u64().unwrap(),
    );
    assert!(
        b_ms >= 1000 && f_ms < b_ms / 2,
        "frontend {f_ms} ms, backend {b_ms} ms"
    );
    let text = scale(&env, &["all", "2"]).expect_code(0);
    assert_eq!(
        text.stdout.matches("nothing changed").count(),
        2,
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains("2 → 2"), "{}", text.stdout);
}

#[test]
fn scale_all_scales_frontend_and_backend() {
    let env = installed("", "");
    let out = scale(&env, &["all", "2", "-o", "json"])
        .expect_code(0)
        .json();
    let targets = out["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert!(
        targets
            .iter()
            .all(|t| t["outcome"] == "complete" && t["replicas"]["ready"] == 2),
        "{out}"
    );
    assert_eq!(out["release"], RELEASE);
    assert_eq!(spec_replicas(&env, FRONTEND), 2);
    assert_eq!(spec_replicas(&env, BACKEND), 2);
}

#[test]
fn scale_retries_a_409_conflict_on_the_scale_subresource() {
    let env = installed("", "");
    if !env.is_sandbox() {
        return;
    }
    env.set_faults(Faults {
        errors: vec![ErrorFault {
            code: 409,
            count: 2,
            path_contains: "/scale".into(),
            method: "PUT".into(),
        }],
        ..Default::default()
    });
    let out = scale(&env, &["backend", "2", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(out["targets"][0]["conflictsRetried"], 2, "{out}");
    assert_eq!(out["targets"][0]["outcome"], "complete");
}

#[test]
fn scale_gives_up_after_five_conflicts() {
    let env = installed("", "");
    if !env.is_sandbox() {
        return;
    }
    env.set_faults(Faults {
        errors: vec![ErrorFault {
            code: 409,
            count: 10,
            path_contains: "/scale".into(),
            method: "PUT".into(),
        }],
        ..Default::default()
    });
    let r = scale(&env, &["backend", "2"]).expect_code(2);
    assert!(r.stderr.contains("5 conflicting updates"), "{}", r.stderr);
    assert_eq!(spec_replicas(&env, BACKEND), 1);
}

const HPA: &str = r#"apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: backend
  namespace: todo
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: todo-todo-chatbot-backend}
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
"#;

#[test]
fn scale_refuses_a_deployment_managed_by_an_hpa() {
    let env = installed("", "");
    let file = env.write("hpa.yaml", HPA);
    run(env.kubectl().args(["apply", "-f"]).arg(&file)).expect_code(0);
    let r = scale(&env, &["backend", "3"]).expect_code(2);
    assert!(
        r.stderr.contains("HorizontalPodAutoscaler \"backend\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--hpa"), "{}", r.stderr);
    // The autoscaler is edited where it is, not in the default namespace.
    assert!(
        r.stderr.contains("`kubectl edit hpa backend -n todo`"),
        "{}",
        r.stderr
    );
    assert_eq!(spec_replicas(&env, BACKEND), 1);
}

#[test]
fn scale_with_hpa_flag_moves_the_autoscaler_bounds() {
    let env = installed("", "");
    let file = env.write("hpa.yaml", HPA);
    run(env.kubectl().args(["apply", "-f"]).arg(&file)).expect_code(0);
    let out = scale(&env, &["backend", "3", "--hpa", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(out["targets"][0]["hpa"]["after"]["minReplicas"], 3, "{out}");
    assert_eq!(out["targets"][0]["hpa"]["after"]["maxReplicas"], 5);
    let hpa = run(env
        .kubectl()
        .args(["get", "hpa", "backend", "-n", NS, "-o", "json"]))
    .expect_code(0)
    .json();
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    assert_eq!(hpa["spec"]["maxReplicas"], 5);
    // max grows to N when N is above it.
    scale(&env, &["backend", "6", "--hpa"]).expect_code(0);
    let hpa = run(env
        .kubectl()
        .args(["get", "hpa", "backend", "-n", NS, "-o", "json"]))
    .expect_code(0)
    .json();
    assert_eq!(
        (
            hpa["spec"]["minReplicas"].as_i64(),
            hpa["spec"]["maxReplicas"].as_i64()
        ),
        (Some(6), Some(6))
    );
}

#[test]
fn scale_fails_fast_with_a_diagnosis_when_the_image_cannot_be_pulled() {
    let env = TestEnv::start("");
    env.install_chart(
        RELEASE,
        NS,
        "backend:\n  image:\n    tag: not-on-the-node\n",
        Duration::ZERO,
    )
    .expect_code(0);
    // A pull refused as denied cannot heal: exit 1 with the diagnosis, before --timeout (the
    // outcome is `failed`, not `timed-out`).
    let r = scale(&env, &["backend", "2", "--timeout", "60s", "-o", "json"]).expect_code(1);
    let out = r.json();
    let t = &out["targets"][0];
    assert_eq!(t["outcome"], "failed", "{out}");
    assert!(
        t["message"].as_str().unwrap().contains("permanent"),
        "{out}"
    );
    let reasons: Vec<&str> = t["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("ImagePull") || *r == "ErrImageNeverPull"),
        "{reasons:?}"
    );
    // The text form says the same to a person.
    let r = scale(&env, &["backend", "2", "--timeout", "60s"]).expect_code(1);
    assert!(r.stdout.contains("failed after"), "{}", r.stdout);
    assert!(r.stdout.contains("hint:"), "{}", r.stdout);
    // The fix is verify's: the node holds another tag of the repository, so the tag is the
    // mistake (go back, or upgrade to a tag the node has), not a missing image load.
    if env.is_sandbox() {
        assert!(
            r.stdout
                .contains("`kubectl rollout undo deployment/todo-todo-chatbot-backend -n todo"),
            "{}",
            r.stdout
        );
        assert!(
            r.stdout.contains("--set backend.image.tag="),
            "{}",
            r.stdout
        );
        assert!(!r.stdout.contains("image load"), "{}", r.stdout);
    }
    // --no-fail-fast waits for --timeout anyway.
    let r = scale(
        &env,
        &[
            "backend",
            "3",
            "--timeout",
            "3s",
            "--no-fail-fast",
            "-o",
            "json",
        ],
    )
    .expect_code(1);
    let out = r.json();
    assert_eq!(out["targets"][0]["outcome"], "timed-out", "{out}");
}

#[test]
fn scale_survives_dropped_watches() {
    let env = installed(
        "timings: {scheduleMs: 50, startMs: 300, readyMs: 400}\n",
        "",
    );
    if !env.is_sandbox() {
        return;
    }
    env.set_faults(Faults {
        drop_watches_after_ms: 150,
        ..Default::default()
    });
    let out = scale(&env, &["backend", "3", "-o", "json", "--timeout", "30s"])
        .expect_code(0)
        .json();
    assert_eq!(out["targets"][0]["outcome"], "complete", "{out}");
    assert_eq!(out["targets"][0]["replicas"]["ready"], 3);
}

#[test]
fn scale_as_viewer_is_forbidden_with_a_hint() {
    let env = installed("", "");
    if !env.is_sandbox() {
        return;
    }
    let r = scale(&env, &["backend", "2", "--context", "todo-sandbox-viewer"]).expect_code(2);
    assert!(
        r.stderr.to_lowercase().contains("forbidden"),
        "{}",
        r.stderr
    );
    // The check runs as the viewer, in the namespace of the scale (without the context it
    // would ask as the admin, and say yes).
    assert!(
        r.stderr.contains("--context todo-sandbox-viewer -n todo`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("kubectl auth can-i"), "{}", r.stderr);
    assert_eq!(spec_replicas(&env, BACKEND), 1);
}

#[test]
fn scale_to_zero_needs_yes_without_a_terminal() {
    let env = installed("", "");
    let r = scale(&env, &["frontend", "0"]).expect_code(2);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(spec_replicas(&env, FRONTEND), 1);
    let out = scale(&env, &["frontend", "0", "--yes", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(out["targets"][0]["outcome"], "complete");
    assert!(out["warnings"].to_string().contains("0 replicas"), "{out}");
    assert_eq!(spec_replicas(&env, FRONTEND), 0);
}

/// `kubectl-todo-scale ARGS` on a pseudo-terminal, typing `key` once the question is up;
/// `None` without util-linux `script`.
fn scale_on_a_terminal(env: &TestEnv, args: &str, key: &[u8]) -> Option<(i32, String)> {
    if !terminal::available() {
        return None;
    }
    let bin = todo_e2e::harness::bin_dir().join("kubectl-todo-scale");
    let line = format!("{} -n {NS} {args}", bin.display());
    let (code, text) = terminal::run(env, &line, Duration::from_millis(2500), key);
    Some((code, text.replace('\r', "")))
}

#[test]
fn scale_to_zero_declined_at_the_terminal_is_not_an_error() {
    let env = installed("", "");
    let Some((code, text)) = scale_on_a_terminal(&env, "frontend 0", b"n") else {
        return;
    };
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("scale to 0 cancelled: nothing changed"),
        "{text}"
    );
    assert!(!text.contains("error"), "{text}");
    assert_eq!(
        text.matches("to 0 replicas").count(),
        1,
        "warned once: {text}"
    );
    assert_eq!(spec_replicas(&env, FRONTEND), 1);
    let (code, text) = scale_on_a_terminal(&env, "frontend 0 --no-wait", b"y").unwrap();
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        text.matches("to 0 replicas").count(),
        1,
        "warned once: {text}"
    );
    assert_eq!(spec_replicas(&env, FRONTEND), 0);
}

#[test]
fn scale_rejects_bad_counts_and_targets_as_usage_errors() {
    let env = TestEnv::start("");
    for args in [
        &["backend", "-1"][..],
        &["backend", "two"],
        &["backend"],
        &["Not_A_Name", "2"],
    ] {
        let r = scale(&env, args).expect_code(2);
        assert!(r.stderr.contains("hint:"), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn scale_dry_run_changes_nothing() {
    let env = installed("", "");
    let out = scale(&env, &["backend", "4", "--dry-run", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(out["targets"][0]["outcome"], "dry-run");
    assert_eq!(out["dryRun"], true);
    assert_eq!(spec_replicas(&env, BACKEND), 1);
}

#[test]
fn scale_dry_run_takes_kubectls_strategies() {
    let env = installed("", "");
    for (flag, strategy) in [
        ("--dry-run=client", "client"),
        ("--dry-run=server", "server"),
        ("--dry-run", "server"),
    ] {
        let out = scale(&env, &["backend", "4", flag, "-o", "json"])
            .expect_code(0)
            .json();
        assert_eq!(out["targets"][0]["outcome"], "dry-run", "{flag}: {out}");
        assert_eq!(out["dryRunStrategy"], strategy, "{flag}: {out}");
        assert_eq!(out["dryRun"], true, "{flag}");
    }
    let none = scale(&env, &["backend", "1", "--dry-run=none", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(none["dryRun"], false, "{none}");
    assert_eq!(spec_replicas(&env, BACKEND), 1);
    let bad = scale(&env, &["backend", "4", "--dry-run=maybe"]).expect_code(2);
    assert!(bad.stderr.contains("client"), "{}", bad.stderr);
    if env.is_sandbox() {
        // server sends the scale (dryRun=All): RBAC answers; client only reads.
        let viewer = ["--context", "todo-sandbox-viewer"];
        let r = scale(
            &env,
            &[&["backend", "4", "--dry-run=server"][..], &viewer].concat(),
        )
        .expect_code(2);
        assert!(
            r.stderr.to_lowercase().contains("forbidden"),
            "{}",
            r.stderr
        );
        scale(
            &env,
            &[&["backend", "4", "--dry-run=client"][..], &viewer].concat(),
        )
        .expect_code(0);
    }
}

#[test]
fn scale_persist_keeps_the_other_components_live_count_unless_reset_others() {
    let env = installed("", "");
    scale(&env, &["frontend", "3"]).expect_code(0);
    let out = scale(&env, &["backend", "2", "--persist", "-o", "json"])
        .expect_code(0)
        .json();
    let other = &out["persistOthers"][0];
    assert_eq!(other["component"], "frontend", "{out}");
    assert_eq!(other["live"], 3, "{out}");
    assert_eq!(other["release"], 1, "{out}");
    assert_eq!(other["kept"], true, "{out}");
    assert!(
        out["persisted"]
            .as_str()
            .unwrap_or_default()
            .contains("--set frontend.replicaCount=3"),
        "{out}"
    );
    assert_eq!(
        spec_replicas(&env, FRONTEND),
        3,
        "the upgrade kept the live count"
    );
    assert_eq!(spec_replicas(&env, BACKEND), 2);
    // The release now records 3: a live 2 is reset to it with --reset-others.
    scale(&env, &["frontend", "2"]).expect_code(0);
    let text = scale(&env, &["backend", "1", "--persist", "--reset-others"]).expect_code(0);
    assert!(
        text.stdout.contains("the upgrade resets it to 3"),
        "{}\n{}",
        text.stdout,
        text.stderr
    );
    assert_eq!(spec_replicas(&env, FRONTEND), 3);
    // In step with the release: nothing listed.
    let same = scale(&env, &["backend", "2", "--persist", "-o", "json"])
        .expect_code(0)
        .json();
    assert!(same.get("persistOthers").is_none(), "{same}");
}

#[test]
fn scale_warns_when_the_node_cannot_hold_the_replicas() {
    // 1 CPU node; each backend pod requests 100m, so 30 replicas cannot fit.
    let env = installed("node: {cpu: \"1\"}\n", "");
    let out = scale(&env, &["backend", "30", "--dry-run", "-o", "json"])
        .expect_code(0)
        .json();
    assert!(out["warnings"].to_string().contains("room for"), "{out}");
    let out = scale(&env, &["backend", "2", "--dry-run", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(out["warnings"], serde_json::json!([]), "{out}");
}

#[test]
fn scale_no_wait_returns_once_accepted() {
    let env = installed("", "");
    let out = scale(&env, &["backend", "2", "--no-wait", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(out["targets"][0]["outcome"], "not-waited");
    assert_eq!(spec_replicas(&env, BACKEND), 2);
}

#[test]
fn scale_persist_survives_the_next_helm_upgrade() {
    let env = installed("", "");
    let out = scale(&env, &["backend", "2", "--persist", "-o", "json"])
        .expect_code(0)
        .json();
    assert!(
        out["persisted"]
            .as_str()
            .unwrap_or_default()
            .contains("--set backend.replicaCount=2"),
        "{out}"
    );
    let values = run(env
        .helm()
        .args(["get", "values", RELEASE, "-n", NS, "-o", "json"]))
    .expect_code(0)
    .json();
    assert_eq!(values["backend"]["replicaCount"], 2, "{values}");
    // A later upgrade that reuses the values keeps the count.
    run(env.helm().args([
        "upgrade",
        RELEASE,
        "charts/todo-chatbot",
        "-n",
        NS,
        "--reuse-values",
    ]))
    .expect_code(0);
    assert_eq!(spec_replicas(&env, BACKEND), 2);
}

#[test]
fn scale_persist_without_helm_is_a_clear_error() {
    let env = installed("", "");
    let r = run(env
        .kubectl()
        .args(["todo", "scale", "-n", NS, "backend", "2", "--persist"])
        .env("HELM_BIN", "/nonexistent/helm"))
    .expect_code(2);
    assert!(r.stderr.contains("needs helm"), "{}", r.stderr);
    assert_eq!(
        spec_replicas(&env, BACKEND),
        1,
        "nothing is changed when persisting cannot work"
    );
}

#[test]
fn scale_ctrl_c_stops_waiting_and_says_where_the_rollout_stands() {
    // New pods take a minute to become ready: a transient state, so scale keeps waiting.
    let env = TestEnv::start("timings: {readyMs: 60000}\n");
    env.install_chart(RELEASE, NS, "", Duration::ZERO)
        .expect_code(0);
    let child = env
        .plugin("kubectl-todo-scale")
        .args(["-n", NS, "backend", "2", "--timeout", "60s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    run(std::process::Command::new("kill").args(["-INT", &child.id().to_string()])).expect_code(0);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("stopped waiting").count(), 1, "{stdout}");
    assert!(stdout.contains("kubectl rollout status"), "{stdout}");
}

#[test]
fn scale_ctrl_c_on_a_terminal_says_stopped_waiting_once() {
    let env = TestEnv::start("timings: {readyMs: 60000}\n");
    env.install_chart(RELEASE, NS, "", Duration::ZERO)
        .expect_code(0);
    let Some((code, text)) = scale_on_a_terminal(&env, "backend 2 --timeout 60s", b"\x03") else {
        return;
    };
    assert_eq!(code, 130, "{text}");
    assert_eq!(text.matches("stopped waiting").count(), 1, "{text}");
    assert!(!text.contains("error"), "{text}");
}

#[test]
fn scale_down_progress_never_reads_more_ready_than_desired() {
    let env = installed("", "");
    scale(&env, &["backend", "3"]).expect_code(0);
    let r = scale(&env, &["backend", "1"]).expect_code(0);
    let progress: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains(" ready, "))
        .collect();
    assert!(!progress.is_empty(), "{}", r.stderr);
    for line in progress {
        let counts = line.split(": ").nth(1).unwrap_or_default();
        let (ready, rest) = counts.split_once('/').unwrap_or(("0", "0"));
        let desired = rest.split(' ').next().unwrap_or("0");
        assert!(
            ready.parse::<i32>().unwrap() <= desired.parse::<i32>().unwrap(),
            "{line}"
        );
    }
    assert!(r.stdout.contains("scaled 3 → 1"), "{}", r.stdout);
}

#[test]
fn scale_prints_yaml_and_takes_table_or_text() {
    let env = installed("", "");
    let r = scale(&env, &["backend", "2", "-o", "yaml"]).expect_code(0);
    assert!(r.stdout.contains("outcome: complete"), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("deployment: {BACKEND}")),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.trim_start().starts_with('{'), "{}", r.stdout);
    // `table` is the default's name (as kubectl's -o), `text` still works.
    let table = scale(&env, &["backend", "2", "-o", "table"]).expect_code(0);
    let text = scale(&env, &["backend", "2", "-o", "text"]).expect_code(0);
    assert!(table.stdout.contains("nothing changed"), "{}", table.stdout);
    assert!(text.stdout.contains("nothing changed"), "{}", text.stdout);
}

#[test]
fn scale_fails_fast_when_no_node_can_ever_hold_the_pods() {
    // 8 CPUs requested on a 2-CPU node: Unschedulable for good, so the wait ends with the
    // diagnosis (`failed`, not `timed-out` at --timeout).
    let env = TestEnv::start("");
    env.install_chart(
        RELEASE,
        NS,
        "backend:\n  resources:\n    requests:\n      cpu: \"8\"\n    limits:\n      cpu: \"8\"\n",
        Duration::ZERO,
    )
    .expect_code(0);
    let r = scale(
        &env,
        &["backend", "2", "--timeout", "60s", "--yes", "-o", "json"],
    )
    .expect_code(1);
    let out = r.json();
    let t = &out["targets"][0];
    assert_eq!(t["outcome"], "failed", "{out}");
    let problems = t["problems"].to_string();
    assert!(problems.contains("Unschedulable"), "{out}");
    assert!(
        problems.contains("more than any node's allocatable"),
        "{out}"
    );
}
