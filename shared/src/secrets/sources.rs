//! Where values come from: a dotenv file, the environment, and prompts on a terminal.
//! Values are `SecretString` from the moment they are read; prompts never echo them.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;

use dialoguer::console::Term;
use dialoguer::{Confirm, Password, Select};
use secrecy::{ExposeSecret, SecretString};

use super::SecretsError;
use super::keys::{self, GENERATED_LEN, KeySpec, Provider};

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

/// Whether prompts can be shown: stdin and stderr are terminals.
pub fn interactive_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
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

/// Print a warning about a key on stderr (never the value).
pub fn warn(key: &str, message: &str) {
    let (yellow, reset) = if crate::error::stderr_colour() {
        ("\x1b[33m", "\x1b[0m")
    } else {
        ("", "")
    };
    eprintln!("{yellow}warning{reset}: {key} {message}");
}

fn prompt_error(e: dialoguer::Error) -> SecretsError {
    match e {
        dialoguer::Error::IO(e) if e.kind() == std::io::ErrorKind::Interrupted => {
            SecretsError::Interrupted
        }
        dialoguer::Error::IO(e) => SecretsError::Prompt(e.to_string()),
    }
}

/// Ask which LLM provider the backend uses.
pub fn prompt_provider(default: Option<Provider>) -> Result<Provider, SecretsError> {
    let items: Vec<&str> = Provider::ALL.iter().map(|p| p.title()).collect();
    let start = default
        .and_then(|d| Provider::ALL.iter().position(|p| *p == d))
        .unwrap_or(0);
    let index = Select::new()
        .with_prompt("LLM provider")
        .items(&items)
        .default(start)
        .interact_on_opt(&Term::stderr())
        .map_err(prompt_error)?
        .ok_or(SecretsError::Interrupted)?;
    Ok(Provider::ALL[index])
}

/// Ask a yes/no question on stderr; Esc or Ctrl-C interrupts.
pub fn confirm(question: &str, default: bool) -> Result<bool, SecretsError> {
    Confirm::new()
        .with_prompt(question)
        .default(default)
        .interact_on_opt(&Term::stderr())
        .map_err(prompt_error)?
        .ok_or(SecretsError::Interrupted)
}

/// Ask for one value until it passes its check; warnings are shown and accepted.
pub fn prompt_value(spec: &KeySpec) -> Result<SecretString, SecretsError> {
    let term = Term::stderr();
    if spec.generate
        && confirm(
            &format!("Generate a random {GENERATED_LEN}-character {}?", spec.name),
            true,
        )?
    {
        return Ok(keys::generate(GENERATED_LEN));
    }
    loop {
        let value = Password::new()
            .with_prompt(format!("{} - {}", spec.name, spec.description))
            .report(false)
            .interact_on(&term)
            .map_err(prompt_error)?;
        let value = SecretString::from(value);
        match keys::check(spec.kind, &value) {
            Ok(warnings) => {
                for w in &warnings {
                    warn(&spec.name, w);
                }
                if !warnings.is_empty()
                    && !confirm(&format!("Use this {} anyway?", spec.name), false)?
                {
                    continue;
                }
                return Ok(value);
            }
            Err(reason) => eprintln!("{} {reason}; try again (Ctrl-C to stop)", spec.name),
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

/// Restore the terminal and exit 130 on Ctrl-C while a prompt is open, so that an
/// interrupted prompt leaves neither a file nor a terminal with echo off.
pub fn exit_on_interrupt() {
    if !interactive_terminal() {
        return;
    }
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            let term = Term::stderr();
            let _ = term.show_cursor();
            // Password prompts turn echo off; put it back (stty acts on stdin, the terminal).
            let _ = std::process::Command::new("stty").arg("echo").status();
            eprintln!("\ninterrupted: nothing was written");
            std::process::exit(130);
        }
    });
}
