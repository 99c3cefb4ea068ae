//! Turn a [`ScaleSummary`] into the text a person reads or the `-o json` document.

use std::fmt::Write as _;
use std::time::Duration;

use super::{DryRun, Outcome, ScaleSummary, TargetSummary};
use crate::diagnose::PodProblem;
use crate::duration::format_duration as format_elapsed;

/// The `-o json` document (pretty-printed, with a trailing newline).
pub fn json(summary: &ScaleSummary) -> String {
    let mut text =
        serde_json::to_string_pretty(summary).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// The `-o yaml` document: the JSON document as YAML.
pub fn yaml(summary: &ScaleSummary) -> String {
    serde_saphyr::to_string(summary).unwrap_or_else(|e| format!("error: {e}\n"))
}

/// The note shown as a scale is applied: `deployment.apps/NAME scale FROM → TO`, with the
/// conflicts retried and whether it was a dry run.
pub fn applied_note(name: &str, from: i32, to: i32, conflicts: u32, dry_run: DryRun) -> String {
    format!(
        "deployment.apps/{name} scale {from} → {to}{}{}",
        if conflicts > 0 {
            format!(" (after {conflicts} conflict retries)")
        } else {
            String::new()
        },
        if dry_run.is_dry() {
            format!(" ({})", dry_run.label())
        } else {
            String::new()
        }
    )
}

/// The human summary: one line per Deployment, then the diagnosis of unhealthy pods.
pub fn text(summary: &ScaleSummary) -> String {
    let mut out = String::new();
    let flags = &summary.kubectl_flags;
    for t in &summary.targets {
        let _ = writeln!(out, "{}", target_line(t, flags));
        for p in &t.problems {
            problem_lines(&mut out, p);
        }
        if matches!(t.outcome, Outcome::Failed | Outcome::TimedOut) && t.problems.is_empty() {
            let _ = writeln!(
                out,
                "  no pod reports a problem; look at `kubectl describe deployment.apps/{}{}` and its events",
                t.deployment, summary.kubectl_flags
            );
        }
    }
    if let Some(cmd) = &summary.persisted {
        let _ = writeln!(out, "{}", persisted_line(summary, cmd));
        for o in &summary.persist_others {
            let _ = writeln!(out, "  {}", super::persist::other_line(o));
        }
    }
    out
}

/// The HPA part of a target's line: ` (HorizontalPodAutoscaler NAME: min A→B, max C→D)`, or
/// nothing when no HPA was moved.
fn hpa_text(t: &TargetSummary) -> String {
    t.hpa
        .as_ref()
        .map(|h| {
            format!(
                " (HorizontalPodAutoscaler {}: min {}→{}, max {}→{})",
                h.after.name,
                h.before.min_replicas,
                h.after.min_replicas,
                h.before.max_replicas,
                h.after.max_replicas
            )
        })
        .unwrap_or_default()
}

/// One Deployment's line, by how its scale ended; `flags` (`--context …`, `-n …`) go into
/// the commands it suggests.
fn target_line(t: &TargetSummary, flags: &str) -> String {
    let took = format_elapsed(Duration::from_millis(t.elapsed_ms));
    let r = &t.replicas;
    let hpa = hpa_text(t);
    let name = &t.deployment;
    // During a scale-down, pods being removed still count as ready: never show more
    // ready than desired.
    let ready = r.ready.min(r.desired);
    let message = crate::redact::printable(&t.message);
    match t.outcome {
        Outcome::Unchanged => format!(
            "deployment.apps/{name} already has {} replicas: nothing changed",
            t.to
        ),
        Outcome::Complete => {
            format!(
                "deployment.apps/{name} scaled {} → {}{hpa}: {ready}/{} replicas ready in {took}",
                t.from, t.to, r.desired
            )
        }
        Outcome::DryRun => format!(
            "deployment.apps/{name} would be scaled {} → {}{hpa} (dry run: nothing changed)",
            t.from, t.to
        ),
        Outcome::NotWaited => format!(
            "deployment.apps/{name} scaled {} → {}{hpa}; not waiting (follow with `kubectl rollout status deployment.apps/{name}{flags}`)",
            t.from, t.to
        ),
        Outcome::Failed => format!(
            "deployment.apps/{name} scale {} → {} failed after {took}: {message}",
            t.from, t.to
        ),
        Outcome::TimedOut => format!(
            "deployment.apps/{name} scale {} → {} did not finish: {message} ({ready}/{} ready, {} available)",
            t.from,
            t.to,
            r.desired,
            r.available.min(r.desired)
        ),
        Outcome::Interrupted => format!(
            "deployment.apps/{name}: stopped waiting after {took} with {ready}/{} replicas ready ({message}); the rollout goes on in the cluster: `kubectl rollout status deployment.apps/{name}{flags}`",
            r.desired
        ),
    }
}

/// A pod problem under its Deployment's line: what, the hint, the last log lines.
fn problem_lines(out: &mut String, p: &PodProblem) {
    let kind = if p.init {
        "init container"
    } else {
        "container"
    };
    let container = if p.container.is_empty() {
        String::new()
    } else {
        format!(" {kind} {}", crate::redact::printable(&p.container))
    };
    let _ = writeln!(
        out,
        "  pod {}{container}: {}: {}",
        crate::redact::printable(&p.pod),
        crate::redact::printable(&p.shown_reason()),
        crate::redact::printable(&p.message)
    );
    if !p.hint.is_empty() {
        let _ = writeln!(out, "    hint: {}", crate::redact::printable(&p.hint));
    }
    for l in &p.log_tail {
        let _ = writeln!(out, "    | {}", crate::redact::printable(l));
    }
}

/// The `--persist` line: the helm command run (or that would run, with `--dry-run`).
fn persisted_line(summary: &ScaleSummary, cmd: &str) -> String {
    let verb = if summary.dry_run {
        "would record"
    } else {
        "recorded"
    };
    format!(
        "{verb} in the Helm release{}: {cmd}",
        summary
            .release
            .as_deref()
            .map(|r| format!(" {r}"))
            .unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::PodProblem;
    use crate::rollout::Replicas;
    use crate::scale::TargetSummary;

    fn summary(outcome: Outcome) -> ScaleSummary {
        ScaleSummary {
            namespace: "todo".into(),
            context: "dev".into(),
            kubectl_flags: " --context dev -n todo".into(),
            release: Some("todo".into()),
            dry_run: false,
            dry_run_strategy: DryRun::None,
            persisted: None,
            persist_others: vec![],
            warnings: vec![],
            targets: vec![TargetSummary {
                deployment: "todo-todo-chatbot-backend".into(),
                component: Some(crate::chart::Component::Backend),
                from: 1,
                to: 3,
                hpa: None,
                conflicts_retried: 0,
                outcome,
                replicas: Replicas {
                    desired: 3,
                    current: 3,
                    updated: 3,
                    ready: 3,
                    available: 3,
                },
                message: "3/3 replicas ready".into(),
                elapsed_ms: 1234,
                problems: vec![],
            }],
            elapsed_ms: 1300,
            exit_code: 0,
        }
    }

    #[test]
    fn complete_scale_reads_in_one_line() {
        assert_eq!(
            text(&summary(Outcome::Complete)),
            "deployment.apps/todo-todo-chatbot-backend scaled 1 → 3: 3/3 replicas ready in 1.2s\n"
        );
    }

    #[test]
    fn timeout_lists_pod_problems_with_hints() {
        let mut s = summary(Outcome::TimedOut);
        s.targets[0].problems.push(PodProblem {
            restarts: 0,
            pod: "b-1".into(),
            container: "backend".into(),
            reason: "ImagePullBackOff".into(),
            message: "Back-off pulling image".into(),
            hint: "minikube image load x".into(),
            log_tail: vec![],
            init: false,
            never_fits: false,
        });
        let out = text(&s);
        assert!(out.contains("did not finish"), "{out}");
        assert!(
            out.contains("pod b-1 container backend: ImagePullBackOff"),
            "{out}"
        );
        assert!(out.contains("hint: minikube image load x"), "{out}");
    }

    #[test]
    fn scale_down_never_reads_more_ready_than_desired_and_no_op_says_so() {
        let mut s = summary(Outcome::Complete);
        s.targets[0].from = 3;
        s.targets[0].to = 2;
        s.targets[0].replicas.desired = 2;
        let out = text(&s);
        assert!(out.contains("2/2 replicas ready"), "{out}");
        s.targets[0].outcome = Outcome::Unchanged;
        assert!(text(&s).contains("nothing changed"), "{}", text(&s));
    }

    #[test]
    fn suggested_commands_carry_the_users_flags() {
        let out = text(&summary(Outcome::NotWaited));
        assert!(
            out.contains("`kubectl rollout status deployment.apps/todo-todo-chatbot-backend --context dev -n todo`"),
            "{out}"
        );
        let out = text(&summary(Outcome::TimedOut));
        assert!(
            out.contains(
                "`kubectl describe deployment.apps/todo-todo-chatbot-backend --context dev -n todo`"
            ),
            "{out}"
        );
        let v: serde_json::Value =
            serde_json::from_str(&json(&summary(Outcome::Complete))).unwrap();
        assert!(v.get("kubectlFlags").is_none(), "{v}");
    }

    #[test]
    fn cluster_text_loses_its_control_characters() {
        let mut s = summary(Outcome::Failed);
        s.targets[0].message = "bad\u{1b}[31m red".into();
        assert!(!text(&s).contains('\u{1b}'));
    }

    #[test]
    fn yaml_is_the_json_document() {
        let s = summary(Outcome::Complete);
        let from_yaml: serde_json::Value = serde_saphyr::from_str(&yaml(&s)).unwrap();
        let from_json: serde_json::Value = serde_json::from_str(&json(&s)).unwrap();
        assert_eq!(from_yaml, from_json);
    }

    #[test]
    fn json_summary_is_camel_case() {
        let v: serde_json::Value =
            serde_json::from_str(&json(&summary(Outcome::Complete))).unwrap();
        assert_eq!(v["targets"][0]["outcome"], "complete");
        assert_eq!(v["targets"][0]["conflictsRetried"], 0);
        assert_eq!(v["targets"][0]["component"], "backend");
        assert_eq!(v["exitCode"], 0);
    }

    #[test]
    fn the_applied_note_says_conflicts_and_dry_run() {
        assert_eq!(
            applied_note("web", 1, 3, 0, DryRun::None),
            "deployment.apps/web scale 1 → 3"
        );
        assert_eq!(
            applied_note("web", 3, 0, 2, DryRun::Server),
            "deployment.apps/web scale 3 → 0 (after 2 conflict retries) (server dry run)"
        );
        assert_eq!(
            applied_note("web", 1, 2, 0, DryRun::Client),
            "deployment.apps/web scale 1 → 2 (client dry run)"
        );
    }
}
