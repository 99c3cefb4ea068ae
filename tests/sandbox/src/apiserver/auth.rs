//! Authentication (two bearer tokens: admin and viewer) and authorization (the sandbox's RBAC:
//! cluster-admin, the `view` role and the scenario's grants), also answering
//! SelfSubjectAccessReviews per verb, resource and namespace for `kubectl auth can-i`.

use http::{Request, header};
use hyper::body::Incoming;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Target;
use super::status::ApiError;
use crate::state::State;

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User {
    /// Full access.
    Admin,
    /// get/list/watch except Secrets; no writes, no proxy.
    Viewer,
}

impl User {
    /// The user name in Forbidden messages.
    pub fn name(self) -> &'static str {
        match self {
            User::Admin => "admin",
            User::Viewer => "viewer",
        }
    }
}

/// The tokens this server accepts.
pub struct ServerCtx {
    /// Bearer token of the admin user.
    pub admin_token: String,
    /// Bearer token of the viewer user.
    pub viewer_token: String,
}

/// A request's verb, as RBAC names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET one object.
    Get,
    /// GET a collection.
    List,
    /// GET a collection with `watch=true`.
    Watch,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH.
    Patch,
    /// DELETE one object.
    Delete,
    /// DELETE a collection.
    DeleteCollection,
    /// Any method on a `proxy` subresource.
    Proxy,
}

impl Verb {
    /// The RBAC verb.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
            Verb::Proxy => "proxy",
        }
    }
}

/// The user a request's bearer token names, if any.
pub fn authenticate(ctx: &ServerCtx, req: &Request<Incoming>) -> Option<User> {
    let h = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = h.strip_prefix("Bearer ")?.trim();
    if token == ctx.admin_token {
        Some(User::Admin)
    } else if token == ctx.viewer_token {
        Some(User::Viewer)
    } else {
        None
    }
}

/// Extra RBAC permissions for the viewer user beyond Kubernetes' `view` role, as a
/// RoleBinding (with `namespaces`) or a ClusterRoleBinding (without) of a role with one rule.
/// The scenario's `access.viewer` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Grant {
    /// RBAC verbs (`create`, `get`, ..., `*`).
    pub verbs: Vec<String>,
    /// API groups (`""` for core, `apps`, `*`); empty means any.
    pub api_groups: Vec<String>,
    /// Resources as RBAC names them: `deployments`, `deployments/scale`, `*/scale`, `*`.
    pub resources: Vec<String>,
    /// Namespaces the binding applies in; empty means every namespace (cluster-wide).
    pub namespaces: Vec<String>,
}

/// What a request asks to do, as RBAC sees it.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    /// The RBAC verb.
    pub verb: &'a str,
    /// The API group ("" for core).
    pub group: &'a str,
    /// The resource (plural).
    pub resource: &'a str,
    /// The subresource, if any.
    pub sub: Option<&'a str>,
    /// The namespace, if the request is namespaced.
    pub namespace: Option<&'a str>,
}

impl Grant {
    fn matches(&self, a: &Attributes<'_>) -> bool {
        let any = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
        let resource_ok = self.resources.iter().any(|r| match a.sub {
            None => r == "*" || r == a.resource,
            Some(sub) => {
                r == "*" || *r == format!("{}/{sub}", a.resource) || *r == format!("*/{sub}")
            }
        });
        any(&self.verbs, a.verb)
            && (self.api_groups.is_empty() || any(&self.api_groups, a.group))
            && resource_ok
            && (self.namespaces.is_empty()
                || a.namespace
                    .is_some_and(|ns| self.namespaces.iter().any(|n| n == ns)))
    }

    /// The RBAC authorizer's reason for allowing through grant number `i`.
    fn reason(&self, i: usize, ns: Option<&str>) -> String {
        let name = format!("todo-sandbox-viewer-grant-{i}");
        match ns.filter(|_| !self.namespaces.is_empty()) {
            Some(ns) => format!(
                "RBAC: allowed by RoleBinding \"{name}/{ns}\" of Role \"{name}\" to User \"viewer\""
            ),
            None => format!(
                "RBAC: allowed by ClusterRoleBinding \"{name}\" of ClusterRole \"{name}\" to User \"viewer\""
            ),
        }
    }
}

/// Whether `user` may do `a`, and the authorizer's reason when it may. The admin may do
/// anything (cluster-admin); the viewer has Kubernetes' `view` role (get/list/watch,
/// including pods/log, but no Secrets and no proxy) plus the scenario's `grants`. Rules
/// match names, as RBAC rules do, so reviews may ask about types the sandbox does not serve.
pub fn decide(user: User, grants: &[Grant], a: &Attributes<'_>) -> Option<String> {
    if user == User::Admin {
        return Some(
            "RBAC: allowed by ClusterRoleBinding \"cluster-admin\" of ClusterRole \"cluster-admin\" to Group \"system:masters\"".into(),
        );
    }
    let read = matches!(a.verb, "get" | "list" | "watch");
    let view = match (a.resource, a.sub) {
        ("selfsubjectaccessreviews", None) => a.verb == "create",
        ("secrets", _) => false,
        (_, Some("proxy")) => false,
        _ => read,
    };
    if view {
        return Some(
            "RBAC: allowed by ClusterRoleBinding \"todo-sandbox-viewer\" of ClusterRole \"view\" to User \"viewer\"".into(),
        );
    }
    grants
        .iter()
        .enumerate()
        .find(|(_, g)| g.matches(a))
        .map(|(i, g)| g.reason(i, a.namespace))
}

