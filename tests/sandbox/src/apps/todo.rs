//! The Todo Chatbot's simulated images: the FastAPI backend (healthy only when its
//! `DATABASE_URL` names a PostgreSQL database the scenario declares reachable) and the Next.js
//! frontend, with their HTTP answers and logs.

use std::collections::BTreeMap;

use serde_json::json;

use crate::network::ProxyResponse;
use crate::scenario::Scenario;

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

pub fn database_log(db: &Database) -> Option<String> {
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

/// The backend's HTTP answers.
pub fn backend(env: &BTreeMap<String, String>, scenario: &Scenario, path: &str) -> ProxyResponse {
    match path {
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
    }
}

/// The frontend's HTTP answers.
pub fn frontend(path: &str) -> ProxyResponse {
    match path {
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
}
