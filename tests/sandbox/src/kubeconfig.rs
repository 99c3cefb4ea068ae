//! The kubeconfig a sandbox writes: an admin and a viewer context (read-only, no Secrets) with
//! bearer tokens and the CA, named as the platform names them (`todo-sandbox` and
//! `todo-sandbox-viewer` by default; `kind-<cluster>`, `k3d-<cluster>`, minikube's profile,
//! `docker-desktop`, ...; or as the scenario renamed them), with minikube's `cluster_info` and
//! `context_info` extensions when it plays minikube. Written with mode 0600 (it holds tokens).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine;

use crate::platform::Topology;

/// A random bearer token (32 hex digits).
pub fn random_token() -> String {
    (0..32)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect()
}

/// minikube's extension block (`cluster_info` or `context_info`), indented for its entry.
fn minikube_extension(name: &str) -> String {
    let i = "    ";
    format!(
        "\n{i}extensions:\n{i}- extension:\n{i}    last-update: Tue, 10 Jun 2025 10:00:00 UTC\n{i}    provider: minikube.sigs.k8s.io\n{i}    version: v1.36.0\n{i}  name: {name}"
    )
}

/// The kubeconfig text for a server at `server`, with the topology's names.
pub fn kubeconfig_yaml(
    t: &Topology,
    server: &str,
    ca_pem: &str,
    admin: &str,
    viewer: &str,
) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let ext = |name: &str| {
        if t.minikube_extension {
            minikube_extension(name)
        } else {
            String::new()
        }
    };
    let (cluster, ctx, vctx, user, vuser) = (
        &t.kube_cluster,
        &t.context,
        &t.viewer_context,
        &t.admin_user,
        &t.viewer_user,
    );
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: {ctx}\npreferences: {{}}\nclusters:\n- name: {cluster}\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}{}\ncontexts:\n- name: {ctx}\n  context:\n    cluster: {cluster}\n    user: {user}\n    namespace: default{}\n- name: {vctx}\n  context:\n    cluster: {cluster}\n    user: {vuser}\n    namespace: default\nusers:\n- name: {user}\n  user:\n    token: {admin}\n- name: {vuser}\n  user:\n    token: {viewer}\n",
        ext("cluster_info"),
        ext("context_info")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn minikube_s_kubeconfig_has_its_two_extensions_and_kind_s_none() {
        let t = Topology::of(&Scenario::from_yaml("platform: {name: minikube}\n").unwrap());
        let text = kubeconfig_yaml(&t, "https://127.0.0.1:1", "ca", "a", "v");
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(doc["current-context"], "minikube");
        let ext = |path: &str| doc.pointer(path).cloned().unwrap_or_default();
        assert_eq!(ext("/clusters/0/cluster/extensions/0/name"), "cluster_info");
        assert_eq!(ext("/contexts/0/context/extensions/0/name"), "context_info");
        assert_eq!(
            ext("/contexts/0/context/extensions/0/extension/provider"),
            "minikube.sigs.k8s.io"
        );
        assert_eq!(ext("/contexts/1/name"), "minikube-viewer");
        let t =
            Topology::of(&Scenario::from_yaml("platform: {name: kind, cluster: dev}\n").unwrap());
        let text = kubeconfig_yaml(&t, "https://127.0.0.1:1", "ca", "a", "v");
        let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(doc["contexts"][0]["name"], "kind-dev");
        assert_eq!(doc["users"][0]["name"], "kind-dev");
        assert!(!text.contains("extensions"));
    }
}
