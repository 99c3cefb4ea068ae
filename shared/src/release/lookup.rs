//! Finding a release on the cluster: Helm's release Secrets (one list request; when the
//! namespace has none, a search of the other namespaces the user may read).

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::ListParams;

use super::{Release, ReleaseError, pick, releases_elsewhere};
use crate::chart;
use crate::cluster::{Action, Cluster, list_slim, retry};

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
    let picked = match pick(&list.items, ns, name) {
        Err(ReleaseError::NotFound {
            namespace,
            name: wanted,
            candidates,
            flags,
            ..
        }) => Err(ReleaseError::NotFound {
            elsewhere: elsewhere(cluster, name).await,
            namespace,
            name: wanted,
            candidates,
            flags,
        }),
        other => other,
    };
    picked.map_err(|e| e.for_user(cluster))
}

/// todo-chatbot releases in the other namespaces the user may read, from their
/// Deployments' labels (small objects, paged, slimmed to their metadata as each page
/// arrives; Helm's release Secrets can be a megabyte each): one cluster-wide list or, when
/// that is refused, one list per namespace (at most [`MAX_NAMESPACES`], 8 at a time), each
/// refusal skipped. Only asked when the namespace given has no release; whatever fails here
/// leaves the list empty, never an error.
async fn elsewhere(cluster: &Cluster, name: Option<&str>) -> Vec<(String, String)> {
    let mut selector = format!("{}={}", chart::LABEL_NAME, chart::CHART_NAME);
    if let Some(n) = name {
        selector.push_str(&format!(",{}={n}", chart::LABEL_INSTANCE));
    }
    let lp = ListParams::default().labels(&selector);
    let metadata_only = |d: &mut Deployment| {
        d.spec = None;
        d.status = None;
        d.metadata.managed_fields = None;
        d.metadata.annotations = None;
    };
    let all: Api<Deployment> = Api::all(cluster.client.clone());
    if let Ok(found) = list_slim(&all, lp.clone(), metadata_only).await {
        return releases_elsewhere(&found, &cluster.namespace, name);
    }
    let Ok(namespaces) = Api::<Namespace>::all(cluster.client.clone())
        .list(&ListParams::default().limit(MAX_NAMESPACES as u32 + 1))
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
    let found: Vec<Deployment> = futures::stream::iter(names)
        .map(|ns| {
            let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
            let lp = lp.clone();
            async move { list_slim(&api, lp, metadata_only).await.unwrap_or_default() }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    releases_elsewhere(&found, &cluster.namespace, name)
}
