//! The values files the plugin writes and reads back, atomic writes, and the git check that
//! guards plaintext output.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::SecretsError;
use super::keys::Provider;
use crate::seal::Scope;

/// Default output of `--format sealed`: safe to commit.
pub const DEFAULT_SEALED_FILE: &str = "todo-secrets.sealed.yaml";
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
    /// `secrets.name`: the Secret (and SealedSecret) name the values are bound to.
    pub name: String,
    /// `secrets.sealed.scope`.
    pub scope: Scope,
    /// `secrets.sealed.certificateFingerprint`.
    pub fingerprint: String,
    /// `secrets.sealed.encryptedData`.
    pub encrypted: BTreeMap<String, String>,
    /// The namespace the values were sealed for (from the header; the chart has no field).
    pub namespace: Option<String>,
    /// The release the values were sealed for (from the header).
    pub release: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Doc<S> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    llm: Option<Llm>,
    #[serde(default = "Option::default")]
    secrets: Option<SecretsValues<S>>,
}

#[derive(Serialize, Deserialize, Default)]
struct Llm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SecretsValues<S> {
    #[serde(default)]
    mode: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(
        default,
        rename = "existingSecret",
        skip_serializing_if = "String::is_empty"
    )]
    existing_secret: String,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    inline: Option<BTreeMap<String, S>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<SealedValues>,
}

#[derive(Serialize, Deserialize, Default)]
struct SealedValues {
    #[serde(default)]
    scope: Option<Scope>,
    #[serde(default, rename = "certificateFingerprint")]
    certificate_fingerprint: String,
    #[serde(default, rename = "encryptedData")]
    encrypted_data: BTreeMap<String, String>,
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
fn to_yaml<T: Serialize>(value: &T) -> Result<String, serde_saphyr::SerializeError> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    serde_saphyr::to_string_with_options(value, options)
}

fn yaml_error(e: impl std::fmt::Display) -> SecretsError {
    SecretsError::Format {
        path: String::new(),
        reason: e.to_string(),
    }
}

/// Render a sealed values file for the chart.
pub fn render_sealed(
    file: &SealedFile,
    namespace: &str,
    release: &str,
) -> Result<String, SecretsError> {
    let doc: Doc<String> = Doc {
        llm: file.provider.map(|p| Llm {
            provider: Some(p.as_str().into()),
        }),
        secrets: Some(SecretsValues {
            mode: "sealed".into(),
            name: file.name.clone(),
            existing_secret: String::new(),
            inline: None,
            sealed: Some(SealedValues {
                scope: Some(file.scope),
                certificate_fingerprint: file.fingerprint.clone(),
                encrypted_data: file.encrypted.clone(),
            }),
        }),
    };
    let body = to_yaml(&doc).map_err(yaml_error)?;
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

/// Parse a sealed values file written by [`render_sealed`] (or by hand, same keys).
pub fn parse_sealed(path: &Path, text: &str) -> Result<SealedFile, SecretsError> {
    let err = |reason: String| SecretsError::Format {
        path: path.display().to_string(),
        reason,
    };
    let doc: Doc<serde::de::IgnoredAny> =
        serde_saphyr::from_str(text).map_err(|e| err(e.to_string()))?;
    let secrets = doc
        .secrets
        .ok_or_else(|| err("no `secrets:` section".into()))?;
    if secrets.mode != "sealed" {
        return Err(err(format!(
            "secrets.mode is {:?}, not \"sealed\"",
            secrets.mode
        )));
    }
    let sealed = secrets
        .sealed
        .ok_or_else(|| err("no `secrets.sealed:` section".into()))?;
    let provider = match doc.llm.and_then(|l| l.provider) {
        Some(p) => {
            Some(Provider::parse(&p).ok_or_else(|| err(format!("unknown llm.provider {p:?}")))?)
        }
        None => None,
    };
    let (namespace, release) = parse_marker(text);
    Ok(SealedFile {
        provider,
        name: secrets.name,
        scope: sealed.scope.unwrap_or_default(),
        fingerprint: sealed.certificate_fingerprint,
        encrypted: sealed.encrypted_data,
        namespace,
        release,
    })
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
    let inline: BTreeMap<String, Exposed<'_>> = values
        .iter()
        .map(|(k, v)| (k.clone(), Exposed(v)))
        .collect();
    let doc = Doc {
        llm: Some(Llm {
            provider: Some(provider.as_str().into()),
        }),
        secrets: Some(SecretsValues {
            mode: "inline".into(),
            name: name.into(),
            existing_secret: String::new(),
            inline: Some(inline),
            sealed: None,
        }),
    };
    let body = Zeroizing::new(to_yaml(&doc).map_err(yaml_error)?);
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
) -> Result<(Option<Provider>, BTreeMap<String, SecretString>), SecretsError> {
    let err = |reason: String| SecretsError::Format {
        path: path.display().to_string(),
        reason,
    };
    let mut doc: Doc<String> =
        serde_saphyr::from_str(text).map_err(|_| err("not a values file".into()))?;
    let provider = doc
        .llm
        .take()
        .and_then(|l| l.provider)
        .and_then(|p| Provider::parse(&p));
    let inline = doc.secrets.and_then(|s| s.inline).unwrap_or_default();
    Ok((
        provider,
        inline
            .into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect(),
    ))
}

/// Render the values file for `--format secret`: the chart uses the Secret applied to the
/// cluster instead of creating one. Holds no secret.
pub fn render_existing(
    provider: Provider,
    secret_name: &str,
    namespace: &str,
    release: &str,
) -> Result<String, SecretsError> {
    let doc: Doc<String> = Doc {
        llm: Some(Llm {
            provider: Some(provider.as_str().into()),
        }),
        secrets: Some(SecretsValues {
            mode: "existingSecret".into(),
            name: String::new(),
            existing_secret: secret_name.into(),
            inline: None,
            sealed: None,
        }),
    };
    let body = to_yaml(&doc).map_err(yaml_error)?;
    let head = header(
        &[format!(
            "The Secret {secret_name:?} was applied to namespace {namespace:?} by `helm todo-secrets init --format secret`."
        )],
        namespace,
        release,
    );
    Ok(head + &body)
}

/// File permissions for an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0600: plaintext secrets.
    Private,
    /// 0644: sealed or secret-free values.
    Public,
}

