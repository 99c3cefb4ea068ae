//! Fault injection, in one place: what a scenario (or `PUT /sandbox/v1/faults`) asks the
//! sandbox to do wrong, and where it does it: latency and error bursts per API request
//! ([`before_request`]), refused connections ([`refuses_connections`]), and watch streams
//! closed early ([`watch_lifetime`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apiserver::status::ApiError;
use crate::state::State;

/// An injected API error burst.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorFault {
    /// HTTP status to answer (429, 500, 503...).
    pub code: u16,
    /// How many matching requests fail.
    pub count: u32,
    /// Only requests whose path contains this (all when empty).
    #[serde(default)]
    pub path_contains: String,
    /// Only requests with this method (all when empty).
    #[serde(default)]
    pub method: String,
}

/// Faults for reliability tests.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Latency added to every API request.
    pub latency_ms: u64,
    /// Error bursts, consumed in order.
    pub errors: Vec<ErrorFault>,
    /// Close every watch stream after this long (0: never).
    pub drop_watches_after_ms: u64,
    /// Close every new connection at once.
    pub refuse_connections: bool,
}

/// What to do to one API request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFault {
    /// Wait this long first.
    pub latency: Duration,
    /// Then answer with this error instead of serving the request.
    pub error: Option<u16>,
}

/// The faults for an API request with `method` on `path`: the configured latency, and the
/// first matching error burst, which this request uses up one count of.
pub fn before_request(state: &State, method: &str, path: &str) -> RequestFault {
    let mut sc = state.scenario_mut();
    let faults = &mut sc.faults;
    let hit = faults.errors.iter_mut().find(|f| {
        f.count > 0
            && (f.path_contains.is_empty() || path.contains(&f.path_contains))
            && (f.method.is_empty() || f.method.eq_ignore_ascii_case(method))
    });
    let error = hit.map(|f| {
        f.count -= 1;
        f.code
    });
    faults.errors.retain(|f| f.count > 0);
    RequestFault {
        latency: Duration::from_millis(faults.latency_ms),
        error,
    }
}

/// Whether new connections are closed at once.
pub fn refuses_connections(state: &State) -> bool {
    state.scenario().faults.refuse_connections
}

/// How long a watch stream may stay open before the sandbox closes it (None: until its
/// timeout).
pub fn watch_lifetime(state: &State) -> Option<Duration> {
    let ms = state.scenario().faults.drop_watches_after_ms;
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// The Status an injected error answers with: the API server's reason and message for the
/// code (429 comes with `Retry-After`).
pub fn injected_error(code: u16) -> ApiError {
    let (reason, message) = match code {
        429 => (
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        ),
        500 => ("InternalError", "Internal error occurred: injected fault"),
        503 => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        504 => (
            "Timeout",
            "the server was unable to return a response in the time allotted",
        ),
        _ => ("InternalError", "injected fault"),
    };
    ApiError {
        code,
        reason,
        message: message.into(),
        details: Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn an_error_burst_is_used_up_by_matching_requests_only() {
        let state = State::new(Scenario::default());
        state.scenario_mut().faults = Faults {
            latency_ms: 5,
            errors: vec![ErrorFault {
                code: 503,
                count: 2,
                path_contains: "/deployments".into(),
                method: "get".into(),
            }],
            ..Faults::default()
        };
        let miss = before_request(&state, "PUT", "/apis/apps/v1/namespaces/d/deployments/x");
        assert_eq!(miss.error, None);
        assert_eq!(miss.latency, Duration::from_millis(5));
        assert_eq!(before_request(&state, "GET", "/api/v1/pods").error, None);
        let path = "/apis/apps/v1/namespaces/d/deployments";
        assert_eq!(before_request(&state, "GET", path).error, Some(503));
        assert_eq!(before_request(&state, "GET", path).error, Some(503));
        assert_eq!(before_request(&state, "GET", path).error, None);
        assert!(state.scenario().faults.errors.is_empty());
    }

    #[test]
    fn injected_errors_carry_the_api_servers_reasons() {
        assert_eq!(injected_error(429).reason, "TooManyRequests");
        assert_eq!(injected_error(503).reason, "ServiceUnavailable");
        assert_eq!(injected_error(504).reason, "Timeout");
        assert_eq!(injected_error(418).code, 418);
    }
}
