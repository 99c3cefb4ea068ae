//! The simulated control plane and node: deployment, replica-set, endpoints, garbage
//! collection and sealed-secrets controllers, and a kubelet that runs simulated
//! application images. Everything runs in one task that wakes on store events and on a short
//! timer, and writes only when something changed.

pub mod apps;
pub mod deployment;
pub mod endpoints;
pub mod events;
pub mod gc;
pub mod kubelet;
pub mod replicaset;
pub mod scheduler;
pub mod sealed;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::broadcast::error::TryRecvError;

use crate::objects;
use crate::resources::rt;
use crate::state::State;
use crate::store::{EventType, Key};

/// The node's internal IP (minikube's default).
pub const HOST_IP: &str = "192.168.49.2";
/// The sealed-secrets controller image, preloaded on the node.
pub const SEALED_IMAGE: &str = "docker.io/bitnami/sealed-secrets-controller:0.27.1";
/// Namespace and name of the sealed-secrets controller.
pub const SEALED_NS: &str = "kube-system";
/// Name of the sealed-secrets controller Service and Deployment.
pub const SEALED_NAME: &str = "sealed-secrets-controller";

/// Controller-private simulation state.
#[derive(Default)]
pub struct SimState {
    /// Pod runtimes keyed by pod uid.
    pub pods: HashMap<String, kubelet::PodRuntime>,
    /// Pod IPs handed out so far.
    pub next_ip: u32,
    /// Event aggregation.
    pub events: events::Recorder,
    /// The sealing key, once generated or loaded.
    pub sealing: Option<Arc<sealed::SealingKey>>,
    /// Why key generation failed, if it did.
    pub sealing_error: Option<String>,
    /// Images on the node beyond the scenario's (preloaded or pulled).
    pub extra_images: HashSet<String>,
    /// EndpointSlice names by `namespace/service`.
    pub slices: HashMap<String, String>,
    /// Endpoints objects this controller manages (`namespace/name`).
    pub managed_endpoints: HashSet<String>,
    /// SealedSecrets processed: uid → (generation, secret resourceVersion written).
    pub unsealed: HashMap<String, (i64, String)>,
    /// Round-robin counter for the service proxy.
    pub proxy_rr: usize,
    /// Whether the garbage collector should run (an object was deleted).
    pub gc_due: bool,
    /// Inputs of each Service's endpoints at the last sync (`namespace/name` → hash).
    pub endpoint_fingerprints: HashMap<String, u64>,
}

impl SimState {
    /// Whether the node holds `image` (scenario image store, preloaded or pulled).
    pub fn node_has_image(&self, scenario: &crate::scenario::Scenario, image: &str) -> bool {
        scenario.node_has_image(image)
            || self
                .extra_images
                .contains(&crate::scenario::normalize_image(image))
    }
}

/// An answer from a simulated application.
#[derive(Debug, Clone)]
pub struct ProxyResponse {
    /// HTTP status.
    pub status: u16,
    /// Content-Type.
    pub content_type: String,
    /// Body.
    pub body: Vec<u8>,
}

impl ProxyResponse {
    /// A JSON answer.
    pub fn json(status: u16, body: &Value) -> Self {
        ProxyResponse {
            status,
            content_type: "application/json".into(),
            body: body.to_string().into_bytes(),
        }
    }
    /// A text answer.
    pub fn text(status: u16, content_type: &str, body: &str) -> Self {
        ProxyResponse {
            status,
            content_type: content_type.into(),
            body: body.as_bytes().to_vec(),
        }
    }
}

/// Why the proxy could not reach an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyError {
    /// No such Service.
    ServiceNotFound,
    /// The Service has no such port.
    PortNotFound(String),
    /// No ready endpoint.
    NoEndpoints,
    /// No such pod.
    PodNotFound,
    /// The pod is not running.
    PodNotRunning,
}

// ---------------------------------------------------------------------------------------
// Small JSON helpers shared by the controllers.

/// `metadata.<field>` as a string ("" when absent).
pub fn meta<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The uid of the controller owner, if any.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|r| r.get("uid"))
        .and_then(Value::as_str)
}

