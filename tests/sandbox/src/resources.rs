//! The resource types the sandbox serves, and the discovery documents built from them
//! (`/api`, `/apis`, per-group-version resource lists, and a minimal OpenAPI v3 that tells
//! kubectl and Helm the server validates fields itself).

use serde_json::{Value, json};

/// One served resource type.
#[derive(Debug, Clone, Copy)]
pub struct ResourceType {
    /// Storage key: `<groupVersion>/<plural>` (`v1/pods`, `apps/v1/deployments`).
    pub key: &'static str,
    /// API group, empty for core.
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
    /// Singular name.
    pub singular: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Whether namespaced.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: &'static [&'static str],
    /// Subresources served (`status`, `scale`, `log`, `proxy`).
    pub subresources: &'static [&'static str],
    /// Whether spec changes bump metadata.generation.
    pub generation: bool,
    /// In the `all` category (kubectl get all).
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
    /// `groupVersion` for discovery.
    pub fn group_version(&self) -> String {
        self.api_version()
    }
    /// `<plural>.<group>` as used in messages (`deployments.apps`).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

macro_rules! rt {
    ($key:expr, $group:expr, $version:expr, $plural:expr, $singular:expr, $kind:expr, $ns:expr, $short:expr, $sub:expr, $gen:expr, $all:expr) => {
        ResourceType {
            key: $key,
            group: $group,
            version: $version,
            plural: $plural,
            singular: $singular,
            kind: $kind,
            namespaced: $ns,
            short_names: $short,
            subresources: $sub,
            generation: $gen,
            all: $all,
        }
    };
}

/// Every served type.
pub static RESOURCES: &[ResourceType] = &[
    rt!(
        "v1/namespaces",
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        &["status"],
        false,
        false
    ),
    rt!(
        "v1/nodes",
        "",
        "v1",
        "nodes",
        "node",
        "Node",
        false,
        &["no"],
        &["status"],
        false,
        false
    ),
    rt!(
        "v1/pods",
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        true,
        &["po"],
        &["status", "log", "proxy"],
        false,
        true
    ),
    rt!(
        "v1/services",
        "",
        "v1",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
        &["status", "proxy"],
        false,
        true
    ),
    rt!(
        "v1/endpoints",
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
        &[],
        false,
        false
    ),
    rt!(
        "v1/configmaps",
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        &[],
        false,
        false
    ),
    rt!(
        "v1/secrets",
        "",
        "v1",
        "secrets",
        "secret",
        "Secret",
        true,
        &[],
        &[],
        false,
        false
    ),
    rt!(
        "v1/events",
        "",
        "v1",
        "events",
        "event",
        "Event",
        true,
        &["ev"],
        &[],
        false,
        false
    ),
    rt!(
        "v1/serviceaccounts",
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        &[],
        false,
        false
    ),
    rt!(
        "apps/v1/deployments",
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        &["status", "scale"],
        true,
        true
    ),
    rt!(
        "apps/v1/replicasets",
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        &["status", "scale"],
        true,
        true
    ),
    rt!(
        "autoscaling/v2/horizontalpodautoscalers",
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        true,
        &["hpa"],
        &["status"],
        true,
        true
    ),
    rt!(
        "policy/v1/poddisruptionbudgets",
        "policy",
        "v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        &["status"],
        true,
        false
    ),
    rt!(
        "networking.k8s.io/v1/networkpolicies",
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        true,
        &["netpol"],
        &[],
        true,
        false
    ),
    rt!(
        "discovery.k8s.io/v1/endpointslices",
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        true,
        &[],
        &[],
        false,
        false
    ),
    rt!(
        "authorization.k8s.io/v1/selfsubjectaccessreviews",
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
        false,
        &[],
        &[],
        false,
        false
    ),
    rt!(
        "bitnami.com/v1alpha1/sealedsecrets",
        "bitnami.com",
        "v1alpha1",
        "sealedsecrets",
        "sealedsecret",
        "SealedSecret",
        true,
        &[],
        &["status"],
        true,
        false
    ),
];

