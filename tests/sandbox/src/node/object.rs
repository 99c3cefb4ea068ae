//! The Node objects, as each platform's nodes look: the labels, annotations and providerID
//! its tooling sets (minikube's `minikube.k8s.io/*`, kind's `kind://docker/<cluster>/<node>`,
//! k3s' instance-type labels, `k3s.io/*` annotations and `k3s://<node>`), the control-plane
//! role and taint, capacity and allocatable from the scenario, conditions, addresses,
//! `nodeInfo` (runtime and OS), and the image list the kubelet reports (kept current as
//! images are pulled or loaded).

use serde_json::{Map, Value, json};

use super::image_store::{self, node_store};
use crate::apiserver::registry;
use crate::platform::{NodeIdentity, PlatformName, Runtime, Topology};
use crate::resources::Resource;
use crate::scenario::Scenario;
use crate::state::{SimState, State, now};
use crate::storage::Key;

/// The kubelet reports at most this many images, and this many names per image.
const MAX_IMAGES: usize = 50;
const MAX_NAMES: usize = 5;

/// Create the Node objects. Called once at start, after the namespaces exist.
pub fn register(state: &State) {
    let scenario = state.scenario().clone();
    let sim = state.sim();
    let images: Vec<Vec<Value>> = (0..state.topology.nodes.len())
        .map(|i| image_list(&state.topology, &scenario, &sim, i))
        .collect();
    drop(sim);
    for (node, images) in state.topology.nodes.iter().zip(images) {
        let obj = node_object(&state.topology, &scenario, node, images);
        if let Err(e) = registry::create(state, Resource::Node, "", obj, false) {
            tracing::warn!("registering node {} failed: {}", node.name, e.message);
        }
    }
}

/// Rewrite each node's `status.images` when its image store changed (a pull, a load).
pub fn refresh_images(state: &State, scenario: &Scenario, sim: &SimState) {
    for node in &state.topology.nodes {
        let images = Value::Array(image_list(&state.topology, scenario, sim, node.index));
        state
            .store
            .modify(&Key::new(Resource::Node, "", &node.name), |n| {
                if n.pointer("/status/images") == Some(&images) {
                    return false;
                }
                n["status"]["images"] = images.clone();
                true
            });
    }
}

/// `status.images`: largest first, digests then tags, in the runtime's spelling.
fn image_list(t: &Topology, scenario: &Scenario, sim: &SimState, i: usize) -> Vec<Value> {
    let mut store = node_store(scenario, sim, i);
    store.sort_by_key(|img| std::cmp::Reverse(img.size));
    store
        .iter()
        .take(MAX_IMAGES)
        .map(|img| {
            let names: Vec<String> = image_store::names(img, t.runtime)
                .into_iter()
                .take(MAX_NAMES)
                .collect();
            json!({"names": names, "sizeBytes": img.size})
        })
        .collect()
}

fn condition(ty: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": ty, "status": status, "lastHeartbeatTime": now(), "lastTransitionTime": now(), "reason": reason, "message": message})
}

/// The taints of node `i` (kind keeps its control plane's when it has workers).
pub fn taints(t: &Topology, i: usize) -> Vec<Value> {
    if t.control_plane_tainted(i) {
        vec![json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})]
    } else {
        Vec::new()
    }
}

fn insert(map: &mut Map<String, Value>, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        map.insert((*k).to_owned(), json!(v));
    }
}

/// The labels of node `n`.
fn labels(t: &Topology, n: &NodeIdentity) -> Map<String, Value> {
    let mut l = Map::new();
    insert(
        &mut l,
        &[
            ("beta.kubernetes.io/arch", "amd64"),
            ("beta.kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", "amd64"),
            ("kubernetes.io/hostname", &n.name),
            ("kubernetes.io/os", "linux"),
        ],
    );
    let control_plane = n.index == 0;
    let kubeadm_roles = [
        ("node-role.kubernetes.io/control-plane", ""),
        (
            "node.kubernetes.io/exclude-from-external-load-balancers",
            "",
        ),
    ];
    match t.platform {
        PlatformName::Minikube => {
            let primary = if control_plane { "true" } else { "false" };
            insert(
                &mut l,
                &[
                    (
                        "minikube.k8s.io/commit",
                        "f8f52f5de11fc6ad8244afac475e1d0f96841df1",
                    ),
                    ("minikube.k8s.io/name", &t.cluster),
                    ("minikube.k8s.io/primary", primary),
                    ("minikube.k8s.io/updated_at", "2025_06_10T10_00_00_0700"),
                    ("minikube.k8s.io/version", "v1.36.0"),
                ],
            );
            if control_plane {
                insert(&mut l, &kubeadm_roles);
            }
        }
        PlatformName::Kind | PlatformName::DockerDesktop if control_plane => {
            insert(&mut l, &kubeadm_roles);
        }
        PlatformName::K3d | PlatformName::K3s | PlatformName::RancherDesktop => {
            insert(
                &mut l,
                &[
                    ("beta.kubernetes.io/instance-type", "k3s"),
                    ("node.kubernetes.io/instance-type", "k3s"),
                ],
            );
            if control_plane {
                insert(
                    &mut l,
                    &[
                        ("node-role.kubernetes.io/control-plane", "true"),
                        ("node-role.kubernetes.io/master", "true"),
                    ],
                );
            }
        }
        _ => {}
    }
    l
}

