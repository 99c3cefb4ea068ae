//! `--persist`: record the new replica counts in the Helm release with
//! `helm upgrade <release> <chart> -n <ns> --reuse-values --set <component>.replicaCount=N`,
//! so the next `helm upgrade` does not silently undo the scale.

use std::path::{Path, PathBuf};

use super::ScaleError;
use crate::chart::Component;
use crate::cluster::KubeArgs;

use crate::chart::DEFAULT_CHART_DIR;

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
    fn command_line_shows_program_name_only() {
        let line = command_line(
            Path::new("/usr/local/bin/helm"),
            &["upgrade".into(), "todo".into()],
        );
        assert_eq!(line, "helm upgrade todo");
    }
}
