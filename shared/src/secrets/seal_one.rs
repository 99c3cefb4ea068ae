//! `seal KEY`: seal one value into an existing sealed values file, with the file's scope,
//! namespace and Secret name, and only with the certificate the file was sealed with (else
//! `rotate` first).

use secrecy::SecretString;

use super::args::{OutputFormat, SealArgs};
use super::controller::Controller;
use super::error::FileMismatch;
use super::keys::{self, KeyKind, KeySpec};
use super::sealing::seal_all;
use super::target::Target;
use super::write::{Mode, write_atomic};
use super::{SecretsError, Session, files, load_keys, read_sealed, sealing_certificate, sources};

/// What `seal` did.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SealOutcome {
    /// How to render this on stdout.
    #[serde(skip)]
    pub output: OutputFormat,
    /// The key sealed.
    pub key: String,
    /// The file updated.
    pub file: String,
    /// The namespace.
    pub namespace: String,
    /// The Secret name.
    pub secret_name: String,
    /// Whether the chart's schema lists the key.
    pub known: bool,
}

impl SealOutcome {
    /// Lines for a person.
    pub fn render_text(&self) -> String {
        format!("sealed {} into {}\n", self.key, self.file)
    }
}

/// Where the one value comes from: the environment, piped stdin, or a prompt.
fn value_source(args: &SealArgs, spec: &KeySpec, s: &Session) -> Result<ValueSource, SecretsError> {
    if args.from_env {
        Ok(ValueSource::Env)
    } else if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        Ok(ValueSource::Stdin)
    } else if s.ui.can_prompt() {
        Ok(ValueSource::Prompt(spec.clone()))
    } else {
        Err(SecretsError::NoTerminal)
    }
}

enum ValueSource {
    Env,
    Stdin,
    Prompt(KeySpec),
}

async fn value(
    args: &SealArgs,
    source: ValueSource,
    s: &Session,
) -> Result<SecretString, SecretsError> {
    match source {
        ValueSource::Env => match std::env::var(&args.key) {
            Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
            _ => Err(SecretsError::Missing(vec![args.key.clone()])),
        },
        ValueSource::Stdin => sources::read_stdin_value(args.keep_newline),
        ValueSource::Prompt(spec) => {
            let _paused = s.deadline.pause();
            let ui = s.ui.clone();
            let allow = args.allow_placeholder;
            tokio::task::spawn_blocking(move || sources::prompt_value(ui.as_ref(), &spec, allow))
                .await?
        }
    }
}

/// `seal KEY`.
pub async fn seal_one(args: &SealArgs, s: &Session) -> Result<SealOutcome, SecretsError> {
    if !keys::valid_key_name(&args.key) {
        return Err(SecretsError::usage(
            format!(
                "{:?} is not a valid key name",
                crate::redact::printable(&args.key)
            ),
            "use an environment-variable style name such as OPENAI_API_KEY",
        ));
    }
    let mut file = read_sealed(&args.file.file)?;
    let target = Target::for_file(&args.file.common.target, &file, &args.file.file)?;
    let all = load_keys(&args.file.common.sealing.chart)?;
    let known = all.iter().find(|k| k.name == args.key).cloned();
    let spec = known.clone().unwrap_or_else(|| {
        sources::warn(
            s.ui.as_ref(),
            &args.key,
            "is not a key the chart reads (not in its values schema)",
        );
        KeySpec {
            name: args.key.clone(),
            description: args.key.clone(),
            generate: false,
            kind: KeyKind::Other,
        }
    });
    let controller = Controller::from_args(&args.file.common.controller)?;
    let (cert, _) = sealing_certificate(
        &args.file.common,
        &controller,
        &target.namespace,
        &s.deadline,
    )
    .await?;
    if !file.fingerprint.is_empty() && !file.fingerprint.eq_ignore_ascii_case(&cert.fingerprint()) {
        return Err(SecretsError::Mismatch {
            path: args.file.file.clone(),
            what: FileMismatch::Certificate {
                sealed: file.fingerprint.clone(),
                current: cert.fingerprint(),
            },
            namespace: target.namespace.clone(),
        });
    }
    let value = value(args, value_source(args, &spec, s)?, s).await?;
    for warning in keys::check(spec.kind, &value).map_err(|reason| SecretsError::Invalid {
        key: spec.name.clone(),
        reason,
    })? {
        sources::warn(s.ui.as_ref(), &spec.name, &warning);
    }
    if !args.allow_placeholder && keys::is_placeholder(&value) {
        return Err(SecretsError::Placeholder {
            key: spec.name.clone(),
        });
    }
    let one = [(args.key.clone(), value)].into_iter().collect();
    file.encrypted
        .extend(seal_all(&cert, file.scope, &target, &one)?);
    file.fingerprint = cert.fingerprint();
    file.namespace = Some(target.namespace.clone());
    file.release = Some(target.release.clone());
    file.name = target.secret_name.clone();
    let text = files::render_sealed(&file, &target.namespace, &target.release)?;
    write_atomic(&args.file.file, text.as_bytes(), Mode::Public)?;
    Ok(SealOutcome {
        output: args.file.output,
        key: args.key.clone(),
        file: args.file.file.display().to_string(),
        namespace: target.namespace,
        secret_name: target.secret_name,
        known: known.is_some(),
    })
}
