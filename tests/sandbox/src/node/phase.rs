//! The kubelet's pod phase and its Initialized, ContainersReady and Ready conditions, computed
//! from the spec and the container statuses as the kubelet's `getPhase` and the status
//! package's `GeneratePodInitializedCondition`, `GenerateContainersReadyCondition` and
//! `GeneratePodReadyCondition` do (sidecars included). Pure: JSON in, JSON-free results out.

use serde_json::Value;

/// A condition the generators produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// True or False.
    pub status: bool,
    /// The reason, when there is one.
    pub reason: Option<String>,
    /// The message, when there is one.
    pub message: Option<String>,
}

impl Condition {
    fn yes() -> Condition {
        Condition {
            status: true,
            reason: None,
            message: None,
        }
    }

    fn no(reason: &str, message: Option<String>) -> Condition {
        Condition {
            status: false,
            reason: Some(reason.to_owned()),
            message,
        }
    }
}

fn containers(spec: &Value, field: &str) -> Vec<Value> {
    spec.get(field)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn name(c: &Value) -> &str {
    c.get("name").and_then(Value::as_str).unwrap_or("")
}

fn is_sidecar(c: &Value) -> bool {
    c.get("restartPolicy").and_then(Value::as_str) == Some("Always")
}

fn status_of<'a>(statuses: &'a [Value], c: &Value) -> Option<&'a Value> {
    statuses.iter().find(|s| name(s) == name(c))
}

fn has(s: &Value, state: &str) -> bool {
    s.pointer(&format!("/state/{state}"))
        .is_some_and(Value::is_object)
}

fn exit_code(s: &Value, at: &str) -> Option<i64> {
    s.pointer(&format!("/{at}/terminated/exitCode"))
        .and_then(Value::as_i64)
}

fn flag(s: &Value, f: &str) -> bool {
    s.get(f).and_then(Value::as_bool) == Some(true)
}

/// `HasAnyRegularContainerStarted`: an app container runs or ran.
fn any_regular_started(spec: &Value, apps: &[Value]) -> bool {
    containers(spec, "containers")
        .iter()
        .filter_map(|c| status_of(apps, c))
        .any(|s| has(s, "running") || has(s, "terminated"))
}

/// `getPhase`. `terminal`: the pod will not run again (deleted and stopped, or finished).
pub fn phase(spec: &Value, init: &[Value], apps: &[Value], terminal: bool) -> &'static str {
    let policy = spec
        .get("restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("Always");
    let (mut pending_regular, mut pending_sidecars, mut failed_init) = (0, 0, 0);
    let (mut unknown, mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0, 0);
    for c in containers(spec, "initContainers") {
        let Some(s) = status_of(init, &c) else {
            if is_sidecar(&c) {
                unknown += 1;
            }
            pending_regular += usize::from(!is_sidecar(&c));
            continue;
        };
        if is_sidecar(&c) {
            if has(s, "running") {
                pending_sidecars += usize::from(!flag(s, "started"));
                running += 1;
            } else if has(s, "waiting") && exit_code(s, "lastState").is_none() {
                pending_sidecars += 1;
                waiting += 1;
            }
        } else if has(s, "running") {
            pending_regular += 1;
        } else if let Some(code) = exit_code(s, "state") {
            failed_init += usize::from(code != 0);
        } else if let Some(code) = exit_code(s, "lastState") {
            failed_init += usize::from(code != 0);
        } else {
            pending_regular += 1;
        }
    }
    for c in containers(spec, "containers") {
        let Some(s) = status_of(apps, &c) else {
            unknown += 1;
            continue;
        };
        if has(s, "running") {
            running += 1;
        } else if let Some(code) = exit_code(s, "state") {
            stopped += 1;
            succeeded += usize::from(code == 0);
        } else if exit_code(s, "lastState").is_some() {
            stopped += 1;
        } else if has(s, "waiting") {
            waiting += 1;
        } else {
            unknown += 1;
        }
    }
    if failed_init > 0 && policy == "Never" {
        return "Failed";
    }
    let initializing =
        pending_regular > 0 || (pending_sidecars > 0 && !any_regular_started(spec, apps));
    if initializing || waiting > 0 {
        return "Pending";
    }
    if running > 0 && unknown == 0 {
        return "Running";
    }
    if running == 0 && stopped > 0 && unknown == 0 {
        if terminal {
            return if stopped == succeeded {
                "Succeeded"
            } else {
                "Failed"
            };
        }
        return match policy {
            "Always" => "Running",
            _ if stopped == succeeded => "Succeeded",
            "Never" => "Failed",
            _ => "Running",
        };
    }
    "Pending"
}

