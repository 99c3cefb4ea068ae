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

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, LogParams};
use kube::{Api, Client};
use secrecy::SecretString;

use super::registry::Read;
use super::{ReleaseInfo, Selection, VerifyError, VerifyOptions};
use crate::chart::{self, Component, ObjectNames};
use crate::cluster::{Action, Cluster, ClusterError, list_all, list_slim, retry};
use crate::diagnose;
use crate::error::UserError;
use crate::platform::Platform;
use crate::redact::sanitize as redact;
use crate::release::{self, Release, ReleaseError};

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

/// What a health request through the service proxy gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthOutcome {
    /// The app answered (any status code).
    Answered {
        /// The app's status code.
        code: u16,
        /// Time to the full answer.
        latency: Duration,
        /// The start of the body, redacted, on one line.
        body: String,
    },
    /// The API server found no ready endpoint behind the Service (503).
    NoEndpoints(String),
    /// No answer within the budget.
    TimedOut(Duration),
    /// The request was refused or failed.
    Unread(Unread),
    /// Not attempted (the Service does not exist).
    NoService,
}

/// A health probe of one component.
#[derive(Debug, Clone)]
pub struct HealthProbe {
    /// Which component.
    pub component: Component,
    /// The Service probed.
    pub service: String,
    /// The path requested.
    pub path: String,
    /// What happened.
    pub outcome: HealthOutcome,
    /// When the app answered with an error: the last lines of one of its pods, redacted.
    pub log_tail: Vec<String>,
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
    /// The platform (minikube, kind, k3d, ...).
    pub platform: Platform,
    /// The server's git version, e.g. v1.33.1.
    pub server_version: String,
    /// The release name.
    pub release_name: String,
    /// The release record, or why it could not be read (only with `--release`).
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
    let ns = cluster.namespace.clone();
    let client = cluster.client.clone();

    // Round trip 1: is the server there, and which release?
    let version = async {
        retry(|| client.apiserver_version())
            .await
            .map_err(|e| VerifyError::from(cluster.error(&Action::new("get", "version", None), e)))
    };
    let release_read = async {
        match release::find(cluster, opts.release.as_deref()).await {
            Ok(r) => Ok(Ok(r)),
            Err(ReleaseError::Cluster(e)) if e.is_forbidden() && opts.release.is_some() => {
                Ok(Err(Unread::from(e)))
            }
            Err(e) => Err(VerifyError::from(e)),
        }
    };
    let (version, release) = futures::try_join!(version, release_read)?;
    let release_name = match &release {
        Ok(r) => r.name.clone(),
        Err(_) => opts.release.clone().unwrap_or_default(),
    };
    let fullname = match &release {
        Ok(r) => r.fullname(),
        Err(_) => chart::fullname(&release_name, None),
    };
    let names = ObjectNames::new(fullname.clone());
    let secret_name = match &release {
        Ok(r) => r.secret_name(),
        Err(_) => names.default_secret(),
    };
    let sealed_mode = release
        .as_ref()
        .is_ok_and(|r| r.secrets_mode() == Some(chart::SecretsMode::Sealed));

