//! The values files the plugin writes and reads back: the sealed values file (safe to
//! commit), the plaintext values file (`--format values`) and the `existingSecret` values
//! file (`--format secret`).
//!
//! A sealed values file records where its values may be unsealed (`secrets.sealed.scope`,
//! `.namespace`, `.secretName`) and which certificate sealed them
//! (`.certificateFingerprint`); the chart refuses to render it into another namespace or
//! under another Secret name, and `status` compares the fingerprint with the controller's.
//! Reading checks the document's shape field by field, so errors name the field, never a
//! value.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use super::SecretsError;
use super::input::{InputError, Origin, yaml_document};
use super::keys::{Provider, valid_key_name};
use crate::seal::Scope;

pub use crate::chart::DEFAULT_SEALED_FILE;
/// Default output of `--format values`: plaintext, ignored by the repository's .gitignore.
pub const DEFAULT_VALUES_FILE: &str = "secrets.values.yaml";
/// Default output of `--format secret`: values pointing the chart at the applied Secret.
pub const DEFAULT_EXISTING_FILE: &str = "todo-secrets.existing.yaml";

const MARKER: &str = "# todo-secrets:";

/// A sealed values file, as written by `init` and read by `seal`, `rotate` and `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedFile {
    /// `llm.provider`.
    pub provider: Option<Provider>,
    /// `secrets.name` (else `secrets.sealed.secretName`): the Secret (and SealedSecret) name
    /// the values are bound to; empty when the file names none.
    pub name: String,
    /// `secrets.sealed.scope`.
    pub scope: Scope,
    /// `secrets.sealed.certificateFingerprint` (empty: not recorded).
    pub fingerprint: String,
    /// `secrets.sealed.encryptedData`.
    pub encrypted: BTreeMap<String, String>,
    /// `secrets.sealed.namespace` (older files: the header comment).
    pub namespace: Option<String>,
    /// The release the values were sealed for (the header comment).
    pub release: Option<String>,
}

#[derive(Serialize)]
struct Doc<'a, S: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    llm: Option<Llm>,
    secrets: SecretsValues<'a, S>,
}

#[derive(Serialize)]
struct Llm {
    provider: &'static str,
}

#[derive(Serialize)]
struct SecretsValues<'a, S: Serialize> {
    mode: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(rename = "existingSecret", skip_serializing_if = "str::is_empty")]
    existing_secret: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    inline: Option<BTreeMap<&'a str, S>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sealed: Option<SealedValues<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SealedValues<'a> {
    scope: Scope,
    #[serde(skip_serializing_if = "str::is_empty")]
    namespace: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    secret_name: &'a str,
    certificate_fingerprint: &'a str,
    encrypted_data: &'a BTreeMap<String, String>,
}

/// Serializes a secret as a plain string; only used for the 0600 plaintext output.
struct Exposed<'a>(&'a SecretString);

impl Serialize for Exposed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose_secret())
    }
}

fn header(lines: &[String], namespace: &str, release: &str) -> String {
    let mut out: String = lines.iter().map(|l| format!("# {l}\n")).collect();
    out.push_str(&format!(
        "{MARKER} namespace={namespace} release={release}\n"
    ));
    out
}

/// YAML without block scalars: base64 and secrets stay plain or quoted single-line scalars,
/// which every YAML parser (Helm's included) reads back byte for byte.
fn to_yaml<T: Serialize>(value: &T) -> Result<String, SecretsError> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    Ok(serde_saphyr::to_string_with_options(value, options)?)
}

