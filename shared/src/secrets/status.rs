//! `status`: what a sealed values file holds, which certificate sealed it compared with the
//! controller's, and (with `--validate`) whether the controller can decrypt every value.
//!
//! Exit codes a CI job can gate on: 0 the file works (sealed with the current key, or with
//! an older key the controller still holds: a warning), 1 a problem (a key the chart needs
//! is missing, the controller cannot decrypt, or `--cert` differs), 2 the controller or the
//! cluster could not be asked.

use super::args::{OutputFormat, StatusArgs};
use super::cert::{self, CertSource};
use super::controller::{Controller, ControllerError};
use super::files::SealedFile;
use super::keys::{self, Provider};
use super::sealed_secret::sealed_secret;
use super::target::Target;
use super::{SecretsError, Session, connect_controller, join, load_keys, read_sealed};
use crate::cluster::Cluster;
use crate::seal::{self, Scope, SealedWith};

/// How the file's certificate compares with the controller's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum CertCheck {
    /// Sealed with the controller's current certificate.
    Matches,
    /// Sealed with an older key the controller still holds (it decrypts the values):
    /// `rotate` re-encrypts them with the current key.
    OlderKey {
        /// The current fingerprint.
        current: String,
    },
    /// The certificate given with `--cert` is not the one recorded (the controller was
    /// not asked whether it still decrypts).
    Differs {
        /// The fingerprint compared with.
        current: String,
    },
    /// The controller has no key that decrypts the values.
    UnknownKey {
        /// The current fingerprint.
        current: String,
    },
    /// The file records no fingerprint (sealed by kubeseal or by hand): nothing compared.
    NotRecorded,
    /// Not checked (`--offline`).
    NotChecked {
        /// Why.
        reason: String,
    },
}

/// What the controller's `/v1/verify` said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    /// Whether every value decrypts.
    pub decrypts: bool,
    /// The keys that do not.
    pub failing: Vec<String>,
}

/// What `status` reports. Never holds a plaintext value.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// How to render this on stdout.
    #[serde(skip)]
    pub output: OutputFormat,
    /// The file.
    pub file: String,
    /// `--kubeconfig`/`--kube-context` as the user gave them (or Helm's environment), for
    /// the commands the text suggests (empty, or starting with a space).
    #[serde(skip)]
    pub helm_flags: String,
    /// The Secret name.
    pub secret_name: String,
    /// The namespace recorded in the file.
    pub namespace: Option<String>,
    /// The scope.
    pub scope: Scope,
    /// `llm.provider`.
    pub provider: Option<Provider>,
    /// Sealed keys.
    pub keys: Vec<String>,
    /// Keys the chart needs that the file lacks.
    pub missing: Vec<String>,
    /// The recorded fingerprint.
    pub certificate_fingerprint: String,
    /// The comparison with the controller's certificate.
    pub controller: CertCheck,
    /// The controller's verdict (`--validate`, or when the certificate changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
}

impl StatusReport {
    /// 1 when a key is missing, the controller cannot decrypt, or `--cert` differs; else 0.
    pub fn exit_code(&self) -> u8 {
        let undecryptable = self.validation.as_ref().is_some_and(|v| !v.decrypts);
        u8::from(
            !self.missing.is_empty()
                || undecryptable
                || matches!(
                    self.controller,
                    CertCheck::Differs { .. } | CertCheck::UnknownKey { .. }
                ),
        )
    }

    /// Human-readable lines.
    pub fn render_text(&self) -> String {
        let mut out = format!("file:        {}\n", self.file);
        let ns = self
            .namespace
            .as_ref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        out += &format!(
            "secret:      {ns}{} (scope {})\n",
            self.secret_name, self.scope
        );
        out += &format!(
            "provider:    {}\n",
            self.provider.map(Provider::as_str).unwrap_or("(not set)")
        );
        let keys = if self.keys.is_empty() {
            "(none)".into()
        } else {
            join(&self.keys)
        };
        out += &format!("sealed keys: {keys}\n");
        if !self.missing.is_empty() {
            out += &format!("missing:     {}\n", join(&self.missing));
        }
        out += &format!(
            "certificate: {}\n",
            if self.certificate_fingerprint.is_empty() {
                "(not recorded: sealed by kubeseal or by hand)"
            } else {
                &self.certificate_fingerprint
            }
        );
        out += &format!("controller:  {}\n", self.controller_line());
        if let Some(v) = &self.validation {
            out += &match v.decrypts {
                true => "validate:    the controller can decrypt every value\n".to_string(),
                false => format!(
                    "validate:    the controller cannot decrypt {}\n",
                    join(&v.failing)
                ),
            };
        }
        out
    }