    // Round trip 2: everything else, concurrently.
    let selector = chart::release_selector(&release_name);
    let lp = ListParams::default().labels(&selector);
    let core = |verb: &'static str, resource: &'static str| {
        let ns = ns.clone();
        move |e: kube::Error| {
            VerifyError::from(cluster.error(&Action::new(verb, resource, Some(&ns)), e))
        }
    };
    let deployments = async {
        list_all(
            &Api::<Deployment>::namespaced(client.clone(), &ns),
            lp.clone(),
        )
        .await
        .map_err(core("list", "deployments"))
    };
    let pods = async {
        list_slim(
            &Api::<Pod>::namespaced(client.clone(), &ns),
            lp.clone(),
            slim_pod,
        )
        .await
        .map_err(core("list", "pods"))
    };
    let services = async {
        list_all(&Api::<Service>::namespaced(client.clone(), &ns), lp.clone())
            .await
            .map_err(core("list", "services"))
    };
    let service_names: Vec<String> = Component::ALL.iter().map(|c| names.workload(*c)).collect();
    let slices = async {
        let lp = ListParams::default().labels(&format!(
            "{} in ({})",
            chart::LABEL_SERVICE_NAME,
            service_names.join(",")
        ));
        list_all(&Api::<EndpointSlice>::namespaced(client.clone(), &ns), lp)
            .await
            .map_err(core("list", "endpointslices"))
    };
    let config_maps = async {
        if !sel.reads(Read::ConfigMaps) {
            return Ok(Vec::new());
        }
        list_all(
            &Api::<ConfigMap>::namespaced(client.clone(), &ns),
            lp.clone(),
        )
        .await
        .map_err(core("list", "configmaps"))
    };
    let secret = async {
        if !sel.reads(Read::Secret) {
            return None;
        }
        let api = Api::<Secret>::namespaced(client.clone(), &ns);
        Some(match retry(|| api.get_opt(&secret_name)).await {
            Ok(s) => Ok(s.map(|s| secret_data(&secret_name, s))),
            Err(e) => Err(Unread::from(cluster.error(
                &Action::new("get", "secrets", Some(&ns)).named(&secret_name),
                e,
            ))),
        })
    };
    let sealed = async {
        if !sealed_mode || !sel.reads(Read::SealedSecret) {
            return None;
        }
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &ns, &sealed_secret_resource());
        Some(match retry(|| api.get_opt(&secret_name)).await {
            Ok(s) => Ok(s),
            Err(kube::Error::Api(s)) if s.code == 404 => Err(Unread {
                message: "the SealedSecret resource type (bitnami.com/v1alpha1 sealedsecrets) is not installed".into(),
                hint: Some("install the sealed-secrets controller: `helm install sealed-secrets sealed-secrets/sealed-secrets -n kube-system`".into()),
                forbidden: false,
            }),
            Err(e) => Err(Unread::from(cluster.error(&Action::new("get", "sealedsecrets", Some(&ns)).named(&secret_name), e))),
        })
    };
    let events = async {
        if !sel.reads(Read::Events) {
            return None;
        }
        let api = Api::<Event>::namespaced(client.clone(), &ns);
        let lp = ListParams::default().fields("type=Warning");
        Some(match list_all(&api, lp).await {
            Ok(mut evs) => {
                evs.retain(|e| e.type_.as_deref() == Some("Warning"));
                Ok(evs)
            }
            Err(e) => Err(Unread::from(
                cluster.error(&Action::new("list", "events", Some(&ns)), e),
            )),
        })
    };
    let health = join_all(
        Component::ALL
            .into_iter()
            .filter(|c| sel.reads(Read::Health(*c)))
            .map(|c| probe(cluster, &ns, names.workload(c), c, opts.health_budget)),
    );
    let (
        deployments,
        pods,
        services,
        endpoint_slices,
        config_maps,
        (secret, sealed, events, health),
    ) = futures::try_join!(deployments, pods, services, slices, config_maps, async {
        Ok::<_, VerifyError>(futures::join!(secret, sealed, events, health))
    })?;

    let mut snap = Snapshot {
        context: cluster.context.clone(),
        namespace: ns.clone(),
        server: cluster.server.clone(),
        platform: cluster.platform.clone(),
        server_version: version.git_version,
        release_name,
        release,
        fullname,
        deployments,
        pods,
        services,
        endpoint_slices,
        config_maps,
        secret_name,
        secret,
        sealed,
        events,
        health,
        logs: BTreeMap::new(),
        now: Timestamp::now(),
    };

    // Round trip 3, only when broken: log tails of crashing containers (one per component,
    // container and reason, so replicas do not multiply requests) and of a failing backend.
    let problems = diagnose::pod_problems_on(&snap.pods, &snap.platform);
    let mut wanted: BTreeMap<(String, String, String), (String, bool)> = BTreeMap::new();
    for p in problems.iter().filter(|p| p.wants_logs()) {
        let comp = snap
            .pods
            .iter()
            .find(|pod| pod.metadata.name.as_deref() == Some(&p.pod))
            .and_then(crate::pod::component)
            .map(|c| c.name())
            .unwrap_or("")
            .to_owned();
        wanted
            .entry((comp, p.container.clone(), p.reason.clone()))
            .or_insert((p.pod.clone(), p.reason != "Error"));
    }
    // Running but not ready (a failing readiness probe) says nothing by itself: the log of
    // one such pod per component usually does (the backend logs why its database is down).
    for c in Component::ALL {
        let has_problem = problems.iter().any(|p| {
            snap.pods_of(c)
                .iter()
                .any(|pod| pod.metadata.name.as_deref() == Some(p.pod.as_str()))
        });
        if has_problem {
            continue;
        }
        let not_ready = snap
            .pods_of(c)
            .into_iter()
            .find(|p| crate::pod::phase(p) == "Running" && !crate::pod::is_ready(p));
        if let Some(name) = not_ready.and_then(|p| p.metadata.name.clone()) {
            wanted.insert(
                (c.name().to_owned(), c.name().to_owned(), "NotReady".into()),
                (name, false),
            );
        }
    }
    let pod_api = Api::<Pod>::namespaced(client.clone(), &ns);
    let log_reads = wanted
        .into_iter()
        .map(|((_, container, _), (pod, previous))| {
            let api = pod_api.clone();
            async move {
                let tail = log_tail(&api, &pod, &container, previous).await;
                ((pod, container), tail)
            }
        });
    let failing_health: Vec<usize> = snap
        .health
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            matches!(h.outcome, HealthOutcome::Answered { code, .. } if !(200..300).contains(&code))
                || matches!(h.outcome, HealthOutcome::TimedOut(_))
        })
        .map(|(i, _)| i)
        .collect();
    let health_reads = failing_health.into_iter().filter_map(|i| {
        let comp = snap.health[i].component;
        let pod = snap
            .pods_of(comp)
            .first()
            .and_then(|p| p.metadata.name.clone())?;
        let api = pod_api.clone();
        Some(async move { (i, log_tail(&api, &pod, comp.name(), false).await) })
    });
    let (logs, health_logs) = futures::join!(
        join_all(log_reads),
        join_all(health_reads.collect::<Vec<_>>())
    );
    snap.logs = logs.into_iter().filter(|(_, t)| !t.is_empty()).collect();
    if snap.release.is_err() {
        reconcile_secret_name(&mut snap);
    }
    for (i, tail) in health_logs {
        snap.health[i].log_tail = tail;
    }
    Ok(snap)
}