/// Render a sealed values file for the chart.
pub fn render_sealed(
    file: &SealedFile,
    namespace: &str,
    release: &str,
) -> Result<String, SecretsError> {
    let bound_namespace = if file.scope == Scope::ClusterWide {
        ""
    } else {
        namespace
    };
    let bound_name = if file.scope == Scope::Strict {
        file.name.as_str()
    } else {
        ""
    };
    let doc: Doc<'_, String> = Doc {
        llm: file.provider.map(|p| Llm {
            provider: p.as_str(),
        }),
        secrets: SecretsValues {
            mode: "sealed",
            name: &file.name,
            existing_secret: "",
            inline: None,
            sealed: Some(SealedValues {
                scope: file.scope,
                namespace: bound_namespace,
                secret_name: bound_name,
                certificate_fingerprint: &file.fingerprint,
                encrypted_data: &file.encrypted,
            }),
        },
    };
    let body = to_yaml(&doc)?;
    let head = header(
        &[
            format!("Sealed by `helm todo-secrets` for the Secret {:?} in namespace {namespace:?}, scope {}.", file.name, file.scope),
            "Safe to commit: only the cluster's sealed-secrets controller can decrypt these values.".into(),
            format!("Install: helm upgrade --install {release} charts/todo-chatbot -n {namespace} -f <this file>"),
        ],
        namespace,
        release,
    );
    Ok(head + &body)
}

/// Read a values document's `secrets.sealed` part: from a parsed values file, or from a
/// Helm release's user values (`kubectl todo verify` reads the installed file this way).
/// `Err` says what is wrong, naming fields, never values.
pub fn sealed_from_values(doc: &Value) -> Result<SealedFile, String> {
    let top = mapping(doc, "the document")?;
    let secrets = section(top, "secrets", "secrets")?;
    match secrets.get("mode").and_then(Value::as_str) {
        Some("sealed") => {}
        Some(mode @ ("inline" | "existingSecret")) => {
            return Err(format!("`secrets.mode` is {mode:?}, not \"sealed\""));
        }
        _ => return Err("`secrets.mode` is not \"sealed\"".into()),
    }
    let sealed = section(secrets, "sealed", "secrets.sealed")?;
    let scope = match sealed.get("scope") {
        None | Some(Value::Null) => Scope::default(),
        Some(v) => v
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or("`secrets.sealed.scope` is not strict, namespace-wide or cluster-wide")?,
    };
    let fingerprint = optional_str(sealed, "certificateFingerprint", "secrets.sealed")?;
    let hex64 = fingerprint.len() == 64 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit());
    if !fingerprint.is_empty() && !hex64 {
        return Err(
            "`secrets.sealed.certificateFingerprint` is not a SHA-256 fingerprint (64 hex digits)"
                .into(),
        );
    }
    let provider = match top.get("llm").and_then(|l| l.get("provider")) {
        None | Some(Value::Null) => None,
        Some(p) => Some(
            p.as_str()
                .and_then(Provider::parse)
                .ok_or("`llm.provider` is not openai, openrouter or cohere")?,
        ),
    };
    let name = match optional_str(secrets, "name", "secrets")? {
        "" => optional_str(sealed, "secretName", "secrets.sealed")?,
        name => name,
    };
    let namespace = optional_str(sealed, "namespace", "secrets.sealed")?;
    Ok(SealedFile {
        provider,
        name: name.to_owned(),
        scope,
        fingerprint: fingerprint.to_ascii_lowercase(),
        encrypted: encrypted_data(sealed)?,
        namespace: (!namespace.is_empty()).then(|| namespace.to_owned()),
        release: None,
    })
}

fn encrypted_data(
    sealed: &serde_json::Map<String, Value>,
) -> Result<BTreeMap<String, String>, String> {
    let data = match sealed.get("encryptedData") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(v) => v
            .as_object()
            .ok_or("`secrets.sealed.encryptedData` is not a mapping")?,
    };
    let mut out = BTreeMap::new();
    for (key, value) in data {
        if !valid_key_name(key) {
            return Err(
                "`secrets.sealed.encryptedData` has a key that is not a variable name".into(),
            );
        }
        let text = value
            .as_str()
            .ok_or_else(|| format!("`secrets.sealed.encryptedData.{key}` is not a string"))?;
        if base64::engine::general_purpose::STANDARD
            .decode(text)
            .is_err()
        {
            return Err(format!(
                "`secrets.sealed.encryptedData.{key}` is not sealed data (base64)"
            ));
        }
        out.insert(key.clone(), text.to_owned());
    }
    Ok(out)
}

