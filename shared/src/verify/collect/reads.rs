//! Round trips 1 and 2: the server version and the release, then every other read at once.
//! The core reads stop verify when refused; the optional ones become an [`Unread`] the check
//! reports, and are made only when a selected check needs them ([`Selection::reads`]).

use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::version::Info;
use kube::Api;
use kube::api::{DynamicObject, ListParams};

use super::health::{HealthProbe, probe};
use super::{Result, SecretData, Target, Unread, sealed_secret_resource, secret_data, slim_pod};
use crate::chart::{self, Component, ObjectNames};
use crate::cluster::{Action, Cluster, list_all, list_slim, retry};
use crate::release::{self, Release, ReleaseError};
use crate::verify::registry::Read;
use crate::verify::{Selection, VerifyError};

/// `GET /version`: is the server there?
pub(super) async fn server_version(cluster: &Cluster) -> Result<Info> {
    retry(|| cluster.client.apiserver_version())
        .await
        .map_err(|e| VerifyError::from(cluster.error(&Action::new("get", "version", None), e)))
}

/// The release: its name and its record. With `--release`, a refused read of Helm's
/// Secrets is reported by the checks (verify goes on with the chart's naming contract);
/// without it, the release's Deployments name it by their labels (one more list), and only
/// when they name no single release does verify stop with [`ReleaseError::Unlisted`].
pub(super) async fn release(
    cluster: &Cluster,
    flag: Option<&str>,
) -> Result<(String, std::result::Result<Release, Unread>)> {
    match release::find(cluster, flag).await {
        Ok(r) => Ok((r.name.clone(), Ok(r))),
        Err(ReleaseError::Cluster(e)) if e.is_forbidden() => match flag {
            Some(name) => Ok((name.to_owned(), Err(Unread::from(e)))),
            None => {
                let ns = cluster.namespace.as_str();
                let lp = ListParams::default().labels(&format!(
                    "{}={}",
                    chart::LABEL_NAME,
                    chart::CHART_NAME
                ));
                let api = Api::<Deployment>::namespaced(cluster.client.clone(), ns);
                let unlisted = |source| ReleaseError::Unlisted {
                    namespace: ns.to_owned(),
                    source: Box::new(source),
                    helm_flags: cluster.helm_flags(),
                };
                let Ok(deployments) = retry(|| api.list(&lp)).await else {
                    return Err(unlisted(e).into());
                };
                let names = release::releases_of(&deployments.items);
                match release::choose(None, &names, ns) {
                    Ok(name) => Ok((name, Err(Unread::from(e)))),
                    Err(ReleaseError::NotFound { .. }) => Err(unlisted(e).into()),
                    Err(other) => Err(other.into()),
                }
            }
        },
        Err(e) => Err(VerifyError::from(e)),
    }
}

/// What verify cannot do without.
pub(super) struct Core {
    pub config_maps: Vec<ConfigMap>,
    pub deployments: Vec<Deployment>,
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
    pub endpoint_slices: Vec<EndpointSlice>,
}

/// Deployments, pods (one paged list by the release's label for every replica), Services,
/// their EndpointSlices and (when the wiring check runs) the ConfigMaps, concurrently.
pub(super) async fn core(cluster: &Cluster, target: &Target, sel: &Selection) -> Result<Core> {
    let ns = cluster.namespace.as_str();
    let client = &cluster.client;
    let lp = ListParams::default().labels(&chart::release_selector(&target.release_name));
    let refused = |resource: &'static str| {
        move |e: kube::Error| {
            VerifyError::from(cluster.error(&Action::new("list", resource, Some(ns)), e))
        }
    };
    let names = ObjectNames::new(target.fullname.clone());
    let service_names: Vec<String> = Component::ALL.iter().map(|c| names.workload(*c)).collect();
    let slices_lp = ListParams::default().labels(&format!(
        "{} in ({})",
        chart::LABEL_SERVICE_NAME,
        service_names.join(",")
    ));
    let (config_maps, deployments, pods, services, endpoint_slices) = futures::try_join!(
        async {
            if !sel.reads(Read::ConfigMaps) {
                return Ok(Vec::new());
            }
            list_all(
                &Api::<ConfigMap>::namespaced(client.clone(), ns),
                lp.clone(),
            )
            .await
            .map_err(refused("configmaps"))
        },
        async {
            list_all(
                &Api::<Deployment>::namespaced(client.clone(), ns),
                lp.clone(),
            )
            .await
            .map_err(refused("deployments"))
        },
        async {
            list_slim(
                &Api::<Pod>::namespaced(client.clone(), ns),
                lp.clone(),
                slim_pod,
            )
            .await
            .map_err(refused("pods"))
        },
        async {
            list_all(&Api::<Service>::namespaced(client.clone(), ns), lp.clone())
                .await
                .map_err(refused("services"))
        },
        async {
            list_all(
                &Api::<EndpointSlice>::namespaced(client.clone(), ns),
                slices_lp,
            )
            .await
            .map_err(refused("endpointslices"))
        },
    )?;
    Ok(Core {
        config_maps,
        deployments,
        pods,
        services,
        endpoint_slices,
    })
}

