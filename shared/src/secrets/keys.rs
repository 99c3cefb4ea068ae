//! Which secret values the chart needs, read from its `values.schema.json`, and how each one
//! is checked and generated. Nothing here ever formats a secret value into a message.

use std::path::Path;

use rand::Rng as _;
use rand::distributions::Alphanumeric;
use secrecy::{ExposeSecret, SecretString};

use super::SecretsError;
use super::input::{InputError, VALUES_LIMIT, read_file};

pub use crate::chart::Provider;

/// How a value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A PostgreSQL connection URL.
    DatabaseUrl,
    /// Better Auth's signing secret: at least 32 characters.
    AuthSecret,
    /// An LLM provider's API key.
    LlmKey(Provider),
    /// Any other value the schema marks secret: non-empty.
    Other,
}

/// One secret value the chart reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    /// The Secret key and environment variable name.
    pub name: String,
    /// What it is, for prompts.
    pub description: String,
    /// Whether a random value is a good default (`x-generate`).
    pub generate: bool,
    /// How it is checked.
    pub kind: KeyKind,
}

/// Minimum length of a typed `BETTER_AUTH_SECRET`.
pub const AUTH_SECRET_MIN: usize = 32;
/// Length of a generated secret.
pub const GENERATED_LEN: usize = 48;

fn kind_of(name: &str) -> KeyKind {
    match name {
        "DATABASE_URL" => KeyKind::DatabaseUrl,
        "BETTER_AUTH_SECRET" => KeyKind::AuthSecret,
        other => Provider::for_key(other).map_or(KeyKind::Other, KeyKind::LlmKey),
    }
}

/// The keys the chart contract names, used when the chart's schema is not available.
pub fn builtin_keys() -> Vec<KeySpec> {
    let spec = |name: &str, description: &str, generate| KeySpec {
        name: name.into(),
        description: description.into(),
        generate,
        kind: kind_of(name),
    };
    vec![
        spec(
            "DATABASE_URL",
            "PostgreSQL connection URL (postgresql://user:pass@host/db)",
            false,
        ),
        spec(
            "BETTER_AUTH_SECRET",
            "Better Auth signing secret (32+ characters)",
            true,
        ),
        spec("OPENAI_API_KEY", "OpenAI API key", false),
        spec("OPENROUTER_API_KEY", "OpenRouter API key", false),
        spec("COHERE_API_KEY", "Cohere API key", false),
    ]
}

