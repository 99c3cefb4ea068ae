//! Which kind of cluster this is (minikube, kind, k3d, k3s, Docker Desktop, Rancher Desktop or
//! another), told from what the cluster says about itself, and the platform's own way of
//! getting a locally built image onto its nodes. Pure: kubeconfig facts and Nodes in.
//!
//! The nodes are the better witness (a copied or renamed kubeconfig keeps working): minikube
//! labels its nodes `minikube.k8s.io/name=<profile>`; kind sets `spec.providerID` to
//! `kind://docker/<cluster>/<node>`; k3s labels `node.kubernetes.io/instance-type=k3s` and
//! sets `k3s://<node>`, and k3d names the nodes `k3d-<cluster>-server-N`; Docker Desktop's
//! node is `docker-desktop`, Rancher Desktop's `lima-rancher-desktop`. The kubeconfig is the
//! fallback: minikube's `provider: minikube.sigs.k8s.io` extension, `kind-*`, `k3d-*`,
//! `docker-desktop` and `rancher-desktop` contexts.

use std::fmt;

use k8s_openapi::api::core::v1::Node;

/// The kind of cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Platform {
    /// minikube, with its profile (`-p`).
    Minikube {
        /// The profile; `minikube` by default.
        profile: String,
    },
    /// kind, with its cluster name (`--name`).
    Kind {
        /// The cluster name; `kind` by default.
        cluster: String,
    },
    /// k3d, with its cluster name (`-c`).
    K3d {
        /// The cluster name.
        cluster: String,
    },
    /// k3s on its own (not in k3d).
    K3s,
    /// Docker Desktop's Kubernetes: it shares the host's image store.
    DockerDesktop,
    /// Rancher Desktop.
    RancherDesktop,
    /// A cluster that is none of the local ones: images come from a registry.
    #[default]
    Other,
}

/// minikube's kubeconfig extension `provider` value.
pub const MINIKUBE_PROVIDER: &str = "minikube.sigs.k8s.io";

/// What the kubeconfig says about the context in use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeconfigFacts {
    /// The context name.
    pub context: String,
    /// The cluster entry's name.
    pub cluster: String,
    /// Whether the context or its cluster carries minikube's provider extension.
    pub minikube_extension: bool,
}

impl Platform {
    /// The platform the kubeconfig names, or [`Platform::Other`].
    pub fn from_kubeconfig(facts: &KubeconfigFacts) -> Platform {
        let ctx = facts.context.as_str();
        if facts.minikube_extension {
            let profile = if facts.cluster.is_empty() {
                ctx
            } else {
                &facts.cluster
            };
            return Platform::Minikube {
                profile: profile.to_owned(),
            };
        }
        if let Some(cluster) = ctx.strip_prefix("kind-").filter(|c| !c.is_empty()) {
            return Platform::Kind {
                cluster: cluster.to_owned(),
            };
        }
        if let Some(cluster) = ctx.strip_prefix("k3d-").filter(|c| !c.is_empty()) {
            return Platform::K3d {
                cluster: cluster.to_owned(),
            };
        }
        match ctx {
            "docker-desktop" | "docker-for-desktop" => Platform::DockerDesktop,
            "rancher-desktop" => Platform::RancherDesktop,
            _ => Platform::Other,
        }
    }

    /// The platform the nodes show, if they show one.
    pub fn from_nodes(nodes: &[Node]) -> Option<Platform> {
        nodes.iter().find_map(from_node)
    }

    /// The nodes' word when they have one, else the kubeconfig's.
    pub fn detect(facts: &KubeconfigFacts, nodes: &[Node]) -> Platform {
        Platform::from_nodes(nodes).unwrap_or_else(|| Platform::from_kubeconfig(facts))
    }