/// An ownerReference to `owner` (controller, blockOwnerDeletion).
pub fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": owner.get("kind").cloned().unwrap_or(Value::Null),
        "name": meta(owner, "name"),
        "uid": meta(owner, "uid"),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Whether a plain `key: value` selector (a Service's) matches `labels`. An empty or absent
/// selector matches nothing here (selector-less Services have no managed endpoints).
pub fn map_selects(selector: Option<&Value>, labels: Option<&Value>) -> bool {
    let Some(sel) = selector.and_then(Value::as_object) else {
        return false;
    };
    if sel.is_empty() {
        return false;
    }
    sel.iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Whether a LabelSelector (`matchLabels` and `matchExpressions`) matches `labels`. An empty
/// selector matches everything.
pub fn label_selector_matches(selector: Option<&Value>, labels: Option<&Value>) -> bool {
    let Some(sel) = selector else { return false };
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object)
        && !ml.iter().all(|(k, v)| get(k) == v.as_str())
    {
        return false;
    }
    if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let have = get(key);
            let ok = match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => have.is_some_and(|h| values.contains(&h)),
                "NotIn" => have.is_none_or(|h| !values.contains(&h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// Whether a pod's Ready condition is True.
pub fn pod_ready(pod: &Value) -> bool {
    condition_true(pod, "Ready")
}

/// Whether `status.conditions` has `type` with status "True".
pub fn condition_true(obj: &Value, ty: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some(ty)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// Whether a pod is finished (Succeeded or Failed).
pub fn pod_finished(pod: &Value) -> bool {
    matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    )
}

/// Group objects by namespace.
pub fn by_namespace(items: &[Value]) -> HashMap<&str, Vec<&Value>> {
    let mut out: HashMap<&str, Vec<&Value>> = HashMap::new();
    for it in items {
        out.entry(meta(it, "namespace")).or_default().push(it);
    }
    out
}

/// Group objects by their controller owner uid.
pub fn by_owner(items: &[Value]) -> HashMap<&str, Vec<&Value>> {
    let mut out: HashMap<&str, Vec<&Value>> = HashMap::new();
    for it in items {
        if let Some(uid) = controller_uid(it) {
            out.entry(uid).or_default().push(it);
        }
    }
    out
}

/// The storage key of an object of resource `key`.
pub fn key_of(resource: &'static str, obj: &Value) -> Key {
    Key::new(rt(resource), meta(obj, "namespace"), meta(obj, "name"))
}

// ---------------------------------------------------------------------------------------
// Seeding and the control loop.

/// Create the node, the kube-system sealed-secrets controller pieces, and start generating
/// the sealing key. Called once after namespaces exist, before serving.
pub fn seed(state: &Arc<State>) {
    let (node, images) = {
        let sc = state.scenario();
        (sc.node.clone(), sc.node.images.clone())
    };
    state
        .sim()
        .extra_images
        .insert(crate::scenario::normalize_image(SEALED_IMAGE));
    let mut image_list: Vec<Value> = images
        .iter()
        .map(|i| json!({"names": [format!("{}@sha256:{}", crate::scenario::image_repository(i), apps::digest(i)), crate::scenario::normalize_image(i)], "sizeBytes": 150_000_000 + u64::from_str_radix(&apps::digest(i)[..6], 16).unwrap_or(0) * 8}))
        .collect();
    image_list.push(json!({"names": [SEALED_IMAGE], "sizeBytes": 77_000_000}));
    let node_obj = json!({
        "metadata": {
            "name": node.name,
            "labels": {
                "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux",
                "minikube.k8s.io/name": node.name, "minikube.k8s.io/primary": "true",
                "minikube.k8s.io/version": "v1.36.0",
                "node-role.kubernetes.io/control-plane": "",
                "node.kubernetes.io/exclude-from-external-load-balancers": ""
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}
        },
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "capacity": {"cpu": node.cpu, "memory": node.memory, "pods": node.pods, "ephemeral-storage": "61202244Ki", "hugepages-2Mi": "0"},
            "allocatable": {"cpu": node.cpu, "memory": node.memory, "pods": node.pods, "ephemeral-storage": "61202244Ki", "hugepages-2Mi": "0"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": crate::state::now(), "lastTransitionTime": crate::state::now(), "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available"},
                {"type": "DiskPressure", "status": "False", "lastHeartbeatTime": crate::state::now(), "lastTransitionTime": crate::state::now(), "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure"},
                {"type": "PIDPressure", "status": "False", "lastHeartbeatTime": crate::state::now(), "lastTransitionTime": crate::state::now(), "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available"},
                {"type": "Ready", "status": "True", "lastHeartbeatTime": crate::state::now(), "lastTransitionTime": crate::state::now(), "reason": "KubeletReady", "message": "kubelet is posting ready status"}
            ],
            "addresses": [{"type": "InternalIP", "address": HOST_IP}, {"type": "Hostname", "address": node.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64", "bootID": "5c1e2a4e-3f1b-4a57-9d0e-6f1f0f3c2b11", "machineID": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
                "systemUUID": "5f9a2c1e-7b3d-4e8a-9c6f-1d2e3f4a5b6c", "containerRuntimeVersion": "docker://28.1.1",
                "kernelVersion": "6.8.0-minikube", "kubeProxyVersion": "", "kubeletVersion": "v1.33.1",
                "operatingSystem": "linux", "osImage": "Ubuntu 22.04.5 LTS"
            },
            "images": image_list
        }
    });
    if let Err(e) = objects::create(state, rt("v1/nodes"), "", node_obj, false) {
        tracing::warn!("seeding the node failed: {}", e.message);
    }
    seed_sealed_controller(state);
    sealed::start_key_generation(state.clone());
}

fn seed_sealed_controller(state: &Arc<State>) {
    let labels = json!({"name": SEALED_NAME});
    let svc = json!({
        "metadata": {"name": SEALED_NAME, "namespace": SEALED_NS, "labels": labels},
        "spec": {"type": "ClusterIP", "selector": labels, "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}]}
    });
    let deploy = json!({
        "metadata": {"name": SEALED_NAME, "namespace": SEALED_NS, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": SEALED_NAME,
                    "containers": [{
                        "name": SEALED_NAME,
                        "image": SEALED_IMAGE,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["controller"],
                        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}}
                    }]
                }
            }
        }
    });
    let sa = json!({"metadata": {"name": SEALED_NAME, "namespace": SEALED_NS, "labels": labels}});
    for (r, obj) in [
        ("v1/serviceaccounts", sa),
        ("v1/services", svc),
        ("apps/v1/deployments", deploy),
    ] {
        if let Err(e) = objects::create(state, rt(r), SEALED_NS, obj, false)
            && e.code != 409
        {
            tracing::warn!("seeding {r} {SEALED_NAME} failed: {}", e.message);
        }
    }
}

/// Run every controller until the task is aborted.
pub fn spawn(state: Arc<State>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut rx = state.store.subscribe();
        let mut full = true;
        let mut last_full = Instant::now();
        loop {
            let started = Instant::now();
            // A full pass at least every 5 s for slow time-based state (minReadySeconds).
            if full || last_full.elapsed() >= Duration::from_secs(5) {
                full = true;
                last_full = started;
            }
            reconcile_all(&state, full);
            let spent = started.elapsed();
            // Leave the API server room when a pass is expensive.
            let pause = Duration::from_millis(5).max(spent);
            tokio::time::sleep(pause).await;
            let wake = tokio::time::sleep(Duration::from_millis(20));
            tokio::pin!(wake);
            let mut deleted = false;
            full = false;
            tokio::select! {
                ev = rx.recv() => {
                    full = true;
                    if let Ok(ev) = ev {
                        deleted |= ev.kind == EventType::Deleted;
                    } else {
                        deleted = true;
                    }
                }
                () = &mut wake => {}
            }
            loop {
                match rx.try_recv() {
                    Ok(ev) => {
                        full = true;
                        deleted |= ev.kind == EventType::Deleted;
                    }
                    Err(TryRecvError::Lagged(_)) => {
                        full = true;
                        deleted = true;
                    }
                    Err(_) => break,
                }
            }
            if deleted {
                let mut sim = state.sim();
                sim.gc_due = true;
                // An Endpoints object or slice may be gone: recompute them.
                sim.endpoint_fingerprints.clear();
            }
        }
    })
}