    fn controller_line(&self) -> String {
        let rotate = format!(
            "`helm todo-secrets rotate -f {}{}`",
            crate::cluster::shell_word(&self.file),
            self.helm_flags
        );
        match &self.controller {
            CertCheck::Matches => "sealed with the controller's current certificate".into(),
            CertCheck::OlderKey { current } => format!(
                "WARNING: sealed with an older key the controller still holds (current certificate {}); run {rotate} to re-encrypt with the current key",
                seal::short(current)
            ),
            CertCheck::Differs { current } => format!(
                "certificate CHANGED (now {current}); the values may still decrypt with an older key (--validate asks the controller); re-encrypt with {rotate}"
            ),
            CertCheck::UnknownKey { current } => format!(
                "no key of the controller decrypts these values (current certificate {}); re-enter them with `helm todo-secrets rotate --reenter -f {}{}`, or restore the old key from a backup",
                seal::short(current),
                crate::cluster::shell_word(&self.file),
                self.helm_flags
            ),
            CertCheck::NotRecorded => {
                "nothing compared (the file records no certificate); --validate asks the controller"
                    .into()
            }
            CertCheck::NotChecked { reason } => format!("not checked ({reason})"),
        }
    }
}

/// `status`.
pub async fn status(args: &StatusArgs, s: &Session) -> Result<StatusReport, SecretsError> {
    let file = read_sealed(&args.file.file)?;
    let all = load_keys(&args.file.common.sealing.chart)?;
    let required = keys::required_keys(&all, file.provider.unwrap_or(Provider::Openai));
    let missing = required
        .iter()
        .filter(|k| !file.encrypted.contains_key(&k.name))
        .map(|k| k.name.clone())
        .collect();
    let (controller, validation) = check(args, &file, s).await?;
    Ok(StatusReport {
        output: args.file.output,
        file: args.file.file.display().to_string(),
        helm_flags: args.file.common.cluster.kube_args(None).as_helm_flags(),
        secret_name: file.name.clone(),
        namespace: file.namespace.clone(),
        scope: file.scope,
        provider: file.provider,
        keys: file.encrypted.keys().cloned().collect(),
        missing,
        certificate_fingerprint: file.fingerprint.clone(),
        controller,
        validation,
    })
}

fn compare(file: &SealedFile, current: &seal::Certificate) -> CertCheck {
    match seal::sealed_with(&file.fingerprint, std::slice::from_ref(current)) {
        SealedWith::NotRecorded => CertCheck::NotRecorded,
        SealedWith::Current => CertCheck::Matches,
        SealedWith::OlderKey | SealedWith::Unknown => CertCheck::Differs {
            current: current.fingerprint(),
        },
    }
}

async fn check(
    args: &StatusArgs,
    file: &SealedFile,
    s: &Session,
) -> Result<(CertCheck, Option<Validation>), SecretsError> {
    let controller = Controller::from_args(&args.file.common.controller)?;
    let given = match args.file.common.sealing.cert.as_deref() {
        Some(flag) => Some(
            cert::load(&CertSource::from_flag(Some(flag), &controller)?, None)
                .await?
                .0,
        ),
        None => None,
    };
    match (&given, args.validate, args.offline) {
        (Some(cert), false, _) => return Ok((compare(file, cert), None)),
        (None, false, true) => {
            return Ok((
                CertCheck::NotChecked {
                    reason: "--offline".into(),
                },
                None,
            ));
        }
        _ => {}
    }
    let target = Target::for_file(&args.file.common.target, file, &args.file.file)?;
    let cluster = connect_controller(
        &args.file.common.cluster,
        Some(&target.namespace),
        &controller,
        &s.deadline,
    )
    .await?;
    let current = match given {
        Some(cert) => cert,
        None => {
            cert::load(&CertSource::Controller(controller.clone()), Some(&cluster))
                .await?
                .0
        }
    };
    let mut state = compare(file, &current);
    let differs = matches!(state, CertCheck::Differs { .. });
    let validation = if args.validate || differs {
        match validate(&controller, &cluster, &target, file).await {
            Ok(v) => Some(v),
            Err(ControllerError::Unsupported { .. }) if !args.validate => None,
            Err(e) => return Err(SecretsError::controller(e, &controller, &cluster)),
        }
    } else {
        None
    };
    if let (CertCheck::Differs { current }, Some(v), None) =
        (&state, &validation, &args.file.common.sealing.cert)
    {
        state = match v.decrypts {
            true => CertCheck::OlderKey {
                current: current.clone(),
            },
            false => CertCheck::UnknownKey {
                current: current.clone(),
            },
        };
    }
    Ok((state, validation.filter(|_| args.validate)))
}

/// Ask the controller whether it can decrypt the file's values: the whole file first (one
/// request), then, if not, one key at a time to name those that fail.
pub async fn validate(
    controller: &Controller,
    cluster: &Cluster,
    target: &Target,
    file: &SealedFile,
) -> Result<Validation, ControllerError> {
    let whole = sealed_secret(
        &target.namespace,
        &target.secret_name,
        file.scope,
        &file.encrypted,
    );
    if file.encrypted.is_empty() || controller.verify(cluster, &whole).await? {
        return Ok(Validation {
            decrypts: true,
            failing: Vec::new(),
        });
    }
    let mut failing = Vec::new();
    for (key, value) in &file.encrypted {
        let one = [(key.clone(), value.clone())].into_iter().collect();
        let ss = sealed_secret(&target.namespace, &target.secret_name, file.scope, &one);
        if !controller.verify(cluster, &ss).await? {
            failing.push(key.clone());
        }
    }
    Ok(Validation {
        decrypts: false,
        failing,
    })
}
