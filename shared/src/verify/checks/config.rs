//! `config.secrets` and `config.sealed-secret`. Values are read as secrets and never printed:
//! only key names and what is wrong with them.

use std::ops::ControlFlow;

use kube::api::DynamicObject;
use secrecy::ExposeSecret;

use crate::chart::SecretsMode;
pub use crate::secret_rules::{database_url_problem, is_placeholder};
use crate::verify::CheckResult;
use crate::verify::collect::{SecretData, Snapshot};

const SECRETS: &str = "config.secrets";
const SEALED: &str = "config.sealed-secret";

fn required_keys(s: &Snapshot) -> Vec<String> {
    let mut keys: Vec<String> = vec!["DATABASE_URL".into(), "BETTER_AUTH_SECRET".into()];
    if let Ok(r) = &s.release {
        keys.push(r.llm_key().into());
    }
    // Every non-optional secretKeyRef into this Secret is required too.
    for d in &s.deployments {
        let containers = d
            .spec
            .as_ref()
            .and_then(|sp| sp.template.spec.as_ref())
            .map(|ps| ps.containers.as_slice())
            .unwrap_or(&[]);
        for e in containers.iter().flat_map(|c| c.env.iter().flatten()) {
            if let Some(r) = e
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
                && r.name == s.secret_name
                && r.optional != Some(true)
                && !keys.contains(&r.key)
            {
                keys.push(r.key.clone());
            }
        }
    }
    keys
}

/// The fix for bad or missing `keys`: in sealed mode, re-seal just those keys into the sealed
/// values file and upgrade with it.
fn set_values_hint(s: &Snapshot, keys: &[String]) -> String {
    let ns = &s.namespace;
    let (kf, hf) = (&s.kubectl_flags, &s.helm_flags);
    let file = crate::chart::DEFAULT_SEALED_FILE;
    match s.secrets_mode() {
        Some(SecretsMode::Sealed) if !keys.is_empty() => {
            let seal: Vec<String> = keys
                .iter()
                .map(|k| format!("`helm todo-secrets seal {k} -f {file} -n {ns}{hf}`"))
                .collect();
            format!(
                "re-seal {}, then `{}`",
                seal.join(" and "),
                s.helm_upgrade(&format!(" -f {file}"))
            )
        }
        Some(SecretsMode::ExistingSecret) => format!(
            "fix Secret {} (`kubectl create secret generic {} -n {ns}{kf} --from-env-file=FILE --dry-run=client -o yaml | kubectl apply -f -`), then restart the pods",
            s.secret_name, s.secret_name
        ),
        Some(SecretsMode::Inline) => format!(
            "set secrets.inline.<KEY> in a values file (mode 0600, gitignored; never --set, which shows it in ps and shell history) and `{}` (inline mode is for development only)",
            s.helm_upgrade(" -f VALUES")
        ),
        _ => format!(
            "set the values with `helm todo-secrets init -n {ns}{hf}`, then `{}`",
            s.helm_upgrade(&format!(" -f {file}"))
        ),
    }
}

/// (key, what is wrong with it) for each required key that is not right.
fn key_problems(s: &Snapshot, data: &SecretData) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for key in required_keys(s) {
        let Some(value) = data.values.get(&key) else {
            problems.push((key, "missing".to_owned()));
            continue;
        };
        let v = value.expose_secret();
        if v.trim().is_empty() {
            problems.push((key, "empty".to_owned()));
        } else if is_placeholder(v) {
            problems.push((key, "a placeholder, not a real value".to_owned()));
        } else if key == "DATABASE_URL" {
            if let Some(p) = database_url_problem(v) {
                problems.push((key, format!("not a valid PostgreSQL URL: {p}")));
            }
        } else if key == "BETTER_AUTH_SECRET" && v.chars().count() < 32 {
            let n = v.chars().count();
            problems.push((
                key,
                format!("{n} characters, at least 32 required (`openssl rand -base64 32`)"),
            ));
        }
    }
    problems
}

/// Required keys present, non-empty, not placeholders; DATABASE_URL a PostgreSQL URL;
/// BETTER_AUTH_SECRET at least 32 characters. A refused read warns instead of failing.
pub fn secrets(s: &Snapshot) -> CheckResult {
    let name = &s.secret_name;
    match &s.secret {
        None => CheckResult::skip(SECRETS, "not read"),
        Some(Err(u)) => CheckResult::warn(
            SECRETS,
            format!("Secret {name} not checked: {}", u.message),
            u.hint.clone().unwrap_or_else(|| "retry".into()),
        ),
        Some(Ok(None)) => {
            let hint = match s.secrets_mode() {
                Some(SecretsMode::Sealed) | None => "the sealed-secrets controller creates it from the SealedSecret: see config.sealed-secret".to_owned(),
                _ => set_values_hint(s, &[]),
            };
            CheckResult::fail(SECRETS, format!("Secret {name} does not exist"), hint)
        }
        Some(Ok(Some(data))) => {
            let bad = key_problems(s, data);
            let bad_keys: Vec<String> = bad.iter().map(|(k, _)| k.clone()).collect();
            let problems: Vec<String> = bad.iter().map(|(k, p)| format!("{k}: {p}")).collect();
            let keys = required_keys(s);
            if problems.is_empty() {
                CheckResult::pass(
                    SECRETS,
                    format!("Secret {name}: {} set and valid", keys.join(", ")),
                )
            } else {
                // One problem fits the message; several are also listed one per line.
                let details = if problems.len() > 1 {
                    problems.clone()
                } else {
                    Vec::new()
                };
                CheckResult::fail(
                    SECRETS,
                    format!("Secret {name}: {}", problems.join("; ")),
                    set_values_hint(s, &bad_keys),
                )
                .with_details(details)
            }
        }
    }
}

