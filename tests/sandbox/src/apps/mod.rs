//! Simulated application images: what a container answers over HTTP, whether it is healthy,
//! what it logs and how its run ends. Behaviour is chosen by image (`Scenario::app_for`):
//! the Todo Chatbot's images ([`todo`]), the http-check job ([`http_check`]), crashers and a
//! generic server, plus the sealed-secrets controller's image.

pub mod http_check;
pub mod todo;

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use self::todo::{Database, backend_database, database_log};
use crate::addons::sealed_secrets;
use crate::network::ProxyResponse;
use crate::node::runtime::Role;
use crate::scenario::{AppKind, OnSigterm, Scenario, image_repository, normalize_image};
use crate::state::SimState;

/// What a container does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// One of the scenario's application kinds.
    App(AppKind),
    /// The sealed-secrets controller (serves `/v1/cert.pem`, `/v1/verify`, `/v1/rotate`).
    SealedController,
}

/// What the scenario changes of a container's behaviour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// The exit code of a crash or completion.
    pub exit_code: Option<i32>,
    /// The lines logged at start instead of the behaviour's.
    pub logs: Option<Vec<String>>,
    /// How long it runs before a crash or completion, in ms.
    pub run_ms: Option<u64>,
    /// Whether it ignores SIGTERM (and is killed at the end of the grace period).
    pub ignores_sigterm: bool,
}

/// The behaviour of container `container` running `image`, and the scenario's profile of it.
pub fn behaviour_for(scenario: &Scenario, image: &str, container: &str) -> (Behaviour, Profile) {
    let rule = scenario.app_rule(image, container);
    let profile = rule
        .map(|r| Profile {
            exit_code: r.exit_code,
            logs: r.logs.clone(),
            run_ms: r.run_ms,
            ignores_sigterm: r.sigterm == OnSigterm::Ignore,
        })
        .unwrap_or_default();
    let behaviour = match rule.and_then(|r| r.kind) {
        Some(kind) => Behaviour::App(kind),
        None if image_repository(image).ends_with("sealed-secrets-controller") => {
            Behaviour::SealedController
        }
        None => Behaviour::App(scenario.app_for(image)),
    };
    (behaviour, profile)
}

/// A stable fake digest for an image (hex sha256 of its normalized reference).
pub fn digest(image: &str) -> String {
    let d = Sha256::digest(normalize_image(image).as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The todo backend's view of its database.
pub fn handle(
    b: Behaviour,
    env: &BTreeMap<String, String>,
    scenario: &Scenario,
    sim: &SimState,
    method: &str,
    path: &str,
    body: &[u8],
) -> ProxyResponse {
    let path = path.split('?').next().unwrap_or("/");
    match b {
        Behaviour::SealedController => sealed_secrets::serve(sim, method, path, body),
        Behaviour::App(AppKind::TodoBackend) => todo::backend(env, scenario, path),
        Behaviour::App(AppKind::TodoFrontend) => todo::frontend(path),
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
        Behaviour::App(
            AppKind::Crashloop | AppKind::Oom | AppKind::HttpCheck | AppKind::Complete,
        ) => false,
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
        Behaviour::App(AppKind::HttpCheck | AppKind::Complete) => Vec::new(),
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
    /// Runs to completion: the exit code comes from what it does ([`complete`]).
    Job,
}

/// The reason the kubelet gives a container that exited with `code`.
pub fn exit_reason(code: i32) -> &'static str {
    if code == 0 { "Completed" } else { "Error" }
}

/// The lifetime of a behaviour in a container of `role`: services run until stopped, except as
/// (non-sidecar) init containers, which run to completion.
pub fn lifetime(b: Behaviour, role: Role, profile: &Profile) -> Lifetime {
    let crash = |default: i32| profile.exit_code.unwrap_or(default);
    match b {
        Behaviour::App(AppKind::Crashloop) => Lifetime::Crash(crash(1), exit_reason(crash(1))),
        Behaviour::App(AppKind::Oom) => Lifetime::Crash(137, "OOMKilled"),
        Behaviour::App(AppKind::HttpCheck | AppKind::Complete) => Lifetime::Job,
        _ if role == Role::Init => Lifetime::Job,
        _ => Lifetime::Service,
    }
}

/// A run to completion: the exit code and the lines logged. The http-check job GETs its URL;
/// the backend image run as an init container migrates its database (failing when the
/// database is unreachable); anything else exits with the profile's code (0).
pub fn complete(
    b: Behaviour,
    profile: &Profile,
    env: &BTreeMap<String, String>,
    scenario: &Scenario,
) -> Option<(i32, Vec<String>)> {
    match b {
        Behaviour::App(AppKind::HttpCheck) => None,
        Behaviour::App(AppKind::TodoBackend) if profile.exit_code.is_none() => {
            Some(todo::migrate(env, scenario))
        }
        _ => Some((profile.exit_code.unwrap_or(0), Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(url: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("DATABASE_URL".to_owned(), url.to_owned())])
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
}
