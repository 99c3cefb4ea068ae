//! Finding a release on the cluster: Helm's release Secrets (one list request).

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::ListParams;

use super::{Release, ReleaseError, pick};
use crate::cluster::{Action, Cluster, retry};

/// List the Helm release Secrets in the cluster's namespace (one request, retried on
/// 429/5xx) and [`pick`] the release `name`, or the only todo-chatbot release.
pub async fn find(cluster: &Cluster, name: Option<&str>) -> Result<Release, ReleaseError> {
    let ns = cluster.namespace.as_str();
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), ns);
    let selector = match name {
        Some(n) => format!("owner=helm,name={n}"),
        None => "owner=helm".to_owned(),
    };
    let lp = ListParams::default().labels(&selector);
    let list = retry(|| api.list(&lp))
        .await
        .map_err(|e| cluster.error(&Action::new("list", "secrets", Some(ns)), e))?;
    pick(&list.items, ns, name)
}