    /// A short name for reports: `minikube`, `kind`, `k3d`, `k3s`, `docker-desktop`,
    /// `rancher-desktop`, `other`.
    pub fn name(&self) -> &'static str {
        match self {
            Platform::Minikube { .. } => "minikube",
            Platform::Kind { .. } => "kind",
            Platform::K3d { .. } => "k3d",
            Platform::K3s => "k3s",
            Platform::DockerDesktop => "docker-desktop",
            Platform::RancherDesktop => "rancher-desktop",
            Platform::Other => "other",
        }
    }

    /// Whether images built on this machine can reach the nodes without a registry.
    pub fn is_local(&self) -> bool {
        !matches!(self, Platform::Other)
    }

    /// The platform's own command that puts a locally built `image` onto its nodes (or the
    /// registry route elsewhere).
    pub fn image_load_hint(&self, image: &str) -> String {
        match self {
            Platform::Minikube { profile } => {
                let p = minikube_profile_flag(profile);
                format!(
                    "load it into minikube: `minikube image load {image}{p}` (or build it after `eval $(minikube{p} docker-env)`)"
                )
            }
            Platform::Kind { cluster } => {
                format!("load it into kind: `kind load docker-image {image} --name {cluster}`")
            }
            Platform::K3d { cluster } => {
                format!("import it into k3d: `k3d image import {image} -c {cluster}`")
            }
            Platform::K3s => {
                format!("import it into k3s: `docker save {image} | sudo k3s ctr images import -`")
            }
            Platform::DockerDesktop => format!(
                "Docker Desktop shares the host's image store: build it there (`docker build -t {image} ...`)"
            ),
            Platform::RancherDesktop => format!(
                "build it into Rancher Desktop's image store: `nerdctl --namespace k8s.io build -t {image} ...` (or `docker build` with the dockerd engine)"
            ),
            Platform::Other => format!(
                "push {image} to a registry the nodes can pull from and set <component>.image.repository/tag"
            ),
        }
    }

    /// The command that refreshes a stale context (minikube restarted on another port).
    pub fn update_context_hint(&self) -> Option<String> {
        match self {
            Platform::Minikube { profile } => Some(format!(
                "`minikube update-context{}`",
                minikube_profile_flag(profile)
            )),
            Platform::Kind { cluster } => {
                Some(format!("`kind export kubeconfig --name {cluster}`"))
            }
            Platform::K3d { cluster } => Some(format!(
                "`k3d kubeconfig merge {cluster} --kubeconfig-switch-context`"
            )),
            _ => None,
        }
    }

    /// The command that starts the cluster, for "is it running?" hints.
    pub fn start_hint(&self) -> Option<String> {
        match self {
            Platform::Minikube { profile } => {
                let p = minikube_profile_flag(profile);
                Some(format!("`minikube status{p}` / `minikube start{p}`"))
            }
            Platform::Kind { cluster } => Some(format!(
                "`kind get clusters`; `docker start {cluster}-control-plane`"
            )),
            Platform::K3d { cluster } => Some(format!("`k3d cluster start {cluster}`")),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Platform::Minikube { profile } if profile != "minikube" => {
                write!(f, "minikube (profile {profile})")
            }
            Platform::Kind { cluster } => write!(f, "kind (cluster {cluster})"),
            Platform::K3d { cluster } => write!(f, "k3d (cluster {cluster})"),
            other => f.write_str(other.name()),
        }
    }
}

/// ` -p PROFILE`, or nothing for the default profile.
fn minikube_profile_flag(profile: &str) -> String {
    if profile.is_empty() || profile == "minikube" {
        String::new()
    } else {
        format!(" -p {profile}")
    }
}

fn from_node(node: &Node) -> Option<Platform> {
    let labels = node.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    let name = node.metadata.name.as_deref().unwrap_or("");
    let provider_id = node
        .spec
        .as_ref()
        .and_then(|s| s.provider_id.as_deref())
        .unwrap_or("");
    if let Some(profile) = label("minikube.k8s.io/name") {
        return Some(Platform::Minikube {
            profile: profile.to_owned(),
        });
    }
    if let Some(rest) = provider_id.strip_prefix("kind://") {
        // kind://docker/<cluster>/<node> (or podman/nerdctl instead of docker).
        let cluster = rest.split('/').nth(1).filter(|c| !c.is_empty())?;
        return Some(Platform::Kind {
            cluster: cluster.to_owned(),
        });
    }
    if label("node.kubernetes.io/instance-type") == Some("k3s") || provider_id.starts_with("k3s://")
    {
        return Some(match k3d_cluster_of(name) {
            Some(cluster) => Platform::K3d { cluster },
            None => Platform::K3s,
        });
    }
    match name {
        "docker-desktop" => Some(Platform::DockerDesktop),
        "lima-rancher-desktop" => Some(Platform::RancherDesktop),
        _ => None,
    }
}

