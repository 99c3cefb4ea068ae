//! `init`: gather the values and write them sealed (default), applied as a Secret, or as
//! plaintext values.
//!
//! The plan ([`plan_output`]: which file, whether to merge into an existing one or ask
//! first, whether git would pick up plaintext) is pure; then the API step (the controller's
//! certificate before anything is asked, or applying the Secret), the prompts (deadline
//! paused), and the write. The outcome ([`InitOutcome`]) is data the binary renders.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::args::{Format, InitArgs, OutputFormat};
use super::cert::{self, CertSource};
use super::collect::{Ask, Gathered, gather_blocking};
use super::controller::Controller;
use super::files::{self, SealedFile};
use super::keys::KeySpec;
use super::sealing::{check_mergeable, seal_all};
use super::target::Target;
use super::write::{GitStatus, Mode, git_status, write_atomic};
use super::{SecretsError, Session, connect, join, load_keys, read_sealed};
use crate::chart;
use crate::cluster::{Action, Cluster, shell_word};
use crate::seal::{self, Scope};

/// What `init` did. Never holds a value.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitOutcome {
    /// How to render this on stdout.
    #[serde(skip)]
    pub output: OutputFormat,
    /// What was written.
    pub format: Format,
    /// The file written.
    pub file: String,
    /// The namespace the values are for.
    pub namespace: String,
    /// The release.
    pub release: String,
    /// The Secret name.
    pub secret_name: String,
    /// The scope (sealed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// The certificate sealed with (sealed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_fingerprint: Option<String>,
    /// The keys written this time.
    pub written: Vec<String>,
    /// The keys kept from the existing file.
    pub kept: Vec<String>,
    /// The command that installs the chart with the file.
    pub next: String,
}

impl InitOutcome {
    /// Lines for a person.
    pub fn render_text(&self) -> String {
        let written = join(&self.written);
        let mut out = match self.format {
            Format::Sealed => format!(
                "sealed {written} for secret {}/{} (scope {}, certificate {}) into {}\n",
                self.namespace,
                self.secret_name,
                self.scope.unwrap_or_default(),
                seal::short(self.certificate_fingerprint.as_deref().unwrap_or_default()),
                self.file
            ),
            Format::Values => format!(
                "wrote plaintext values {written} to {} (mode 0600; keep it out of git)\n",
                self.file
            ),
            Format::Secret => format!(
                "applied secret {}/{} with {written}; values for the chart in {}\n",
                self.namespace, self.secret_name, self.file
            ),
        };
        if !self.kept.is_empty() {
            out += &format!("kept from the existing file: {}\n", join(&self.kept));
        }
        out += &format!("next: {}\n", self.next);
        out
    }
}

/// What to do about an existing output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// There is none (or `--format secret` overwrites its pointer file).
    None,
    /// Merge into it (`--force`).
    Merge,
    /// Ask the person first.
    AskFirst,
}

/// Where `init` writes and what it does with an existing file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputPlan {
    /// The file to write.
    pub file: PathBuf,
    /// What to do with the file already there.
    pub existing: Existing,
}

/// The file `init` writes when `-f` is not given.
pub fn default_file(format: Format) -> &'static str {
    match format {
        Format::Sealed => files::DEFAULT_SEALED_FILE,
        Format::Values => files::DEFAULT_VALUES_FILE,
        Format::Secret => files::DEFAULT_EXISTING_FILE,
    }
}

/// Decide the output: refuse plaintext git would pick up (`git` is its status, asked only
/// for `--format values` without `--force`), and merge into an existing file only with
/// `--force` or after asking. Pure.
pub fn plan_output(
    args: &InitArgs,
    exists: bool,
    git: Option<GitStatus>,
    can_prompt: bool,
) -> Result<OutputPlan, SecretsError> {
    let file = args
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(default_file(args.format)));
    match git {
        Some(GitStatus::NotIgnored) => return Err(SecretsError::NotIgnored(file)),
        Some(GitStatus::Unknown(reason)) => {
            return Err(SecretsError::GitUnknown { path: file, reason });
        }
        _ => {}
    }
    let existing = if !exists || args.format == Format::Secret {
        Existing::None
    } else if args.force {
        Existing::Merge
    } else if can_prompt {
        Existing::AskFirst
    } else {
        return Err(SecretsError::Exists(file));
    };
    Ok(OutputPlan { file, existing })
}

