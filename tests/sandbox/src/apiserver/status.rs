//! API errors as Kubernetes `Status` objects.

use serde_json::{Value, json};

use crate::resources::ResourceType;

/// An API error: HTTP code, Status reason, message and details.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Status reason (NotFound, AlreadyExists, Conflict, Invalid, Forbidden, ...).
    pub reason: &'static str,
    /// Human message, worded as the real API server words it.
    pub message: String,
    /// Status details.
    pub details: Value,
}

impl ApiError {
    /// The Status object.
    pub fn to_status(&self) -> Value {
        let mut v = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        });
        if !self.details.is_null() {
            v["details"] = self.details.clone();
        }
        v
    }

    fn details(rt: &ResourceType, name: &str) -> Value {
        json!({"name": name, "group": rt.group, "kind": rt.plural})
    }

    /// 404 for an object.
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("{} {name:?} not found", rt.qualified()),
            details: Self::details(rt, name),
        }
    }
    /// 404 for a missing namespace.
    pub fn not_found_ns(ns: &str) -> Self {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("namespaces {ns:?} not found"),
            details: json!({"name": ns, "kind": "namespaces"}),
        }
    }
    /// 404 for an unknown path.
    pub fn no_route() -> Self {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
            details: json!({}),
        }
    }
    /// 409 AlreadyExists.
    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        ApiError {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{} {name:?} already exists", rt.qualified()),
            details: Self::details(rt, name),
        }
    }
    /// 409 Conflict on a stale resourceVersion.
    pub fn conflict(rt: &ResourceType, name: &str) -> Self {
        ApiError {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
                rt.qualified()
            ),
            details: Self::details(rt, name),
        }
    }
    /// 422 Invalid.
    pub fn invalid(rt: &ResourceType, name: &str, field: &str, detail: &str) -> Self {
        ApiError {
            code: 422,
            reason: "Invalid",
            message: format!("{} {name:?} is invalid: {field}: {detail}", rt.kind),
            details: json!({"name": name, "group": rt.group, "kind": rt.kind, "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": field}]}),
        }
    }
    /// 400 BadRequest.
    pub fn bad_request(message: &str) -> Self {
        ApiError {
            code: 400,
            reason: "BadRequest",
            message: message.to_owned(),
            details: Value::Null,
        }
    }
    /// 401.
    pub fn unauthorized() -> Self {
        ApiError {
            code: 401,
            reason: "Unauthorized",
            message: "Unauthorized".into(),
            details: Value::Null,
        }
    }
    /// 403 with the message the RBAC authorizer gives.
    pub fn forbidden(
        user: &str,
        verb: &str,
        rt: Option<&ResourceType>,
        sub: Option<&str>,
        name: Option<&str>,
        ns: Option<&str>,
    ) -> Self {
        let (resource, group) = match rt {
            Some(rt) => (
                match sub {
                    Some(s) => format!("{}/{s}", rt.plural),
                    None => rt.plural.to_owned(),
                },
                rt.group,
            ),
            None => (String::new(), ""),
        };
        let subject = match (rt, name) {
            (Some(rt), Some(n)) => format!("{} {n:?}", rt.qualified()),
            (Some(rt), None) => rt.qualified(),
            _ => "forbidden".into(),
        };
        let scope = match ns {
            Some(ns) => format!("in the namespace {ns:?}"),
            None => "at the cluster scope".into(),
        };
        ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "{subject} is forbidden: User {user:?} cannot {verb} resource {resource:?} in API group {group:?} {scope}"
            ),
            details: json!({"name": name.unwrap_or(""), "group": group, "kind": rt.map(|r| r.plural).unwrap_or("")}),
        }
    }
    /// 405.
    pub fn method_not_allowed() -> Self {
        ApiError {
            code: 405,
            reason: "MethodNotAllowed",
            message: "the server does not allow this method on the requested resource".into(),
            details: Value::Null,
        }
    }
    /// 415.
    pub fn unsupported_media(ct: &str) -> Self {
        ApiError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct})"
            ),
            details: Value::Null,
        }
    }
    /// 410 Gone for a too-old resourceVersion.
    pub fn gone(rv: u64) -> Self {
        ApiError {
            code: 410,
            reason: "Expired",
            message: format!("too old resource version: {rv}"),
            details: Value::Null,
        }
    }
    /// 500.
    pub fn internal(message: &str) -> Self {
        ApiError {
            code: 500,
            reason: "InternalError",
            message: format!("Internal error occurred: {message}"),
            details: Value::Null,
        }
    }
    /// 503 for a Service without ready endpoints (service proxy).
    pub fn no_endpoints(service: &str) -> Self {
        ApiError {
            code: 503,
            reason: "ServiceUnavailable",
            message: format!("no endpoints available for service {service:?}"),
            details: Value::Null,
        }
    }
}
