//! The one round of reads preflight makes, all at once: the server version, the namespace,
//! the release's Helm records, the nodes, the cluster's non-terminated pods and Services, the
//! sealed-secrets API and controller (sealed mode) or the existing Secret, the metrics API
//! (with autoscaling), and one SelfSubjectAccessReview per kind the chart renders. The number
//! of requests depends on the values' features, never on replicas or on the cluster's size
//! (lists are paged by the client, not multiplied).
//!
//! Only the version read stops preflight (nothing can be said of a cluster that does not
//! answer); every other refusal becomes an [`Unread`] its check reports.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Secret, Service};
use k8s_openapi::apimachinery::pkg::version::Info;
use kube::Api;
use kube::api::{ListParams, PostParams};
use kube::core::PartialObjectMeta;

use super::plan::{Kind, Plan, SecretsPlan};
use crate::cluster::{Action, Cluster, ClusterError, list_all, retry};
use crate::secrets::controller::{Controller, ControllerError};
use crate::verify::collect::{SecretData, Unread, secret_data};

/// A read's outcome for a check.
pub type Read<T> = Result<T, Unread>;

/// The Helm release records of the release name, as far as their labels tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseState {
    /// The latest revision and its status (`deployed`, `failed`, `pending-upgrade`, ...).
    pub latest: Option<(u32, String)>,
    /// The chart of the deployed revision, `name-version` (from its record).
    pub deployed_chart: Option<String>,
}

/// What asking the controller for its certificate gave.
#[derive(Debug)]
pub enum CertificateRead {
    /// The fingerprint of the certificate it serves (the one it seals with).
    Served(String),
    /// Its Service does not exist: the controller is not installed there.
    NoService,
    /// The API server refused or failed the read (a 403 on the Service or its proxy).
    Unread(Unread),
    /// The controller did not serve a usable certificate: why, on one line.
    Failed(String),
}

/// What the sealed-secrets side looks like (sealed mode only).
#[derive(Debug)]
pub struct SealedSide {
    /// The API serves `sealedsecrets.bitnami.com` (the CRD is installed).
    pub api: Read<bool>,
    /// The controller's certificate (reading it reads its Service first, for the port).
    pub certificate: CertificateRead,
}

/// One SelfSubjectAccessReview.
#[derive(Debug, Clone)]
pub struct Access {
    /// What was asked.
    pub kind: Kind,
    /// The verb asked about.
    pub verb: &'static str,
    /// Allowed (with the reason the API gave when not).
    pub allowed: Read<(bool, String)>,
}

/// Everything read.
#[derive(Debug)]
pub struct Observed {
    /// `GET /version`.
    pub version: Info,
    /// The target namespace (`None`: it does not exist).
    pub namespace: Read<Option<Namespace>>,
    /// The release's records.
    pub release: Read<ReleaseState>,
    /// The nodes.
    pub nodes: Read<Vec<Node>>,
    /// Every non-terminated pod of the cluster (requests and node placement).
    pub pods: Read<Vec<Pod>>,
    /// Every Service of the cluster (NodePorts in use).
    pub services: Read<Vec<Service>>,
    /// Sealed mode: the controller.
    pub sealed: Option<SealedSide>,
    /// existingSecret mode: the Secret (`None`: not found), its values held as secrets.
    pub existing: Option<Read<Option<SecretData>>>,
    /// With autoscaling: whether the metrics API (`metrics.k8s.io`) is served.
    pub metrics_api: Option<Read<bool>>,
    /// RBAC answers, one per kind.
    pub access: Vec<Access>,
}

fn unread(cluster: &Cluster, verb: &str, what: &str, ns: Option<&str>, e: kube::Error) -> Unread {
    Unread::from(cluster.error(&Action::new(verb, what, ns), e))
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// Whether the API serves `resource` in `group_version` (discovery; 404: no).
async fn serves(cluster: &Cluster, group_version: &str, resource: &str) -> Read<bool> {
    match retry(|| cluster.client.list_api_group_resources(group_version)).await {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == resource)),
        Err(e) if not_found(&e) => Ok(false),
        Err(e) => Err(unread(cluster, "get", group_version, None, e)),
    }
}

async fn release_state(cluster: &Cluster, release: &str) -> Read<ReleaseState> {
    let ns = cluster.namespace.as_str();
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), ns);
    let all = ListParams::default().labels(&format!("owner=helm,name={release}"));
    let deployed =
        ListParams::default().labels(&format!("owner=helm,name={release},status=deployed"));
    let (metas, deployed) = futures::join!(
        retry(|| api.list_metadata(&all)),
        retry(|| api.list(&deployed))
    );
    let metas = metas.map_err(|e| unread(cluster, "list", "secrets", Some(ns), e))?;
    let label = |m: &PartialObjectMeta<Secret>, k: &str| {
        m.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(k))
            .cloned()
            .unwrap_or_default()
    };
    let latest = metas
        .items
        .iter()
        .filter_map(|m| {
            let rev: u32 = label(m, "version").parse().ok()?;
            Some((rev, label(m, "status")))
        })
        .max_by_key(|(rev, _)| *rev);
    // The chart of the deployed revision: a refused or undecodable record only loses this.
    let deployed_chart = deployed.ok().and_then(|list| {
        let secret = list.items.into_iter().next()?;
        let rel = crate::release::decode(&secret).ok()?;
        Some(format!("{}-{}", rel.chart_name, rel.chart_version))
    });
    Ok(ReleaseState {
        latest,
        deployed_chart,
    })
}

