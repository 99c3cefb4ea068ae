//! `rotate`: move every value of a sealed file to the controller's current key.
//!
//! By default no plaintext is needed: the file is sent as a SealedSecret to the
//! controller's `/v1/rotate` (kubeseal `--re-encrypt`), which decrypts it with whichever of
//! its keys sealed it and seals it again with its newest key, keeping the scope; the new
//! certificate's fingerprint is recorded. `--reenter` reads every value again (sources or
//! prompts) and seals it locally, which also changes the scope or the provider and works
//! when the controller no longer has the old key.

use std::collections::BTreeSet;

use super::args::{OutputFormat, RotateArgs};
use super::cert::{self, CertSource};
use super::collect::{Ask, Gathered, gather_blocking};
use super::controller::{Controller, ControllerError};
use super::files::{self, SealedFile};
use super::sealed_secret::{encrypted_data, sealed_secret};
use super::sealing::seal_all;
use super::status::validate;
use super::target::Target;
use super::write::{Mode, write_atomic};
use super::{
    SecretsError, Session, connect_controller, join, load_keys, read_sealed, sealing_certificate,
};
use crate::cluster::Cluster;
use crate::seal::{self, Certificate};

/// How the values were moved to the new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// The controller re-encrypted them (`/v1/rotate`).
    Controller,
    /// They were entered again and sealed here.
    Reentered,
    /// Nothing to do: already sealed with the current key.
    Unchanged,
}

/// What `rotate` did.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotateOutcome {
    /// How to render this on stdout.
    #[serde(skip)]
    pub output: OutputFormat,
    /// The file.
    pub file: String,
    /// How.
    pub via: Via,
    /// The keys now sealed with the current key.
    pub keys: Vec<String>,
    /// The fingerprint the file recorded before (empty: not recorded).
    pub from: String,
    /// The fingerprint now recorded.
    pub to: String,
    /// Keys of the old file not given again (`--reenter`).
    pub dropped: Vec<String>,
}

impl RotateOutcome {
    /// Lines for a person.
    pub fn render_text(&self) -> String {
        let was = if self.from.is_empty() {
            "unknown"
        } else {
            seal::short(&self.from)
        };
        let mut out = match self.via {
            Via::Unchanged => format!(
                "{} is already sealed with the controller's current certificate {}; nothing to re-encrypt\n",
                self.file,
                seal::short(&self.to)
            ),
            Via::Controller => format!(
                "re-encrypted {} with the controller's current key (certificate {}, was {was}) into {}\n",
                join(&self.keys),
                seal::short(&self.to),
                self.file
            ),
            Via::Reentered => format!(
                "re-sealed {} with certificate {} (was {was}) into {}\n",
                join(&self.keys),
                seal::short(&self.to),
                self.file
            ),
        };
        if !self.dropped.is_empty() {
            out += &format!("dropped (not provided again): {}\n", join(&self.dropped));
        }
        out
    }
}

/// Flags that only make sense with `--reenter`.
fn check_flags(args: &RotateArgs) -> Result<(), SecretsError> {
    let s = &args.sources;
    let reentry_only = s.from_env
        || s.from_file.is_some()
        || s.generate
        || s.non_interactive
        || args.file.common.sealing.cert.is_some();
    if !args.reenter && reentry_only {
        return Err(SecretsError::usage(
            "--from-env, --from-file, --generate, --non-interactive and --cert apply to `rotate --reenter`",
            "without --reenter the controller re-encrypts the values itself (no plaintext needed); add --reenter to enter them again",
        ));
    }
    Ok(())
}

/// `rotate`.
pub async fn rotate(args: &RotateArgs, s: &Session) -> Result<RotateOutcome, SecretsError> {
    check_flags(args)?;
    let old = read_sealed(&args.file.file)?;
    let target = Target::for_file(&args.file.common.target, &old, &args.file.file)?;
    let controller = Controller::from_args(&args.file.common.controller)?;
    if args.reenter {
        return reenter(args, s, old, target, controller).await;
    }
    if old.encrypted.is_empty() {
        return Err(SecretsError::usage(
            format!("{} holds no sealed values", args.file.file.display()),
            "seal values with `helm todo-secrets init` first",
        ));
    }
    let cluster = connect_controller(
        &args.file.common.cluster,
        Some(&target.namespace),
        &controller,
        &s.deadline,
    )
    .await?;
    let (encrypted, current) =
        reencrypt(&controller, &cluster, &target, &old, &args.file.file).await?;
    let mut outcome = RotateOutcome {
        output: args.file.output,
        file: args.file.file.display().to_string(),
        via: Via::Unchanged,
        keys: old.encrypted.keys().cloned().collect(),
        from: old.fingerprint.clone(),
        to: current.fingerprint(),
        dropped: Vec::new(),
    };
    let Some(encrypted) = encrypted else {
        return Ok(outcome);
    };
    let file = SealedFile {
        fingerprint: current.fingerprint(),
        encrypted,
        namespace: Some(target.namespace.clone()),
        release: Some(target.release.clone()),
        name: target.secret_name.clone(),
        ..old
    };
    let text = files::render_sealed(&file, &target.namespace, &target.release)?;
    write_atomic(&args.file.file, text.as_bytes(), Mode::Public)?;
    outcome.via = Via::Controller;
    Ok(outcome)
}