/// What the checks can live without; `None` where no selected check needs it.
pub(super) struct Optional {
    /// The nodes, slimmed to what platform detection and the image hints read; empty when
    /// the user may not list nodes.
    pub nodes: Vec<Node>,
    pub secret: Option<std::result::Result<Option<SecretData>, Unread>>,
    pub sealed: Option<std::result::Result<Option<DynamicObject>, Unread>>,
    pub events: Option<std::result::Result<Vec<Event>, Unread>>,
    pub health: Vec<HealthProbe>,
}

/// The Secret, the SealedSecret, Warning events and the health probes,
/// concurrently; a refusal is recorded, never an error.
pub(super) async fn optional(
    cluster: &Cluster,
    target: &Target,
    sel: &Selection,
    health_budget: Duration,
) -> Optional {
    let names = ObjectNames::new(target.fullname.clone());
    let health = join_all(
        Component::ALL
            .into_iter()
            .filter(|c| sel.reads(Read::Health(*c)))
            .map(|c| {
                probe(
                    cluster,
                    &cluster.namespace,
                    names.workload(c),
                    c,
                    health_budget,
                )
            }),
    );
    let (nodes, secret, sealed, events, health) = futures::join!(
        nodes(cluster),
        secret(cluster, target, sel),
        sealed(cluster, target, sel),
        events(cluster, sel),
        health
    );
    Optional {
        nodes,
        secret,
        sealed,
        events,
        health,
    }
}

/// The nodes: their labels and providerID tell the platform, their image lists whether an
/// image is there. Many users may not list nodes; that only makes the hints less precise.
async fn nodes(cluster: &Cluster) -> Vec<Node> {
    let api = Api::<Node>::all(cluster.client.clone());
    list_slim(&api, ListParams::default(), slim_node)
        .await
        .unwrap_or_else(|e| {
            tracing::debug!("nodes unreadable: {e}");
            Vec::new()
        })
}

/// Keep a node's name, labels, providerID and image names.
fn slim_node(node: &mut Node) {
    node.metadata.managed_fields = None;
    node.metadata.annotations = None;
    if let Some(spec) = node.spec.as_mut() {
        spec.taints = None;
        spec.pod_cidrs = None;
    }
    if let Some(st) = node.status.as_mut() {
        st.conditions = None;
        st.volumes_attached = None;
        st.volumes_in_use = None;
        st.addresses = None;
        st.node_info = None;
    }
}

async fn secret(
    cluster: &Cluster,
    target: &Target,
    sel: &Selection,
) -> Option<std::result::Result<Option<SecretData>, Unread>> {
    if !sel.reads(Read::Secret) {
        return None;
    }
    let ns = &cluster.namespace;
    let name = &target.secret_name;
    let api = Api::<Secret>::namespaced(cluster.client.clone(), ns);
    Some(match retry(|| api.get_opt(name)).await {
        Ok(s) => Ok(s.map(|s| secret_data(name, s))),
        Err(e) => Err(Unread::from(
            cluster.error(&Action::new("get", "secrets", Some(ns)).named(name), e),
        )),
    })
}

async fn sealed(
    cluster: &Cluster,
    target: &Target,
    sel: &Selection,
) -> Option<std::result::Result<Option<DynamicObject>, Unread>> {
    if !target.sealed_mode || !sel.reads(Read::SealedSecret) {
        return None;
    }
    let ns = &cluster.namespace;
    let name = &target.secret_name;
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client.clone(), ns, &sealed_secret_resource());
    Some(match retry(|| api.get_opt(name)).await {
        Ok(s) => Ok(s),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(Unread {
            message: "the SealedSecret resource type (bitnami.com/v1alpha1 sealedsecrets) is not installed".into(),
            hint: Some(crate::secrets::controller::INSTALL_HINT.into()),
            forbidden: false,
        }),
        Err(e) => Err(Unread::from(cluster.error(
            &Action::new("get", "sealedsecrets", Some(ns)).named(name),
            e,
        ))),
    })
}

async fn events(
    cluster: &Cluster,
    sel: &Selection,
) -> Option<std::result::Result<Vec<Event>, Unread>> {
    if !sel.reads(Read::Events) {
        return None;
    }
    let ns = &cluster.namespace;
    let api = Api::<Event>::namespaced(cluster.client.clone(), ns);
    let lp = ListParams::default().fields("type=Warning");
    Some(match list_all(&api, lp).await {
        Ok(mut evs) => {
            evs.retain(|e| e.type_.as_deref() == Some("Warning"));
            Ok(evs)
        }
        Err(e) => Err(Unread::from(
            cluster.error(&Action::new("list", "events", Some(ns)), e),
        )),
    })
}
