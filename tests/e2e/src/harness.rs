//! The test environment: a sandbox (or a real cluster), PATH with the built plugins and the
//! helm shim, and helpers to install the chart and run commands.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use todo_sandbox::{Faults, Sandbox, Scenario};

/// The demo secret values tests install (a reachable database in the default scenario).
pub const DEMO_DATABASE_URL: &str =
    "postgresql://todo:s3cr3t-Passw0rd@ep-demo-123456.us-east-2.aws.neon.tech/todo?sslmode=require";
/// A 48-character Better Auth secret.
pub const DEMO_AUTH_SECRET: &str = "k9Jx2LmQ8vR4tW7yZ1bN5cF3hD6gS0aP2eU9iO4uY7rT1wQe";
/// A fake OpenAI key.
pub const DEMO_OPENAI_KEY: &str = "sk-test-0123456789abcdefghijklmnopqrstuvwxyzABCD";

/// The outcome of a command.
#[derive(Debug, Clone)]
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Parse stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
    /// Panic with the output unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Run a command to completion, capturing its output.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("../.."))
}

/// The directory holding the built binaries (`target/debug`), found from the test binary.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TODO_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/deps/<test> → target/debug
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A test environment.
pub struct TestEnv {
    sandbox: Option<Sandbox>,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl TestEnv {
    /// Start a sandbox with `scenario_yaml` (empty for the defaults), or use the real cluster
    /// when `TODO_E2E_REAL_CLUSTER=1`.
    pub fn start(scenario_yaml: &str) -> TestEnv {
        Self::try_start(scenario_yaml)
            .unwrap_or_else(|e| panic!("cannot start the test environment: {e:#}"))
    }

    fn try_start(scenario_yaml: &str) -> anyhow::Result<TestEnv> {
        let dir = tempfile::Builder::new().prefix("todo-e2e-").tempdir()?;
        for name in kubectl_plugins() {
            let bin = bin_dir().join(name);
            if !bin.exists() {
                bail!(
                    "{} is not built; run `cargo build --workspace --bins` first",
                    bin.display()
                );
            }
        }
        if std::env::var("TODO_E2E_REAL_CLUSTER").as_deref() == Ok("1") {
            let kubeconfig = std::env::var("KUBECONFIG")
                .map(PathBuf::from)
                .unwrap_or_else(|_| dirs_home().join(".kube/config"));
            return Ok(TestEnv {
                sandbox: None,
                kubeconfig,
                dir,
            });
        }
        Self::on_sandbox(scenario_yaml, dir)
    }

    /// A sandbox with `scenario_yaml`, whatever `TODO_E2E_REAL_CLUSTER` says and without the
    /// plugins built: for the sandbox's own fidelity tests (tests/sandbox/tests).
    pub fn sandbox_only(scenario_yaml: &str) -> TestEnv {
        tempfile::Builder::new()
            .prefix("todo-e2e-")
            .tempdir()
            .map_err(anyhow::Error::from)
            .and_then(|dir| Self::on_sandbox(scenario_yaml, dir))
            .unwrap_or_else(|e| panic!("cannot start the sandbox: {e:#}"))
    }

    fn on_sandbox(scenario_yaml: &str, dir: tempfile::TempDir) -> anyhow::Result<TestEnv> {
        let scenario = Scenario::from_yaml(scenario_yaml).map_err(anyhow::Error::msg)?;
        let sandbox = Sandbox::spawn(scenario)?;
        let kubeconfig = sandbox.kubeconfig_path().to_path_buf();
        Ok(TestEnv {
            sandbox: Some(sandbox),
            kubeconfig,
            dir,
        })
    }

    /// The sandbox, or None on a real cluster (tests needing fault injection return early).
    pub fn sandbox(&self) -> Option<&Sandbox> {
        self.sandbox.as_ref()
    }

    /// Whether this runs on the sandbox.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// The kubeconfig in use.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A scratch directory removed with the environment.
    pub fn tmp(&self) -> &Path {
        self.dir.path()
    }

    /// PATH with the built plugins and the helm shim first.
    pub fn path_var(&self) -> String {
        let tools = repo_root().join("tests/tools");
        let mut parts = vec![bin_dir().display().to_string()];
        if which_helm().is_none() {
            parts.push(tools.display().to_string());
        }
        parts.push(std::env::var("PATH").unwrap_or_default());
        parts.join(":")
    }

    /// A command with the environment set (KUBECONFIG, PATH, NO_COLOR, working dir = repo).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .env("PATH", self.path_var())
            .env("NO_COLOR", "1")
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT")
            .current_dir(repo_root());
        cmd
    }

    /// The real kubectl, with the plugins on PATH.
    pub fn kubectl(&self) -> Command {
        self.command("kubectl")
    }

    /// A plugin binary, run directly.
    pub fn plugin(&self, name: &str) -> Command {
        self.command(bin_dir().join(name))
    }

    /// `helm`: the real binary when installed, else the helm-python-sdk shim.
    pub fn helm(&self) -> Command {
        match which_helm() {
            Some(h) => self.command(h),
            None => self.command(repo_root().join("tests/tools/helm")),
        }
    }

    /// Requests the sandbox served so far (0 on a real cluster).
    pub fn request_count(&self) -> u64 {
        self.sandbox.as_ref().map_or(0, Sandbox::request_count)
    }

