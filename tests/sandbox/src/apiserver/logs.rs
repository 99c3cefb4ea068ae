//! The `log` subresource: a container's log (or its previous instance's), init containers
//! included, as the kubelet keeps it, with the API server's and the kubelet's errors for a
//! missing container or one that has not started.

use std::sync::Arc;

use http::Response;
use serde_json::Value;

use super::Target;
use super::http::{Body, Query, text_response};
use super::status::ApiError;
use crate::node::{self, NoLog};
use crate::state::State;
use crate::storage::Key;

/// The names of a pod's containers in the order the API server lists them: init containers,
/// then app containers.
fn container_names(pod: &Value) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|f| {
            pod.pointer(&format!("/spec/{f}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect()
}

/// The container a log request reads: the one asked for, else the only app container.
fn pick_container(pod: &Value, name: &str, asked: Option<&str>) -> Result<String, ApiError> {
    let all = container_names(pod);
    let apps = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    match asked {
        Some(c) if all.iter().any(|n| n == c) => Ok(c.to_owned()),
        Some(c) => Err(ApiError::bad_request(&format!(
            "container {c} is not valid for pod {name}"
        ))),
        None if apps == 1 => Ok(pod["spec"]["containers"][0]["name"]
            .as_str()
            .unwrap_or("")
            .to_owned()),
        None => Err(ApiError::bad_request(&format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            all.join(" ")
        ))),
    }
}

/// The kubelet's answer for a container that has not started, by its waiting reason.
fn waiting_error(pod: &Value, name: &str, container: &str) -> ApiError {
    let reason = ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|f| {
            pod.pointer(&format!("/status/{f}"))
                .and_then(Value::as_array)
        })
        .flatten()
        .find(|c| c["name"] == container)
        .and_then(|c| c.pointer("/state/waiting/reason").and_then(Value::as_str))
        .unwrap_or("ContainerCreating");
    let why = match reason {
        "ErrImagePull" => "image can't be pulled",
        "ImagePullBackOff" => "trying and failing to pull image",
        other => other,
    };
    ApiError::bad_request(&format!(
        "container {container:?} in pod {name:?} is waiting to start: {why}"
    ))
}

/// `GET .../pods/<name>/log`: `container` (required when there are several), `previous`,
/// `tailLines`.
pub fn serve(state: &Arc<State>, t: &Target, query: &Query) -> Result<Response<Body>, ApiError> {
    let (ns, name) = (t.ns(), t.name());
    let pod = state
        .store
        .get(&Key::new(t.rt, ns, name))
        .ok_or_else(|| ApiError::not_found(&t.rt, name))?;
    let container = pick_container(&pod, name, query.get("container"))?;
    let previous = query.flag("previous");
    let mut lines = match node::container_log(state, ns, name, &container, previous) {
        Ok(lines) => lines,
        Err(NoLog::NoPrevious) => {
            return Err(ApiError::bad_request(&format!(
                "previous terminated container {container:?} in pod {name:?} not found"
            )));
        }
        Err(NoLog::NotFound) => return Err(ApiError::not_found(&t.rt, name)),
        Err(NoLog::Waiting) => return Err(waiting_error(&pod, name, &container)),
    };
    if let Some(tail) = query.get("tailLines").and_then(|t| t.parse::<usize>().ok()) {
        let skip = lines.len().saturating_sub(tail);
        lines.drain(..skip);
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    Ok(text_response(200, "text/plain", text.into_bytes()))
}
