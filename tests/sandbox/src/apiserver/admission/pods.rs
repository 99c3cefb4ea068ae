//! Pod and pod-template admission: the PodSpec defaults (restart and DNS policy, scheduler,
//! pull policy, termination message, port protocols), requests defaulted from limits (Pods
//! only, as `SetDefaults_Pod`), and validation of containers and of their resource
//! quantities; for Deployments and ReplicaSets also the replica, history, strategy and
//! selector rules.

use serde_json::{Value, json};

use super::{name_of, set_default};
use crate::apiserver::status::ApiError;
use crate::node::images::default_pull_policy;
use crate::node::status::qos_class;
use crate::quantity::json_quantity;
use crate::resources::Resource;
use crate::selectors::LabelSelector;

/// Default and validate a Pod; its status starts Pending with its QoS class.
pub fn admit_pod(obj: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
    let rt = Resource::Pod;
    let name = name_of(obj);
    let Some(spec) = obj.get_mut("spec") else {
        return Err(ApiError::invalid(
            &rt,
            &name,
            "spec.containers",
            "Required value",
        ));
    };
    pod_spec_defaults(spec);
    default_requests_to_limits(spec);
    validate_pod_spec(rt, &name, "spec", spec)?;
    if old.is_none() {
        let qos = qos_class(spec);
        obj["status"] = json!({"phase": "Pending", "qosClass": qos});
    }
    Ok(())
}

/// Default and validate a Deployment or ReplicaSet.
pub fn admit_workload(rt: Resource, obj: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
    let name = name_of(obj);
    let spec = obj
        .get_mut("spec")
        .ok_or_else(|| ApiError::invalid(&rt, &name_of(&Value::Null), "spec", "Required value"))?;
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(10));
    if rt == Resource::Deployment {
        strategy_defaults(spec);
    }
    let selector = spec.get("selector").cloned().unwrap_or(Value::Null);
    if selector.is_null() {
        return Err(ApiError::invalid(
            &rt,
            &name,
            "spec.selector",
            "Required value",
        ));
    }
    let labels = spec.pointer("/template/metadata/labels").cloned();
    if !LabelSelector::from_object(&selector).matches(labels.as_ref()) {
        let detail = format!(
            "Invalid value: {}: `selector` does not match template `labels`",
            labels.unwrap_or(Value::Null)
        );
        return Err(ApiError::invalid(
            &rt,
            &name,
            "spec.template.metadata.labels",
            &detail,
        ));
    }
    if rt == Resource::Deployment
        && let Some(old) = old
        && old.pointer("/spec/selector") != Some(&selector)
    {
        let detail = format!("Invalid value: {selector}: field is immutable");
        return Err(ApiError::invalid(&rt, &name, "spec.selector", &detail));
    }
    let Some(pod_spec) = spec.pointer_mut("/template/spec") else {
        return Err(ApiError::invalid(
            &rt,
            &name,
            "spec.template.spec.containers",
            "Required value",
        ));
    };
    pod_spec_defaults(pod_spec);
    validate_pod_spec(rt, &name, "spec.template.spec", pod_spec)
}

/// A Deployment's progress deadline and RollingUpdate 25%/25%.
fn strategy_defaults(spec: &mut Value) {
    set_default(spec, "progressDeadlineSeconds", json!(600));
    set_default(spec, "strategy", json!({}));
    let strategy = &mut spec["strategy"];
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy["type"] == "RollingUpdate" {
        set_default(strategy, "rollingUpdate", json!({}));
        set_default(&mut strategy["rollingUpdate"], "maxSurge", json!("25%"));
        set_default(
            &mut strategy["rollingUpdate"],
            "maxUnavailable",
            json!("25%"),
        );
    }
}

fn containers_mut(spec: &mut Value) -> impl Iterator<Item = &mut Value> {
    let Some(spec) = spec.as_object_mut() else {
        return Vec::new().into_iter();
    };
    spec.iter_mut()
        .filter(|(k, _)| *k == "containers" || *k == "initContainers")
        .filter_map(|(_, v)| v.as_array_mut())
        .flatten()
        .collect::<Vec<_>>()
        .into_iter()
}

fn pod_spec_defaults(spec: &mut Value) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    for c in containers_mut(spec) {
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let policy = default_pull_policy(image);
        set_default(c, "imagePullPolicy", json!(policy));
        set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
        set_default(c, "terminationMessagePolicy", json!("File"));
        set_default(c, "resources", json!({}));
        if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
            for p in ports {
                set_default(p, "protocol", json!("TCP"));
            }
        }
    }
}

