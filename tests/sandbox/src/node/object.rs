//! The simulated node's `Node` object: minikube's labels, capacity and allocatable from the
//! scenario, conditions, addresses and the image list the kubelet reports.

use serde_json::{Value, json};

use super::HOST_IP;
use crate::addons::sealed_secrets;
use crate::apiserver::registry;
use crate::apps;
use crate::resources::Resource;
use crate::scenario::{NodeSpec, image_repository, normalize_image};
use crate::state::{State, now};

/// Create the Node object. Called once at start, after the namespaces exist.
pub fn register(state: &State) {
    let node = state.scenario().node.clone();
    if let Err(e) = registry::create(state, Resource::Node, "", node_object(&node), false) {
        tracing::warn!("registering the node failed: {}", e.message);
    }
}

fn image_list(images: &[String]) -> Vec<Value> {
    let mut list: Vec<Value> = images
        .iter()
        .map(|i| {
            let digest = apps::digest(i);
            let size = 150_000_000 + u64::from_str_radix(&digest[..6], 16).unwrap_or(0) * 8;
            json!({"names": [format!("{}@sha256:{digest}", image_repository(i)), normalize_image(i)], "sizeBytes": size})
        })
        .collect();
    list.push(json!({"names": [sealed_secrets::IMAGE], "sizeBytes": 77_000_000}));
    list
}

fn condition(ty: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": ty, "status": status, "lastHeartbeatTime": now(), "lastTransitionTime": now(), "reason": reason, "message": message})
}

fn node_object(node: &NodeSpec) -> Value {
    let resources = json!({"cpu": node.cpu, "memory": node.memory, "pods": node.pods, "ephemeral-storage": "61202244Ki", "hugepages-2Mi": "0"});
    json!({
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
            "capacity": resources.clone(),
            "allocatable": resources,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")
            ],
            "addresses": [{"type": "InternalIP", "address": HOST_IP}, {"type": "Hostname", "address": node.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64", "bootID": "5c1e2a4e-3f1b-4a57-9d0e-6f1f0f3c2b11", "machineID": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
                "systemUUID": "5f9a2c1e-7b3d-4e8a-9c6f-1d2e3f4a5b6c", "containerRuntimeVersion": "docker://28.1.1",
                "kernelVersion": "6.8.0-minikube", "kubeProxyVersion": "", "kubeletVersion": "v1.33.1",
                "operatingSystem": "linux", "osImage": "Ubuntu 22.04.5 LTS"
            },
            "images": image_list(&node.images)
        }
    })
}