/// The keys to ask for: the built-in ones, with descriptions from the chart's
/// `values.schema.json` (`secrets.inline.properties.<KEY>` with `"x-secret": true`), plus any
/// other key the schema marks secret. `Ok(None)` when the chart has no schema file.
pub fn schema_keys(chart_dir: &Path) -> Result<Option<Vec<KeySpec>>, SecretsError> {
    let path = chart_dir.join("values.schema.json");
    let text = match read_file(&path, "a chart schema", VALUES_LIMIT) {
        Ok(text) => text,
        Err(InputError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let schema: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| SecretsError::Schema { path, source })?;
    Ok(Some(keys_from_schema(&schema)))
}

/// [`schema_keys`] on a parsed schema.
pub fn keys_from_schema(schema: &serde_json::Value) -> Vec<KeySpec> {
    let mut keys = builtin_keys();
    let props = schema
        .pointer("/properties/secrets/properties/inline/properties")
        .and_then(|p| p.as_object());
    for (name, prop) in props.into_iter().flatten() {
        if prop.get("x-secret").and_then(|v| v.as_bool()) != Some(true) || !valid_key_name(name) {
            continue;
        }
        let description = prop
            .get("description")
            .and_then(|d| d.as_str())
            .map(str::to_owned);
        let generate = prop.get("x-generate").and_then(|g| g.as_bool());
        match keys.iter_mut().find(|k| &k.name == name) {
            Some(known) => {
                if let Some(d) = description {
                    known.description = d;
                }
                if let Some(g) = generate {
                    known.generate = g;
                }
            }
            None => keys.push(KeySpec {
                name: name.clone(),
                description: description.unwrap_or_else(|| name.clone()),
                generate: generate.unwrap_or(false),
                kind: kind_of(name),
            }),
        }
    }
    keys
}

/// The keys needed for `provider`: every key except the other providers' API keys.
pub fn required_keys(all: &[KeySpec], provider: Provider) -> Vec<KeySpec> {
    all.iter()
        .filter(|k| match k.kind {
            KeyKind::LlmKey(p) => p == provider,
            _ => true,
        })
        .cloned()
        .collect()
}

/// Whether `name` can be an environment variable / Secret key.
pub fn valid_key_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Check a value for `kind`. `Err` is a reason that fails the value; `Ok` carries warnings.
/// Neither ever contains the value. Values of [`KeyKind::Other`] keep their bytes (a PEM
/// block may end in a newline); the known kinds may not start or end with whitespace.
pub fn check(kind: KeyKind, value: &SecretString) -> Result<Vec<String>, String> {
    let value = value.expose_secret();
    if value.is_empty() {
        return Err("is empty".into());
    }
    if kind != KeyKind::Other && value.trim() != value {
        return Err("has leading or trailing whitespace".into());
    }
    match kind {
        KeyKind::DatabaseUrl => check_database_url(value),
        KeyKind::AuthSecret if value.chars().count() < AUTH_SECRET_MIN => {
            Err(format!("is shorter than {AUTH_SECRET_MIN} characters"))
        }
        KeyKind::AuthSecret | KeyKind::Other => Ok(vec![]),
        KeyKind::LlmKey(provider) => Ok(check_api_key(provider, value)),
    }
}

fn check_database_url(value: &str) -> Result<Vec<String>, String> {
    // Never echo the URL: url's own errors do not include the input.
    let url = url::Url::parse(value).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "postgresql" | "postgres") {
        return Err("must start with postgresql:// or postgres://".into());
    }
    let host = url.host_str().unwrap_or_default();
    if host.is_empty() {
        return Err("has no host".into());
    }
    if url.path().trim_start_matches('/').is_empty() {
        return Err("names no database (postgresql://user:pass@host/DATABASE)".into());
    }
    let mut warnings = vec![];
    let ssl_required = url
        .query_pairs()
        .any(|(k, v)| k == "sslmode" && matches!(&*v, "require" | "verify-ca" | "verify-full"));
    if host.ends_with(".neon.tech") && !ssl_required {
        warnings.push(
            "points at a Neon host but lacks sslmode=require; Neon refuses plain connections"
                .into(),
        );
    }
    Ok(warnings)
}

fn check_api_key(provider: Provider, value: &str) -> Vec<String> {
    let mut warnings = vec![];
    if value.chars().any(char::is_whitespace) {
        warnings.push("contains whitespace; API keys normally do not".into());
    }
    match provider {
        Provider::Openai if !value.starts_with("sk-") => {
            warnings.push("does not start with `sk-` like OpenAI keys do".into())
        }
        Provider::Openrouter if !value.starts_with("sk-or-") => {
            warnings.push("does not start with `sk-or-` like OpenRouter keys do".into())
        }
        Provider::Cohere
            if value.len() < 30 || !value.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            warnings.push("does not look like a Cohere key (40 letters and digits)".into())
        }
        _ => {}
    }
    warnings
}

/// Whether a value looks like a placeholder someone forgot to replace (`changeme`,
/// `<your key>`, `xxx`…): the same rule `kubectl todo verify` fails a value by, so `init`
/// refuses what verify would fail later.
pub fn is_placeholder(value: &SecretString) -> bool {
    crate::secret_rules::is_placeholder(value.expose_secret())
}