/// Forbidden unless `user` may `verb` the target.
pub fn authorize(state: &State, user: User, verb: Verb, t: &Target) -> Result<(), ApiError> {
    let sub = t.sub.map(|s| s.as_str());
    let attrs = Attributes {
        verb: verb.as_str(),
        group: t.rt.group,
        resource: t.rt.plural,
        sub,
        namespace: t.namespace.as_deref(),
    };
    let grants = state.scenario().access.viewer.clone();
    if decide(user, &grants, &attrs).is_some() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            user.name(),
            verb.as_str(),
            Some(&t.rt),
            sub,
            t.name.as_deref(),
            t.namespace.as_deref(),
        ))
    }
}

/// `kubectl auth can-i`: answer a SelfSubjectAccessReview with the sandbox's RBAC, per verb,
/// group, resource, subresource and namespace.
pub fn access_review(state: &State, user: User, review: &Value) -> Value {
    let attrs = review.pointer("/spec/resourceAttributes");
    let grants = state.scenario().access.viewer.clone();
    let reason = match attrs {
        Some(a) => {
            let s = |k: &str| a.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
            let attrs = Attributes {
                verb: s("verb").unwrap_or(""),
                group: s("group").unwrap_or(""),
                resource: s("resource").unwrap_or(""),
                sub: s("subresource"),
                namespace: s("namespace"),
            };
            decide(user, &grants, &attrs)
        }
        None => {
            let get = review
                .pointer("/spec/nonResourceAttributes/verb")
                .and_then(Value::as_str)
                == Some("get");
            get.then(|| "RBAC: allowed by ClusterRoleBinding \"system:discovery\" of ClusterRole \"system:discovery\" to Group \"system:authenticated\"".to_owned())
        }
    };
    let mut out = json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": review.get("spec").cloned().unwrap_or(json!({})),
        "status": {"allowed": reason.is_some()},
    });
    if let Some(r) = reason {
        out["status"]["reason"] = json!(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(
        verb: &'a str,
        group: &'a str,
        resource: &'a str,
        ns: Option<&'a str>,
    ) -> Attributes<'a> {
        Attributes {
            verb,
            group,
            resource,
            sub: None,
            namespace: ns,
        }
    }

    #[test]
    fn the_viewer_reads_everything_but_secrets_and_writes_nothing() {
        let v = |a: &Attributes<'_>| decide(User::Viewer, &[], a).is_some();
        assert!(v(&attrs("list", "apps", "deployments", Some("todo"))));
        assert!(!v(&attrs("list", "", "secrets", Some("todo"))));
        assert!(!v(&attrs("create", "apps", "deployments", Some("todo"))));
        let log = Attributes {
            sub: Some("log"),
            ..attrs("get", "", "pods", Some("todo"))
        };
        assert!(v(&log));
        let proxy = Attributes {
            sub: Some("proxy"),
            ..attrs("get", "", "services", Some("todo"))
        };
        assert!(!v(&proxy));
        assert!(
            decide(
                User::Admin,
                &[],
                &attrs("create", "bitnami.com", "sealedsecrets", Some("x"))
            )
            .is_some()
        );
    }

    #[test]
    fn grants_match_verb_group_resource_subresource_and_namespace() {
        let g = Grant {
            verbs: vec!["create".into(), "patch".into()],
            api_groups: vec!["apps".into()],
            resources: vec!["deployments".into(), "deployments/scale".into()],
            namespaces: vec!["todo".into()],
        };
        let grants = [g];
        let v = |a: &Attributes<'_>| decide(User::Viewer, &grants, a);
        assert!(
            v(&attrs("create", "apps", "deployments", Some("todo")))
                .is_some_and(|r| r.contains("RoleBinding \"todo-sandbox-viewer-grant-0/todo\""))
        );
        assert!(v(&attrs("create", "apps", "deployments", Some("other"))).is_none());
        assert!(v(&attrs("create", "apps", "deployments", None)).is_none());
        assert!(v(&attrs("delete", "apps", "deployments", Some("todo"))).is_none());
        assert!(v(&attrs("create", "", "services", Some("todo"))).is_none());
        let scale = Attributes {
            sub: Some("scale"),
            ..attrs("patch", "apps", "deployments", Some("todo"))
        };
        assert!(v(&scale).is_some());
        let wild = [Grant {
            verbs: vec!["*".into()],
            resources: vec!["*".into()],
            ..Grant::default()
        }];
        assert!(
            decide(
                User::Viewer,
                &wild,
                &attrs("create", "", "secrets", Some("any"))
            )
            .is_some_and(|r| r.contains("ClusterRoleBinding"))
        );
    }
}
