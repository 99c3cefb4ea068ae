//! The controller's HTTP answers, as bitnami-labs/sealed-secrets' `pkg/controller/server.go`
//! serves them:
//! - `GET /healthz`: `ok`;
//! - `GET /v1/cert.pem`: the newest key's certificate (the one it seals with; 503 while the
//!   first key is generated);
//! - `POST /v1/verify` with a SealedSecret (JSON or YAML): 200 when every value decrypts with
//!   one of its keys, 409 when one does not, 500 when the body is not one SealedSecret;
//!   rate limited like the controller's default (2 per second, burst 2): 429 beyond;
//! - `POST /v1/rotate` with a SealedSecret: decrypted with any key and sealed again with the
//!   newest, the scope kept (the object's metadata wins over the template's, as the
//!   controller aligns them); 200 with the new SealedSecret as JSON, 500 with an empty body
//!   when it cannot decrypt.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::RsaPublicKey;
use serde_json::{Map, Value, json};

use super::crypto::{label_of, seal_value, unseal_plain};
use super::key::KeyRegistry;
use crate::network::ProxyResponse;
use crate::state::SimState;

/// The controller's `/v1/verify` rate limit (GCRA, as its `throttled` limiter): a request
/// every 500 ms on average, 2 more at once.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// The theoretical arrival time of the next request.
    tat: Option<Instant>,
}

const EMISSION: Duration = Duration::from_millis(500);
const BURST: u32 = 2;

impl RateLimiter {
    /// Whether a request arriving `now` is served.
    pub fn allow(&mut self, now: Instant) -> bool {
        let tat = self.tat.map_or(now, |t| t.max(now));
        if tat.saturating_duration_since(now) > EMISSION * BURST {
            return false;
        }
        self.tat = Some(tat + EMISSION);
        true
    }
}

fn empty(status: u16) -> ProxyResponse {
    ProxyResponse::text(status, "text/plain; charset=utf-8", "")
}

/// Serve one request to the controller.
pub fn serve(sim: &SimState, method: &str, path: &str, body: &[u8]) -> ProxyResponse {
    match (method, path) {
        (_, "/healthz") => ProxyResponse::text(200, "text/plain; charset=utf-8", "ok\n"),
        ("GET", "/v1/cert.pem") => match sim.sealing.as_ref().and_then(|r| r.latest()) {
            Some(key) => ProxyResponse::text(200, "application/x-pem-file", &key.cert_pem),
            // The real controller serves nothing before its key exists; here the pod may be
            // up first, so answer as a not-yet-ready endpoint (clients retry it).
            None => ProxyResponse::text(
                503,
                "text/plain; charset=utf-8",
                "controller is starting: key not generated yet\n",
            ),
        },
        ("POST", "/v1/verify") => match &sim.sealing {
            Some(registry) => verify(registry, body),
            None => empty(500),
        },
        ("POST", "/v1/rotate") => match &sim.sealing {
            Some(registry) => rotate(registry, body),
            None => empty(500),
        },
        _ => ProxyResponse::text(404, "text/plain; charset=utf-8", "404 page not found\n"),
    }
}

/// One SealedSecret from a JSON or YAML body, as the controller's decoder accepts it.
fn sealed_secret(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?;
    let value: Value = serde_saphyr::from_str(text).ok()?;
    let kind_ok = value.get("kind").and_then(Value::as_str) == Some("SealedSecret")
        && value.get("apiVersion").and_then(Value::as_str) == Some("bitnami.com/v1alpha1");
    kind_ok.then_some(value)
}

fn verify(registry: &KeyRegistry, body: &[u8]) -> ProxyResponse {
    let allowed = registry
        .verify_limiter
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .allow(Instant::now());
    if !allowed {
        return ProxyResponse::text(429, "text/plain; charset=utf-8", "limit exceeded\n");
    }
    let Some(ss) = sealed_secret(body) else {
        return empty(500);
    };
    match unseal_plain(&registry.privates(), &ss) {
        Ok(_) => empty(200),
        Err(_) => empty(409),
    }
}

fn rotate(registry: &KeyRegistry, body: &[u8]) -> ProxyResponse {
    let (Some(mut ss), Some(latest)) = (sealed_secret(body), registry.latest()) else {
        return empty(500);
    };
    // The controller aligns the template's metadata with the object's before unsealing.
    if let Some(metadata) = ss.get("metadata").cloned()
        && ss.pointer("/spec/template/metadata") != Some(&metadata)
    {
        ss["spec"]["template"]["metadata"] = metadata;
    }
    let plain = match unseal_plain(&registry.privates(), &ss) {
        Ok(plain) => plain,
        Err(_) => return empty(500),
    };
    let public = RsaPublicKey::from(&latest.private);
    let label = label_of(&ss);
    let mut encrypted = Map::new();
    for (key, b64) in plain {
        let bytes = b64
            .as_str()
            .and_then(|t| STANDARD.decode(t).ok())
            .unwrap_or_default();
        match seal_value(&public, &label, &bytes) {
            Ok(text) => encrypted.insert(key, json!(text)),
            Err(_) => return empty(500),
        };
    }
    ss["spec"]["encryptedData"] = Value::Object(encrypted);
    if let Some(m) = ss.get_mut("metadata").and_then(Value::as_object_mut) {
        for server_set in ["uid", "resourceVersion", "generation", "managedFields"] {
            m.remove(server_set);
        }
        m.insert("creationTimestamp".into(), Value::Null);
    }
    if let Some(status) = ss.as_object_mut() {
        status.remove("status");
    }
    ProxyResponse::json(200, &ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_is_limited_to_a_burst_then_two_per_second() {
        let mut l = RateLimiter::default();
        let t = Instant::now();
        assert!(l.allow(t) && l.allow(t) && l.allow(t));
        assert!(!l.allow(t));
        assert!(!l.allow(t + Duration::from_millis(400)));
        assert!(l.allow(t + Duration::from_millis(500)));
    }

    #[test]
    fn a_body_that_is_not_a_sealed_secret_is_refused() {
        assert!(sealed_secret(b"{\"kind\": \"Secret\", \"apiVersion\": \"v1\"}").is_none());
        assert!(sealed_secret(b"not yaml: [").is_none());
        let yaml = b"apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s}\n";
        assert!(sealed_secret(yaml).is_some());
    }
}
