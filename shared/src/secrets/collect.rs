//! Gathering the values to seal: a pure plan (which provider, which keys the sources give,
//! which to generate, which to prompt for, or exactly which are missing), then the prompts
//! for what is left. The plan is unit-tested without a terminal; prompts go through
//! [`Ui`] and run on a blocking thread with the run's deadline paused (a person typing is
//! not the command being slow).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use secrecy::SecretString;

use super::SecretsError;
use super::keys::{self, KeySpec, Provider};
use super::sources::{self, Found, Sources};
use crate::deadline::Deadline;
use crate::ui::Ui;

/// What the values step needs to know.
#[derive(Debug, Clone)]
pub struct Ask {
    /// Every key the chart reads.
    pub all: Vec<KeySpec>,
    /// The non-interactive sources.
    pub sources: Sources,
    /// `--provider`.
    pub provider: Option<Provider>,
    /// The provider of the file being merged or rotated.
    pub fallback_provider: Option<Provider>,
    /// Keys an existing file keeps (not asked again).
    pub kept: BTreeSet<String>,
    /// Whether a person can answer prompts.
    pub can_prompt: bool,
}

/// The provider, when it can be decided without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderChoice {
    /// Known: from the flag, the sources, the existing file, the one LLM key given, or the
    /// default when nobody can be asked.
    Decided(Provider),
    /// Ask the person.
    Ask,
}

/// Decide the provider from what is known. Pure.
pub fn choose_provider(ask: &Ask, found: &Found) -> Result<ProviderChoice, SecretsError> {
    let from_sources = match found.provider.as_deref() {
        Some(text) => Some(Provider::parse(text).ok_or_else(|| SecretsError::Invalid {
            key: sources::PROVIDER_VAR.into(),
            reason: "must be openai, openrouter or cohere".into(),
        })?),
        None => None,
    };
    let present: Vec<Provider> = Provider::ALL
        .into_iter()
        .filter(|p| found.values.contains_key(p.key_name()))
        .collect();
    let inferred = match present.as_slice() {
        [only] => Some(*only),
        _ => None,
    };
    Ok(
        match ask
            .provider
            .or(from_sources)
            .or(ask.fallback_provider)
            .or(inferred)
        {
            Some(p) => ProviderChoice::Decided(p),
            None if ask.can_prompt => ProviderChoice::Ask,
            None => ProviderChoice::Decided(Provider::Openai),
        },
    )
}

/// What to do for each key the provider needs.
pub struct ValuesPlan {
    /// Values the sources gave (checked) and generated values.
    pub values: BTreeMap<String, SecretString>,
    /// Warnings about source values (`KEY message`), never a value.
    pub warnings: Vec<String>,
    /// Keys whose value was generated.
    pub generated: Vec<String>,
    /// Keys to prompt for, in order.
    pub to_prompt: Vec<KeySpec>,
}

/// Plan the values for `provider`: take what the sources give (checked, placeholders
/// refused unless allowed), generate what may be generated, and list what is left to ask;
/// without a terminal, what is left is [`SecretsError::Missing`]. Pure, apart from the
/// random generator.
pub fn plan_values(
    ask: &Ask,
    provider: Provider,
    mut found: Found,
) -> Result<ValuesPlan, SecretsError> {
    let required = keys::required_keys(&ask.all, provider);
    let mut plan = ValuesPlan {
        values: BTreeMap::new(),
        warnings: Vec::new(),
        generated: Vec::new(),
        to_prompt: Vec::new(),
    };
    for spec in &required {
        if let Some(value) = found.values.remove(&spec.name) {
            let warnings =
                keys::check(spec.kind, &value).map_err(|reason| SecretsError::Invalid {
                    key: spec.name.clone(),
                    reason,
                })?;
            if !ask.sources.allow_placeholder && keys::is_placeholder(&value) {
                return Err(SecretsError::Placeholder {
                    key: spec.name.clone(),
                });
            }
            plan.warnings
                .extend(warnings.into_iter().map(|w| format!("{} {w}", spec.name)));
            plan.values.insert(spec.name.clone(), value);
        }
    }
    let mut missing: Vec<&KeySpec> = required
        .iter()
        .filter(|k| !plan.values.contains_key(&k.name) && !ask.kept.contains(&k.name))
        .collect();
    if ask.sources.generate {
        for spec in missing.iter().filter(|k| k.generate) {
            plan.values
                .insert(spec.name.clone(), keys::generate(keys::GENERATED_LEN));
            plan.generated.push(spec.name.clone());
        }
        missing.retain(|k| !k.generate);
    }
    if !missing.is_empty() && !ask.can_prompt {
        return Err(SecretsError::Missing(
            missing.iter().map(|k| k.name.clone()).collect(),
        ));
    }
    plan.to_prompt = missing.into_iter().cloned().collect();
    Ok(plan)
}

/// The gathered values.
pub struct Gathered {
    /// The provider.
    pub provider: Provider,
    /// Key → value, for the keys given this time (kept keys are not here).
    pub values: BTreeMap<String, SecretString>,
}

/// Gather the values: sources first, then prompts for what is missing. Blocks while a
/// person types; see [`gather_blocking`].
pub fn gather(ask: &Ask, ui: &dyn Ui) -> Result<Gathered, SecretsError> {
    if !ask.sources.any() && !ask.can_prompt {
        return Err(SecretsError::NoTerminal);
    }
    let names: Vec<String> = ask.all.iter().map(|k| k.name.clone()).collect();
    let found = sources::read(&ask.sources, &names)?;
    let provider = match choose_provider(ask, &found)? {
        ProviderChoice::Decided(p) => p,
        ProviderChoice::Ask => sources::prompt_provider(ui, None)?,
    };
    let plan = plan_values(ask, provider, found)?;
    for warning in &plan.warnings {
        ui.warn(warning);
    }
    let mut values = plan.values;
    for spec in &plan.to_prompt {
        let value = sources::prompt_value(ui, spec, ask.sources.allow_placeholder)?;
        values.insert(spec.name.clone(), value);
    }
    Ok(Gathered { provider, values })
}

