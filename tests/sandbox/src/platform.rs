//! Which local cluster the sandbox plays, and everything that follows from it: the node names
//! (`minikube`, `minikube-m02`; `<cluster>-control-plane`, `<cluster>-worker`;
//! `k3d-<cluster>-server-0`, `k3d-<cluster>-agent-0`; `docker-desktop`;
//! `lima-rancher-desktop`), their labels, annotations and providerIDs, the container runtime
//! (docker or containerd: image names, container ids, pull errors), the node and pod
//! addresses, and the kubeconfig's context, cluster and user names (with minikube's
//! extension). The Node objects are built in [`crate::node::object`], the kubeconfig in
//! [`crate::kubeconfig`].

use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;

/// A local Kubernetes distribution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlatformName {
    /// minikube (docker driver, docker runtime).
    #[default]
    Minikube,
    /// kind (containerd).
    Kind,
    /// k3d: k3s in docker (containerd).
    K3d,
    /// k3s on a host (containerd).
    K3s,
    /// Docker Desktop's Kubernetes (docker runtime).
    DockerDesktop,
    /// Rancher Desktop (k3s in a lima VM, containerd).
    RancherDesktop,
}

/// The container runtime on the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// Docker Engine through cri-dockerd: familiar image names, `docker://` ids.
    Docker,
    /// containerd's CRI: fully qualified image names, `containerd://` ids.
    Containerd,
}

impl Runtime {
    /// The scheme of container ids and of `containerRuntimeVersion`.
    pub fn scheme(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
        }
    }
}

/// The kubeconfig as a user who renamed or copied it has it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KubeconfigSpec {
    /// The context's name (its cluster and user entries are named the same).
    pub context: Option<String>,
    /// Whether minikube's provider extension is kept (default: only when not renamed).
    pub extension: Option<bool>,
}

/// The scenario's `platform:`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PlatformSpec {
    /// Which distribution.
    pub name: PlatformName,
    /// minikube's profile, kind's or k3d's cluster name (defaults: `minikube`, `kind`,
    /// `k3s-default`).
    pub cluster: Option<String>,
    /// The runtime, when not the distribution's default.
    pub runtime: Option<Runtime>,
    /// A renamed kubeconfig.
    pub kubeconfig: KubeconfigSpec,
}

/// One node's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// Node name.
    pub name: String,
    /// Its index (0 is the control plane).
    pub index: usize,
    /// InternalIP.
    pub ip: String,
}

/// What the cluster looks like: the distribution, its nodes and its kubeconfig names.
#[derive(Debug, Clone)]
pub struct Topology {
    /// The distribution.
    pub platform: PlatformName,
    /// minikube profile, kind or k3d cluster.
    pub cluster: String,
    /// The container runtime.
    pub runtime: Runtime,
    /// The nodes, control plane first.
    pub nodes: Vec<NodeIdentity>,
    /// The admin context (also the current one).
    pub context: String,
    /// The viewer context.
    pub viewer_context: String,
    /// The kubeconfig's cluster entry.
    pub kube_cluster: String,
    /// The admin user entry.
    pub admin_user: String,
    /// The viewer user entry.
    pub viewer_user: String,
    /// Whether the kubeconfig carries minikube's extensions.
    pub minikube_extension: bool,
    /// Whether the scenario named a platform (else the sandbox's own minikube flavour).
    pub explicit: bool,
}

/// The name of node `i` of a cluster `cluster` on `platform`.
fn node_name(platform: PlatformName, cluster: &str, i: usize) -> String {
    match (platform, i) {
        (PlatformName::Minikube, 0) => cluster.to_owned(),
        (PlatformName::Minikube, i) => format!("{cluster}-m{:02}", i + 1),
        (PlatformName::Kind, 0) => format!("{cluster}-control-plane"),
        (PlatformName::Kind, 1) => format!("{cluster}-worker"),
        (PlatformName::Kind, i) => format!("{cluster}-worker{i}"),
        (PlatformName::K3d, 0) => format!("k3d-{cluster}-server-0"),
        (PlatformName::K3d, i) => format!("k3d-{cluster}-agent-{}", i - 1),
        (PlatformName::K3s, 0) => cluster.to_owned(),
        (PlatformName::K3s, i) => format!("{cluster}-agent-{i}"),
        (PlatformName::DockerDesktop, 0) => "docker-desktop".into(),
        (PlatformName::DockerDesktop, i) => format!("docker-desktop-worker{i}"),
        (PlatformName::RancherDesktop, 0) => "lima-rancher-desktop".into(),
        (PlatformName::RancherDesktop, i) => format!("lima-rancher-desktop-{i}"),
    }
}

