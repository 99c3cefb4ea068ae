//! Helpers the fidelity tests share: raw HTTP through curl, kubectl shorthands and polling.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // not every test uses every helper

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use todo_e2e::harness::{TestEnv, run};

/// Raw HTTP to the sandbox's API server through curl, as the admin unless a token is given.
pub struct Api<'a> {
    env: &'a TestEnv,
    ca: std::path::PathBuf,
}

impl<'a> Api<'a> {
    /// A client for `env`'s sandbox.
    pub fn new(env: &'a TestEnv) -> Self {
        let sb = env.sandbox().expect("a sandbox");
        let ca = env.write("ca.pem", sb.ca_pem());
        Api { env, ca }
    }

    /// One request; the status code and the body.
    pub fn curl(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> (u16, String) {
        let sb = self.env.sandbox().expect("a sandbox");
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
            "--cacert",
        ])
        .arg(&self.ca);
        cmd.arg("-H").arg(format!(
            "Authorization: Bearer {}",
            token.unwrap_or(sb.admin_token())
        ));
        if let Some(b) = body {
            cmd.arg("-H")
                .arg(format!("Content-Type: {content_type}"))
                .arg("--data-binary")
                .arg(b.to_string());
        }
        cmd.arg(format!("{}{path}", sb.server_url()));
        let r = run(&mut cmd);
        let (body, code) = r.stdout.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }

    /// A JSON request and its JSON answer (a string when it is not JSON).
    pub fn json(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.with_type(method, path, "application/json", body)
    }

    /// A request with a body of content type `ct`.
    pub fn with_type(
        &self,
        method: &str,
        path: &str,
        ct: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let (code, text) = self.curl(method, path, ct, body, None);
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// `kubectl apply -f` of `text` (written to `file`), which must succeed.
pub fn apply(env: &TestEnv, file: &str, text: &str) {
    let path = env.write(file, text);
    run(env.kubectl().args(["apply", "-f"]).arg(&path)).expect_code(0);
}

/// `kubectl get <what> -o json` in `default`: the items.
pub fn items(env: &TestEnv, what: &str, selector: Option<&str>) -> Vec<Value> {
    let mut cmd = env.kubectl();
    cmd.args(["get", what, "-n", "default", "-o", "json"]);
    if let Some(s) = selector {
        cmd.args(["-l", s]);
    }
    run(&mut cmd).expect_code(0).json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The pods in `default` (matching `selector`).
pub fn pods(env: &TestEnv, selector: Option<&str>) -> Vec<Value> {
    items(env, "pods", selector)
}

/// The pod `name` in `default`, if it exists.
pub fn pod(env: &TestEnv, name: &str) -> Option<Value> {
    pods(env, None)
        .into_iter()
        .find(|p| p["metadata"]["name"] == name)
}

/// The events in `default`.
pub fn events(env: &TestEnv) -> Vec<Value> {
    items(env, "events", None)
}

/// The events about object `name` with `reason`.
pub fn events_for(env: &TestEnv, name: &str, reason: &str) -> Vec<Value> {
    events(env)
        .into_iter()
        .filter(|e| e["involvedObject"]["name"] == name && e["reason"] == reason)
        .collect()
}

/// Poll `check` until it gives a value or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether the pod's Ready condition is True.
pub fn is_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// `kubectl --context CTX auth can-i ARGS...`: "yes" or "no".
pub fn can(env: &TestEnv, ctx: &str, args: &[&str]) -> String {
    run(env
        .kubectl()
        .args(["--context", ctx, "auth", "can-i"])
        .args(args))
    .stdout
    .trim()
    .to_owned()
}

/// The rows of `kubectl get pods` in `default` (the table kubectl prints), split in cells.
pub fn pod_rows(env: &TestEnv) -> Vec<Vec<String>> {
    let r = run(env
        .kubectl()
        .args(["get", "pods", "-n", "default", "--no-headers"]));
    r.stdout
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

/// The row of `kubectl get pods` for pod `name`, split in cells (empty when not listed).
pub fn pod_row(env: &TestEnv, name: &str) -> Vec<String> {
    pod_rows(env)
        .into_iter()
        .find(|cells| cells.first().map(String::as_str) == Some(name))
        .unwrap_or_default()
}

/// Wait until `kubectl get pods` shows `status` in pod `name`'s STATUS column.
pub fn wait_status(env: &TestEnv, name: &str, status: &str, timeout: Duration) -> Vec<String> {
    wait_for(timeout, || {
        let row = pod_row(env, name);
        (row.get(2).map(String::as_str) == Some(status)).then_some(row)
    })
    .unwrap_or_else(|| {
        panic!(
            "pod {name} never showed STATUS {status}: last row {:?}\n{:#?}",
            pod_row(env, name),
            pod(env, name).map(|p| p["status"].clone())
        )
    })
}