fn list(names: &[String]) -> String {
    format!("[{}]", names.join(" "))
}

/// True when no container is listed, else False with `reason` and the generators' message
/// (`containers with unknown status: [a], containers with <what> status: [b c]`).
fn verdict(reason: &str, unknown: &[String], what: &str, bad: &[String]) -> Condition {
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!("containers with unknown status: {}", list(unknown)));
    }
    if !bad.is_empty() {
        messages.push(format!("containers with {what} status: {}", list(bad)));
    }
    if messages.is_empty() {
        Condition::yes()
    } else {
        Condition::no(reason, Some(messages.join(", ")))
    }
}

/// `GeneratePodInitializedCondition`.
fn initialized(spec: &Value, init: &[Value], apps: &[Value], phase: &str) -> Condition {
    let mut unknown = Vec::new();
    let mut incomplete = Vec::new();
    for c in containers(spec, "initContainers") {
        let Some(s) = status_of(init, &c) else {
            unknown.push(name(&c).to_owned());
            continue;
        };
        let done = if is_sidecar(&c) {
            flag(s, "started")
        } else {
            exit_code(s, "state") == Some(0)
        };
        if !done {
            incomplete.push(name(&c).to_owned());
        }
    }
    if phase == "Succeeded" && unknown.is_empty() {
        return Condition {
            status: true,
            reason: Some("PodCompleted".into()),
            message: None,
        };
    }
    if any_regular_started(spec, apps) {
        return Condition::yes();
    }
    verdict(
        "ContainersNotInitialized",
        &unknown,
        "incomplete",
        &incomplete,
    )
}

/// `GenerateContainersReadyCondition` (sidecars count); terminal phases say PodCompleted or
/// PodFailed.
fn containers_ready(spec: &Value, init: &[Value], apps: &[Value], phase: &str) -> Condition {
    match phase {
        "Succeeded" => return Condition::no("PodCompleted", None),
        "Failed" => return Condition::no("PodFailed", None),
        _ => {}
    }
    let mut unknown = Vec::new();
    let mut unready = Vec::new();
    let sidecars = containers(spec, "initContainers")
        .into_iter()
        .filter(is_sidecar)
        .map(|c| (c, init));
    let regular = containers(spec, "containers")
        .into_iter()
        .map(|c| (c, apps));
    for (c, statuses) in sidecars.chain(regular) {
        match status_of(statuses, &c) {
            None => unknown.push(name(&c).to_owned()),
            Some(s) if !flag(s, "ready") => unready.push(name(&c).to_owned()),
            Some(_) => {}
        }
    }
    verdict("ContainersNotReady", &unknown, "unready", &unready)
}

