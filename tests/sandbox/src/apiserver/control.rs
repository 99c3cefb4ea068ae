//! The sandbox's own control API under `/sandbox/v1/` (admin only, not counted as API
//! requests): request statistics, and replacing the faults, the reachable databases and the
//! node's image store at run time.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::auth::User;
use super::http::{Body, error_response, json_response, read_body};
use super::status::ApiError;
use crate::state::State;

/// Serve `/sandbox/v1/<rest>`.
pub async fn serve(
    state: &Arc<State>,
    user: User,
    rest: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    if user != User::Admin {
        return error_response(&ApiError::forbidden(
            user.name(),
            "use",
            None,
            None,
            None,
            None,
        ));
    }
    let method = req.method().clone();
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    match (method, rest) {
        (Method::GET, "stats") => json_response(
            200,
            &json!({"requests": state.requests.load(Ordering::Relaxed)}),
        ),
        (Method::POST, "stats/reset") => {
            state.requests.store(0, Ordering::Relaxed);
            json_response(200, &json!({"requests": 0}))
        }
        (Method::PUT, "faults") => replace(&body, |f| state.scenario_mut().faults = f),
        (Method::PUT, "databases") => replace(&body, |d| state.scenario_mut().databases = d),
        (Method::PUT, "images") => replace(&body, |i| state.scenario_mut().node.images = i),
        _ => error_response(&ApiError::no_route()),
    }
}

/// Decode `body` as a `T` and hand it to `set`.
fn replace<T: DeserializeOwned>(body: &[u8], set: impl FnOnce(T)) -> Response<Body> {
    match serde_json::from_slice(body) {
        Ok(v) => {
            set(v);
            json_response(200, &json!({"ok": true}))
        }
        Err(e) => error_response(&ApiError::bad_request(&e.to_string())),
    }
}
