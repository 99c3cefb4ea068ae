//! The `log` subresource: a container's log (or its previous instance's), as the kubelet
//! keeps it, with the API server's errors for a missing or waiting container.

use std::sync::Arc;

use http::Response;
use serde_json::Value;

use super::Target;
use super::http::{Body, Query, text_response};
use super::status::ApiError;
use crate::node;
use crate::state::State;
use crate::storage::Key;

/// `GET .../pods/<name>/log`: `container` (required when there are several), `previous`,
/// `tailLines`.
pub fn serve(state: &Arc<State>, t: &Target, query: &Query) -> Result<Response<Body>, ApiError> {
    let (ns, name) = (t.ns(), t.name());
    let pod = state
        .store
        .get(&Key::new(t.rt, ns, name))
        .ok_or_else(|| ApiError::not_found(&t.rt, name))?;
    let containers: Vec<String> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    let container = match query.get("container") {
        Some(c) => c.to_owned(),
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(&format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    if !containers.contains(&container) {
        return Err(ApiError::bad_request(&format!(
            "container {container} is not valid for pod {name}"
        )));
    }
    let previous = query.flag("previous");
    let lines = node::container_log(state, ns, name, Some(&container), previous);
    let Some(mut lines) = lines else {
        let waiting = pod
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| c["name"] == container.as_str())
            .and_then(|c| {
                c.pointer("/state/waiting/reason")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "ContainerCreating".into());
        if previous {
            return Err(ApiError::bad_request(&format!(
                "previous terminated container {container:?} in pod {name:?} not found"
            )));
        }
        return Err(ApiError::bad_request(&format!(
            "container {container:?} in pod {name:?} is waiting to start: {waiting}"
        )));
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