    /// Replace the sandbox faults (no-op on a real cluster).
    pub fn set_faults(&self, faults: Faults) {
        if let Some(sb) = &self.sandbox {
            sb.set_faults(faults);
        }
    }

    /// The kubeconfig's admin context on the sandbox (`todo-sandbox` by default, else the
    /// scenario platform's name, e.g. `kind-dev`); None on a real cluster.
    pub fn context(&self) -> Option<String> {
        self.sandbox.as_ref().map(|sb| sb.context().to_owned())
    }

    /// The sandbox's read-only context (`todo-sandbox-viewer` by default); None on a real
    /// cluster.
    pub fn viewer_context(&self) -> Option<String> {
        self.sandbox
            .as_ref()
            .map(|sb| sb.viewer_context().to_owned())
    }

    /// Create a namespace (ignoring "already exists").
    pub fn create_namespace(&self, ns: &str) {
        let r = run(self.kubectl().args(["create", "namespace", ns]));
        assert!(
            r.code == 0
                || r.stderr.contains("AlreadyExists")
                || r.stderr.contains("already exists"),
            "create namespace {ns}: {}",
            r.stderr
        );
    }

    /// Create the demo Secret `<name>` in `ns` with the demo values (overridable).
    pub fn create_demo_secret(&self, ns: &str, name: &str, overrides: &[(&str, &str)]) {
        let mut values = vec![
            ("DATABASE_URL", DEMO_DATABASE_URL),
            ("BETTER_AUTH_SECRET", DEMO_AUTH_SECRET),
            ("OPENAI_API_KEY", DEMO_OPENAI_KEY),
        ];
        for (k, v) in overrides {
            values.retain(|(key, _)| key != k);
            if !v.is_empty() {
                values.push((k, v));
            }
        }
        let data: serde_json::Map<String, Value> = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        let secret = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": "Opaque", "stringData": data});
        let file = self.tmp().join(format!("secret-{ns}-{name}.json"));
        std::fs::write(&file, serde_json::to_vec(&secret).unwrap_or_default())
            .unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        run(self
            .kubectl()
            .args(["apply", "--server-side", "--force-conflicts", "-f"])
            .arg(&file))
        .expect_code(0);
    }

    /// Install `charts/todo-chatbot` as `release` in `ns` with demo secrets (mode
    /// existingSecret, Secret `<release>-demo-secrets`) plus `extra_values` (YAML), then wait
    /// until both Deployments are rolled out or `wait` elapses (no wait when zero).
    pub fn install_chart(
        &self,
        release: &str,
        ns: &str,
        extra_values: &str,
        wait: Duration,
    ) -> Run {
        self.create_namespace(ns);
        let secret = format!("{release}-demo-secrets");
        self.create_demo_secret(ns, &secret, &[]);
        let base = format!("secrets:\n  mode: existingSecret\n  existingSecret: {secret}\n");
        let base_file = self.tmp().join(format!("values-{release}-base.yaml"));
        let extra_file = self.tmp().join(format!("values-{release}-extra.yaml"));
        std::fs::write(&base_file, base).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&extra_file, extra_values).unwrap_or_else(|e| panic!("{e}"));
        let r = run(self
            .helm()
            .args(["install", release, "charts/todo-chatbot", "-n", ns, "-f"])
            .arg(&base_file)
            .arg("-f")
            .arg(&extra_file));
        if r.code == 0 && !wait.is_zero() {
            self.wait_rolled_out(ns, &format!("app.kubernetes.io/instance={release}"), wait);
        }
        r
    }

    /// Wait until every Deployment matching `selector` in `ns` is rolled out (kubectl's
    /// criteria), polling `kubectl get` — a test helper, not product code.
    pub fn wait_rolled_out(&self, ns: &str, selector: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            let r = run(self.kubectl().args([
                "get",
                "deployments",
                "-n",
                ns,
                "-l",
                selector,
                "-o",
                "json",
            ]));
            if r.code == 0 {
                let v: Value = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
                let items = v["items"].as_array().cloned().unwrap_or_default();
                let done = !items.is_empty()
                    && items.iter().all(|d| {
                        let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
                        d["status"]["observedGeneration"] == d["metadata"]["generation"]
                            && d["status"]["updatedReplicas"].as_i64().unwrap_or(0) == want
                            && d["status"]["availableReplicas"].as_i64().unwrap_or(0) == want
                            && d["status"]["replicas"].as_i64().unwrap_or(0) == want
                    });
                if done {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Write a file in the scratch dir and return its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.tmp().join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p
    }
}

/// The kubectl plugin binaries the suite needs.
pub fn kubectl_plugins() -> [&'static str; 4] {
    [
        "kubectl-todo",
        "kubectl-todo-verify",
        "kubectl-todo-scale",
        "kubectl-todo-preflight",
    ]
}

fn dirs_home() -> PathBuf {
    std::env::var("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/root"))
}

fn which_helm() -> Option<PathBuf> {
    if std::env::var("TODO_E2E_USE_SHIM").as_deref() == Ok("1") {
        return None;
    }
    let path = std::env::var("PATH").ok()?;
    path.split(':')
        .map(|d| Path::new(d).join("helm"))
        .find(|p| p.is_file() && !p.starts_with(repo_root()))
}

/// Read a JSON file (for fixtures).
pub fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}