/// [`gather`] on a blocking thread, with the deadline paused while prompts may be open.
pub async fn gather_blocking(
    ask: Ask,
    ui: Arc<dyn Ui>,
    deadline: &Deadline,
) -> Result<Gathered, SecretsError> {
    let _paused = ask.can_prompt.then(|| deadline.pause());
    tokio::task::spawn_blocking(move || gather(&ask, ui.as_ref())).await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::{Answer, ScriptedUi, SilentUi};
    use secrecy::ExposeSecret;

    fn ask_with_file(text: &str) -> (tempfile::TempDir, Ask) {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join(".env");
        std::fs::write(&env, text).unwrap();
        let ask = Ask {
            all: keys::builtin_keys(),
            sources: Sources {
                file: Some(env),
                non_interactive: true,
                ..Sources::default()
            },
            provider: None,
            fallback_provider: None,
            kept: BTreeSet::new(),
            can_prompt: false,
        };
        (dir, ask)
    }

    #[test]
    fn non_interactive_lists_exactly_the_missing_values() {
        let (_d, ask) = ask_with_file("DATABASE_URL=postgresql://u:p@h/db\nLLM_PROVIDER=cohere\n");
        let Err(SecretsError::Missing(names)) = gather(&ask, &SilentUi) else {
            panic!()
        };
        assert_eq!(names, ["BETTER_AUTH_SECRET", "COHERE_API_KEY"]);
    }

    #[test]
    fn kept_keys_are_not_missing_and_generate_fills_the_auth_secret() {
        let (_d, mut ask) = ask_with_file("OPENAI_API_KEY=sk-test\n");
        ask.kept.insert("DATABASE_URL".into());
        ask.sources.generate = true;
        let got = gather(&ask, &SilentUi).unwrap();
        assert_eq!(got.provider, Provider::Openai);
        assert_eq!(
            got.values.keys().collect::<Vec<_>>(),
            ["BETTER_AUTH_SECRET", "OPENAI_API_KEY"]
        );
        assert_eq!(got.values["BETTER_AUTH_SECRET"].expose_secret().len(), 48);
    }

    #[test]
    fn provider_is_inferred_from_the_only_llm_key_present() {
        let (_d, ask) = ask_with_file(
            "DATABASE_URL=postgresql://u:p@h/db\nBETTER_AUTH_SECRET=0123456789abcdef0123456789abcdef\nOPENROUTER_API_KEY=sk-or-x\n",
        );
        let got = gather(&ask, &SilentUi).unwrap();
        assert_eq!(got.provider, Provider::Openrouter);
        assert_eq!(got.values.len(), 3);
    }

    #[test]
    fn invalid_value_from_a_source_is_refused_without_echoing_it() {
        let (_d, ask) = ask_with_file("DATABASE_URL=mysql://SENTINEL@h/db\n");
        let err = gather(&ask, &SilentUi).err().unwrap();
        assert!(matches!(err, SecretsError::Invalid { ref key, .. } if key == "DATABASE_URL"));
        assert!(!err.to_string().contains("SENTINEL"));
    }

    #[test]
    fn a_placeholder_from_a_source_is_refused_unless_allowed() {
        let text = "DATABASE_URL=postgresql://u:p@h/db\nBETTER_AUTH_SECRET=0123456789abcdef0123456789abcdef\nOPENAI_API_KEY=changeme\n";
        let (_d, mut ask) = ask_with_file(text);
        let err = gather(&ask, &SilentUi).err().unwrap();
        assert!(matches!(err, SecretsError::Placeholder { ref key } if key == "OPENAI_API_KEY"));
        assert!(
            !err.to_string().contains("changeme ")
                && err
                    .to_string()
                    .starts_with("OPENAI_API_KEY looks like a placeholder")
        );
        ask.sources.allow_placeholder = true;
        assert!(gather(&ask, &SilentUi).is_ok());
    }

    #[test]
    fn no_terminal_and_no_source_fails_with_hint() {
        let (_d, mut ask) = ask_with_file("");
        ask.sources.file = None;
        let err = gather(&ask, &SilentUi).err().unwrap();
        assert!(matches!(err, SecretsError::NoTerminal));
        assert!(
            crate::error::UserError::hint(&err)
                .unwrap()
                .contains("--from-env")
        );
    }

    #[test]
    fn prompts_ask_the_provider_then_only_what_is_missing() {
        let (_d, mut ask) = ask_with_file("DATABASE_URL=postgresql://u:p@h/db\n");
        ask.can_prompt = true;
        ask.sources.non_interactive = false;
        let ui = ScriptedUi::new([
            Answer::Choice(2),
            Answer::Yes(true),
            Answer::Secret("a".repeat(40)),
        ]);
        let got = gather(&ask, ui.as_ref()).unwrap();
        assert_eq!(got.provider, Provider::Cohere);
        let asked: Vec<String> = ui
            .lines()
            .into_iter()
            .filter(|l| l.starts_with("ask: "))
            .collect();
        assert_eq!(asked.len(), 3, "{asked:?}");
        assert!(asked[0].contains("LLM provider") && asked[2].contains("COHERE_API_KEY"));
    }
}
