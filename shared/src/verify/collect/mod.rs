//! Every API read verify makes, gathered into a [`Snapshot`] the pure checks work on.
//!
//! Round trips: (1) server version and the Helm release, concurrently; (2) everything else
//! concurrently: Deployments, pods (one list by label selector for the whole release, paged),
//! Services, EndpointSlices, ConfigMaps, the Secret, the SealedSecret, Warning events and the
//! two health probes; (3) only when something is broken: the log tails that explain it. The
//! number of requests does not depend on the number of replicas.
//!
//! Reads the checks can live without (Secret, SealedSecret, events, health) never stop the
//! run: a refusal becomes an [`Unread`] the check reports. Reads verify cannot do without
//! (Deployments, pods, Services) stop it with a [`ClusterError`].

mod health;
pub mod logs;
mod reads;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use secrecy::SecretString;

pub use health::{HealthOutcome, HealthProbe};

use super::{ReleaseInfo, Selection, VerifyError, VerifyOptions};
use crate::chart::{self, Component, ObjectNames};
use crate::cluster::{Cluster, ClusterError};
use crate::error::UserError;
use crate::platform::Platform;
use crate::release::Release;

type Result<T, E = VerifyError> = std::result::Result<T, E>;

/// A read that did not succeed, for a check to report (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// One line: why.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
    /// The API server refused it (403).
    pub forbidden: bool,
}

impl From<ClusterError> for Unread {
    fn from(e: ClusterError) -> Self {
        Unread {
            forbidden: e.is_forbidden(),
            hint: e.hint(),
            message: e.to_string(),
        }
    }
}

/// The Secret's values, held as secrets from the moment they are read.
#[derive(Debug)]
pub struct SecretData {
    /// The Secret name.
    pub name: String,
    /// KEY → value.
    pub values: BTreeMap<String, SecretString>,
}

/// Everything the checks look at.
#[derive(Debug)]
pub struct Snapshot {
    /// Kubeconfig context.
    pub context: String,
    /// Namespace.
    pub namespace: String,
    /// API server URL.
    pub server: String,
    /// `--kubeconfig`/`--context` as the user gave them, for the kubectl commands of hints
    /// (empty or starting with a space; `-n` is written by each hint).
    pub kubectl_flags: String,
    /// The same for Helm commands (`--kubeconfig`/`--kube-context`).
    pub helm_flags: String,
    /// The platform (minikube, kind, k3d, ...), from the nodes when they say, else from the
    /// kubeconfig.
    pub platform: Platform,
    /// Each schedulable node's allocatable CPU and memory (empty when nodes are unreadable).
    pub allocatable: Vec<crate::quantity::Resources>,
    /// Every image reference the nodes hold (`node.status.images[].names`).
    pub node_images: Vec<String>,
    /// The server's git version, e.g. v1.33.1.
    pub server_version: String,
    /// The release name.
    pub release_name: String,
    /// The release record, or why it could not be read (then the name came from `--release`
    /// or the Deployments' labels).
    pub release: Result<Release, Unread>,
    /// The chart's full name for this release.
    pub fullname: String,
    /// The release's Deployments.
    pub deployments: Vec<Deployment>,
    /// The release's pods.
    pub pods: Vec<Pod>,
    /// The release's Services.
    pub services: Vec<Service>,
    /// EndpointSlices of the release's Services.
    pub endpoint_slices: Vec<EndpointSlice>,
    /// The release's ConfigMaps.
    pub config_maps: Vec<ConfigMap>,
    /// The name of the Secret the pods read.
    pub secret_name: String,
    /// The Secret (`Ok(None)`: absent); `None` when not read.
    pub secret: Option<Result<Option<SecretData>, Unread>>,
    /// The SealedSecret (`Ok(None)`: absent); `None` when not in sealed mode or not read.
    pub sealed: Option<Result<Option<DynamicObject>, Unread>>,
    /// Warning events in the namespace; `None` when not read.
    pub events: Option<Result<Vec<Event>, Unread>>,
    /// Health probes, one per component (when selected).
    pub health: Vec<HealthProbe>,
    /// Redacted log tails by (pod, container), for crashing containers.
    pub logs: BTreeMap<(String, String), Vec<String>>,
    /// When the snapshot was taken.
    pub now: Timestamp,
}

