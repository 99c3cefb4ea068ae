//! Finding a release on the cluster: Helm's release Secrets (one list request; when the
//! namespace has none, a search of the other namespaces the user may read).

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::ListParams;

use super::{Release, ReleaseError, pick, todo_releases_elsewhere};
use crate::cluster::{Action, Cluster, retry};

/// At most this many namespaces are searched one by one when the user may not list Secrets
/// across the cluster.
const MAX_NAMESPACES: usize = 100;

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
    match pick(&list.items, ns, name) {
        Err(ReleaseError::NotFound {
            namespace,
            name: wanted,
            candidates,
            ..
        }) => Err(ReleaseError::NotFound {
            elsewhere: elsewhere(cluster, name).await,
            namespace,
            name: wanted,
            candidates,
        }),
        other => other,
    }
}

/// todo-chatbot releases in the other namespaces the user may read: one cluster-wide list
/// of Helm's release Secrets, or, when that is refused, one list per namespace (at most
/// [`MAX_NAMESPACES`], 8 at a time), each refusal skipped. Only asked when the namespace
/// given has no release; whatever fails here leaves the list empty, never an error.
async fn elsewhere(cluster: &Cluster, name: Option<&str>) -> Vec<(String, String)> {
    let selector = match name {
        Some(n) => format!("owner=helm,name={n}"),
        None => "owner=helm".to_owned(),
    };
    let lp = ListParams::default().labels(&selector);
    let all: Api<Secret> = Api::all(cluster.client.clone());
    if let Ok(list) = all.list(&lp).await {
        return todo_releases_elsewhere(&list.items, &cluster.namespace, name);
    }
    let Ok(namespaces) = Api::<Namespace>::all(cluster.client.clone())
        .list(&ListParams::default())
        .await
    else {
        return Vec::new();
    };
    let names: Vec<String> = namespaces
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .filter(|n| *n != cluster.namespace)
        .take(MAX_NAMESPACES)
        .collect();
    let secrets: Vec<Secret> = futures::stream::iter(names)
        .map(|ns| {
            let api: Api<Secret> = Api::namespaced(cluster.client.clone(), &ns);
            let lp = lp.clone();
            async move { api.list(&lp).await.map(|l| l.items).unwrap_or_default() }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    todo_releases_elsewhere(&secrets, &cluster.namespace, name)
}
