//! Simulated application images: what they answer over HTTP, whether they are healthy, and
//! what they log. Behaviour is chosen by image (`Scenario::app_for`), plus the emulated
//! sealed-secrets controller image.

use std::collections::BTreeMap;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{ProxyError, ProxyResponse, SimState, service_proxy_now};
use crate::scenario::{AppKind, Scenario, image_repository, normalize_image};
use crate::state::State;

/// What a container does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// One of the scenario's application kinds.
    App(AppKind),
    /// The sealed-secrets controller (serves `/v1/cert.pem`).
    SealedController,
}

/// The behaviour of `image`.
pub fn behaviour_for(scenario: &Scenario, image: &str) -> Behaviour {
    if image_repository(image).ends_with("sealed-secrets-controller") {
        Behaviour::SealedController
    } else {
        Behaviour::App(scenario.app_for(image))
    }
}

/// A stable fake digest for an image (hex sha256 of its normalized reference).
pub fn digest(image: &str) -> String {
    let d = Sha256::digest(normalize_image(image).as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The todo backend's view of its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// Connected.
    Connected,
    /// DATABASE_URL is not set.
    NotSet,
    /// DATABASE_URL is not a PostgreSQL URL with a host and a database.
    Invalid,
    /// A valid URL for a database the scenario does not declare reachable.
    Unreachable(String),
}

/// Check the backend's DATABASE_URL against the scenario's reachable databases.
pub fn backend_database(env: &BTreeMap<String, String>, scenario: &Scenario) -> Database {
    let Some(raw) = env.get("DATABASE_URL").filter(|v| !v.trim().is_empty()) else {
        return Database::NotSet;
    };
    let Ok(url) = url::Url::parse(raw.trim()) else {
        return Database::Invalid;
    };
    if !matches!(url.scheme(), "postgresql" | "postgres") {
        return Database::Invalid;
    }
    let host = url.host_str().unwrap_or("");
    let db = url.path().trim_start_matches('/');
    if host.is_empty() || db.is_empty() || db.contains('/') {
        return Database::Invalid;
    }
    let target = format!("{host}/{db}");
    if scenario
        .databases
        .iter()
        .any(|d| d.eq_ignore_ascii_case(&target))
    {
        Database::Connected
    } else {
        Database::Unreachable(raw.trim().to_owned())
    }
}

fn database_log(db: &Database) -> Option<String> {
    match db {
        Database::Connected => None,
        Database::NotSet => Some("ERROR: DATABASE_URL is not set".into()),
        Database::Invalid => Some("ERROR: DATABASE_URL is not a valid PostgreSQL URL".into()),
        Database::Unreachable(url) => Some(format!(
            "ERROR:app.db:could not connect to {url}: connection refused"
        )),
    }
}

fn database_detail(db: &Database) -> &'static str {
    match db {
        Database::Connected => "",
        Database::NotSet => "DATABASE_URL is not set",
        Database::Invalid => "DATABASE_URL is not a valid PostgreSQL URL",
        Database::Unreachable(_) => "database unreachable: connection refused",
    }
}

/// Answer an HTTP request.
pub fn handle(
    b: Behaviour,
    env: &BTreeMap<String, String>,
    scenario: &Scenario,
    sim: &SimState,
    method: &str,
    path: &str,
) -> ProxyResponse {
    let path = path.split('?').next().unwrap_or("/");
    let _ = method;
    match b {
        Behaviour::SealedController => match path {
            "/v1/cert.pem" => match &sim.sealing {
                Some(key) => ProxyResponse::text(200, "application/x-pem-file", &key.cert_pem),
                None => ProxyResponse::text(
                    503,
                    "text/plain; charset=utf-8",
                    "controller is starting: key not generated yet\n",
                ),
            },
            "/healthz" => ProxyResponse::text(200, "text/plain; charset=utf-8", "ok"),
            _ => ProxyResponse::text(404, "text/plain; charset=utf-8", "404 page not found\n"),
        },
        Behaviour::App(AppKind::TodoBackend) => match path {
            "/health" | "/ready" | "/healthz" | "/api/health" => {
                let db = backend_database(env, scenario);
                if db == Database::Connected {
                    ProxyResponse::json(200, &json!({"status": "ok", "database": "connected"}))
                } else {
                    ProxyResponse::json(
                        503,
                        &json!({"status": "unhealthy", "detail": database_detail(&db)}),
                    )
                }
            }
            "/" => ProxyResponse::json(
                200,
                &json!({"message": "Todo Chatbot API", "version": "1.0.0"}),
            ),
            "/docs" => ProxyResponse::text(
                200,
                "text/html; charset=utf-8",
                "<!DOCTYPE html><html><head><title>Todo Chatbot API - Swagger UI</title></head><body></body></html>",
            ),
            _ => ProxyResponse::json(404, &json!({"detail": "Not Found"})),
        },
        Behaviour::App(AppKind::TodoFrontend) => match path {
            "/api/health" => ProxyResponse::json(200, &json!({"status": "ok"})),
            "/" | "/login" | "/chat" => ProxyResponse::text(
                200,
                "text/html; charset=utf-8",
                "<!DOCTYPE html><html><head><title>Todo Chatbot</title></head><body><div id=\"__next\"></div></body></html>",
            ),
            _ => ProxyResponse::text(
                404,
                "text/html; charset=utf-8",
                "<!DOCTYPE html><html><body><h1>404</h1><h2>This page could not be found.</h2></body></html>",
            ),
        },
        Behaviour::App(AppKind::Generic) => {
            ProxyResponse::text(200, "text/plain; charset=utf-8", "ok\n")
        }
        Behaviour::App(_) => {
            ProxyResponse::text(502, "text/plain; charset=utf-8", "connection refused\n")
        }
    }
}