/// Initialized, Ready and ContainersReady for a pod in `phase` (Ready follows
/// ContainersReady: the sandbox knows no readiness gates).
pub fn conditions(
    spec: &Value,
    init: &[Value],
    apps: &[Value],
    phase: &str,
) -> Vec<(&'static str, Condition)> {
    let ready = containers_ready(spec, init, apps, phase);
    vec![
        ("Initialized", initialized(spec, init, apps, phase)),
        ("Ready", ready.clone()),
        ("ContainersReady", ready),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(init: Value, restart: &str) -> Value {
        json!({"restartPolicy": restart, "initContainers": init, "containers": [{"name": "app"}]})
    }

    fn waiting(name: &str, reason: &str) -> Value {
        json!({"name": name, "ready": false, "started": false, "state": {"waiting": {"reason": reason}}, "lastState": {}})
    }

    fn crashed(name: &str) -> Value {
        json!({"name": name, "ready": false, "started": false, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}})
    }

    fn done(name: &str) -> Value {
        json!({"name": name, "ready": true, "started": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}, "lastState": {}})
    }

    fn running(name: &str, ready: bool) -> Value {
        json!({"name": name, "ready": ready, "started": true, "state": {"running": {}}, "lastState": {}})
    }

    #[test]
    fn a_pod_initializing_is_pending_and_not_initialized() {
        let s = spec(json!([{"name": "migrate"}]), "Always");
        let app = [waiting("app", "PodInitializing")];
        for init in [
            running("migrate", false),
            crashed("migrate"),
            waiting("migrate", "ErrImagePull"),
        ] {
            assert_eq!(
                phase(&s, std::slice::from_ref(&init), &app, false),
                "Pending",
                "{init}"
            );
            let c = &conditions(&s, &[init], &app, "Pending")[0].1;
            assert_eq!(c.reason.as_deref(), Some("ContainersNotInitialized"));
            assert_eq!(
                c.message.as_deref(),
                Some("containers with incomplete status: [migrate]")
            );
        }
        let never = spec(json!([{"name": "migrate"}]), "Never");
        let failed =
            json!({"name": "migrate", "state": {"terminated": {"exitCode": 1}}, "lastState": {}});
        assert_eq!(
            phase(&never, std::slice::from_ref(&failed), &app, false),
            "Failed"
        );
        let ready = &conditions(&never, &[failed], &app, "Failed")[2].1;
        assert_eq!(ready.reason.as_deref(), Some("PodFailed"));
    }

    #[test]
    fn sidecars_count_for_readiness_and_initialization() {
        let s = spec(
            json!([{"name": "proxy", "restartPolicy": "Always"}]),
            "Always",
        );
        let starting = json!({"name": "proxy", "ready": false, "started": false, "state": {"running": {}}, "lastState": {}});
        let app = [waiting("app", "PodInitializing")];
        assert_eq!(
            phase(&s, std::slice::from_ref(&starting), &app, false),
            "Pending"
        );
        let init = [running("proxy", false)];
        let app = [running("app", true)];
        assert_eq!(phase(&s, &init, &app, false), "Running");
        let conds = conditions(&s, &init, &app, "Running");
        assert!(conds[0].1.status, "initialized once the sidecar started");
        assert_eq!(
            conds[2].1.message.as_deref(),
            Some("containers with unready status: [proxy]")
        );
        let all = conditions(&s, &[running("proxy", true)], &app, "Running");
        assert!(all[1].1.status && all[2].1.status);
    }

    #[test]
    fn app_container_states_give_the_phase() {
        let s = json!({"restartPolicy": "Always", "containers": [{"name": "app"}]});
        assert_eq!(
            phase(&s, &[], &[waiting("app", "ErrImagePull")], false),
            "Pending"
        );
        assert_eq!(phase(&s, &[], &[crashed("app")], false), "Running");
        assert_eq!(phase(&s, &[], &[running("app", false)], false), "Running");
        let gone =
            json!({"name": "app", "state": {"terminated": {"exitCode": 137}}, "lastState": {}});
        assert_eq!(phase(&s, &[], &[gone], true), "Failed");
        assert_eq!(phase(&s, &[], &[done("app")], true), "Succeeded");
        let job = json!({"restartPolicy": "Never", "containers": [{"name": "app"}]});
        assert_eq!(phase(&job, &[], &[done("app")], false), "Succeeded");
    }
}
