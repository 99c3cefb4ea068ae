//! `--persist`: record the new replica counts in the Helm release with
//! `helm upgrade <release> <chart> -n <ns> --reuse-values --set <component>.replicaCount=N`,
//! so the next `helm upgrade` does not silently undo the scale.
//!
//! The upgrade re-renders every component, so before it runs each other component's live
//! count is compared with the count the release records ([`recorded_replicas`]); those that
//! differ ([`others_drifted`]) are kept live with a `--set` of their own ([`keep_args`])
//! unless `--reset-others` (or a "no" at the terminal) lets the upgrade reset them.

use std::path::{Path, PathBuf};

use super::ScaleError;
use crate::chart::Component;
use crate::cluster::KubeArgs;

use crate::chart::DEFAULT_CHART_DIR;
use crate::release::Release;

/// Another component of the release whose live replica count differs from the count the
/// release records: the `--persist` upgrade would set it back, unless kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherComponent {
    /// The component.
    pub component: Component,
    /// Its Deployment.
    pub deployment: String,
    /// `spec.replicas` live.
    pub live: i32,
    /// The count the release records (what the upgrade would set).
    pub release: i32,
    /// `true`: the upgrade sets the live count (`--set`); `false`: it resets to `release`.
    pub kept: bool,
}

/// The replica count the release records for `component`: the user's
/// `<component>.replicaCount`, else `spec.replicas` of the component's Deployment in the
/// rendered manifest. `None` when neither says (an HPA-managed Deployment has no count).
pub fn recorded_replicas(release: &Release, component: Component) -> Option<i32> {
    if let Some(n) = release
        .value(&component.replica_count_key())
        .and_then(serde_json::Value::as_i64)
    {
        return i32::try_from(n).ok();
    }
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&release.manifest)
        .map_err(|e| tracing::debug!("cannot read the release manifest: {e}"))
        .ok()?;
    docs.iter()
        .filter(|d| d["kind"] == "Deployment")
        .find(|d| d["metadata"]["labels"][crate::chart::LABEL_COMPONENT] == component.name())
        .and_then(|d| d["spec"]["replicas"].as_i64())
        .and_then(|n| i32::try_from(n).ok())
}

/// The components not being scaled whose live count (`live`: component, Deployment, count)
/// differs from what `recorded` says the release holds, each marked kept.
pub fn others_drifted(
    live: &[(Component, String, i32)],
    recorded: impl Fn(Component) -> Option<i32>,
    scaled: &[Component],
) -> Vec<OtherComponent> {
    live.iter()
        .filter(|(c, _, _)| !scaled.contains(c))
        .filter_map(|(c, name, n)| {
            let release = recorded(*c)?;
            (release != *n).then(|| OtherComponent {
                component: *c,
                deployment: name.clone(),
                live: *n,
                release,
                kept: true,
            })
        })
        .collect()
}

/// The `--set <component>.replicaCount=LIVE` arguments that keep the kept components live.
pub fn keep_args(others: &[OtherComponent]) -> Vec<String> {
    others
        .iter()
        .filter(|o| o.kept)
        .flat_map(|o| {
            [
                "--set".to_owned(),
                format!("{}={}", o.component.replica_count_key(), o.live),
            ]
        })
        .collect()
}

/// The line for one other component: what the upgrade does to it.
pub fn other_line(o: &OtherComponent) -> String {
    if o.kept {
        format!(
            "{}: live {} replicas, the release records {}: kept at {} (--set {}={})",
            o.component,
            o.live,
            o.release,
            o.live,
            o.component.replica_count_key(),
            o.live
        )
    } else {
        format!(
            "{}: live {} replicas, the release records {}: the upgrade resets it to {}",
            o.component, o.live, o.release, o.release
        )
    }
}

/// The helm binary: `$HELM_BIN` (set by Helm for its plugins, or by the user), else `helm`
/// on PATH.
pub fn find_helm() -> Result<PathBuf, ScaleError> {
    if let Some(bin) = std::env::var_os("HELM_BIN").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&bin);
        // HELM_BIN may be a bare name ("helm") to look up on PATH.
        return which::which(&path).map_err(|_| ScaleError::HelmNotFound {
            detail: format!("HELM_BIN={} is not an executable", path.display()),
        });
    }
    which::which("helm").map_err(|_| ScaleError::HelmNotFound {
        detail: "no `helm` on PATH and HELM_BIN is not set".into(),
    })
}

/// The chart reference for `helm upgrade`: `--chart`, else `$TODO_CHART`, else
/// `charts/todo-chatbot` when that directory exists here.
pub fn chart_ref(flag: Option<&str>, env: Option<&str>, cwd: &Path) -> Result<String, ScaleError> {
    if let Some(r) = flag.or(env).filter(|r| !r.is_empty()) {
        return Ok(r.to_owned());
    }
    if cwd.join(DEFAULT_CHART_DIR).join("Chart.yaml").is_file() {
        return Ok(DEFAULT_CHART_DIR.to_owned());
    }
    Err(ScaleError::NoChart)
}