impl Snapshot {
    /// The release as the report shows it.
    pub fn release_info(&self) -> ReleaseInfo {
        match &self.release {
            Ok(r) => ReleaseInfo {
                name: r.name.clone(),
                revision: Some(r.revision),
                status: Some(r.status.clone()),
                chart: Some(r.chart_name.clone()),
                chart_version: Some(r.chart_version.clone()),
                app_version: Some(r.app_version.clone()).filter(|v| !v.is_empty()),
            },
            Err(_) => ReleaseInfo {
                name: self.release_name.clone(),
                revision: None,
                status: None,
                chart: None,
                chart_version: None,
                app_version: None,
            },
        }
    }

    /// The names of the release's objects.
    pub fn names(&self) -> ObjectNames {
        ObjectNames::new(self.fullname.clone())
    }

    /// The Deployment of a component.
    pub fn deployment(&self, c: Component) -> Option<&Deployment> {
        let name = self.names().workload(c);
        self.deployments
            .iter()
            .find(|d| d.metadata.name.as_deref() == Some(name.as_str()))
    }

    /// The Service of a component.
    pub fn service(&self, c: Component) -> Option<&Service> {
        let name = self.names().workload(c);
        self.services
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(name.as_str()))
    }

    /// The `helm upgrade` that re-renders the release with its own values (plus `extra`
    /// arguments), with the user's namespace and connection flags.
    pub fn helm_upgrade(&self, extra: &str) -> String {
        chart::upgrade_command(&self.release_name, &self.namespace, &self.helm_flags, extra)
    }

    /// The pods of a component (by the component label).
    pub fn pods_of(&self, c: Component) -> Vec<&Pod> {
        self.pods
            .iter()
            .filter(|p| crate::pod::component(p) == Some(c))
            .collect()
    }

    /// `secrets.mode`, when the release record was readable.
    pub fn secrets_mode(&self) -> Option<chart::SecretsMode> {
        self.release.as_ref().ok().and_then(|r| r.secrets_mode())
    }
}

/// The SealedSecret resource (bitnami.com/v1alpha1).
pub fn sealed_secret_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bitnami.com", "v1alpha1", "SealedSecret"),
        "sealedsecrets",
    )
}

/// Read everything. See the module docs for the round trips.
pub async fn collect(cluster: &Cluster, opts: &VerifyOptions, sel: &Selection) -> Result<Snapshot> {
    // Round trip 1: is the server there, and which release?
    let (version, (release_name, release)) = futures::try_join!(
        reads::server_version(cluster),
        reads::release(cluster, opts.release.as_deref())
    )?;
    let target = Target::new(&release, &release_name);
    // Round trip 2: everything else, concurrently.
    let (core, optional) = futures::try_join!(reads::core(cluster, &target, sel), async {
        Ok(reads::optional(cluster, &target, sel, opts.health_budget).await)
    })?;
    let mut snap = Snapshot {
        context: cluster.context.clone(),
        namespace: cluster.namespace.clone(),
        server: cluster.server.clone(),
        kubectl_flags: cluster.context_flags(),
        helm_flags: cluster.helm_flags(),
        platform: Platform::detect(&cluster.facts, &optional.nodes),
        allocatable: crate::quantity::node_rooms(&optional.nodes, &[])
            .into_iter()
            .map(|r| r.allocatable)
            .collect(),
        node_images: crate::image::held_by(&optional.nodes),
        server_version: version.git_version,
        release_name: target.release_name,
        release,
        fullname: target.fullname,
        deployments: core.deployments,
        pods: core.pods,
        services: core.services,
        endpoint_slices: core.endpoint_slices,
        config_maps: core.config_maps,
        secret_name: target.secret_name,
        secret: optional.secret,
        sealed: optional.sealed,
        events: optional.events,
        health: optional.health,
        logs: BTreeMap::new(),
        now: Timestamp::now(),
    };
    // Round trip 3, only when broken: the log tails that explain it.
    logs::read(cluster, &mut snap).await;
    if snap.release.is_err() {
        logs::reconcile_secret_name(&mut snap);
    }
    Ok(snap)
}