/// One pass of every controller. `full` after store changes; otherwise only time-based
/// work (pod transitions, progress deadlines) is done.
pub fn reconcile_all(state: &Arc<State>, full: bool) {
    let now = Instant::now();
    // One snapshot of the pods per pass; writes made during the pass trigger another.
    let pods = if full {
        state.store.list("v1/pods", None).0
    } else {
        Vec::new()
    };
    kubelet::reconcile(state, now, full.then_some(pods.as_slice()));
    let t1 = now.elapsed();
    if full {
        replicaset::reconcile(state, &pods);
    }
    let t2 = now.elapsed();
    deployment::reconcile(state);
    let t3 = now.elapsed();
    if full {
        endpoints::reconcile(state, &pods);
        sealed::reconcile(state);
    }
    let t4 = now.elapsed();
    gc::reconcile(state);
    if now.elapsed() > Duration::from_millis(50) {
        tracing::debug!(
            "pass full={full} kubelet={t1:?} rs={:?} deploy={:?} endpoints={:?} gc={:?}",
            t2 - t1,
            t3 - t2,
            t4 - t3,
            now.elapsed() - t4
        );
    }
}

// ---------------------------------------------------------------------------------------
// Logs and the proxies.

/// Logs of a container (`None` if no such pod/container); `previous` = the last terminated
/// instance.
pub fn pod_log(
    state: &State,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    previous: bool,
) -> Option<Vec<String>> {
    let obj = state.store.get(&Key::new(rt("v1/pods"), namespace, pod))?;
    let names: Vec<&str> = obj
        .pointer("/spec/containers")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let name = match container {
        Some(c) => names.iter().find(|n| **n == c).copied()?,
        None => names.first().copied()?,
    };
    let sim = state.sim();
    let Some(rt) = sim.pods.get(meta(&obj, "uid")) else {
        return if previous { None } else { Some(Vec::new()) };
    };
    let c = rt.containers.iter().find(|c| c.name == name)?;
    if previous {
        c.previous_logs.clone()
    } else {
        Some(c.logs.clone())
    }
}

