//! The typed registry of the resource types the sandbox serves. Code names a type by its
//! [`Resource`] variant (`Resource::Pod`), so a typo does not compile; the API paths, kinds and
//! discovery documents are derived from the one table here.

use std::ops::Deref;

/// A served resource type. Dereferences to its [`ResourceType`] (`Resource::Pod.plural`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// core/v1 Namespace.
    Namespace,
    /// core/v1 Node.
    Node,
    /// core/v1 Pod.
    Pod,
    /// core/v1 Service.
    Service,
    /// core/v1 Endpoints.
    Endpoints,
    /// core/v1 ConfigMap.
    ConfigMap,
    /// core/v1 Secret.
    Secret,
    /// core/v1 Event.
    Event,
    /// core/v1 ServiceAccount.
    ServiceAccount,
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// autoscaling/v2 HorizontalPodAutoscaler.
    HorizontalPodAutoscaler,
    /// policy/v1 PodDisruptionBudget.
    PodDisruptionBudget,
    /// networking.k8s.io/v1 NetworkPolicy.
    NetworkPolicy,
    /// discovery.k8s.io/v1 EndpointSlice.
    EndpointSlice,
    /// authorization.k8s.io/v1 SelfSubjectAccessReview (create only).
    SelfSubjectAccessReview,
    /// bitnami.com/v1alpha1 SealedSecret (the sealed-secrets add-on's CRD).
    SealedSecret,
}

/// A subresource the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    /// `/status`: only the status changes.
    Status,
    /// `/scale`: an autoscaling/v1 Scale view of spec.replicas.
    Scale,
    /// `/log`: a pod's container log.
    Log,
    /// `/proxy`: the service or pod proxy.
    Proxy,
}

impl Subresource {
    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Scale => "scale",
            Subresource::Log => "log",
            Subresource::Proxy => "proxy",
        }
    }

    /// The subresource a path segment names, if the sandbox knows it.
    pub fn parse(segment: &str) -> Option<Subresource> {
        [
            Subresource::Status,
            Subresource::Scale,
            Subresource::Log,
            Subresource::Proxy,
        ]
        .into_iter()
        .find(|s| s.as_str() == segment)
    }
}

/// What the API server knows about one resource type.
#[derive(Debug)]
pub struct ResourceType {
    /// The variant this entry describes.
    pub resource: Resource,
    /// API group, empty for core.
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Plural resource name (the path segment).
    pub plural: &'static str,
    /// Singular name.
    pub singular: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Whether namespaced.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: &'static [&'static str],
    /// Subresources served.
    pub subresources: &'static [Subresource],
    /// Whether spec changes bump metadata.generation.
    pub generation: bool,
    /// In the `all` category (`kubectl get all`).
    pub all: bool,
}

impl ResourceType {
    /// `apiVersion` value for objects of this type.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// `<plural>.<group>` as used in messages (`deployments.apps`).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
    /// Whether the type serves `sub`.
    pub fn has(&self, sub: Subresource) -> bool {
        self.subresources.contains(&sub)
    }
}

impl Resource {
    /// This type's entry in [`RESOURCES`].
    pub const fn rt(self) -> &'static ResourceType {
        &RESOURCES[self as usize]
    }
}

impl Deref for Resource {
    type Target = ResourceType;
    fn deref(&self) -> &ResourceType {
        self.rt()
    }
}

/// Fields of one table row, in the order of [`ResourceType`]'s fields after `resource`.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    &'static [Subresource],
    bool,
    bool,
);

const fn entry(resource: Resource, row: Row) -> ResourceType {
    let (
        group,
        version,
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        subresources,
        generation,
        all,
    ) = row;
    ResourceType {
        resource,
        group,
        version,
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        subresources,
        generation,
        all,
    }
}

use Subresource::{Log, Proxy, Scale, Status};

/// Every served type, in the order of [`Resource`]'s variants (checked at compile time).
/// Columns: group, version, plural, singular, kind, namespaced, short names, subresources,
/// generation, in `all`.
// A table reads best as a table: rustfmt would put each of its 170 cells on a line.
#[rustfmt::skip]
pub static RESOURCES: [ResourceType; 17] = [
    entry(Resource::Namespace, ("", "v1", "namespaces", "namespace", "Namespace", false, &["ns"], &[Status], false, false)),
    entry(Resource::Node, ("", "v1", "nodes", "node", "Node", false, &["no"], &[Status], false, false)),
    entry(Resource::Pod, ("", "v1", "pods", "pod", "Pod", true, &["po"], &[Status, Log, Proxy], false, true)),
    entry(Resource::Service, ("", "v1", "services", "service", "Service", true, &["svc"], &[Status, Proxy], false, true)),
    entry(Resource::Endpoints, ("", "v1", "endpoints", "endpoints", "Endpoints", true, &["ep"], &[], false, false)),
    entry(Resource::ConfigMap, ("", "v1", "configmaps", "configmap", "ConfigMap", true, &["cm"], &[], false, false)),
    entry(Resource::Secret, ("", "v1", "secrets", "secret", "Secret", true, &[], &[], false, false)),
    entry(Resource::Event, ("", "v1", "events", "event", "Event", true, &["ev"], &[], false, false)),
    entry(Resource::ServiceAccount, ("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, &["sa"], &[], false, false)),
    entry(Resource::Deployment, ("apps", "v1", "deployments", "deployment", "Deployment", true, &["deploy"], &[Status, Scale], true, true)),
    entry(Resource::ReplicaSet, ("apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, &["rs"], &[Status, Scale], true, true)),
    entry(Resource::HorizontalPodAutoscaler, ("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", true, &["hpa"], &[Status], true, true)),
    entry(Resource::PodDisruptionBudget, ("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true, &["pdb"], &[Status], true, false)),
    entry(Resource::NetworkPolicy, ("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", true, &["netpol"], &[], true, false)),
    entry(Resource::EndpointSlice, ("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", true, &[], &[], false, false)),
    entry(Resource::SelfSubjectAccessReview, ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "selfsubjectaccessreview", "SelfSubjectAccessReview", false, &[], &[], false, false)),
    entry(Resource::SealedSecret, ("bitnami.com", "v1alpha1", "sealedsecrets", "sealedsecret", "SealedSecret", true, &[], &[Status], true, false)),
];

// `Resource::rt` indexes the table by variant: every row must sit at its variant's index.
const _: () = {
    let mut i = 0;
    while i < RESOURCES.len() {
        assert!(RESOURCES[i].resource as usize == i);
        i += 1;
    }
};

/// Find a type by group, version and plural (a request path).
pub fn find(group: &str, version: &str, plural: &str) -> Option<Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
        .map(|r| r.resource)
}

/// Find a type by apiVersion and kind (an object).
pub fn by_kind(api_version: &str, kind: &str) -> Option<Resource> {
    RESOURCES
        .iter()
        .find(|r| r.api_version() == api_version && r.kind == kind)
        .map(|r| r.resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_found_by_path_and_by_kind() {
        for r in &RESOURCES {
            assert_eq!(find(r.group, r.version, r.plural), Some(r.resource));
            assert_eq!(by_kind(&r.api_version(), r.kind), Some(r.resource));
        }
        assert_eq!(Resource::Deployment.qualified(), "deployments.apps");
        assert_eq!(Resource::Pod.api_version(), "v1");
        assert!(Resource::Pod.has(Subresource::Log));
        assert!(!Resource::ConfigMap.has(Subresource::Status));
    }
}