/// A resource with a limit and no request requests its limit (Pods, not templates).
fn default_requests_to_limits(spec: &mut Value) {
    for c in containers_mut(spec) {
        let Some(limits) = c
            .pointer("/resources/limits")
            .and_then(Value::as_object)
            .cloned()
        else {
            continue;
        };
        let resources = &mut c["resources"];
        if !resources.get("requests").is_some_and(Value::is_object) {
            resources["requests"] = json!({});
        }
        for (res, q) in limits {
            set_default(&mut resources["requests"], &res, q);
        }
    }
}

fn validate_pod_spec(rt: Resource, name: &str, path: &str, spec: &Value) -> Result<(), ApiError> {
    let invalid = |field: String, detail: &str| ApiError::invalid(&rt, name, &field, detail);
    let containers = spec.get("containers").and_then(Value::as_array);
    if containers.is_none_or(|c| c.is_empty()) {
        return Err(invalid(format!("{path}.containers"), "Required value"));
    }
    for field in ["containers", "initContainers"] {
        for (i, c) in spec
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{path}.{field}[{i}]");
            for required in ["name", "image"] {
                if c.get(required)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err(invalid(format!("{at}.{required}"), "Required value"));
                }
            }
            validate_resources(rt, name, &at, c)?;
        }
    }
    Ok(())
}

/// Requests and limits must be quantities (else the object does not decode: 400), not
/// negative, and a request at most its limit (422), as the API server checks them.
fn validate_resources(rt: Resource, name: &str, at: &str, c: &Value) -> Result<(), ApiError> {
    let list = |kind: &str| {
        c.pointer(&format!("/resources/{kind}"))
            .and_then(Value::as_object)
    };
    let mut values = Vec::new();
    for kind in ["requests", "limits"] {
        for (res, q) in list(kind).into_iter().flatten() {
            let Some(v) = json_quantity(q) else {
                let (k, v) = (rt.kind, rt.version);
                return Err(ApiError::bad_request(&format!(
                    "{k} in version \"{v}\" cannot be handled as a {k}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
                )));
            };
            let text = q.as_str().map_or_else(|| q.to_string(), str::to_owned);
            if v < 0.0 {
                return Err(ApiError::invalid(
                    &rt,
                    name,
                    &format!("{at}.resources.{kind}[{res}]"),
                    &format!("Invalid value: {text:?}: must be greater than or equal to 0"),
                ));
            }
            values.push((kind, res.as_str(), v, text));
        }
    }
    for (kind, res, request, text) in &values {
        let limit = values.iter().find(|(k, r, ..)| *k == "limits" && r == res);
        if *kind == "requests"
            && let Some((_, _, limit, limit_text)) = limit
            && request > limit
        {
            return Err(ApiError::invalid(
                &rt,
                name,
                &format!("{at}.resources.requests[{res}]"),
                &format!(
                    "Invalid value: {text:?}: must be less than or equal to {res} limit of {limit_text}"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(resources: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "app:1", "resources": resources}]}})
    }

    #[test]
    fn pod_requests_default_to_limits_and_give_the_qos_class() {
        let mut p = pod(json!({"limits": {"cpu": "500m", "memory": "128Mi"}}));
        admit_pod(&mut p, None).unwrap();
        assert_eq!(
            p.pointer("/spec/containers/0/resources/requests"),
            Some(&json!({"cpu": "500m", "memory": "128Mi"}))
        );
        assert_eq!(p["status"]["qosClass"], "Guaranteed");
    }

    #[test]
    fn templates_keep_their_requests_unset() {
        let mut d = json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": pod(json!({"limits": {"cpu": "1"}}))["spec"].clone()}}});
        admit_workload(Resource::Deployment, &mut d, None).unwrap();
        assert!(
            d.pointer("/spec/template/spec/containers/0/resources/requests")
                .is_none()
        );
    }

    #[test]
    fn negative_or_unparsable_quantities_are_rejected() {
        let err = admit_pod(&mut pod(json!({"requests": {"cpu": "-1"}})), None).unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "Pod \"p\" is invalid: spec.containers[0].resources.requests[cpu]: Invalid value: \"-1\": must be greater than or equal to 0"
        );
        let err = admit_pod(&mut pod(json!({"limits": {"memory": "lots"}})), None).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.message.starts_with(
                "Pod in version \"v1\" cannot be handled as a Pod: quantities must match"
            ),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_request_above_its_limit_is_rejected() {
        let r = json!({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}});
        let err = admit_pod(&mut pod(r), None).unwrap_err();
        assert_eq!(err.code, 422);
        assert!(err.message.ends_with("spec.containers[0].resources.requests[cpu]: Invalid value: \"2\": must be less than or equal to cpu limit of 1"), "{}", err.message);
        let equal = json!({"requests": {"cpu": "1000m"}, "limits": {"cpu": "1"}});
        assert!(admit_pod(&mut pod(equal), None).is_ok());
    }
}