/// The InternalIP of node `i`.
fn node_ip(platform: PlatformName, i: usize) -> String {
    let i = i as u32;
    match platform {
        PlatformName::Minikube => format!("192.168.49.{}", 2 + i),
        PlatformName::Kind => format!("172.18.0.{}", 2 + i),
        PlatformName::K3d => format!("172.19.0.{}", 2 + i),
        PlatformName::K3s => format!("10.0.0.{}", 10 + i),
        PlatformName::DockerDesktop => format!("192.168.65.{}", 3 + i),
        PlatformName::RancherDesktop => format!("192.168.5.{}", 15 + i),
    }
}

impl PlatformName {
    /// The default cluster (or profile) name.
    fn default_cluster(self) -> &'static str {
        match self {
            PlatformName::Minikube => "minikube",
            PlatformName::Kind => "kind",
            PlatformName::K3d => "k3s-default",
            PlatformName::K3s => "k3s-server",
            PlatformName::DockerDesktop => "docker-desktop",
            PlatformName::RancherDesktop => "rancher-desktop",
        }
    }

    /// The default runtime.
    fn default_runtime(self) -> Runtime {
        match self {
            PlatformName::Minikube | PlatformName::DockerDesktop => Runtime::Docker,
            _ => Runtime::Containerd,
        }
    }

    /// Whether the distribution is k3s (k3s labels, `k3s://` providerIDs, 10.42/16 pods).
    pub fn is_k3s(self) -> bool {
        matches!(
            self,
            PlatformName::K3d | PlatformName::K3s | PlatformName::RancherDesktop
        )
    }

    /// The kubeconfig's context, cluster and user names.
    fn kubeconfig_names(self, cluster: &str) -> (String, String, String) {
        match self {
            PlatformName::Minikube => (cluster.into(), cluster.into(), cluster.into()),
            PlatformName::Kind => {
                let n = format!("kind-{cluster}");
                (n.clone(), n.clone(), n)
            }
            PlatformName::K3d => {
                let n = format!("k3d-{cluster}");
                (n.clone(), n.clone(), format!("admin@{n}"))
            }
            PlatformName::K3s => ("default".into(), "default".into(), "default".into()),
            PlatformName::DockerDesktop | PlatformName::RancherDesktop => {
                let n = self.default_cluster().to_owned();
                (n.clone(), n.clone(), n)
            }
        }
    }
}

impl Topology {
    /// The topology a scenario describes: its `platform` (or the sandbox's own minikube
    /// flavour, contexts `todo-sandbox` and `todo-sandbox-viewer`), with one node per entry
    /// of `nodes` (at least one).
    pub fn of(scenario: &Scenario) -> Topology {
        let count = scenario.nodes.len().max(1);
        let spec = scenario.platform.clone();
        let platform = spec.as_ref().map(|p| p.name).unwrap_or_default();
        let cluster = spec
            .as_ref()
            .and_then(|p| p.cluster.clone())
            .unwrap_or_else(|| platform.default_cluster().to_owned());
        let runtime = spec
            .as_ref()
            .and_then(|p| p.runtime)
            .unwrap_or_else(|| platform.default_runtime());
        let nodes = (0..count)
            .map(|i| NodeIdentity {
                name: scenario
                    .nodes
                    .get(i)
                    .and_then(|n| n.name.clone())
                    .or_else(|| (spec.is_none() && i == 0).then(|| scenario.node.name.clone()))
                    .unwrap_or_else(|| {
                        let base = if spec.is_none() {
                            &scenario.node.name
                        } else {
                            &cluster
                        };
                        node_name(platform, base, i)
                    }),
                index: i,
                ip: node_ip(platform, i),
            })
            .collect();
        let (context, kube_cluster, admin_user, viewer_user, extension) = match &spec {
            None => (
                "todo-sandbox".to_owned(),
                "todo-sandbox".to_owned(),
                "todo-sandbox-admin".to_owned(),
                "todo-sandbox-viewer".to_owned(),
                scenario.minikube,
            ),
            Some(p) => {
                let (ctx, cl, user) = platform.kubeconfig_names(&cluster);
                let renamed = p.kubeconfig.context.clone();
                let minikube = platform == PlatformName::Minikube;
                let ext = p
                    .kubeconfig
                    .extension
                    .unwrap_or(minikube && renamed.is_none());
                match renamed {
                    Some(r) => (r.clone(), r.clone(), r.clone(), format!("{r}-viewer"), ext),
                    None => (ctx, cl, user.clone(), format!("{user}-viewer"), ext),
                }
            }
        };
        let viewer_context = format!("{context}-viewer");
        Topology {
            platform,
            cluster,
            runtime,
            nodes,
            context,
            viewer_context,
            kube_cluster,
            admin_user,
            viewer_user,
            minikube_extension: extension,
            explicit: spec.is_some(),
        }
    }

    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&NodeIdentity> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The first node (the control plane).
    pub fn primary(&self) -> &NodeIdentity {
        &self.nodes[0]
    }

