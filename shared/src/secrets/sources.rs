//! Where values come from: a dotenv file, the environment, and prompts (through
//! [`crate::ui::Ui`]). Values are `SecretString` from the moment they are read; prompts never
//! echo them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::SecretsError;
use super::keys::{self, GENERATED_LEN, KeySpec, Provider};
use crate::ui::Ui;

/// Environment variable / dotenv key that names the LLM provider.
pub const PROVIDER_VAR: &str = "LLM_PROVIDER";

/// The non-interactive sources chosen on the command line.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--from-file FILE` (dotenv).
    pub file: Option<PathBuf>,
    /// `--from-env`.
    pub env: bool,
    /// `--non-interactive`: never prompt.
    pub non_interactive: bool,
    /// `--generate`: generate `x-generate` keys that no source provides.
    pub generate: bool,
}

/// Values read from the non-interactive sources, file first, then the environment (which
/// wins), restricted to `names`.
#[derive(Default)]
pub struct Found {
    /// Key → value.
    pub values: BTreeMap<String, SecretString>,
    /// `LLM_PROVIDER`, if a source set it.
    pub provider: Option<String>,
}

/// Read the dotenv file and/or the environment for `names` (and `LLM_PROVIDER`).
pub fn read(sources: &Sources, names: &[String]) -> Result<Found, SecretsError> {
    let mut found = Found::default();
    if let Some(path) = &sources.file {
        let text = std::fs::read_to_string(path).map_err(|e| SecretsError::io(path, e))?;
        let pairs = super::dotenv::parse(&text).map_err(|(line, reason)| SecretsError::Format {
            path: path.display().to_string(),
            reason: format!("line {line}: {reason}"),
        })?;
        for (key, value) in pairs {
            if key == PROVIDER_VAR {
                found.provider = Some(value.expose_secret().to_owned());
            } else if names.contains(&key) && !value.expose_secret().is_empty() {
                found.values.insert(key, value);
            }
        }
    }
    if sources.env {
        if let Some(p) = std::env::var(PROVIDER_VAR).ok().filter(|p| !p.is_empty()) {
            found.provider = Some(p);
        }
        for name in names {
            if let Some(value) = std::env::var_os(name) {
                let value = value.into_string().map_err(|_| SecretsError::Invalid {
                    key: name.clone(),
                    reason: "is not valid UTF-8".into(),
                })?;
                if !value.is_empty() {
                    found.values.insert(name.clone(), SecretString::from(value));
                }
            }
        }
    }
    Ok(found)
}

/// A warning about a key (never the value).
pub fn warn(ui: &dyn Ui, key: &str, message: &str) {
    ui.warn(&format!("{key} {message}"));
}

/// Ask which LLM provider the backend uses.
pub fn prompt_provider(ui: &dyn Ui, default: Option<Provider>) -> Result<Provider, SecretsError> {
    let items: Vec<&str> = Provider::ALL.iter().map(|p| p.title()).collect();
    let start = default
        .and_then(|d| Provider::ALL.iter().position(|p| *p == d))
        .unwrap_or(0);
    let index = ui.choose("LLM provider", &items, start)?;
    Ok(Provider::ALL.get(index).copied().unwrap_or_default())
}

/// Ask for one value until it passes its check; warnings are shown and accepted on request.
pub fn prompt_value(ui: &dyn Ui, spec: &KeySpec) -> Result<SecretString, SecretsError> {
    if spec.generate
        && ui.confirm(
            &format!("Generate a random {GENERATED_LEN}-character {}?", spec.name),
            true,
        )?
    {
        return Ok(keys::generate(GENERATED_LEN));
    }
    loop {
        let value = ui.secret(&format!("{} - {}", spec.name, spec.description))?;
        match keys::check(spec.kind, &value) {
            Ok(warnings) => {
                for w in &warnings {
                    warn(ui, &spec.name, w);
                }
                if !warnings.is_empty()
                    && !ui.confirm(&format!("Use this {} anyway?", spec.name), false)?
                {
                    continue;
                }
                return Ok(value);
            }
            Err(reason) => ui.note(&format!(
                "{} {reason}; try again (Ctrl-C to stop)",
                spec.name
            )),
        }
    }
}

/// Read one value from standard input (for `seal KEY` with piped input); one trailing
/// newline is removed.
pub fn read_stdin_value() -> Result<SecretString, SecretsError> {
    use std::io::Read as _;
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| SecretsError::io(std::path::Path::new("<stdin>"), e))?;
    let trimmed = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text)
        .to_owned();
    zeroize::Zeroize::zeroize(&mut text);
    Ok(SecretString::from(trimmed))
}