/// Ask the controller to re-encrypt `old`; `None` when it is already sealed with the
/// current certificate. Returns the new values with the certificate they were sealed with
/// (checked before and after, so that a key renewal meanwhile is not recorded wrongly).
async fn reencrypt(
    controller: &Controller,
    cluster: &Cluster,
    target: &Target,
    old: &SealedFile,
    path: &std::path::Path,
) -> Result<
    (
        Option<std::collections::BTreeMap<String, String>>,
        Certificate,
    ),
    SecretsError,
> {
    let source = CertSource::Controller(controller.clone());
    let (mut before, _) = cert::load(&source, Some(cluster)).await?;
    if old.fingerprint.eq_ignore_ascii_case(&before.fingerprint()) {
        return Ok((None, before));
    }
    let mut data = old.encrypted.clone();
    for _ in 0..2 {
        let ss = sealed_secret(&target.namespace, &target.secret_name, old.scope, &data);
        let rotated = match controller.rotate(cluster, &ss).await {
            Ok(rotated) => rotated,
            Err(ControllerError::Failed { .. }) => {
                return Err(undecryptable(controller, cluster, target, old, path).await);
            }
            Err(e) => return Err(SecretsError::controller(e, controller, cluster)),
        };
        let bad = || {
            let e = ControllerError::BadAnswer {
                endpoint: "/v1/rotate",
                expected: "the same keys, re-encrypted",
            };
            SecretsError::controller(e, controller, cluster)
        };
        data = encrypted_data(&rotated).ok_or_else(bad)?;
        if data.keys().ne(old.encrypted.keys()) {
            return Err(bad());
        }
        let (after, _) = cert::load(&source, Some(cluster)).await?;
        if after.fingerprint() == before.fingerprint() {
            return Ok((Some(data), after));
        }
        before = after;
    }
    Err(SecretsError::usage(
        "the controller renewed its key twice while re-encrypting",
        "run `helm todo-secrets rotate` again",
    ))
}

/// The error for a `/v1/rotate` the controller could not do: which keys it cannot decrypt.
async fn undecryptable(
    controller: &Controller,
    cluster: &Cluster,
    target: &Target,
    old: &SealedFile,
    path: &std::path::Path,
) -> SecretsError {
    match validate(controller, cluster, target, old).await {
        Ok(v) if !v.decrypts => SecretsError::Undecryptable {
            path: path.to_path_buf(),
            namespace: target.namespace.clone(),
            keys: v.failing,
        },
        Ok(_) => SecretsError::controller(
            ControllerError::Failed {
                endpoint: "/v1/rotate",
            },
            controller,
            cluster,
        ),
        Err(e) => SecretsError::controller(e, controller, cluster),
    }
}

async fn reenter(
    args: &RotateArgs,
    s: &Session,
    old: SealedFile,
    target: Target,
    controller: Controller,
) -> Result<RotateOutcome, SecretsError> {
    let scope = args.scope.unwrap_or(old.scope);
    let all = load_keys(&args.file.common.sealing.chart)?;
    let (cert, _) = sealing_certificate(
        &args.file.common,
        &controller,
        &target.namespace,
        &s.deadline,
    )
    .await?;
    let ask = Ask {
        all,
        sources: (&args.sources).into(),
        provider: args.provider,
        fallback_provider: old.provider,
        kept: BTreeSet::new(),
        can_prompt: !args.sources.non_interactive && s.ui.can_prompt(),
    };
    let Gathered { provider, values } = gather_blocking(ask, s.ui.clone(), &s.deadline).await?;
    let file = SealedFile {
        provider: Some(provider),
        name: target.secret_name.clone(),
        scope,
        fingerprint: cert.fingerprint(),
        encrypted: seal_all(&cert, scope, &target, &values)?,
        namespace: Some(target.namespace.clone()),
        release: Some(target.release.clone()),
    };
    let dropped = old
        .encrypted
        .keys()
        .filter(|k| !file.encrypted.contains_key(*k))
        .cloned()
        .collect();
    let text = files::render_sealed(&file, &target.namespace, &target.release)?;
    write_atomic(&args.file.file, text.as_bytes(), Mode::Public)?;
    Ok(RotateOutcome {
        output: args.file.output,
        file: args.file.file.display().to_string(),
        via: Via::Reentered,
        keys: file.encrypted.keys().cloned().collect(),
        from: old.fingerprint,
        to: file.fingerprint,
        dropped,
    })
}