/// `k3d-<cluster>-server-0` / `k3d-<cluster>-agent-1` → `<cluster>`.
fn k3d_cluster_of(node: &str) -> Option<String> {
    let rest = node.strip_prefix("k3d-")?;
    let (cluster, tail) = rest
        .rsplit_once("-server-")
        .or_else(|| rest.rsplit_once("-agent-"))?;
    (!cluster.is_empty() && tail.chars().all(|c| c.is_ascii_digit())).then(|| cluster.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::NodeSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str, labels: &[(&str, &str)], provider_id: Option<&str>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            },
            spec: Some(NodeSpec {
                provider_id: provider_id.map(str::to_owned),
                ..Default::default()
            }),
            status: None,
        }
    }

    fn facts(context: &str, cluster: &str, ext: bool) -> KubeconfigFacts {
        KubeconfigFacts {
            context: context.into(),
            cluster: cluster.into(),
            minikube_extension: ext,
        }
    }

    #[test]
    fn nodes_name_the_platform_whatever_the_context_is_called() {
        let cases = [
            (
                node("dev", &[("minikube.k8s.io/name", "dev")], None),
                Platform::Minikube {
                    profile: "dev".into(),
                },
            ),
            (
                node(
                    "lab-control-plane",
                    &[],
                    Some("kind://docker/lab/lab-control-plane"),
                ),
                Platform::Kind {
                    cluster: "lab".into(),
                },
            ),
            (
                node(
                    "k3d-demo-server-0",
                    &[("node.kubernetes.io/instance-type", "k3s")],
                    Some("k3s://k3d-demo-server-0"),
                ),
                Platform::K3d {
                    cluster: "demo".into(),
                },
            ),
            (
                node("box", &[("node.kubernetes.io/instance-type", "k3s")], None),
                Platform::K3s,
            ),
            (node("docker-desktop", &[], None), Platform::DockerDesktop),
            (
                node("lima-rancher-desktop", &[], None),
                Platform::RancherDesktop,
            ),
        ];
        for (n, want) in cases {
            let got = Platform::detect(&facts("renamed", "renamed", false), &[n]);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn kubeconfig_names_the_platform_when_nodes_say_nothing() {
        let plain = [node("ip-10-0-0-1", &[], Some("aws:///us-east-1a/i-1"))];
        assert_eq!(
            Platform::detect(&facts("minikube", "minikube", true), &plain),
            Platform::Minikube {
                profile: "minikube".into()
            }
        );
        assert_eq!(
            Platform::detect(&facts("kind-lab", "kind-lab", false), &[]),
            Platform::Kind {
                cluster: "lab".into()
            }
        );
        assert_eq!(
            Platform::detect(&facts("k3d-x", "k3d-x", false), &[]),
            Platform::K3d {
                cluster: "x".into()
            }
        );
        assert_eq!(
            Platform::detect(&facts("prod", "prod", false), &plain),
            Platform::Other
        );
    }

    #[test]
    fn image_hints_are_each_platforms_own_command() {
        let img = "todo-chatbot-backend:1.0.0";
        let mk = |p: &str| Platform::Minikube { profile: p.into() };
        assert!(
            mk("minikube")
                .image_load_hint(img)
                .contains("`minikube image load todo-chatbot-backend:1.0.0`")
        );
        assert!(
            mk("dev")
                .image_load_hint(img)
                .contains("minikube image load todo-chatbot-backend:1.0.0 -p dev")
        );
        assert!(
            Platform::Kind {
                cluster: "lab".into()
            }
            .image_load_hint(img)
            .contains("kind load docker-image todo-chatbot-backend:1.0.0 --name lab")
        );
        assert!(
            Platform::K3d {
                cluster: "demo".into()
            }
            .image_load_hint(img)
            .contains("k3d image import todo-chatbot-backend:1.0.0 -c demo")
        );
        assert!(Platform::Other.image_load_hint(img).contains("registry"));
        assert_eq!(
            mk("dev").update_context_hint().unwrap(),
            "`minikube update-context -p dev`"
        );
    }
}