    /// The pod CIDR prefix of the cluster (`10.244`, k3s `10.42`).
    pub fn pod_net(&self) -> &'static str {
        if self.platform.is_k3s() {
            "10.42"
        } else {
            "10.244"
        }
    }

    /// The Service cluster IP prefix (`10.96`, k3s `10.43`).
    pub fn service_net(&self) -> &'static str {
        if self.platform.is_k3s() {
            "10.43"
        } else {
            "10.96"
        }
    }

    /// Whether node `i` keeps the control-plane NoSchedule taint: kind taints its control
    /// plane when the cluster has workers.
    pub fn control_plane_tainted(&self, i: usize) -> bool {
        i == 0 && self.platform == PlatformName::Kind && self.nodes.len() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology(yaml: &str) -> Topology {
        Topology::of(&Scenario::from_yaml(yaml).unwrap())
    }

    #[test]
    fn the_default_is_the_sandbox_minikube() {
        let t = topology("");
        assert_eq!(t.nodes[0].name, "minikube");
        assert_eq!(
            (t.context.as_str(), t.viewer_context.as_str()),
            ("todo-sandbox", "todo-sandbox-viewer")
        );
        assert!(t.minikube_extension && !t.explicit);
        assert_eq!(t.runtime, Runtime::Docker);
        let t = topology("nodes: [{}, {}]\n");
        let names: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["minikube", "minikube-m02"]);
    }

    #[test]
    fn each_platform_names_its_nodes_and_contexts() {
        let t = topology("platform: {name: kind, cluster: dev}\nnodes: [{}, {}, {}]\n");
        let names: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["dev-control-plane", "dev-worker", "dev-worker2"]);
        assert_eq!(
            (t.context.as_str(), t.admin_user.as_str()),
            ("kind-dev", "kind-dev")
        );
        assert_eq!(t.runtime, Runtime::Containerd);
        assert!(t.control_plane_tainted(0) && !t.control_plane_tainted(1));
        let t = topology("platform: {name: k3d, cluster: dev}\nnodes: [{}, {}]\n");
        assert_eq!(t.nodes[0].name, "k3d-dev-server-0");
        assert_eq!(t.nodes[1].name, "k3d-dev-agent-0");
        assert_eq!(t.admin_user, "admin@k3d-dev");
        assert_eq!(t.pod_net(), "10.42");
        let t = topology("platform: {name: minikube, cluster: demo}\nnodes: [{}, {}]\n");
        assert_eq!(t.nodes[1].name, "demo-m02");
        assert_eq!(t.context, "demo");
        assert!(t.minikube_extension);
        assert_eq!(
            topology("platform: {name: docker-desktop}\n").nodes[0].name,
            "docker-desktop"
        );
        assert_eq!(
            topology("platform: {name: rancher-desktop}\n").nodes[0].name,
            "lima-rancher-desktop"
        );
    }

    #[test]
    fn a_renamed_kubeconfig_loses_the_minikube_extension() {
        let t = topology("platform: {name: minikube, kubeconfig: {context: work}}\n");
        assert_eq!(
            (t.context.as_str(), t.kube_cluster.as_str()),
            ("work", "work")
        );
        assert_eq!(t.viewer_context, "work-viewer");
        assert!(!t.minikube_extension);
        assert_eq!(t.nodes[0].name, "minikube");
        let t =
            topology("platform: {name: minikube, kubeconfig: {context: work, extension: true}}\n");
        assert!(t.minikube_extension);
    }
}