/// Whether a probe without an HTTP path (tcpSocket, exec) passes.
pub fn healthy(b: Behaviour, env: &BTreeMap<String, String>, scenario: &Scenario) -> bool {
    match b {
        Behaviour::App(AppKind::TodoBackend) => {
            backend_database(env, scenario) == Database::Connected
        }
        Behaviour::App(AppKind::Crashloop | AppKind::Oom | AppKind::HttpCheck) => false,
        _ => true,
    }
}

/// The log line a failed health check adds (the backend says why).
pub fn failed_check_log(
    b: Behaviour,
    env: &BTreeMap<String, String>,
    scenario: &Scenario,
) -> Option<String> {
    match b {
        Behaviour::App(AppKind::TodoBackend) => database_log(&backend_database(env, scenario)),
        _ => None,
    }
}

/// What a container logs when it starts.
pub fn startup_logs(
    b: Behaviour,
    env: &BTreeMap<String, String>,
    scenario: &Scenario,
    container: &str,
) -> Vec<String> {
    match b {
        Behaviour::App(AppKind::TodoBackend) => {
            let mut out = vec![
                "INFO:     Started server process [1]".to_owned(),
                "INFO:     Waiting for application startup.".to_owned(),
            ];
            let db = backend_database(env, scenario);
            match database_log(&db) {
                Some(line) => out.push(line),
                None => out.push("INFO:app.db:connected to PostgreSQL".to_owned()),
            }
            out.push("INFO:     Application startup complete.".to_owned());
            out.push(
                "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)"
                    .to_owned(),
            );
            out
        }
        Behaviour::App(AppKind::TodoFrontend) => vec![
            "  ▲ Next.js 14.2.3".to_owned(),
            "  - Local:        http://localhost:3000".to_owned(),
            "  - Network:      http://0.0.0.0:3000".to_owned(),
            String::new(),
            " ✓ Starting...".to_owned(),
            " ✓ Ready in 312ms".to_owned(),
        ],
        Behaviour::App(AppKind::Crashloop) => vec![
            "Starting application...".to_owned(),
            "Traceback (most recent call last):".to_owned(),
            "  File \"/app/main.py\", line 12, in <module>".to_owned(),
            "    from app.config import settings".to_owned(),
            "  File \"/app/app/config.py\", line 31, in <module>".to_owned(),
            "    settings = Settings()".to_owned(),
            "  File \"/app/app/config.py\", line 24, in __init__".to_owned(),
            "    raise RuntimeError(\"required configuration is missing\")".to_owned(),
            "RuntimeError: required configuration is missing".to_owned(),
        ],
        Behaviour::App(AppKind::Oom) => vec![
            "INFO:     Started server process [1]".to_owned(),
            "INFO:     Loading embeddings index into memory...".to_owned(),
            "INFO:     Allocating 2048 MiB for the vector cache".to_owned(),
        ],
        Behaviour::App(AppKind::HttpCheck) => Vec::new(),
        Behaviour::App(AppKind::Generic) => vec![format!("{container}: started")],
        Behaviour::SealedController => vec![
            "controller version: 0.27.1".to_owned(),
            "Searching for existing private keys".to_owned(),
            "HTTP server serving on :8080".to_owned(),
        ],
    }
}

/// How a container's run ends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Runs until stopped.
    Service,
    /// Exits after starting: exit code and reason.
    Crash(i32, &'static str),
    /// Runs to completion (http-check).
    Job,
}

/// The lifetime of a behaviour.
pub fn lifetime(b: Behaviour) -> Lifetime {
    match b {
        Behaviour::App(AppKind::Crashloop) => Lifetime::Crash(1, "Error"),
        Behaviour::App(AppKind::Oom) => Lifetime::Crash(137, "OOMKilled"),
        Behaviour::App(AppKind::HttpCheck) => Lifetime::Job,
        _ => Lifetime::Service,
    }
}

/// The first `http://` or `https://` URL in a command line.
pub fn find_url(argv: &[String]) -> Option<String> {
    argv.iter()
        .flat_map(|a| a.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ';'))
        .find_map(|tok| {
            tok.find("http://")
                .or_else(|| tok.find("https://"))
                .map(|i| tok[i..].to_owned())
        })
}