async fn sealed_side(cluster: &Cluster, controller: &Controller) -> SealedSide {
    let (api, pem) = futures::join!(
        serves(cluster, "bitnami.com/v1alpha1", "sealedsecrets"),
        controller.certificate_pem(cluster)
    );
    let certificate = match pem {
        Ok(pem) => match crate::seal::Certificate::from_pem(pem.as_bytes()) {
            Ok(c) => CertificateRead::Served(c.fingerprint()),
            Err(e) => CertificateRead::Failed(format!("its certificate is unusable: {e}")),
        },
        Err(ControllerError::ServiceNotFound { .. }) => CertificateRead::NoService,
        Err(ControllerError::Cluster(e)) => CertificateRead::Unread(Unread::from(e)),
        Err(e) => CertificateRead::Failed(e.to_string()),
    };
    SealedSide { api, certificate }
}

async fn existing_secret(cluster: &Cluster, name: &str) -> Read<Option<SecretData>> {
    let ns = cluster.namespace.as_str();
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), ns);
    match retry(|| api.get_opt(name)).await {
        Ok(found) => Ok(found.map(|s| secret_data(name, s))),
        Err(e) => Err(unread(cluster, "get", "secrets", Some(ns), e)),
    }
}

/// The verbs `helm install` (create everything) or `helm upgrade` (patch what exists, create
/// a new release record) needs, one per kind.
pub fn verbs(plan: &Plan, upgrade: bool, create_namespace: bool) -> Vec<(Kind, &'static str)> {
    let mut out: Vec<(Kind, &'static str)> = plan
        .kinds
        .iter()
        .map(|k| {
            let verb = if upgrade && k.resource != "secrets" {
                "patch"
            } else {
                "create"
            };
            (*k, verb)
        })
        .collect();
    if create_namespace {
        out.push((
            Kind {
                group: "",
                resource: "namespaces",
            },
            "create",
        ));
    }
    out
}

async fn review(cluster: &Cluster, kind: Kind, verb: &'static str) -> Access {
    let namespaced = kind.resource != "namespaces";
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some(kind.group.to_owned()),
                resource: Some(kind.resource.to_owned()),
                verb: Some(verb.to_owned()),
                namespace: namespaced.then(|| cluster.namespace.clone()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(cluster.client.clone());
    let pp = PostParams::default();
    let allowed = retry(|| api.create(&pp, &review))
        .await
        .map(|r| {
            let status = r.status.unwrap_or_default();
            (status.allowed, status.reason.unwrap_or_default())
        })
        .map_err(|e| unread(cluster, "create", "selfsubjectaccessreviews", None, e));
    Access {
        kind,
        verb,
        allowed,
    }
}

/// One paged list of `K` across the cluster (every namespace for namespaced kinds).
async fn list_cluster<K>(cluster: &Cluster, what: &str, lp: ListParams) -> Read<Vec<K>>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::all(cluster.client.clone());
    list_all(&api, lp)
        .await
        .map_err(|e| unread(cluster, "list", what, None, e))
}

/// Make every read at once. An error only when the API server does not answer `/version`.
pub async fn observe(
    cluster: &Cluster,
    plan: &Plan,
    controller: &Controller,
) -> Result<Observed, ClusterError> {
    let ns = cluster.namespace.as_str();
    let version = async {
        retry(|| cluster.client.apiserver_version())
            .await
            .map_err(|e| cluster.error(&Action::new("get", "version", None), e))
    };
    let namespace = async {
        let api: Api<Namespace> = Api::all(cluster.client.clone());
        retry(|| api.get_opt(ns))
            .await
            .map_err(|e| unread(cluster, "get", "namespaces", None, e))
    };
    let running = ListParams::default().fields("status.phase!=Succeeded,status.phase!=Failed");
    let nodes = list_cluster::<Node>(cluster, "nodes", ListParams::default());
    let pods = list_cluster::<Pod>(cluster, "pods", running);
    let services = list_cluster::<Service>(cluster, "services", ListParams::default());
    let sealed = async {
        match plan.secrets {
            SecretsPlan::Sealed(_) => Some(sealed_side(cluster, controller).await),
            _ => None,
        }
    };
    let existing = async {
        match &plan.secrets {
            SecretsPlan::Existing { name } if !name.is_empty() => {
                Some(existing_secret(cluster, name).await)
            }
            _ => None,
        }
    };
    let metrics = async {
        if plan.components.iter().any(|c| c.autoscaling.is_some()) {
            Some(serves(cluster, "metrics.k8s.io/v1beta1", "pods").await)
        } else {
            None
        }
    };
    // The RBAC questions depend on whether the release and namespace exist; asking for both
    // verbs up front keeps this one round (the check reads the one that applies).
    let questions: Vec<(Kind, &'static str)> = {
        let mut q = verbs(plan, false, true);
        for (k, v) in verbs(plan, true, false) {
            if !q.contains(&(k, v)) {
                q.push((k, v));
            }
        }
        q
    };
    let access =
        futures::future::join_all(questions.into_iter().map(|(k, v)| review(cluster, k, v)));
    let (version, namespace, release, nodes, pods, services, sealed, existing, metrics, access) = tokio::join!(
        version,
        namespace,
        release_state(cluster, &plan.release),
        nodes,
        pods,
        services,
        sealed,
        existing,
        metrics,
        access
    );
    Ok(Observed {
        version: version?,
        namespace,
        release,
        nodes,
        pods,
        services,
        sealed,
        existing,
        metrics_api: metrics,
        access,
    })
}
