//! The rules a secret value must meet, shared by every flow that judges one (`verify`'s
//! `config.secrets`, `preflight`, `helm todo-secrets`'s prompts): a placeholder left in, a
//! DATABASE_URL that is not a PostgreSQL URL. Pure; no message ever contains the value.

/// Whether a value looks like a placeholder someone forgot to replace.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    [
        "changeme",
        "change-me",
        "change_me",
        "replace-me",
        "replace_me",
        "placeholder",
        "xxx",
    ]
    .iter()
    .any(|p| v.contains(p))
        || (v.contains('<') && v.contains('>'))
        || v.starts_with("your-")
        || v.starts_with("your_")
}

/// Why a DATABASE_URL is not a usable PostgreSQL URL, or `None` when it is.
pub fn database_url_problem(value: &str) -> Option<String> {
    let url = match url::Url::parse(value.trim()) {
        Ok(u) => u,
        Err(e) => return Some(format!("not a URL ({e})")),
    };
    let scheme = url.scheme();
    if !(scheme == "postgres" || scheme == "postgresql" || scheme.starts_with("postgresql+")) {
        return Some(format!("scheme is {scheme:?}, expected postgresql://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some("no host".into());
    }
    if url.path().trim_start_matches('/').is_empty() {
        return Some("no database name (postgresql://USER:PASSWORD@HOST/DBNAME)".into());
    }
    None
}