/// Resolve `<svc>[.<ns>[.svc[.cluster.local]]]` to (namespace, service).
pub fn resolve_service_host(host: &str, pod_namespace: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = host.split('.').collect();
    let svc = *parts.first()?;
    if svc.is_empty() || svc.parse::<u8>().is_ok() {
        return None;
    }
    match parts.len() {
        1 => Some((pod_namespace.to_owned(), svc.to_owned())),
        2 => Some((parts[1].to_owned(), svc.to_owned())),
        3 if parts[2] == "svc" => Some((parts[1].to_owned(), svc.to_owned())),
        5 if parts[2] == "svc" && parts[3] == "cluster" && parts[4] == "local" => {
            Some((parts[1].to_owned(), svc.to_owned()))
        }
        _ => None,
    }
}

/// Run the http-check app: GET the URL in `argv` through the simulated Services. Returns
/// the exit code and the log lines.
pub fn http_check(
    state: &State,
    sim: &SimState,
    pod_namespace: &str,
    argv: &[String],
) -> (i32, Vec<String>) {
    let Some(raw) = find_url(argv) else {
        return (
            2,
            vec!["curl: try 'curl --help' or 'curl --manual' for more information".into()],
        );
    };
    let Ok(url) = url::Url::parse(&raw) else {
        return (
            3,
            vec![format!(
                "curl: (3) URL rejected: Malformed input to a URL function: {raw}"
            )],
        );
    };
    let host = url.host_str().unwrap_or("").to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path = format!("{path}?{q}");
    }
    let Some((ns, svc)) = resolve_service_host(&host, pod_namespace) else {
        return (1, vec![format!("curl: (6) Could not resolve host: {host}")]);
    };
    let refused = || {
        (
            1,
            vec![format!(
                "curl: (7) Failed to connect to {host} port {port} after 1 ms: Couldn't connect to server"
            )],
        )
    };
    match service_proxy_now(state, sim, &ns, &svc, Some(&port.to_string()), "GET", &path) {
        Ok(resp) if (200..300).contains(&resp.status) => {
            (0, vec![String::from_utf8_lossy(&resp.body).into_owned()])
        }
        Ok(resp) => (
            1,
            vec![format!(
                "curl: (22) The requested URL returned error: {}",
                resp.status
            )],
        ),
        Err(ProxyError::ServiceNotFound) => {
            (1, vec![format!("curl: (6) Could not resolve host: {host}")])
        }
        Err(_) => refused(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(url: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("DATABASE_URL".to_owned(), url.to_owned())])
    }

    #[test]
    fn backend_is_healthy_only_with_a_reachable_database() {
        let s = Scenario::default();
        assert_eq!(
            backend_database(
                &env(
                    "postgresql://u:p@ep-demo-123456.us-east-2.aws.neon.tech/todo?sslmode=require"
                ),
                &s
            ),
            Database::Connected
        );
        assert_eq!(
            backend_database(
                &env("postgres://u:p@ep-demo-123456.us-east-2.aws.neon.tech:5432/todo"),
                &s
            ),
            Database::Connected
        );
        assert!(matches!(
            backend_database(&env("postgresql://u:p@other.example/todo"), &s),
            Database::Unreachable(_)
        ));
        assert_eq!(
            backend_database(&env("mysql://u:p@h/db"), &s),
            Database::Invalid
        );
        assert_eq!(
            backend_database(&env("postgresql://u:p@host"), &s),
            Database::Invalid
        );
        assert_eq!(backend_database(&BTreeMap::new(), &s), Database::NotSet);
    }

    #[test]
    fn unreachable_database_log_includes_the_url() {
        let s = Scenario::default();
        let logs = startup_logs(
            Behaviour::App(AppKind::TodoBackend),
            &env("postgresql://user:hunter2@db.example/todo"),
            &s,
            "backend",
        );
        assert!(logs.iter().any(|l| l == "ERROR:app.db:could not connect to postgresql://user:hunter2@db.example/todo: connection refused"));
    }

    #[test]
    fn service_hosts_resolve_with_and_without_domain() {
        assert_eq!(
            resolve_service_host("todo-backend", "todo"),
            Some(("todo".into(), "todo-backend".into()))
        );
        assert_eq!(
            resolve_service_host("b.other.svc.cluster.local", "todo"),
            Some(("other".into(), "b".into()))
        );
        assert_eq!(resolve_service_host("example.com.evil", "todo"), None);
        assert_eq!(resolve_service_host("10.0.0.1", "todo"), None);
    }

    #[test]
    fn url_is_found_inside_a_shell_command() {
        let argv = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "curl -fsS 'http://todo-backend:8000/health' && echo ok".to_owned(),
        ];
        assert_eq!(
            find_url(&argv).as_deref(),
            Some("http://todo-backend:8000/health")
        );
    }
}