fn mapping<'a>(value: &'a Value, what: &str) -> Result<&'a serde_json::Map<String, Value>, String> {
    value.as_object().ok_or_else(|| match value {
        Value::String(_) => {
            format!("{what} is a single line of text, not YAML values (a dotenv file?)")
        }
        Value::Null => format!("{what} is empty"),
        _ => format!("{what} is not a mapping of values"),
    })
}

fn section<'a>(
    parent: &'a serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a serde_json::Map<String, Value>, String> {
    match parent.get(key) {
        None | Some(Value::Null) => Err(format!("no `{path}:` section")),
        Some(v) => v
            .as_object()
            .ok_or_else(|| format!("`{path}` is not a mapping")),
    }
}

fn optional_str<'a>(
    parent: &'a serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a str, String> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(v) => v
            .as_str()
            .ok_or_else(|| format!("`{path}.{key}` is not a string")),
    }
}

/// Parse a sealed values file written by [`render_sealed`] (or by hand, same keys).
pub fn parse_sealed(path: &Path, text: &str) -> Result<SealedFile, InputError> {
    let origin = Origin::file(path);
    let doc = yaml_document(&origin, text)?;
    let mut file =
        sealed_from_values(&doc).map_err(|problem| InputError::Shape { origin, problem })?;
    let (namespace, release) = parse_marker(text);
    file.namespace = file.namespace.or(namespace);
    file.release = release;
    Ok(file)
}

fn parse_marker(text: &str) -> (Option<String>, Option<String>) {
    let Some(line) = text.lines().find_map(|l| l.strip_prefix(MARKER)) else {
        return (None, None);
    };
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    (field("namespace"), field("release"))
}

/// Render the plaintext values file (`secrets.mode: inline`). The result holds secrets and is
/// wiped when dropped.
pub fn render_plain(
    provider: Provider,
    name: &str,
    values: &BTreeMap<String, SecretString>,
    namespace: &str,
    release: &str,
) -> Result<Zeroizing<String>, SecretsError> {
    let inline: BTreeMap<&str, Exposed<'_>> = values
        .iter()
        .map(|(k, v)| (k.as_str(), Exposed(v)))
        .collect();
    let doc = Doc {
        llm: Some(Llm {
            provider: provider.as_str(),
        }),
        secrets: SecretsValues {
            mode: "inline",
            name,
            existing_secret: "",
            inline: Some(inline),
            sealed: None,
        },
    };
    let body = Zeroizing::new(to_yaml(&doc)?);
    let head = header(
        &[
            "PLAINTEXT SECRETS written by `helm todo-secrets init --format values` (mode 0600)."
                .into(),
            "Never commit this file; keep it ignored by git. Prefer --format sealed.".into(),
        ],
        namespace,
        release,
    );
    let mut out = Zeroizing::new(String::with_capacity(head.len() + body.len()));
    out.push_str(&head);
    out.push_str(&body);
    Ok(out)
}

/// Read the plaintext values of a file written by [`render_plain`], for merging.
pub fn parse_plain(
    path: &Path,
    text: &str,
) -> Result<(Option<Provider>, BTreeMap<String, SecretString>), InputError> {
    let origin = Origin::file(path);
    let shape = |problem: String| InputError::Shape {
        origin: origin.clone(),
        problem,
    };
    let doc = yaml_document(&origin, text)?;
    let top = mapping(&doc, "the document").map_err(shape)?;
    let provider = top
        .get("llm")
        .and_then(|l| l.get("provider"))
        .and_then(Value::as_str)
        .and_then(Provider::parse);
    let mut values = BTreeMap::new();
    let inline = top.get("secrets").and_then(|s| s.get("inline"));
    for (key, value) in inline.and_then(Value::as_object).into_iter().flatten() {
        let text = value
            .as_str()
            .filter(|_| valid_key_name(key))
            .ok_or_else(|| shape("`secrets.inline` holds a value that is not a string, or a key that is not a variable name".into()))?;
        values.insert(key.clone(), SecretString::from(text.to_owned()));
    }
    Ok((provider, values))
}

