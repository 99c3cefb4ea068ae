//! The http-check app (`curlimages/curl`): a job that GETs the URL in its command line
//! through the simulated cluster DNS and Services, and exits like curl.

use crate::network::{AppRequest, ProxyError, service_proxy_now};
use crate::state::{SimState, State};

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
pub fn run(
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
    match service_proxy_now(
        state,
        sim,
        &ns,
        &svc,
        Some(&port.to_string()),
        AppRequest::get(&path),
    ) {
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