fn service_port<'a>(svc: &'a Value, port: Option<&str>) -> Result<&'a Value, ProxyError> {
    let ports = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    match port.filter(|p| !p.is_empty()) {
        None => ports
            .first()
            .ok_or_else(|| ProxyError::PortNotFound(String::new())),
        Some(p) => ports
            .iter()
            .find(|sp| {
                sp.get("name").and_then(Value::as_str) == Some(p)
                    || sp
                        .get("port")
                        .and_then(Value::as_i64)
                        .map(|n| n.to_string())
                        .as_deref()
                        == Some(p)
            })
            .ok_or_else(|| ProxyError::PortNotFound(p.to_owned())),
    }
}

/// The container port number a pod exposes for `target` (a number or a port name).
pub fn resolve_target_port(pod: &Value, target: &Value) -> Option<i64> {
    if let Some(n) = target.as_i64() {
        return Some(n);
    }
    let name = target.as_str()?;
    if let Ok(n) = name.parse::<i64>() {
        return Some(n);
    }
    pod.pointer("/spec/containers")?
        .as_array()?
        .iter()
        .flat_map(|c| {
            c.get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|p| p.get("containerPort").and_then(Value::as_i64))
}

/// Which container of `pod` listens on `port` (the first container when none declares it).
fn container_for_port(pod: &Value, port: Option<i64>) -> Option<String> {
    let containers = pod.pointer("/spec/containers").and_then(Value::as_array)?;
    let by_port = port.and_then(|port| {
        containers.iter().find(|c| {
            c.get("ports").and_then(Value::as_array).is_some_and(|ps| {
                ps.iter()
                    .any(|p| p.get("containerPort").and_then(Value::as_i64) == Some(port))
            })
        })
    });
    by_port
        .or(containers.first())
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Ask the app in container `container` of the pod with uid `uid`.
fn ask_app(
    state: &State,
    sim: &SimState,
    pod: &Value,
    container: &str,
    method: &str,
    path: &str,
) -> Result<ProxyResponse, ProxyError> {
    let rt = sim
        .pods
        .get(meta(pod, "uid"))
        .ok_or(ProxyError::PodNotRunning)?;
    let c = rt
        .containers
        .iter()
        .find(|c| c.name == container)
        .ok_or(ProxyError::PodNotRunning)?;
    if !c.is_running() {
        return Err(ProxyError::PodNotRunning);
    }
    let scenario = state.scenario();
    Ok(apps::handle(
        c.behaviour,
        &c.env,
        &scenario,
        sim,
        method,
        path,
    ))
}

/// The service proxy without waiting: used by the simulated `http-check` app and by
/// [`service_proxy`].
pub fn service_proxy_now(
    state: &State,
    sim: &SimState,
    namespace: &str,
    service: &str,
    port: Option<&str>,
    method: &str,
    path: &str,
) -> Result<ProxyResponse, ProxyError> {
    let svc = state
        .store
        .get(&Key::new(rt("v1/services"), namespace, service))
        .ok_or(ProxyError::ServiceNotFound)?;
    let sp = service_port(&svc, port)?;
    let target = sp
        .get("targetPort")
        .cloned()
        .or_else(|| sp.get("port").cloned())
        .unwrap_or(Value::Null);
    let selector = svc.pointer("/spec/selector");
    let (pods, _) = state.store.list("v1/pods", Some(namespace));
    let ready: Vec<&Value> = pods
        .iter()
        .filter(|p| map_selects(selector, p.pointer("/metadata/labels")) && pod_ready(p))
        .collect();
    if ready.is_empty() {
        return Err(ProxyError::NoEndpoints);
    }
    let pick = ready[sim.proxy_rr % ready.len()];
    let port_no = resolve_target_port(pick, &target);
    let container = container_for_port(pick, port_no).ok_or(ProxyError::PodNotRunning)?;
    ask_app(state, sim, pick, &container, method, path)
}

/// The API server's service proxy.
pub async fn service_proxy(
    state: &Arc<State>,
    namespace: &str,
    service: &str,
    port: Option<&str>,
    method: &str,
    path: &str,
) -> Result<ProxyResponse, ProxyError> {
    let sealed_cert = namespace == SEALED_NS
        && service == SEALED_NAME
        && path.split('?').next() == Some("/v1/cert.pem");
    // The controller answers once its key exists and its pod is ready; wait for start-up
    // as a client retrying would, instead of failing the first second after start.
    let deadline = Instant::now() + Duration::from_secs(if sealed_cert { 120 } else { 0 });
    loop {
        let result = {
            let mut sim = state.sim();
            sim.proxy_rr = sim.proxy_rr.wrapping_add(1);
            service_proxy_now(state, &sim, namespace, service, port, method, path)
        };
        let retry = sealed_cert
            && match &result {
                Err(ProxyError::NoEndpoints) | Err(ProxyError::PodNotRunning) => true,
                Ok(r) => r.status == 503,
                Err(_) => false,
            };
        if !retry || Instant::now() >= deadline {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The API server's pod proxy.
pub async fn pod_proxy(
    state: &Arc<State>,
    namespace: &str,
    pod: &str,
    port: Option<&str>,
    method: &str,
    path: &str,
) -> Result<ProxyResponse, ProxyError> {
    let obj = state
        .store
        .get(&Key::new(rt("v1/pods"), namespace, pod))
        .ok_or(ProxyError::PodNotFound)?;
    let port_no = port
        .filter(|p| !p.is_empty())
        .and_then(|p| resolve_target_port(&obj, &json!(p)));
    let container = container_for_port(&obj, port_no).ok_or(ProxyError::PodNotRunning)?;
    let sim = state.sim();
    ask_app(state, &sim, &obj, &container, method, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn fast_state() -> Arc<State> {
        let scenario = Scenario::from_yaml(
            "timings: {scheduleMs: 1, startMs: 1, readyMs: 1, crashBackoffMs: 5}\n",
        )
        .unwrap();
        let state = Arc::new(State::new(scenario));
        objects::create(
            &state,
            rt("v1/namespaces"),
            "",
            json!({"metadata": {"name": "demo"}}),
            false,
        )
        .unwrap();
        state
    }

    fn run_until(state: &Arc<State>, mut done: impl FnMut() -> bool) -> bool {
        for _ in 0..400 {
            reconcile_all(state, true);
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(3));
        }
        false
    }

    fn deployment(image: &str) -> Value {
        json!({
            "metadata": {"name": "web", "namespace": "demo"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}
            }
        })
    }

    #[test]
    fn deployment_rolls_out_to_ready_pods_and_rolls_again_on_template_change() {
        let state = fast_state();
        let d = objects::create(
            &state,
            rt("apps/v1/deployments"),
            "demo",
            deployment("todo-chatbot-frontend:1.0.0"),
            false,
        )
        .unwrap();
        let key = Key::new(rt("apps/v1/deployments"), "demo", "web");
        let complete = |state: &Arc<State>| {
            let d = state.store.get(&key).unwrap();
            d.pointer("/status/availableReplicas") == Some(&json!(2))
                && d.pointer("/status/updatedReplicas") == Some(&json!(2))
                && d.pointer("/status/replicas") == Some(&json!(2))
                && d.pointer("/status/observedGeneration") == d.pointer("/metadata/generation")
        };
        assert!(run_until(&state, || complete(&state)));
        let mut changed = state.store.get(&key).unwrap();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("todo-chatbot-backend:1.0.0");
        changed["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "DATABASE_URL", "value": "postgresql://u:p@ep-demo-123456.us-east-2.aws.neon.tech/todo"}]);
        objects::update(
            &state,
            rt("apps/v1/deployments"),
            "demo",
            "web",
            changed,
            objects::Part::Main,
            false,
        )
        .unwrap();
        assert!(run_until(&state, || complete(&state)));
        let (sets, _) = state.store.list("apps/v1/replicasets", Some("demo"));
        assert_eq!(sets.len(), 2);
        let (pods, _) = state.store.list("v1/pods", Some("demo"));
        assert_eq!(pods.len(), 2);
        assert!(
            pods.iter().all(|p| p.pointer("/spec/containers/0/image")
                == Some(&json!("todo-chatbot-backend:1.0.0")))
        );
        let uid = meta(&d, "uid").to_owned();
        assert!(sets.iter().all(|s| controller_uid(s) == Some(uid.as_str())));
    }

    #[test]
    fn missing_secret_gives_create_container_config_error_until_created() {
        let state = fast_state();
        let pod = json!({"metadata": {"name": "p", "namespace": "demo"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
            "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "A"}}}]}]}});
        state.scenario_mut().node.images.push("nginx:1.27".into());
        objects::create(&state, rt("v1/pods"), "demo", pod, false).unwrap();
        let key = Key::new(rt("v1/pods"), "demo", "p");
        let waiting = |state: &Arc<State>| {
            state
                .store
                .get(&key)
                .unwrap()
                .pointer("/status/containerStatuses/0/state/waiting/reason")
                .cloned()
        };
        assert!(run_until(&state, || waiting(&state)
            == Some(json!("CreateContainerConfigError"))));
        objects::create(
            &state,
            rt("v1/secrets"),
            "demo",
            json!({"metadata": {"name": "s"}, "data": {"A": "eA=="}}),
            false,
        )
        .unwrap();
        assert!(run_until(&state, || pod_ready(
            &state.store.get(&key).unwrap()
        )));
    }

    fn cpu_pod(name: &str, cpu: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "demo"}, "spec": {"containers": [{"name": "c",
            "image": "todo-chatbot-frontend:1.0.0", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}})
    }

    #[test]
    fn pods_that_do_not_fit_stay_pending_until_capacity_frees_up() {
        let state = fast_state();
        let pods = rt("v1/pods");
        objects::create(&state, pods, "demo", cpu_pod("big", "1500m"), false).unwrap();
        let big = Key::new(pods, "demo", "big");
        assert!(run_until(&state, || pod_ready(
            &state.store.get(&big).unwrap()
        )));
        objects::create(&state, pods, "demo", cpu_pod("next", "600m"), false).unwrap();
        objects::create(&state, pods, "demo", cpu_pod("free", "0"), false).unwrap();
        let next = Key::new(pods, "demo", "next");
        let free = Key::new(pods, "demo", "free");
        let unschedulable = |state: &Arc<State>| {
            state
                .store
                .get(&next)
                .unwrap()
                .pointer("/status/conditions/0/reason")
                == Some(&json!("Unschedulable"))
        };
        assert!(run_until(&state, || unschedulable(&state)
            && pod_ready(&state.store.get(&free).unwrap())));
        let p = state.store.get(&next).unwrap();
        assert_eq!(p["status"]["phase"], json!("Pending"));
        assert_eq!(p["status"]["conditions"][0]["type"], json!("PodScheduled"));
        assert_eq!(p["status"]["conditions"][0]["status"], json!("False"));
        let msg = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
        assert_eq!(p["status"]["conditions"][0]["message"], json!(msg));
        assert!(p.pointer("/spec/nodeName").is_none());
        // Many more passes: still one FailedScheduling event (aggregated).
        for _ in 0..50 {
            reconcile_all(&state, true);
        }
        let (evs, _) = state.store.list("v1/events", Some("demo"));
        let failed: Vec<&Value> = evs
            .iter()
            .filter(|e| e["reason"] == json!("FailedScheduling"))
            .collect();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0]["message"], json!(msg));
        assert_eq!(failed[0]["type"], json!("Warning"));
        assert_eq!(failed[0]["source"]["component"], json!("default-scheduler"));
        objects::delete(&state, pods, "demo", "big", false, false).unwrap();
        assert!(run_until(&state, || pod_ready(
            &state.store.get(&next).unwrap()
        )));
        let p = state.store.get(&next).unwrap();
        assert_eq!(p["spec"]["nodeName"], json!("minikube"));
        assert!(condition_true(&p, "PodScheduled"));
    }

    #[test]
    fn pod_count_and_memory_are_checked_too() {
        let state = fast_state();
        state.scenario_mut().node.pods = "1".into();
        let pods = rt("v1/pods");
        objects::create(&state, pods, "demo", cpu_pod("a", "0"), false).unwrap();
        assert!(run_until(&state, || pod_ready(
            &state.store.get(&Key::new(pods, "demo", "a")).unwrap()
        )));
        let mut b = cpu_pod("b", "3");
        b["spec"]["containers"][0]["resources"]["requests"]["memory"] = json!("8Gi");
        objects::create(&state, pods, "demo", b, false).unwrap();
        let key = Key::new(pods, "demo", "b");
        assert!(run_until(&state, || state
            .store
            .get(&key)
            .unwrap()
            .pointer("/status/conditions/0/message")
            .is_some()));
        assert_eq!(
            state.store.get(&key).unwrap()["status"]["conditions"][0]["message"],
            json!(
                "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
            )
        );
    }

    #[test]
    fn identical_events_are_aggregated() {
        let state = fast_state();
        let obj = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo", "uid": "u1"}});
        let src = events::Source {
            object: &obj,
            field_path: None,
            component: "kubelet",
        };
        let mut sim = state.sim();
        sim.events
            .emit(&state, &src, events::Level::Warning, "BackOff", "m");
        sim.events
            .emit(&state, &src, events::Level::Warning, "BackOff", "m");
        drop(sim);
        let (evs, _) = state.store.list("v1/events", Some("demo"));
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0]["count"], json!(2));
        assert_eq!(evs[0]["involvedObject"]["uid"], json!("u1"));
    }

    #[test]
    fn label_selector_supports_expressions() {
        let sel = json!({"matchLabels": {"app": "a"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}, {"key": "x", "operator": "DoesNotExist"}]});
        assert!(label_selector_matches(
            Some(&sel),
            Some(&json!({"app": "a", "tier": "web"}))
        ));
        assert!(!label_selector_matches(
            Some(&sel),
            Some(&json!({"app": "a", "tier": "db"}))
        ));
        assert!(!label_selector_matches(
            Some(&sel),
            Some(&json!({"app": "a", "tier": "web", "x": "1"}))
        ));
    }

    #[test]
    fn empty_service_selector_selects_nothing() {
        assert!(!map_selects(Some(&json!({})), Some(&json!({"a": "b"}))));
        assert!(map_selects(
            Some(&json!({"a": "b"})),
            Some(&json!({"a": "b", "c": "d"}))
        ));
    }

    #[test]
    fn named_target_port_resolves_through_container_ports() {
        let pod = json!({"spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8000}]}]}});
        assert_eq!(resolve_target_port(&pod, &json!("http")), Some(8000));
        assert_eq!(resolve_target_port(&pod, &json!(3000)), Some(3000));
        assert_eq!(resolve_target_port(&pod, &json!("grpc")), None);
    }
}