/// Render the values file for `--format secret`: the chart uses the Secret applied to the
/// cluster instead of creating one. Holds no secret.
pub fn render_existing(
    provider: Provider,
    secret_name: &str,
    namespace: &str,
    release: &str,
) -> Result<String, SecretsError> {
    let doc: Doc<'_, String> = Doc {
        llm: Some(Llm {
            provider: provider.as_str(),
        }),
        secrets: SecretsValues {
            mode: "existingSecret",
            name: "",
            existing_secret: secret_name,
            inline: None,
            sealed: None,
        },
    };
    let body = to_yaml(&doc)?;
    let head = header(
        &[format!(
            "The Secret {secret_name:?} was applied to namespace {namespace:?} by `helm todo-secrets init --format secret`."
        )],
        namespace,
        release,
    );
    Ok(head + &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SealedFile {
        SealedFile {
            provider: Some(Provider::Openrouter),
            name: "todo-todo-chatbot-secrets".into(),
            scope: Scope::Strict,
            fingerprint: "ab".repeat(32),
            encrypted: [("DATABASE_URL".to_string(), "AgB+/w==".to_string())]
                .into_iter()
                .collect(),
            namespace: Some("todo".into()),
            release: Some("todo".into()),
        }
    }

    #[test]
    fn sealed_file_round_trips() {
        let text = render_sealed(&sample(), "todo", "todo").unwrap();
        assert!(text.contains("mode: sealed"));
        assert!(text.contains("certificateFingerprint:"));
        assert_eq!(parse_sealed(Path::new("f"), &text).unwrap(), sample());
    }

    #[test]
    fn sealed_file_records_where_it_may_be_unsealed() {
        let text = render_sealed(&sample(), "todo", "todo").unwrap();
        let v: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(v["llm"]["provider"], "openrouter");
        assert_eq!(v["secrets"]["sealed"]["scope"], "strict");
        assert_eq!(v["secrets"]["sealed"]["namespace"], "todo");
        assert_eq!(
            v["secrets"]["sealed"]["secretName"],
            "todo-todo-chatbot-secrets"
        );
        assert_eq!(
            v["secrets"]["sealed"]["encryptedData"]["DATABASE_URL"],
            "AgB+/w=="
        );
        assert_eq!(v["secrets"]["name"], "todo-todo-chatbot-secrets");
        let wide = SealedFile {
            scope: Scope::ClusterWide,
            ..sample()
        };
        let v: Value =
            serde_saphyr::from_str(&render_sealed(&wide, "todo", "todo").unwrap()).unwrap();
        assert!(v["secrets"]["sealed"].get("namespace").is_none());
        assert!(v["secrets"]["sealed"].get("secretName").is_none());
    }

    #[test]
    fn the_files_of_older_versions_are_read_from_their_header() {
        let text = "# todo-secrets: namespace=prod release=web\nsecrets:\n  mode: sealed\n  name: s\n  sealed:\n    scope: strict\n    encryptedData: {K: AAAA}\n";
        let f = parse_sealed(Path::new("f"), text).unwrap();
        assert_eq!(
            (f.namespace.as_deref(), f.release.as_deref()),
            (Some("prod"), Some("web"))
        );
        assert_eq!(f.fingerprint, "");
    }

    #[test]
    fn a_dotenv_file_given_as_values_is_refused_without_its_content() {
        for text in [
            "DATABASE_URL=postgresql://u:S3CRET@h/db\n",
            "DATABASE_URL: postgresql://u:S3CRET@h/db\n",
            "secrets:\n  mode: S3CRET\n",
            "secrets:\n  mode: sealed\n  sealed:\n    encryptedData:\n      K: 'S3CRET not base64!'\n",
            "secrets: [S3CRET\n",
        ] {
            let err = parse_sealed(Path::new("bad.env"), text).unwrap_err();
            let shown = err.to_string();
            assert!(shown.starts_with("bad.env: "), "{shown}");
            assert!(
                !shown.contains("S3CRET") && !shown.contains("postgresql"),
                "{shown}"
            );
        }
    }

    #[test]
    fn release_values_are_read_the_same_way() {
        let values = serde_json::json!({"secrets": {"mode": "sealed", "sealed": {"scope": "namespace-wide", "namespace": "todo", "certificateFingerprint": "AB".repeat(32), "encryptedData": {"K": "AAAA"}}}});
        let f = sealed_from_values(&values).unwrap();
        assert_eq!(f.scope, Scope::NamespaceWide);
        assert_eq!(f.fingerprint, "ab".repeat(32));
        assert_eq!(f.namespace.as_deref(), Some("todo"));
        let inline = serde_json::json!({"secrets": {"mode": "inline"}});
        assert_eq!(
            sealed_from_values(&inline).unwrap_err(),
            "`secrets.mode` is \"inline\", not \"sealed\""
        );
    }

    #[test]
    fn plaintext_values_round_trip_awkward_strings() {
        let tricky = [
            "a: b # c",
            "  lead",
            "'\"quotes\"'",
            "multi\nline",
            "yes",
            "0123",
            "-dash",
            "{x}",
        ];
        let values: BTreeMap<String, SecretString> = tricky
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("K{i}"), SecretString::from(v.to_string())))
            .collect();
        let text = render_plain(Provider::Openai, "s", &values, "ns", "rel").unwrap();
        let (provider, back) = parse_plain(Path::new("f"), &text).unwrap();
        assert_eq!(provider, Some(Provider::Openai));
        for (i, v) in tricky.iter().enumerate() {
            assert_eq!(back[&format!("K{i}")].expose_secret(), *v);
        }
    }

    #[test]
    fn parse_sealed_rejects_other_modes() {
        let text = "secrets:\n  mode: inline\n";
        assert!(matches!(
            parse_sealed(Path::new("f"), text),
            Err(InputError::Shape { .. })
        ));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn sealed_file() -> impl Strategy<Value = SealedFile> {
            (
                prop_oneof![
                    Just(None),
                    Just(Some(Provider::Openai)),
                    Just(Some(Provider::Openrouter)),
                    Just(Some(Provider::Cohere)),
                ],
                "[a-z][a-z0-9-]{0,20}",
                prop_oneof![
                    Just(Scope::Strict),
                    Just(Scope::NamespaceWide),
                    Just(Scope::ClusterWide)
                ],
                "([0-9a-f]{64})?",
                proptest::collection::btree_map(
                    "[A-Z_][A-Z0-9_]{0,12}",
                    proptest::collection::vec(any::<u8>(), 0..64)
                        .prop_map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
                    0..5,
                ),
                "[a-z][a-z0-9-]{0,15}",
                "[a-z][a-z0-9-]{0,15}",
            )
                .prop_map(
                    |(provider, name, scope, fingerprint, encrypted, ns, release)| SealedFile {
                        provider,
                        name,
                        scope,
                        fingerprint,
                        encrypted,
                        namespace: Some(ns),
                        release: Some(release),
                    },
                )
        }

        proptest! {
            #[test]
            fn rendered_sealed_files_read_back(file in sealed_file()) {
                let ns = file.namespace.clone().unwrap_or_default();
                let release = file.release.clone().unwrap_or_default();
                let text = render_sealed(&file, &ns, &release).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back = parse_sealed(Path::new("f"), &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back, file);
            }

            #[test]
            fn never_panics_on_any_text(text in any::<String>()) {
                let _ = parse_sealed(Path::new("f"), &text);
            }

            #[test]
            fn never_panics_on_yaml_like_text(text in "(secrets:\n  mode: sealed\n  sealed:\n)?[a-zA-Z:{}\\[\\], \n'\"#&*!|>=-]{0,120}") {
                let _ = parse_sealed(Path::new("f"), &text);
            }

            #[test]
            fn errors_name_fields_never_values(
                value in "SNTL[a-zA-Z0-9]{0,20}",
                field in "(scope|certificateFingerprint|encryptedData|namespace)",
            ) {
                let text = format!("secrets:\n  mode: sealed\n  sealed:\n    {field}: [{value}]\n    encryptedData:\n      A: \"{value}!\"\n");
                if let Err(e) = parse_sealed(Path::new("f"), &text) {
                    prop_assert!(!e.to_string().contains("SNTL"), "{e}");
                }
            }
        }
    }
}