/// In sealed mode: the SealedSecret exists, its Synced condition is True, and the Secret it
/// unseals into exists.
pub fn sealed_secret(s: &Snapshot) -> CheckResult {
    match sealed_object(s) {
        ControlFlow::Continue(obj) => synced_verdict(s, obj),
        ControlFlow::Break(verdict) => verdict,
    }
}

/// The SealedSecret to judge, or (`Break`) the verdict when there is none to judge: another secrets
/// mode or an unknown one (skip), not read (skip), a refused read (warn), another read
/// error or no SealedSecret (fail).
fn sealed_object(s: &Snapshot) -> ControlFlow<CheckResult, &DynamicObject> {
    let name = &s.secret_name;
    match s.secrets_mode() {
        None => {
            return ControlFlow::Break(CheckResult::skip(
                SEALED,
                "release values unreadable, secrets mode unknown",
            ));
        }
        Some(SecretsMode::Sealed) => {}
        Some(mode) => {
            return ControlFlow::Break(CheckResult::skip(
                SEALED,
                format!("secrets.mode is {mode}: no SealedSecret"),
            ));
        }
    }
    match &s.sealed {
        None => ControlFlow::Break(CheckResult::skip(SEALED, "not read")),
        Some(Err(u)) if u.forbidden => ControlFlow::Break(CheckResult::warn(
            SEALED,
            format!("SealedSecret {name} not checked: {}", u.message),
            u.hint.clone().unwrap_or_default(),
        )),
        Some(Err(u)) => ControlFlow::Break(CheckResult::fail(
            SEALED,
            u.message.clone(),
            u.hint.clone().unwrap_or_default(),
        )),
        Some(Ok(None)) => ControlFlow::Break(CheckResult::fail(
            SEALED,
            format!("SealedSecret {name} not found"),
            // The release's values still hold the sealed values: upgrading re-creates it.
            format!(
                "`{}` re-creates it from the release's sealed values",
                s.helm_upgrade("")
            ),
        )),
        Some(Ok(Some(obj))) => ControlFlow::Continue(obj),
    }
}