/// The annotations of node `n`.
fn annotations(t: &Topology, n: &NodeIdentity) -> Map<String, Value> {
    let mut a = Map::new();
    insert(
        &mut a,
        &[
            ("node.alpha.kubernetes.io/ttl", "0"),
            (
                "volumes.kubernetes.io/controller-managed-attach-detach",
                "true",
            ),
        ],
    );
    if t.platform.is_k3s() {
        let args = if n.index == 0 {
            r#"["server"]"#
        } else {
            r#"["agent"]"#
        };
        insert(
            &mut a,
            &[
                ("alpha.kubernetes.io/provided-node-ip", &n.ip),
                ("flannel.alpha.coreos.com/backend-type", "vxlan"),
                ("flannel.alpha.coreos.com/kube-subnet-manager", "true"),
                ("flannel.alpha.coreos.com/public-ip", &n.ip),
                ("k3s.io/hostname", &n.name),
                ("k3s.io/internal-ip", &n.ip),
                ("k3s.io/node-args", args),
            ],
        );
    } else {
        let socket = match t.runtime {
            Runtime::Docker => "unix:///var/run/cri-dockerd.sock",
            Runtime::Containerd => "unix:///run/containerd/containerd.sock",
        };
        insert(
            &mut a,
            &[("kubeadm.alpha.kubernetes.io/cri-socket", socket)],
        );
    }
    a
}

/// `spec.providerID`, on the platforms that set one.
fn provider_id(t: &Topology, n: &NodeIdentity) -> Option<String> {
    match t.platform {
        PlatformName::Kind => Some(format!("kind://docker/{}/{}", t.cluster, n.name)),
        PlatformName::K3d | PlatformName::K3s | PlatformName::RancherDesktop => {
            Some(format!("k3s://{}", n.name))
        }
        _ => None,
    }
}

/// `status.nodeInfo`: OS image, kernel, runtime and kubelet versions.
fn node_info(t: &Topology) -> Value {
    let (os, kernel, kubelet, containerd) = match t.platform {
        PlatformName::Minikube => ("Ubuntu 22.04.5 LTS", "6.8.0-minikube", "v1.33.1", "1.7.27"),
        PlatformName::Kind => (
            "Debian GNU/Linux 12 (bookworm)",
            "6.8.0-60-generic",
            "v1.33.1",
            "2.1.1",
        ),
        PlatformName::K3d | PlatformName::K3s => (
            "K3s v1.33.1+k3s1",
            "6.8.0-60-generic",
            "v1.33.1+k3s1",
            "2.0.5-k3s1.33",
        ),
        PlatformName::DockerDesktop => ("Docker Desktop", "6.10.14-linuxkit", "v1.33.1", "1.7.27"),
        PlatformName::RancherDesktop => (
            "Alpine Linux v3.20",
            "6.6.65-0-virt",
            "v1.33.1+k3s1",
            "2.0.5-k3s1.33",
        ),
    };
    let runtime = match t.runtime {
        Runtime::Docker => "docker://28.1.1".to_owned(),
        Runtime::Containerd => format!("containerd://{containerd}"),
    };
    json!({
        "architecture": "amd64", "bootID": "5c1e2a4e-3f1b-4a57-9d0e-6f1f0f3c2b11",
        "machineID": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "systemUUID": "5f9a2c1e-7b3d-4e8a-9c6f-1d2e3f4a5b6c",
        "containerRuntimeVersion": runtime, "kernelVersion": kernel, "kubeProxyVersion": "",
        "kubeletVersion": kubelet, "operatingSystem": "linux", "osImage": os
    })
}

fn node_object(t: &Topology, scenario: &Scenario, n: &NodeIdentity, images: Vec<Value>) -> Value {
    let spec = scenario.node_spec(n.index);
    let resources = json!({"cpu": spec.cpu, "memory": spec.memory, "pods": spec.pods, "ephemeral-storage": "61202244Ki", "hugepages-2Mi": "0"});
    let mut labels = labels(t, n);
    if let Some(extra) = scenario.nodes.get(n.index) {
        for (k, v) in &extra.labels {
            labels.insert(k.clone(), json!(v));
        }
    }
    let cidr = format!("{}.{}.0/24", t.pod_net(), n.index);
    let mut node_spec = json!({"podCIDR": cidr, "podCIDRs": [cidr]});
    if let Some(id) = provider_id(t, n) {
        node_spec["providerID"] = json!(id);
    }
    let taints = taints(t, n.index);
    if !taints.is_empty() {
        node_spec["taints"] = Value::Array(taints);
    }
    json!({
        "metadata": {"name": n.name, "labels": labels, "annotations": annotations(t, n)},
        "spec": node_spec,
        "status": {
            "capacity": resources.clone(),
            "allocatable": resources,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")
            ],
            "addresses": [{"type": "InternalIP", "address": n.ip}, {"type": "Hostname", "address": n.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": node_info(t),
            "images": images
        }
    })
}
