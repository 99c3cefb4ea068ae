//! HTTP plumbing of the API server: response bodies, JSON/text/Status responses, the query
//! string, and request bodies in JSON, YAML or Kubernetes protobuf.

use std::collections::HashMap;
use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::Value;

use super::status::ApiError;

/// Response body type.
pub type Body = BoxBody<Bytes, Infallible>;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A JSON response.
pub fn json_response(code: u16, v: &Value) -> Response<Body> {
    let mut r = Response::new(full(serde_json::to_vec(v).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// A Status response for `e` (429 with `Retry-After: 1`).
pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json_response(e.code, &e.to_status());
    if e.code == 429 {
        r.headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    }
    r
}

/// A response with any content type.
pub fn text_response(code: u16, content_type: &str, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A parsed query string.
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parse `q` (URL-encoded).
    pub fn parse(q: Option<&str>) -> Self {
        Query(
            q.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        )
    }
    /// A parameter.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
    /// A boolean parameter (`true` or `1`).
    pub fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true" | "1"))
    }
    /// `dryRun=All`.
    pub fn dry_run(&self) -> bool {
        self.get("dryRun") == Some("All")
    }
}

/// The request's Content-Type (`application/json` when absent).
pub fn content_type(req: &Request<Incoming>) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned()
}

/// Whether the client asked for a Table (`Accept: ...;as=Table`).
pub fn wants_table(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

/// Whether a Table should embed the objects (`includeObject=Object`).
pub fn include_object(req: &Request<Incoming>) -> bool {
    req.uri()
        .query()
        .is_some_and(|q| q.contains("includeObject=Object"))
}

/// Read the whole body.
pub async fn read_body(req: Request<Incoming>) -> Result<Bytes, ApiError> {
    let body = req.into_body();
    Ok(body
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(&format!("reading body: {e}")))?
        .to_bytes())
}

/// Decode a body by its content type: protobuf, JSON, or YAML (null when empty).
pub fn parse_body(bytes: &[u8], content_type: &str) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    if content_type.contains("protobuf") {
        return super::proto::decode(bytes)
            .map_err(|e| ApiError::unsupported_media(&format!("{content_type}: {e}")));
    }
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| ApiError::bad_request("body is not UTF-8"))?;
            if content_type.contains("yaml") {
                serde_saphyr::from_str::<Value>(text)
                    .map_err(|e| ApiError::bad_request(&format!("error decoding YAML: {e}")))
            } else {
                Err(ApiError::bad_request(&format!(
                    "error decoding JSON: {json_err}"
                )))
            }
        }
    }
}

/// Read and decode the body of `req`.
pub async fn read_object(req: Request<Incoming>) -> Result<Value, ApiError> {
    let ct = content_type(&req);
    let body = read_body(req).await?;
    parse_body(&body, &ct)
}