/// The verdict on a SealedSecret that exists: by its Synced condition, then by whether
/// the Secret it unseals into exists.
fn synced_verdict(s: &Snapshot, obj: &DynamicObject) -> CheckResult {
    let name = &s.secret_name;
    let ns = &s.namespace;
    let hf = &s.helm_flags;
    let file = crate::chart::DEFAULT_SEALED_FILE;
    let synced = obj
        .data
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(|t| t.as_str()) == Some("Synced"))
        });
    let secret_exists = match &s.secret {
        Some(Ok(Some(_))) => Some(true),
        Some(Ok(None)) => Some(false),
        _ => None,
    };
    match synced {
        None => CheckResult::warn(
            SEALED,
            format!("SealedSecret {name} has no Synced condition yet"),
            "is the sealed-secrets controller running? `kubectl get pods -A -l app.kubernetes.io/name=sealed-secrets`",
        ),
        Some(c) if c.get("status").and_then(|s| s.as_str()) != Some("True") => {
            let msg = c
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("no message");
            CheckResult::fail(
                SEALED,
                format!(
                    "SealedSecret {name} is not synced: {}",
                    crate::redact::sanitize(msg)
                ),
                format!(
                    "the controller cannot unseal it (sealed for another controller, name, namespace or scope?): `helm todo-secrets status -f {file} -n {ns}{hf}` says which; re-seal with `helm todo-secrets rotate --reenter -f {file} -n {ns}{hf}`, then `{}`",
                    s.helm_upgrade(&format!(" -f {file}"))
                ),
            )
        }
        Some(_) => match secret_exists {
            Some(true) => CheckResult::pass(
                SEALED,
                format!("SealedSecret {name} is synced and Secret {name} exists"),
            ),
            Some(false) => CheckResult::fail(
                SEALED,
                format!("SealedSecret {name} is synced but Secret {name} does not exist"),
                "the controller may not own an existing Secret of that name; check the controller's log",
            ),
            None => CheckResult::pass(
                SEALED,
                format!("SealedSecret {name} is synced (the Secret itself was not readable)"),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Status;
    use crate::verify::checks::fixture::{self, GOOD_AUTH, GOOD_DB, secret_values};
    use crate::verify::collect::Unread;
    use kube::api::DynamicObject;

    fn check(pairs: &[(&str, &str)]) -> CheckResult {
        let mut s = fixture::snapshot();
        s.secret = Some(Ok(Some(secret_values(pairs))));
        secrets(&s)
    }

    #[test]
    fn valid_secret_passes_without_printing_values() {
        let r = check(&[
            ("DATABASE_URL", GOOD_DB),
            ("BETTER_AUTH_SECRET", GOOD_AUTH),
            ("OPENAI_API_KEY", "sk-abcdefghijkl"),
        ]);
        assert_eq!(r.status, Status::Pass, "{r:?}");
        let all = format!("{r:?}");
        assert!(!all.contains("npg_pass") && !all.contains(GOOD_AUTH) && !all.contains("sk-abc"));
    }

    #[test]
    fn missing_key_fails_naming_it() {
        let r = check(&[("DATABASE_URL", GOOD_DB), ("BETTER_AUTH_SECRET", GOOD_AUTH)]);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message.contains("OPENAI_API_KEY: missing"),
            "{}",
            r.message
        );
    }

    #[test]
    fn placeholder_short_secret_and_bad_url_fail() {
        let r = check(&[
            ("DATABASE_URL", "mysql://h/db"),
            ("BETTER_AUTH_SECRET", "short"),
            ("OPENAI_API_KEY", "your-openai-key"),
        ]);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.message
                .contains("DATABASE_URL: not a valid PostgreSQL URL"),
            "{}",
            r.message
        );
        assert!(r.message.contains("BETTER_AUTH_SECRET: 5 characters"));
        assert!(r.message.contains("OPENAI_API_KEY: a placeholder"));
        assert!(!r.message.contains("your-openai-key") && !r.message.contains("short\""));
    }

    #[test]
    fn placeholders_are_recognised() {
        for v in [
            "changeme",
            "<your key>",
            "your-api-key",
            "xxxxxxxx",
            "CHANGE_ME",
        ] {
            assert!(is_placeholder(v), "{v}");
        }
        assert!(!is_placeholder("sk-proj-a1b2c3"));
    }

    #[test]
    fn database_url_needs_postgres_host_and_db() {
        assert_eq!(database_url_problem(GOOD_DB), None);
        assert!(
            database_url_problem("postgresql://u:p@host")
                .unwrap()
                .contains("database name")
        );
        assert!(database_url_problem("not a url").is_some());
    }

    #[test]
    fn forbidden_secret_warns_not_fails() {
        let mut s = fixture::snapshot();
        s.secret = Some(Err(Unread {
            message: "forbidden: cannot get secrets".into(),
            hint: Some("h".into()),
            forbidden: true,
        }));
        assert_eq!(secrets(&s).status, Status::Warn);
    }

    fn sealed(status: serde_json::Value) -> DynamicObject {
        let mut o = DynamicObject::new(
            "todo-todo-chatbot-secrets",
            &crate::verify::collect::sealed_secret_resource(),
        );
        o.data = serde_json::json!({ "status": status });
        o
    }

    #[test]
    fn sealed_secret_synced_passes_and_not_synced_fails() {
        let mut s = fixture::snapshot_with(serde_json::json!({}));
        s.sealed = Some(Ok(Some(sealed(
            serde_json::json!({"conditions": [{"type": "Synced", "status": "True"}]}),
        ))));
        assert_eq!(sealed_secret(&s).status, Status::Pass);
        s.sealed = Some(Ok(Some(sealed(
            serde_json::json!({"conditions": [{"type": "Synced", "status": "False", "message": "no key could decrypt secret"}]}),
        ))));
        let r = sealed_secret(&s);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("no key could decrypt"));
        s.sealed = Some(Ok(None));
        assert_eq!(sealed_secret(&s).status, Status::Fail);
    }

    #[test]
    fn sealed_check_skips_in_other_modes() {
        assert_eq!(sealed_secret(&fixture::snapshot()).status, Status::Skip);
    }

    #[test]
    fn a_synced_sealed_secret_needs_its_secret_and_a_condition() {
        let mut s = fixture::snapshot_with(serde_json::json!({}));
        let synced =
            sealed(serde_json::json!({"conditions": [{"type": "Synced", "status": "True"}]}));
        s.secret = Some(Ok(None));
        let r = synced_verdict(&s, &synced);
        assert_eq!(r.status, Status::Fail);
        assert!(r.message.contains("does not exist"), "{}", r.message);
        s.secret = None;
        assert_eq!(synced_verdict(&s, &synced).status, Status::Pass);
        assert_eq!(
            synced_verdict(&s, &sealed(serde_json::json!({}))).status,
            Status::Warn
        );
    }

    #[test]
    fn an_unread_sealed_secret_is_skipped_and_a_refused_read_warns() {
        let mut s = fixture::snapshot_with(serde_json::json!({}));
        s.sealed = None;
        assert_eq!(sealed_secret(&s).status, Status::Skip);
        s.sealed = Some(Err(Unread {
            message: "forbidden".into(),
            hint: None,
            forbidden: true,
        }));
        assert_eq!(sealed_secret(&s).status, Status::Warn);
    }
}
