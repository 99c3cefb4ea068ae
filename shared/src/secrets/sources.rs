//! Where values come from: a dotenv file, the environment, standard input and prompts
//! (through [`crate::ui::Ui`]). Values are `SecretString` from the moment they are read;
//! prompts never echo them, and the confirmation after a prompt shows only what is not
//! secret (`DATABASE_URL ✔ (postgresql://…@db.example.com/app, password hidden)`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::SecretsError;
use super::input::{DOTENV_LIMIT, InputError, Origin, STDIN_VALUE_LIMIT, read_file, read_stdin};
use super::keys::{self, GENERATED_LEN, KeyKind, KeySpec, Provider};
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
    /// `--allow-placeholder`: seal values that look like placeholders.
    pub allow_placeholder: bool,
}

impl From<&super::args::SourceArgs> for Sources {
    fn from(a: &super::args::SourceArgs) -> Self {
        Sources {
            file: a.from_file.clone(),
            env: a.from_env,
            non_interactive: a.non_interactive,
            generate: a.generate,
            allow_placeholder: a.allow_placeholder,
        }
    }
}

impl Sources {
    /// Whether a non-interactive source was given.
    pub fn any(&self) -> bool {
        self.file.is_some() || self.env
    }
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
        let text = read_file(path, "a dotenv file", DOTENV_LIMIT)?;
        let pairs = super::dotenv::parse(&text).map_err(|(line, problem)| InputError::Dotenv {
            origin: Origin::file(path),
            line,
            problem,
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
    let provider = Provider::ALL.get(index).copied().unwrap_or_default();
    ui.note(&format!("LLM provider ✔ ({})", provider.title()));
    Ok(provider)
}

/// What a confirmation may show of an accepted value: for a database URL its scheme, host,
/// port and database (user and password hidden); for anything else its length.
pub fn shown(kind: KeyKind, value: &SecretString) -> String {
    let text = value.expose_secret();
    let length = format!("{} characters, hidden", text.chars().count());
    if kind != KeyKind::DatabaseUrl {
        return length;
    }
    let Ok(url) = url::Url::parse(text) else {
        return length;
    };
    let host = crate::redact::printable(url.host_str().unwrap_or_default());
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let db = crate::redact::printable(url.path().trim_start_matches('/'));
    let hidden = if url.password().is_some() {
        ", password hidden"
    } else {
        ""
    };
    format!("{}://…@{host}{port}/{db}{hidden}", url.scheme())
}

/// Ask for one value until it passes its check; warnings are shown and accepted on request,
/// placeholders refused unless `allow_placeholder`. Shows a confirmation when accepted.
pub fn prompt_value(
    ui: &dyn Ui,
    spec: &KeySpec,
    allow_placeholder: bool,
) -> Result<SecretString, SecretsError> {
    if spec.generate
        && ui.confirm(
            &format!("Generate a random {GENERATED_LEN}-character {}?", spec.name),
            true,
        )?
    {
        ui.note(&format!(
            "{} ✔ ({GENERATED_LEN} random characters, generated)",
            spec.name
        ));
        return Ok(keys::generate(GENERATED_LEN));
    }
    loop {
        let value = ui.secret(&format!("{} - {}", spec.name, spec.description))?;
        if value.expose_secret().is_empty() {
            ui.note(&format!(
                "{} is empty; type a value (Ctrl-C to stop)",
                spec.name
            ));
            continue;
        }
        let warnings = match keys::check(spec.kind, &value) {
            Ok(warnings) => warnings,
            Err(reason) => {
                ui.note(&format!(
                    "{} {reason}; try again (Ctrl-C to stop)",
                    spec.name
                ));
                continue;
            }
        };
        if !allow_placeholder && keys::is_placeholder(&value) {
            ui.note(&format!(
                "{} looks like a placeholder; type the real value (Ctrl-C to stop)",
                spec.name
            ));
            continue;
        }
        for w in &warnings {
            warn(ui, &spec.name, w);
        }
        if !warnings.is_empty() && !ui.confirm(&format!("Use this {} anyway?", spec.name), false)? {
            continue;
        }
        ui.note(&format!("{} ✔ ({})", spec.name, shown(spec.kind, &value)));
        return Ok(value);
    }
}

/// Read one value from standard input (for `seal KEY` with piped input): its bytes as
/// given, except one trailing newline (`\n` or `\r\n`) unless `keep_newline`.
pub fn read_stdin_value(keep_newline: bool) -> Result<SecretString, SecretsError> {
    let text = read_stdin("a secret value", STDIN_VALUE_LIMIT)?;
    let value = if keep_newline {
        text.as_str()
    } else {
        text.strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(&text)
    };
    Ok(SecretString::from(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::{Answer, ScriptedUi};

    fn spec(name: &str) -> KeySpec {
        keys::builtin_keys()
            .into_iter()
            .find(|k| k.name == name)
            .unwrap()
    }

    #[test]
    fn an_accepted_database_url_is_confirmed_without_its_credentials() {
        let value = SecretString::from(
            "postgresql://app:S3CRET@db.example.com:5432/todo?sslmode=require".to_owned(),
        );
        assert_eq!(
            shown(KeyKind::DatabaseUrl, &value),
            "postgresql://…@db.example.com:5432/todo, password hidden"
        );
        assert_eq!(
            shown(KeyKind::AuthSecret, &SecretString::from("x".repeat(40))),
            "40 characters, hidden"
        );
    }

    #[test]
    fn empty_input_re_asks_with_a_word_and_a_placeholder_is_refused() {
        let ui = ScriptedUi::new([
            Answer::Secret(String::new()),
            Answer::Secret("changeme".into()),
            Answer::Secret("sk-real-0123456789".into()),
        ]);
        let value = prompt_value(ui.as_ref(), &spec("OPENAI_API_KEY"), false).unwrap();
        assert_eq!(value.expose_secret(), "sk-real-0123456789");
        let lines = ui.lines();
        assert!(
            lines.contains(
                &"note: OPENAI_API_KEY is empty; type a value (Ctrl-C to stop)".to_owned()
            ),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("looks like a placeholder")),
            "{lines:?}"
        );
        assert_eq!(
            lines.last().unwrap(),
            "note: OPENAI_API_KEY ✔ (18 characters, hidden)"
        );
        assert!(
            lines
                .iter()
                .all(|l| !l.contains("sk-real") && !l.contains("changeme"))
        );
    }

    #[test]
    fn a_generated_secret_is_confirmed() {
        let ui = ScriptedUi::new([Answer::Yes(true)]);
        let value = prompt_value(ui.as_ref(), &spec("BETTER_AUTH_SECRET"), false).unwrap();
        assert_eq!(value.expose_secret().len(), GENERATED_LEN);
        assert!(
            ui.lines()
                .last()
                .unwrap()
                .contains("BETTER_AUTH_SECRET ✔ (48 random characters, generated)")
        );
    }

    #[test]
    fn ctrl_c_at_a_prompt_is_an_interruption() {
        let ui = ScriptedUi::new([Answer::Interrupt]);
        let err = prompt_value(ui.as_ref(), &spec("DATABASE_URL"), false).unwrap_err();
        assert!(err.is_interrupted());
    }
}
