//! The health probes: GET each component's health path through the API server's service
//! proxy and tell the app's answer from the API server's own `Status`.

use std::time::{Duration, Instant};

use kube::Client;

use super::Unread;
use crate::chart::Component;
use crate::cluster::{Action, Cluster};
use crate::redact::sanitize as redact;

/// What a health request through the service proxy gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthOutcome {
    /// The app answered (any status code).
    Answered {
        /// The app's status code.
        code: u16,
        /// Time to the full answer.
        latency: Duration,
        /// The start of the body, redacted, on one line.
        body: String,
    },
    /// The API server found no ready endpoint behind the Service (503).
    NoEndpoints(String),
    /// No answer within the budget.
    TimedOut(Duration),
    /// The request was refused or failed.
    Unread(Unread),
    /// The service proxy answered 404 with a `Status`: the Service did not exist when the
    /// request was made, or something between us and the API server does not pass
    /// `services/proxy` (the check tells them apart with the Services it listed).
    NotFound(String),
}

/// A health probe of one component.
#[derive(Debug, Clone)]
pub struct HealthProbe {
    /// Which component.
    pub component: Component,
    /// The Service probed.
    pub service: String,
    /// The path requested.
    pub path: String,
    /// What happened.
    pub outcome: HealthOutcome,
    /// When the app answered with an error: the last lines of one of its pods, redacted.
    pub log_tail: Vec<String>,
}

/// GET the health path of a Service through the API server's service proxy, and read the
/// app's own status code (non-2xx is a verdict, not an error). Bounded by `budget`;
/// an API server 429 is retried.
pub(super) async fn probe(
    cluster: &Cluster,
    ns: &str,
    service: String,
    component: Component,
    budget: Duration,
) -> HealthProbe {
    let path = component.health_path().to_owned();
    let uri = format!("/api/v1/namespaces/{ns}/services/{service}:http/proxy{path}");
    let outcome = probe_uri(&cluster.client, &uri, budget).await;
    let outcome = match outcome {
        // The API server's own refusal, classified as every other API answer is.
        ProbeRaw::Status { code: 403, message } => {
            let status = kube::core::Status {
                code: 403,
                message,
                ..Default::default()
            };
            let action = Action::new("get", "services/proxy", Some(ns));
            HealthOutcome::Unread(Unread::from(
                cluster.error(&action, kube::Error::Api(Box::new(status))),
            ))
        }
        ProbeRaw::Status { code: 404, message } => HealthOutcome::NotFound(message),
        ProbeRaw::Status { code: 503, message } if message.contains("no endpoints available") => {
            HealthOutcome::NoEndpoints(message)
        }
        ProbeRaw::Status { code, message } => HealthOutcome::Unread(Unread {
            message: format!(
                "the API server answered {code} to the service proxy request: {message}"
            ),
            hint: None,
            forbidden: false,
        }),
        ProbeRaw::App {
            code,
            latency,
            body,
        } => HealthOutcome::Answered {
            code,
            latency,
            body,
        },
        ProbeRaw::TimedOut => HealthOutcome::TimedOut(budget),
        ProbeRaw::Failed(e) => {
            HealthOutcome::Unread(Unread::from(cluster.transport_error(None, e)))
        }
    };
    HealthProbe {
        component,
        service,
        path,
        outcome,
        log_tail: Vec::new(),
    }
}

enum ProbeRaw {
    /// The API server itself answered with a `Status` object.
    Status {
        code: u16,
        message: String,
    },
    /// The app answered.
    App {
        code: u16,
        latency: Duration,
        body: String,
    },
    TimedOut,
    Failed(kube::Error),
}

/// The most of a health answer that is read: the verdict needs the status code and a
/// line of the body; an app (or anything in front of it) may answer without end.
const BODY_LIMIT: usize = 64 * 1024;

/// The body's first `cap` bytes; the rest is not read.
async fn read_capped(body: kube::client::Body, cap: usize) -> Result<Vec<u8>, kube::Error> {
    use http_body_util::BodyExt as _;
    let mut body = std::pin::pin!(body);
    let mut out = Vec::new();
    while out.len() < cap {
        let Some(frame) = body.frame().await else {
            break;
        };
        if let Ok(data) = frame?.into_data() {
            let room = cap - out.len();
            out.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(out)
}

async fn probe_uri(client: &Client, uri: &str, budget: Duration) -> ProbeRaw {
    // A 429 from the API server itself is retried on the shared back-off schedule.
    let mut delays = crate::cluster::RETRY_DELAYS.into_iter();
    loop {
        let started = Instant::now();
        let request = match http::Request::get(uri).body(kube::client::Body::empty()) {
            Ok(r) => r,
            Err(e) => {
                return ProbeRaw::Status {
                    code: 0,
                    message: format!("invalid proxy request {uri:?}: {e}"),
                };
            }
        };
        let answer = tokio::time::timeout(budget, async {
            let response = client.send(request).await?;
            let code = response.status().as_u16();
            let body = read_capped(response.into_body(), BODY_LIMIT).await?;
            Ok::<_, kube::Error>((code, body))
        })
        .await;
        let (code, body) = match answer {
            Err(_) => return ProbeRaw::TimedOut,
            Ok(Err(e)) => return ProbeRaw::Failed(e),
            Ok(Ok(x)) => x,
        };
        let latency = started.elapsed();
        if let Some(message) = api_status_message(&body) {
            if code == 429
                && let Some(delay) = delays.next()
            {
                tokio::time::sleep(delay).await;
                continue;
            }
            return ProbeRaw::Status { code, message };
        }
        let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
        let body = redact(&text.split_whitespace().collect::<Vec<_>>().join(" "));
        return ProbeRaw::App {
            code,
            latency,
            body,
        };
    }
}

/// The message of a Kubernetes `Status` body (the API server speaking, not the app).
fn api_status_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if v.get("kind")?.as_str()? == "Status"
        && v.get("apiVersion").and_then(|a| a.as_str()) == Some("v1")
    {
        Some(
            v.get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_owned(),
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_status_is_told_apart_from_the_apps_answer() {
        let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no endpoints available for service \"x\"","code":503}"#;
        assert!(api_status_message(status).unwrap().contains("no endpoints"));
        assert_eq!(
            api_status_message(br#"{"status":"error","detail":"db"}"#),
            None
        );
        assert_eq!(api_status_message(b"<html>"), None);
    }

    #[tokio::test]
    async fn a_health_answer_is_read_up_to_the_cap() {
        let big = vec![b'x'; 3 * BODY_LIMIT];
        let body = kube::client::Body::from(big);
        assert_eq!(
            read_capped(body, BODY_LIMIT).await.unwrap().len(),
            BODY_LIMIT
        );
        let small = kube::client::Body::from(b"ok".to_vec());
        assert_eq!(read_capped(small, BODY_LIMIT).await.unwrap(), b"ok");
    }
}