/// What round trip 1 decided: the names round trip 2 reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    release_name: String,
    fullname: String,
    secret_name: String,
    sealed_mode: bool,
}

impl Target {
    /// From the release record or, when it was unreadable, from the release's name (given
    /// with `--release` or read off its Deployments) and the chart's naming contract.
    fn new(release: &Result<Release, Unread>, name: &str) -> Self {
        match release {
            Ok(r) => Target {
                release_name: r.name.clone(),
                fullname: r.fullname(),
                secret_name: r.secret_name(),
                sealed_mode: r.secrets_mode() == Some(chart::SecretsMode::Sealed),
            },
            Err(_) => {
                let release_name = name.to_owned();
                let fullname = chart::fullname(&release_name, None);
                Target {
                    secret_name: ObjectNames::new(fullname.clone()).default_secret(),
                    release_name,
                    fullname,
                    sealed_mode: false,
                }
            }
        }
    }
}

/// Keep only what the checks and the diagnosis read of a pod: name, labels, deletion, the
/// containers' names and images, and the status. A release can have 1,000 pods.
pub fn slim_pod(pod: &mut Pod) {
    let m = &mut pod.metadata;
    m.managed_fields = None;
    m.annotations = None;
    m.owner_references = None;
    if let Some(spec) = pod.spec.as_mut() {
        let keep =
            |c: &k8s_openapi::api::core::v1::Container| k8s_openapi::api::core::v1::Container {
                name: c.name.clone(),
                image: c.image.clone(),
                // The requests (and a sidecar's restart policy) tell a pod no node can hold.
                resources: c.resources.as_ref().map(|r| {
                    k8s_openapi::api::core::v1::ResourceRequirements {
                        requests: r.requests.clone(),
                        ..Default::default()
                    }
                }),
                restart_policy: c.restart_policy.clone(),
                ..Default::default()
            };
        let overhead = spec.overhead.take();
        *spec = k8s_openapi::api::core::v1::PodSpec {
            overhead,
            containers: spec.containers.iter().map(keep).collect(),
            init_containers: spec
                .init_containers
                .as_ref()
                .map(|cs| cs.iter().map(keep).collect()),
            ..Default::default()
        };
    }
    if let Some(st) = pod.status.as_mut() {
        st.pod_ips = None;
        st.host_ips = None;
        for cs in st
            .container_statuses
            .iter_mut()
            .flatten()
            .chain(st.init_container_statuses.iter_mut().flatten())
        {
            cs.image_id = String::new();
            cs.container_id = None;
            cs.volume_mounts = None;
            cs.resources = None;
            cs.allocated_resources = None;
        }
    }
}

/// The Secret's values as secrets.
pub fn secret_data(name: &str, secret: Secret) -> SecretData {
    let mut values = BTreeMap::new();
    for (k, v) in secret.data.unwrap_or_default() {
        values.insert(
            k,
            SecretString::from(String::from_utf8_lossy(&v.0).into_owned()),
        );
    }
    for (k, v) in secret.string_data.unwrap_or_default() {
        values.insert(k, SecretString::from(v));
    }
    SecretData {
        name: name.to_owned(),
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slim_pod_keeps_what_the_diagnosis_reads() {
        use crate::diagnose::tests::{pod_with, waiting};
        let mut pod = pod_with("b-1", waiting("ErrImageNeverPull", "not present"), None);
        pod.metadata.annotations = Some([("a".to_owned(), "b".repeat(1000))].into_iter().collect());
        let before = crate::diagnose::pod_problems(std::slice::from_ref(&pod));
        slim_pod(&mut pod);
        assert!(pod.metadata.annotations.is_none());
        assert_eq!(crate::diagnose::pod_problems(&[pod]), before);
    }

    #[test]
    fn an_unreadable_release_targets_the_contract_names() {
        let unread = Err(Unread {
            message: "forbidden".into(),
            hint: None,
            forbidden: true,
        });
        let t = Target::new(&unread, "demo");
        assert_eq!(t.fullname, "demo-todo-chatbot");
        assert_eq!(t.secret_name, "demo-todo-chatbot-secrets");
        assert!(!t.sealed_mode);
    }
}