/// A random alphanumeric secret of `len` characters from the OS CSPRNG (never one that
/// would read as a placeholder, such as one containing `xxx`).
pub fn generate(len: usize) -> SecretString {
    loop {
        let text: String = rand::rngs::OsRng
            .sample_iter(&Alphanumeric)
            .take(len)
            .map(char::from)
            .collect();
        let secret = SecretString::from(text);
        if !is_placeholder(&secret) {
            return secret;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> SecretString {
        SecretString::from(v.to_owned())
    }

    #[test]
    fn database_url_needs_postgres_scheme_host_and_database() {
        assert_eq!(
            check(
                KeyKind::DatabaseUrl,
                &s("postgresql://u:p@db.example.com/app")
            ),
            Ok(vec![])
        );
        assert!(check(KeyKind::DatabaseUrl, &s("postgres://u@localhost:5432/app")).is_ok());
        assert!(check(KeyKind::DatabaseUrl, &s("mysql://u:p@h/app")).is_err());
        assert!(check(KeyKind::DatabaseUrl, &s("postgresql://u:p@h")).is_err());
        assert!(check(KeyKind::DatabaseUrl, &s("postgresql:///app")).is_err());
        assert!(check(KeyKind::DatabaseUrl, &s("not a url")).is_err());
    }

    #[test]
    fn neon_url_without_sslmode_warns() {
        let w = check(
            KeyKind::DatabaseUrl,
            &s("postgresql://u:p@ep-x.us-east-2.aws.neon.tech/neondb"),
        )
        .unwrap();
        assert_eq!(w.len(), 1);
        let w = check(
            KeyKind::DatabaseUrl,
            &s("postgresql://u:p@ep-x.aws.neon.tech/neondb?sslmode=require"),
        )
        .unwrap();
        assert!(w.is_empty());
    }

    #[test]
    fn check_messages_never_contain_the_value() {
        let sentinel = "postgresql://SENTINEL-7f3a@h";
        let err = check(KeyKind::DatabaseUrl, &s(sentinel)).unwrap_err();
        assert!(!err.contains("SENTINEL"));
        let w = check(KeyKind::LlmKey(Provider::Openai), &s("SENTINEL-key")).unwrap();
        assert!(w.iter().all(|m| !m.contains("SENTINEL")));
    }

    #[test]
    fn other_values_keep_their_whitespace_known_ones_do_not() {
        assert!(check(KeyKind::Other, &s("-----BEGIN X-----\n")).is_ok());
        assert!(check(KeyKind::LlmKey(Provider::Openai), &s("sk-a\n")).is_err());
        assert!(check(KeyKind::Other, &s("")).is_err());
    }

    #[test]
    fn placeholders_are_recognised_as_verify_does() {
        assert!(is_placeholder(&s("changeme")));
        assert!(is_placeholder(&s("<your OpenAI key>")));
        assert!(!is_placeholder(&s("sk-proj-a1b2c3")));
        for _ in 0..50 {
            assert!(!is_placeholder(&generate(GENERATED_LEN)));
        }
    }

    #[test]
    fn auth_secret_needs_32_characters() {
        assert!(check(KeyKind::AuthSecret, &s(&"x".repeat(31))).is_err());
        assert!(check(KeyKind::AuthSecret, &s(&"x".repeat(32))).is_ok());
    }

    #[test]
    fn api_key_format_mismatch_only_warns() {
        assert_eq!(
            check(KeyKind::LlmKey(Provider::Openai), &s("sk-proj-abc")),
            Ok(vec![])
        );
        assert_eq!(
            check(KeyKind::LlmKey(Provider::Openai), &s("abc")).map(|w| w.len()),
            Ok(1)
        );
        assert_eq!(
            check(KeyKind::LlmKey(Provider::Openrouter), &s("sk-or-v1-abc")),
            Ok(vec![])
        );
    }

    #[test]
    fn generated_secret_is_48_alphanumerics_and_random() {
        let a = generate(GENERATED_LEN);
        let b = generate(GENERATED_LEN);
        assert_eq!(a.expose_secret().len(), 48);
        assert!(a.expose_secret().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn schema_adds_extra_secret_keys_and_descriptions() {
        let schema = serde_json::json!({"properties": {"secrets": {"properties": {"inline": {"properties": {
            "DATABASE_URL": {"type": "string", "x-secret": true, "description": "Neon URL"},
            "SMTP_PASSWORD": {"type": "string", "x-secret": true, "description": "Mail"},
            "NOT_SECRET": {"type": "string"}
        }}}}}});
        let keys = keys_from_schema(&schema);
        assert_eq!(
            keys.iter()
                .find(|k| k.name == "DATABASE_URL")
                .unwrap()
                .description,
            "Neon URL"
        );
        assert!(
            keys.iter()
                .any(|k| k.name == "SMTP_PASSWORD" && k.kind == KeyKind::Other)
        );
        assert!(!keys.iter().any(|k| k.name == "NOT_SECRET"));
    }

    #[test]
    fn required_keys_take_only_the_chosen_providers_key() {
        let names: Vec<_> = required_keys(&builtin_keys(), Provider::Cohere)
            .into_iter()
            .map(|k| k.name)
            .collect();
        assert_eq!(
            names,
            ["DATABASE_URL", "BETTER_AUTH_SECRET", "COHERE_API_KEY"]
        );
    }

    #[test]
    fn missing_schema_file_gives_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(schema_keys(dir.path()).unwrap(), None);
    }
}