/// The arguments of the `helm upgrade` call (without the program).
pub fn upgrade_args(
    release: &str,
    chart: &str,
    kube: &KubeArgs,
    namespace: &str,
    counts: &[(Component, i32)],
    dry_run: bool,
) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "upgrade".into(),
        release.into(),
        chart.into(),
        "-n".into(),
        namespace.into(),
        "--reuse-values".into(),
    ];
    if let Some(ctx) = &kube.context {
        args.extend(["--kube-context".into(), ctx.clone()]);
    }
    if let Some(cfg) = &kube.kubeconfig {
        args.extend(["--kubeconfig".into(), cfg.display().to_string()]);
    }
    for (component, n) in counts {
        args.extend([
            "--set".into(),
            format!("{}={n}", component.replica_count_key()),
        ]);
    }
    if dry_run {
        args.push("--dry-run".into());
    }
    args
}

/// Run `helm upgrade`; on failure return helm's own stderr (last lines) in the error.
pub async fn run_upgrade(helm: &Path, args: &[String]) -> Result<(), ScaleError> {
    let output = tokio::process::Command::new(helm)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| ScaleError::HelmFailed {
            command: command_line(helm, args),
            detail: e.to_string(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let detail = tail[tail.len().saturating_sub(5)..].join(" | ");
    Err(ScaleError::HelmFailed {
        command: command_line(helm, args),
        detail: format!("{} ({detail})", output.status),
    })
}

/// The command as a user would type it (for messages; the arguments hold no secrets).
pub fn command_line(helm: &Path, args: &[String]) -> String {
    let program = helm
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "helm".into());
    std::iter::once(program)
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_args_reuse_values_and_set_each_component() {
        let kube = KubeArgs {
            context: Some("dev".into()),
            ..Default::default()
        };
        let args = upgrade_args(
            "todo",
            "charts/todo-chatbot",
            &kube,
            "todo",
            &[(Component::Frontend, 2), (Component::Backend, 3)],
            false,
        );
        assert_eq!(
            args.join(" "),
            "upgrade todo charts/todo-chatbot -n todo --reuse-values --kube-context dev --set frontend.replicaCount=2 --set backend.replicaCount=3"
        );
    }

    #[test]
    fn chart_ref_prefers_flag_then_env_then_local_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            chart_ref(Some("oci://x/todo"), Some("env"), dir.path()).unwrap(),
            "oci://x/todo"
        );
        assert_eq!(
            chart_ref(None, Some("env-chart"), dir.path()).unwrap(),
            "env-chart"
        );
        assert!(matches!(
            chart_ref(None, None, dir.path()),
            Err(ScaleError::NoChart)
        ));
        std::fs::create_dir_all(dir.path().join(DEFAULT_CHART_DIR)).unwrap();
        std::fs::write(
            dir.path().join(DEFAULT_CHART_DIR).join("Chart.yaml"),
            "name: todo-chatbot\n",
        )
        .unwrap();
        assert_eq!(
            chart_ref(None, None, dir.path()).unwrap(),
            DEFAULT_CHART_DIR
        );
    }

    #[test]
    fn others_that_drifted_are_listed_and_kept_with_their_own_set() {
        let live = vec![
            (Component::Backend, "b".to_owned(), 2),
            (Component::Frontend, "f".to_owned(), 3),
        ];
        let others = others_drifted(&live, |_| Some(1), &[Component::Backend]);
        assert_eq!(
            others,
            vec![OtherComponent {
                component: Component::Frontend,
                deployment: "f".into(),
                live: 3,
                release: 1,
                kept: true,
            }]
        );
        assert_eq!(keep_args(&others), ["--set", "frontend.replicaCount=3"]);
        assert!(other_line(&others[0]).contains("kept at 3"));
        let reset = vec![OtherComponent {
            kept: false,
            ..others[0].clone()
        }];
        assert!(keep_args(&reset).is_empty());
        assert!(other_line(&reset[0]).contains("resets it to 1"));
        // In step with the release, or unknown (HPA): nothing to say.
        assert!(others_drifted(&live, |_| Some(3), &[Component::Backend]).is_empty());
        assert!(others_drifted(&live, |_| None, &[Component::Backend]).is_empty());
        // Every component scaled: no others.
        assert!(others_drifted(&live, |_| Some(1), &Component::ALL).is_empty());
    }

    #[test]
    fn the_recorded_count_is_the_users_value_else_the_manifest() {
        let manifest = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: f\n  labels:\n    app.kubernetes.io/component: frontend\nspec:\n  replicas: 4\n";
        let mut release = Release {
            name: "todo".into(),
            namespace: "todo".into(),
            revision: 1,
            status: "deployed".into(),
            description: String::new(),
            chart_name: "todo-chatbot".into(),
            chart_version: "0.1.0".into(),
            app_version: String::new(),
            config: serde_json::json!({"backend": {"replicaCount": 2}}),
            manifest: manifest.into(),
        };
        assert_eq!(recorded_replicas(&release, Component::Backend), Some(2));
        assert_eq!(recorded_replicas(&release, Component::Frontend), Some(4));
        release.manifest = "not: [yaml".into();
        assert_eq!(recorded_replicas(&release, Component::Frontend), None);
    }

    #[test]
    fn command_line_shows_program_name_only() {
        let line = command_line(
            Path::new("/usr/local/bin/helm"),
            &["upgrade".into(), "todo".into()],
        );
        assert_eq!(line, "helm upgrade todo");
    }
}