/// The line shown before the first prompt: what the values are sealed for, and where they go.
pub fn intro(
    format: Format,
    target: &Target,
    file: &Path,
    source: &CertSource,
    cluster: Option<&Cluster>,
) -> String {
    let what = match format {
        Format::Sealed => "Sealing values for",
        Format::Secret => "Applying a Secret for",
        Format::Values => "Writing PLAINTEXT values (mode 0600) for",
    };
    let mut lines = vec![format!("{what}:")];
    if let Some(c) = cluster {
        lines.push(format!("  context     {} ({})", c.context, c.server));
    }
    lines.push(format!(
        "  namespace   {}  ·  Secret {}",
        target.namespace, target.secret_name
    ));
    if format == Format::Sealed {
        lines.push(match source {
            CertSource::Controller(c) => format!("  controller  {}", c.describe()),
            other => format!("  certificate {} (offline)", other.describe()),
        });
    }
    lines.push(format!("  file        {}", file.display()));
    lines
        .iter()
        .map(|l| crate::redact::printable(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Everything the three formats share once the plan is made.
struct Prepared {
    target: Target,
    file: PathBuf,
    merging: bool,
    source: CertSource,
    cluster: Option<Cluster>,
    all: Vec<KeySpec>,
    can_prompt: bool,
}

impl Prepared {
    fn ask(
        &self,
        args: &InitArgs,
        fallback: Option<chart::Provider>,
        kept: BTreeSet<String>,
    ) -> Ask {
        Ask {
            all: self.all.clone(),
            sources: (&args.sources).into(),
            provider: args.provider,
            fallback_provider: fallback,
            kept,
            can_prompt: self.can_prompt,
        }
    }

    fn outcome(&self, args: &InitArgs, written: Vec<String>, kept: Vec<String>) -> InitOutcome {
        InitOutcome {
            output: args.output,
            format: args.format,
            file: self.file.display().to_string(),
            namespace: self.target.namespace.clone(),
            release: self.target.release.clone(),
            secret_name: self.target.secret_name.clone(),
            scope: None,
            certificate_fingerprint: None,
            written,
            kept,
            next: format!(
                "helm upgrade --install {} {} -n {} -f {}{}",
                shell_word(&self.target.release),
                chart::DEFAULT_CHART_DIR,
                shell_word(&self.target.namespace),
                shell_word(&self.file.display().to_string()),
                args.common.cluster.kube_args(None).as_helm_flags()
            ),
        }
    }
}

/// `init`: gather the values and write them in the chosen format.
pub async fn init(args: &InitArgs, s: &Session) -> Result<InitOutcome, SecretsError> {
    let target = Target::from_args(&args.common.target)?;
    let controller = Controller::from_args(&args.common.controller)?;
    let source = CertSource::from_flag(args.common.sealing.cert.as_deref(), &controller)?;
    let can_prompt = !args.sources.non_interactive && s.ui.can_prompt();
    let file = args
        .file
        .clone()
        .unwrap_or_else(|| default_file(args.format).into());
    let git = (args.format == Format::Values && !args.force).then(|| git_status(&file));
    let plan = plan_output(args, file.exists(), git, can_prompt)?;
    let needs_cluster = match args.format {
        Format::Sealed => source.needs_cluster(),
        Format::Secret => true,
        Format::Values => false,
    };
    let cluster = match needs_cluster {
        true => Some(connect(&args.common.cluster, Some(&target.namespace), &s.deadline).await?),
        false => None,
    };
    if can_prompt {
        s.ui.note(&intro(
            args.format,
            &target,
            &plan.file,
            &source,
            cluster.as_ref(),
        ));
    }
    if plan.existing == Existing::AskFirst {
        let question = format!(
            "{} exists; merge into it (keys you do not re-enter are kept)?",
            plan.file.display()
        );
        if !s.confirm(question, false).await? {
            return Err(SecretsError::Declined(plan.file));
        }
    }
    let prepared = Prepared {
        target,
        merging: plan.existing != Existing::None,
        file: plan.file,
        source,
        cluster,
        all: load_keys(&args.common.sealing.chart)?,
        can_prompt,
    };
    match args.format {
        Format::Sealed => init_sealed(args, s, prepared).await,
        Format::Values => init_values(args, s, prepared).await,
        Format::Secret => init_secret(args, s, prepared).await,
    }
}

async fn init_sealed(
    args: &InitArgs,
    s: &Session,
    p: Prepared,
) -> Result<InitOutcome, SecretsError> {
    let existing = match p.merging {
        true => Some(read_sealed(&p.file)?),
        false => None,
    };
    let scope = args
        .scope
        .or(existing.as_ref().map(|e| e.scope))
        .unwrap_or_default();
    // The certificate is fetched (and checked) before anything is asked.
    let (cert, _) = cert::load(&p.source, p.cluster.as_ref()).await?;
    if let Some(old) = &existing {
        check_mergeable(old, &p.file, &p.target, scope, &cert)?;
    }
    let kept_keys = existing
        .as_ref()
        .map(|e| e.encrypted.keys().cloned().collect())
        .unwrap_or_default();
    let ask = p.ask(args, existing.as_ref().and_then(|e| e.provider), kept_keys);
    let Gathered { provider, values } = gather_blocking(ask, s.ui.clone(), &s.deadline).await?;
    let mut encrypted = existing.map(|e| e.encrypted).unwrap_or_default();
    let kept: Vec<String> = encrypted
        .keys()
        .filter(|k| !values.contains_key(*k))
        .cloned()
        .collect();
    encrypted.extend(seal_all(&cert, scope, &p.target, &values)?);
    let sealed = SealedFile {
        provider: Some(provider),
        name: p.target.secret_name.clone(),
        scope,
        fingerprint: cert.fingerprint(),
        encrypted,
        namespace: Some(p.target.namespace.clone()),
        release: Some(p.target.release.clone()),
    };
    let text = files::render_sealed(&sealed, &p.target.namespace, &p.target.release)?;
    write_atomic(&p.file, text.as_bytes(), Mode::Public)?;
    let mut outcome = p.outcome(args, values.keys().cloned().collect(), kept);
    outcome.scope = Some(scope);
    outcome.certificate_fingerprint = Some(sealed.fingerprint);
    Ok(outcome)
}

async fn init_values(
    args: &InitArgs,
    s: &Session,
    p: Prepared,
) -> Result<InitOutcome, SecretsError> {
    let (old_provider, mut old_values) = if p.merging {
        let text = super::input::read_file(&p.file, "a values file", super::input::VALUES_LIMIT)?;
        files::parse_plain(&p.file, &text)?
    } else {
        (None, BTreeMap::new())
    };
    let ask = p.ask(args, old_provider, old_values.keys().cloned().collect());
    let Gathered { provider, values } = gather_blocking(ask, s.ui.clone(), &s.deadline).await?;
    let written: Vec<String> = values.keys().cloned().collect();
    let kept: Vec<String> = old_values
        .keys()
        .filter(|k| !values.contains_key(*k))
        .cloned()
        .collect();
    old_values.extend(values);
    let text = files::render_plain(
        provider,
        &p.target.secret_name,
        &old_values,
        &p.target.namespace,
        &p.target.release,
    )?;
    write_atomic(&p.file, text.as_bytes(), Mode::Private)?;
    Ok(p.outcome(args, written, kept))
}

async fn init_secret(
    args: &InitArgs,
    s: &Session,
    p: Prepared,
) -> Result<InitOutcome, SecretsError> {
    let ask = p.ask(args, None, BTreeSet::new());
    let Gathered { provider, values } = gather_blocking(ask, s.ui.clone(), &s.deadline).await?;
    let cluster = p.cluster.as_ref().ok_or_else(|| {
        SecretsError::usage(
            "no cluster connection to apply the Secret",
            "check --kubeconfig and --context",
        )
    })?;
    apply_secret(cluster, &p.target, &values).await?;
    let text = files::render_existing(
        provider,
        &p.target.secret_name,
        &p.target.namespace,
        &p.target.release,
    )?;
    write_atomic(&p.file, text.as_bytes(), Mode::Public)?;
    Ok(p.outcome(args, values.keys().cloned().collect(), Vec::new()))
}

/// Server-side apply the Secret (field manager `helm-todo-secrets`).
async fn apply_secret(
    cluster: &Cluster,
    target: &Target,
    values: &BTreeMap<String, SecretString>,
) -> Result<(), SecretsError> {
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{Api, ObjectMeta, Patch, PatchParams};

    let labels: BTreeMap<String, String> = [
        (chart::LABEL_NAME, chart::CHART_NAME),
        (chart::LABEL_INSTANCE, target.release.as_str()),
        (chart::LABEL_PART_OF, chart::CHART_NAME),
        (chart::LABEL_MANAGED_BY, "helm-todo-secrets"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(target.secret_name.clone()),
            namespace: Some(target.namespace.clone()),
            labels: Some(labels),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(
            values
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.expose_secret().as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    };
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), &target.namespace);
    let action =
        Action::new("patch", "secrets", Some(&target.namespace)).named(&target.secret_name);
    let params = PatchParams::apply("helm-todo-secrets").force();
    let patch = Patch::Apply(&secret);
    crate::cluster::retry(|| api.patch(&target.secret_name, &params, &patch))
        .await
        .map_err(|e| cluster.error(&action, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        init: InitArgs,
    }

    fn args(format: Format, force: bool) -> InitArgs {
        use clap::Parser as _;
        let format = format!(
            "--format={}",
            clap::ValueEnum::to_possible_value(&format)
                .unwrap()
                .get_name()
        );
        let mut argv = vec!["init", "-n", "todo", &format];
        if force {
            argv.push("--force");
        }
        Cli::parse_from(argv).init
    }

    #[test]
    fn an_existing_file_is_merged_with_force_asked_about_on_a_terminal_else_refused() {
        let a = args(Format::Sealed, false);
        assert_eq!(
            plan_output(&a, false, None, false).unwrap().existing,
            Existing::None
        );
        assert_eq!(
            plan_output(&a, true, None, true).unwrap().existing,
            Existing::AskFirst
        );
        assert!(matches!(
            plan_output(&a, true, None, false),
            Err(SecretsError::Exists(_))
        ));
        assert_eq!(
            plan_output(&args(Format::Sealed, true), true, None, false)
                .unwrap()
                .existing,
            Existing::Merge
        );
        assert_eq!(
            plan_output(&args(Format::Secret, false), true, None, false)
                .unwrap()
                .existing,
            Existing::None
        );
    }

    #[test]
    fn plaintext_that_git_would_pick_up_is_refused() {
        let a = args(Format::Values, false);
        let plan = plan_output(&a, false, Some(GitStatus::Ignored), false).unwrap();
        assert_eq!(plan.file, PathBuf::from("secrets.values.yaml"));
        assert!(matches!(
            plan_output(&a, false, Some(GitStatus::NotIgnored), false),
            Err(SecretsError::NotIgnored(_))
        ));
        assert!(matches!(
            plan_output(&a, false, Some(GitStatus::Unknown("x".into())), false),
            Err(SecretsError::GitUnknown { .. })
        ));
    }

    #[test]
    fn the_intro_says_what_the_values_are_sealed_for() {
        let target = Target {
            namespace: "todo".into(),
            release: "todo".into(),
            secret_name: "s".into(),
        };
        let text = intro(
            Format::Sealed,
            &target,
            Path::new("out.yaml"),
            &CertSource::Controller(Controller::default()),
            None,
        );
        assert!(
            text.contains("namespace   todo")
                && text.contains("controller  kube-system/sealed-secrets-controller")
                && text.contains("file        out.yaml"),
            "{text}"
        );
        let offline = intro(
            Format::Sealed,
            &target,
            Path::new("o"),
            &CertSource::File("c.pem".into()),
            None,
        );
        assert!(offline.contains("certificate c.pem (offline)"), "{offline}");
        assert!(text.lines().all(|l| l.chars().count() <= 80));
    }

    #[tokio::test]
    async fn a_declined_merge_leaves_the_file_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.yaml");
        std::fs::write(&file, "keep me\n").unwrap();
        let mut a = args(Format::Sealed, false);
        a.file = Some(file.clone());
        a.common.sealing.cert = Some(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/secrets/testdata/TEST-ONLY-cert.pem"
            )
            .into(),
        );
        let ui = crate::ui::ScriptedUi::new([crate::ui::Answer::Yes(false)]);
        let session = Session::new(
            ui.clone(),
            crate::deadline::Deadline::unguarded("t", std::time::Duration::from_secs(5)),
        );
        let err = init(&a, &session).await.unwrap_err();
        assert!(matches!(err, SecretsError::Declined(_)));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
        assert!(
            ui.lines()[0].starts_with("note: Sealing values for:"),
            "{:?}",
            ui.lines()
        );
    }

    #[tokio::test]
    async fn init_seals_scripted_answers_and_reports_only_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.yaml");
        let mut a = args(Format::Sealed, false);
        a.file = Some(file.clone());
        a.provider = Some(chart::Provider::Openai);
        a.common.sealing.cert = Some(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/secrets/testdata/TEST-ONLY-cert.pem"
            )
            .into(),
        );
        a.common.sealing.chart = dir.path().to_path_buf();
        use crate::ui::Answer;
        let ui = crate::ui::ScriptedUi::new([
            Answer::Secret("postgresql://u:SNTL@db.example.com/app".into()),
            Answer::Yes(true),
            Answer::Secret("sk-SNTL-key".into()),
        ]);
        let session = Session::new(
            ui.clone(),
            crate::deadline::Deadline::unguarded("t", std::time::Duration::from_secs(5)),
        );
        let outcome = init(&a, &session).await.unwrap();
        assert_eq!(
            outcome.written,
            ["BETTER_AUTH_SECRET", "DATABASE_URL", "OPENAI_API_KEY"]
        );
        let text = outcome.render_text()
            + &serde_json::to_string(&outcome).unwrap()
            + &ui.lines().join("\n");
        assert!(!text.contains("SNTL"), "{text}");
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(written.contains("namespace: todo") && !written.contains("SNTL"));
    }
}