/// Find a type by group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Find a type by its storage key.
pub fn by_key(key: &str) -> Option<&'static ResourceType> {
    RESOURCES.iter().find(|r| r.key == key)
}

/// Find a type by apiVersion and kind.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.api_version() == api_version && r.kind == kind)
}

/// The named resource types, for controllers.
pub fn rt(key: &str) -> &'static ResourceType {
    by_key(key).unwrap_or_else(|| panic!("unknown resource type {key}"))
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        match out.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) if !versions.contains(&r.version) => versions.push(r.version),
            Some(_) => {}
            None => out.push((r.group, vec![r.version])),
        }
    }
    out
}

/// `GET /api`.
pub fn api_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
}

fn group_json(name: &str, versions: &[&str]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs[0].clone()})
}

/// `GET /apis`.
pub fn api_group_list() -> Value {
    let groups: Vec<Value> = groups().iter().map(|(g, vs)| group_json(g, vs)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`.
pub fn api_group(group: &str) -> Option<Value> {
    groups().iter().find(|(g, _)| *g == group).map(|(g, vs)| {
        let mut v = group_json(g, vs);
        v["kind"] = json!("APIGroup");
        v["apiVersion"] = json!("v1");
        v
    })
}

/// `GET /api/v1` or `/apis/<group>/<version>`.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let types: Vec<&ResourceType> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for r in &types {
        let mut entry = json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
            "kind": r.kind, "verbs": VERBS,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if r.all {
            entry["categories"] = json!(["all"]);
        }
        resources.push(entry);
        for sub in r.subresources {
            let (kind, verbs, extra): (&str, &[&str], Value) = match *sub {
                "status" => (r.kind, &["get", "patch", "update"], json!({})),
                "scale" => (
                    "Scale",
                    &["get", "patch", "update"],
                    json!({"group": "autoscaling", "version": "v1"}),
                ),
                "log" => ("Pod", &["get"], json!({})),
                "proxy" => (
                    "ServiceProxyOptions",
                    &["create", "delete", "get", "patch", "update"],
                    json!({}),
                ),
                _ => continue,
            };
            let mut e = json!({"name": format!("{}/{}", r.plural, sub), "singularName": "", "namespaced": r.namespaced, "kind": kind, "verbs": verbs});
            if let (Some(obj), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
                obj.extend(extra.clone());
            }
            resources.push(e);
        }
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// `GET /openapi/v3`: the index of per-group-version documents.
pub fn openapi_v3_root() -> Value {
    let mut paths = serde_json::Map::new();
    let mut seen = Vec::new();
    for r in RESOURCES {
        let path = if r.group.is_empty() {
            format!("api/{}", r.version)
        } else {
            format!("apis/{}/{}", r.group, r.version)
        };
        if seen.contains(&path) {
            continue;
        }
        seen.push(path.clone());
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash=todo-sandbox-1")}),
        );
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/<path>`: PATCH operations that advertise `fieldValidation` and `dryRun`,
/// so clients validate on the server instead of downloading schemas.
pub fn openapi_v3_doc(gv_path: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for r in RESOURCES {
        let path = if r.group.is_empty() {
            format!("api/{}", r.version)
        } else {
            format!("apis/{}/{}", r.group, r.version)
        };
        if path != gv_path {
            continue;
        }
        let item = if r.namespaced {
            format!("/{path}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("/{path}/{}/{{name}}", r.plural)
        };
        let params = json!([
            {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
            {"name": "force", "in": "query", "schema": {"type": "boolean"}}
        ]);
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        paths.insert(
            item,
            json!({
                "get": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "get", "responses": {}},
                "put": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "put", "parameters": params, "responses": {}},
                "patch": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "patch", "parameters": params, "responses": {}}
            }),
        );
        let coll = if r.namespaced {
            format!("/{path}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("/{path}/{}", r.plural)
        };
        paths.insert(
            coll,
            json!({"post": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "post", "parameters": params, "responses": {}}}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.1"},
        "paths": paths,
        "components": {"schemas": {}}
    }))
}