/// Without the release record the Secret name was a guess from the contract; the pods' own
/// secretKeyRefs tell the truth. When they disagree, the guessed read says nothing.
fn reconcile_secret_name(snap: &mut Snapshot) {
    let referenced = snap
        .deployment(Component::Backend)
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|ps| {
            ps.containers
                .iter()
                .flat_map(|c| c.env.iter().flatten())
                .find_map(|e| {
                    e.value_from
                        .as_ref()?
                        .secret_key_ref
                        .as_ref()
                        .map(|r| r.name.clone())
                })
        });
    if let Some(name) = referenced.filter(|n| *n != snap.secret_name) {
        let why = match &snap.release {
            Err(u) => u.message.clone(),
            Ok(_) => String::new(),
        };
        snap.secret = snap.secret.as_ref().map(|_| {
            Err(Unread {
                message: format!("the release record is unreadable ({why})"),
                hint: Some("pass a context that may read Secrets".into()),
                forbidden: true,
            })
        });
        snap.secret_name = name;
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
                ..Default::default()
            };
        *spec = k8s_openapi::api::core::v1::PodSpec {
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

fn secret_data(name: &str, secret: Secret) -> SecretData {
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

/// The last lines of a container's log, redacted; empty when unreadable. `previous` reads the
/// last terminated instance first (what a crash loop printed before it died).
async fn log_tail(api: &Api<Pod>, pod: &str, container: &str, previous: bool) -> Vec<String> {
    let lp = |previous| LogParams {
        container: Some(container.to_owned()),
        previous,
        tail_lines: Some(10),
        limit_bytes: Some(16 * 1024),
        ..Default::default()
    };
    let mut text = if previous {
        api.logs(pod, &lp(true)).await.ok()
    } else {
        None
    };
    if text.as_deref().is_none_or(|t| t.trim().is_empty()) {
        text = api.logs(pod, &lp(false)).await.ok();
    }
    text.unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let l = redact(l);
            if l.chars().count() > 300 {
                format!("{}…", l.chars().take(300).collect::<String>())
            } else {
                l
            }
        })
        .collect()
}

