//! The sandbox's own control API under `/sandbox/v1/` (admin only, not counted as API
//! requests): request statistics, replacing the faults, the reachable databases, the nodes'
//! image store, the registry and the pull errors at run time, and renewing the sealed-secrets
//! controller's key.

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
        (Method::PUT, "registry") => replace(&body, |r| state.scenario_mut().registry = r),
        (Method::PUT, "pullErrors") => replace(&body, |e| state.scenario_mut().pull_errors = e),
        (Method::POST, "sealed-secrets/renew") => renew_sealing_key(state, &body).await,
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

/// `POST sealed-secrets/renew` (body `{"bits": N}`, default 4096): the controller's key
/// renewal, now. Answers the new certificate and its fingerprint (sha256 of the DER, hex).
async fn renew_sealing_key(state: &Arc<State>, body: &[u8]) -> Response<Body> {
    #[derive(serde::Deserialize, Default)]
    struct Renew {
        bits: Option<usize>,
    }
    let ask: Renew = if body.is_empty() {
        Renew::default()
    } else {
        match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => return error_response(&ApiError::bad_request(&e.to_string())),
        }
    };
    let bits = ask.bits.unwrap_or(4096).clamp(1024, 8192);
    let state = state.clone();
    let renewed = tokio::task::spawn_blocking(move || {
        crate::addons::sealed_secrets::key::renew(&state, bits)
    })
    .await;
    match renewed {
        Ok(Ok(cert_pem)) => {
            use sha2::Digest as _;
            let der = pem::parse(&cert_pem)
                .map(|p| p.into_contents())
                .unwrap_or_default();
            let fingerprint: String = sha2::Sha256::digest(&der)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            json_response(
                200,
                &json!({"fingerprint": fingerprint, "certificate": cert_pem}),
            )
        }
        Ok(Err(e)) => error_response(&ApiError::internal(&e)),
        Err(e) => error_response(&ApiError::internal(&e.to_string())),
    }
}