/// Write `contents` to `path` atomically: a temporary file in the same directory (created
/// 0600), flushed and synced, then renamed over `path`. On any error nothing is left behind.
pub fn write_atomic(path: &Path, contents: &[u8], mode: Mode) -> Result<(), SecretsError> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".todo-secrets-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| SecretsError::io(&dir, e))?;
    tmp.write_all(contents)
        .map_err(|e| SecretsError::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| SecretsError::io(tmp.path(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let bits = if mode == Mode::Private { 0o600 } else { 0o644 };
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(bits))
            .map_err(|e| SecretsError::io(tmp.path(), e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.persist(path)
        .map_err(|e| SecretsError::io(path, e.error))?;
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What git says about a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitStatus {
    /// `git check-ignore` says the path is ignored.
    Ignored,
    /// Inside a repository and not ignored: git would pick it up.
    NotIgnored,
    /// Not inside a git work tree: git cannot pick it up.
    NoRepository,
    /// git could not be run.
    Unknown(String),
}

/// Ask `git check-ignore` whether `path` is ignored, from the path's directory.
pub fn git_status(path: &Path) -> GitStatus {
    let dir = parent_dir(path);
    let Some(file) = path.file_name() else {
        return GitStatus::Unknown("no file name".into());
    };
    let inside = std::process::Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["rev-parse", "--is-inside-work-tree"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match inside {
        Err(e) => return GitStatus::Unknown(format!("cannot run git: {e}")),
        Ok(out) if !out.status.success() => return GitStatus::NoRepository,
        Ok(out) if String::from_utf8_lossy(&out.stdout).trim() != "true" => {
            return GitStatus::NoRepository;
        }
        Ok(_) => {}
    }
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["check-ignore", "-q", "--"])
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match status.map(|s| s.code()) {
        Ok(Some(0)) => GitStatus::Ignored,
        Ok(Some(1)) => GitStatus::NotIgnored,
        Ok(code) => GitStatus::Unknown(format!("git check-ignore exited with {code:?}")),
        Err(e) => GitStatus::Unknown(format!("cannot run git: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SealedFile {
        SealedFile {
            provider: Some(Provider::Openrouter),
            name: "todo-todo-chatbot-secrets".into(),
            scope: Scope::NamespaceWide,
            fingerprint: "ab".repeat(32),
            encrypted: [("DATABASE_URL".to_string(), "AgB+/=".to_string())]
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
    fn sealed_file_is_a_values_file_for_the_chart() {
        let text = render_sealed(&sample(), "todo", "todo").unwrap();
        let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(v["llm"]["provider"], "openrouter");
        assert_eq!(v["secrets"]["sealed"]["scope"], "namespace-wide");
        assert_eq!(
            v["secrets"]["sealed"]["encryptedData"]["DATABASE_URL"],
            "AgB+/="
        );
        assert_eq!(v["secrets"]["name"], "todo-todo-chatbot-secrets");
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
            Err(SecretsError::Format { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_sets_mode_and_leaves_no_temp_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.yaml");
        write_atomic(&path, b"a: 1\n", Mode::Private).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_atomic(&path, b"a: 2\n", Mode::Public).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a: 2\n");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn git_status_outside_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        let status = git_status(&dir.path().join("x.yaml"));
        assert!(
            matches!(status, GitStatus::NoRepository | GitStatus::Unknown(_)),
            "{status:?}"
        );
    }
}
