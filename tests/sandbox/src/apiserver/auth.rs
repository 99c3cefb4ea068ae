//! Authentication (two bearer tokens: admin and viewer) and authorization (the sandbox's RBAC,
//! also answering SelfSubjectAccessReviews for `kubectl auth can-i`).

use http::{Request, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::Target;
use super::status::ApiError;

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

/// The sandbox's RBAC: the admin may do anything; the viewer is Kubernetes' `view` role
/// (get/list/watch, including pods/log, but no Secrets and no proxy). Rules match names, as
/// RBAC rules do, so reviews may ask about types the sandbox does not serve.
pub fn allowed(user: User, verb: &str, plural: &str, sub: Option<&str>) -> bool {
    if user == User::Admin {
        return true;
    }
    let read = matches!(verb, "get" | "list" | "watch");
    match (plural, sub) {
        ("selfsubjectaccessreviews", None) => verb == "create",
        ("secrets", _) => false,
        (_, Some("proxy")) => false,
        _ => read,
    }
}

/// Forbidden unless `user` may `verb` the target.
pub fn authorize(user: User, verb: Verb, t: &Target) -> Result<(), ApiError> {
    let sub = t.sub.map(|s| s.as_str());
    if allowed(user, verb.as_str(), t.rt.plural, sub) {
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

/// `kubectl auth can-i`: answer a SelfSubjectAccessReview with the sandbox's RBAC.
pub fn access_review(user: User, review: &Value) -> Value {
    let attrs = review.pointer("/spec/resourceAttributes");
    let allowed_now = match attrs {
        Some(a) => {
            let verb = a.get("verb").and_then(Value::as_str).unwrap_or("");
            let resource = a.get("resource").and_then(Value::as_str).unwrap_or("");
            let sub = a
                .get("subresource")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            allowed(user, verb, resource, sub)
        }
        None => {
            review
                .pointer("/spec/nonResourceAttributes/verb")
                .and_then(Value::as_str)
                == Some("get")
        }
    };
    let mut out = json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": review.get("spec").cloned().unwrap_or(json!({})),
        "status": {"allowed": allowed_now},
    });
    if allowed_now && user == User::Admin {
        out["status"]["reason"] = json!("sandbox: the admin user may do anything");
    }
    out
}