/// GET the health path of a Service through the API server's service proxy, and read the
/// app's own status code (non-2xx is a verdict, not an error). Bounded by `budget`;
/// an API server 429 is retried.
async fn probe(
    cluster: &Cluster,
    ns: &str,
    service: String,
    component: Component,
    budget: Duration,
) -> HealthProbe {
    let path = component.health_path().to_owned();
    let uri = format!("/api/v1/namespaces/{ns}/services/{service}:http/proxy{path}");
    let outcome = probe_uri(&cluster.client, &uri, budget).await;
    let outcome = match outcome {
        ProbeRaw::Status { code: 403, message } => {
            HealthOutcome::Unread(Unread::from(ClusterError::Forbidden {
                verb: "get".into(),
                resource: "services/proxy".into(),
                namespace: Some(ns.to_owned()),
                message,
            }))
        }
        ProbeRaw::Status { code: 404, .. } => HealthOutcome::NoService,
        ProbeRaw::Status { code: 503, message } if message.contains("no endpoints available") => {
            HealthOutcome::NoEndpoints(message)
        }
        ProbeRaw::Status { code, message } => HealthOutcome::Unread(Unread {
            message: format!(
                "the API server answered {code} to the service proxy request: {message}"
            ),
            hint: None,
            forbidden: false,
        }),
        ProbeRaw::App {
            code,
            latency,
            body,
        } => HealthOutcome::Answered {
            code,
            latency,
            body,
        },
        ProbeRaw::TimedOut => HealthOutcome::TimedOut(budget),
        ProbeRaw::Failed(e) => HealthOutcome::Unread(Unread::from(
            crate::cluster::classify_transport(&cluster.server, None, e),
        )),
    };
    HealthProbe {
        component,
        service,
        path,
        outcome,
        log_tail: Vec::new(),
    }
}

enum ProbeRaw {
    /// The API server itself answered with a `Status` object.
    Status {
        code: u16,
        message: String,
    },
    /// The app answered.
    App {
        code: u16,
        latency: Duration,
        body: String,
    },
    TimedOut,
    Failed(kube::Error),
}

async fn probe_uri(client: &Client, uri: &str, budget: Duration) -> ProbeRaw {
    // A 429 from the API server itself is retried on the shared back-off schedule.
    let mut delays = crate::cluster::RETRY_DELAYS.into_iter();
    loop {
        let started = Instant::now();
        let request = match http::Request::get(uri).body(kube::client::Body::empty()) {
            Ok(r) => r,
            Err(e) => {
                return ProbeRaw::Status {
                    code: 0,
                    message: format!("invalid proxy request {uri:?}: {e}"),
                };
            }
        };
        let answer = tokio::time::timeout(budget, async {
            let response = client.send(request).await?;
            let code = response.status().as_u16();
            let body = response.into_body().collect_bytes().await?;
            Ok::<_, kube::Error>((code, body))
        })
        .await;
        let (code, body) = match answer {
            Err(_) => return ProbeRaw::TimedOut,
            Ok(Err(e)) => return ProbeRaw::Failed(e),
            Ok(Ok(x)) => x,
        };
        let latency = started.elapsed();
        if let Some(message) = api_status_message(&body) {
            if code == 429
                && let Some(delay) = delays.next()
            {
                tokio::time::sleep(delay).await;
                continue;
            }
            return ProbeRaw::Status { code, message };
        }
        let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
        let body = redact(&text.split_whitespace().collect::<Vec<_>>().join(" "));
        return ProbeRaw::App {
            code,
            latency,
            body,
        };
    }
}

/// The message of a Kubernetes `Status` body (the API server speaking, not the app).
fn api_status_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if v.get("kind")?.as_str()? == "Status"
        && v.get("apiVersion").and_then(|a| a.as_str()) == Some("v1")
    {
        Some(
            v.get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_owned(),
        )
    } else {
        None
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
    fn unreadable_release_takes_the_secret_name_from_the_pods() {
        let mut snap = crate::verify::checks::fixture::snapshot();
        snap.release = Err(Unread {
            message: "forbidden".into(),
            hint: None,
            forbidden: true,
        });
        snap.secret_name = "guessed-secrets".into();
        snap.secret = Some(Ok(None));
        reconcile_secret_name(&mut snap);
        assert_eq!(snap.secret_name, "todo-todo-chatbot-secrets");
        assert!(
            matches!(snap.secret, Some(Err(_))),
            "a read of the guessed name says nothing"
        );
    }

    #[test]
    fn api_status_is_told_apart_from_the_apps_answer() {
        let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no endpoints available for service \"x\"","code":503}"#;
        assert!(api_status_message(status).unwrap().contains("no endpoints"));
        assert_eq!(
            api_status_message(br#"{"status":"error","detail":"db"}"#),
            None
        );
        assert_eq!(api_status_message(b"<html>"), None);
    }
}
