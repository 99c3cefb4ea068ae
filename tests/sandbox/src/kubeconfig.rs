//! The kubeconfig a sandbox writes: contexts `todo-sandbox` (admin) and
//! `todo-sandbox-viewer` (read-only, no Secrets), bearer tokens, the CA, and minikube's
//! context extension when the scenario asks for it. Written with mode 0600 (it holds tokens).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine;

/// A random bearer token (32 hex digits).
pub fn random_token() -> String {
    (0..32)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect()
}

/// The kubeconfig text for a server at `server`.
pub fn kubeconfig_yaml(
    server: &str,
    ca_pem: &str,
    admin: &str,
    viewer: &str,
    minikube: bool,
) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let ext = |indent: &str| {
        if minikube {
            format!(
                "\n{indent}extensions:\n{indent}- name: context_info\n{indent}  extension:\n{indent}    provider: minikube.sigs.k8s.io\n{indent}    version: v1.36.0"
            )
        } else {
            String::new()
        }
    };
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: todo-sandbox\npreferences: {{}}\nclusters:\n- name: todo-sandbox\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}{}\ncontexts:\n- name: todo-sandbox\n  context:\n    cluster: todo-sandbox\n    user: todo-sandbox-admin\n    namespace: default{}\n- name: todo-sandbox-viewer\n  context:\n    cluster: todo-sandbox\n    user: todo-sandbox-viewer\n    namespace: default\nusers:\n- name: todo-sandbox-admin\n  user:\n    token: {admin}\n- name: todo-sandbox-viewer\n  user:\n    token: {viewer}\n",
        ext("    "),
        ext("    ")
    )
}

/// Write `text` to `path` with mode 0600 (it holds bearer tokens).
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
