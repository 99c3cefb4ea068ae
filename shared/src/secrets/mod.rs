//! `helm todo-secrets`: ask for the app's secrets and write them sealed for the cluster's
//! sealed-secrets controller (a values file that is safe to commit), applied as a Secret, or
//! as a 0600 plaintext values file that git ignores; then keep the sealed file working over
//! the controller's key renewals (`status`, `rotate`, `fetch-cert --all`).
//!
//! Flows ([`init`], [`seal_one`], [`rotate`], [`status`], [`fetch_cert`]; [`run`]
//! dispatches) return data ([`Outcome`]); the binary prints it. Each flow is split into a
//! pure plan (what to ask, what to merge, what to write), the API step (the controller's
//! certificate, `/v1/verify`, `/v1/rotate`, applying a Secret) and the rendering of its
//! outcome. Prompts go through [`Ui`] only, with the run's deadline paused while a person
//! types.
//!
//! Values are read from `--from-file` (dotenv), `--from-env` and prompts, in that order of
//! precedence from lowest to highest (the environment overrides the file; prompts only ask
//! for what is still missing). No secret is ever accepted on the command line, and no
//! message, error or log line contains one.

pub mod args;
pub mod cert;
pub mod collect;
pub mod controller;
pub mod dotenv;
pub mod error;
pub mod fetch_cert;
pub mod files;
pub mod init;
pub mod input;
pub mod keys;
pub mod outcome;
pub mod rotate;
pub mod seal_one;
pub mod sealed_secret;
pub mod sealing;
pub mod sources;
pub mod status;
pub mod target;
pub mod write;

use std::path::Path;
use std::sync::Arc;

pub use args::Command;
pub use error::SecretsError;
pub use outcome::Outcome;
pub use target::{Target, default_secret_name};

use crate::cluster::{Cluster, KubeArgs};
use crate::deadline::Deadline;
use crate::seal::Certificate;
use crate::ui::Ui;
use args::{ClusterArgs, CommonArgs};
use cert::CertSource;
use controller::Controller;
use files::SealedFile;
use input::{InputError, VALUES_LIMIT};
use keys::KeySpec;

/// What every flow works with: the person (prompts, notes) and the run's deadline.
#[derive(Clone)]
pub struct Session {
    /// Prompts, notes and warnings.
    pub ui: Arc<dyn Ui>,
    /// The whole-run deadline (paused while a person answers a prompt).
    pub deadline: Deadline,
}

impl Session {
    /// A session for `ui` under `deadline`.
    pub fn new(ui: Arc<dyn Ui>, deadline: Deadline) -> Self {
        Session { ui, deadline }
    }

    /// Ask a yes/no question with the deadline paused.
    pub async fn confirm(&self, question: String, default: bool) -> Result<bool, SecretsError> {
        let _paused = self.deadline.pause();
        let ui = self.ui.clone();
        Ok(tokio::task::spawn_blocking(move || ui.confirm(&question, default)).await??)
    }
}

/// Run a subcommand and return what it produced (prompts and warnings go through `ui`).
pub async fn run(
    command: &Command,
    ui: Arc<dyn Ui>,
    deadline: Deadline,
) -> Result<Outcome, SecretsError> {
    let session = Session::new(ui, deadline);
    Ok(match command {
        Command::Init(args) => Outcome::Init(init::init(args, &session).await?),
        Command::Seal(args) => Outcome::Seal(seal_one::seal_one(args, &session).await?),
        Command::Rotate(args) => Outcome::Rotate(rotate::rotate(args, &session).await?),
        Command::Status(args) => Outcome::Status(status::status(args, &session).await?),
        Command::FetchCert(args) => {
            Outcome::FetchCert(fetch_cert::fetch_cert(args, &session).await?)
        }
    })
}

/// Connect to the cluster for `namespace` (does not contact the server), noting for the
/// deadline's message what is being waited for.
pub async fn connect(
    cluster: &ClusterArgs,
    namespace: Option<&str>,
    deadline: &Deadline,
) -> Result<Cluster, SecretsError> {
    let args: KubeArgs = cluster.kube_args(namespace);
    Ok(Cluster::connect_within(&args, deadline).await?)
}

/// Connect for talking to `controller`: the deadline's message names it.
pub async fn connect_controller(
    cluster: &ClusterArgs,
    namespace: Option<&str>,
    controller: &Controller,
    deadline: &Deadline,
) -> Result<Cluster, SecretsError> {
    let cluster = connect(cluster, namespace, deadline).await?;
    deadline.doing(format!(
        "the sealed-secrets controller {} (through {})",
        controller.describe(),
        cluster.server
    ));
    Ok(cluster)
}

/// The sealing certificate from `--cert`, or from the controller (connecting for
/// `namespace`); returns the connection when one was made.
pub async fn sealing_certificate(
    common: &CommonArgs,
    controller: &Controller,
    namespace: &str,
    deadline: &Deadline,
) -> Result<(Certificate, Option<Cluster>), SecretsError> {
    let source = CertSource::from_flag(common.sealing.cert.as_deref(), controller)?;
    let cluster = match source.needs_cluster() {
        true => {
            Some(connect_controller(&common.cluster, Some(namespace), controller, deadline).await?)
        }
        false => None,
    };
    let (cert, _) = cert::load(&source, cluster.as_ref()).await?;
    Ok((cert, cluster))
}

/// The keys the chart reads: from its schema, else the built-in list.
pub fn load_keys(chart: &Path) -> Result<Vec<KeySpec>, SecretsError> {
    Ok(keys::schema_keys(chart)?.unwrap_or_else(keys::builtin_keys))
}

/// Read a sealed values file; a missing one points at `init`.
pub fn read_sealed(path: &Path) -> Result<SealedFile, SecretsError> {
    match input::read_file(path, "a values file", VALUES_LIMIT) {
        Ok(text) => Ok(files::parse_sealed(path, &text)?),
        Err(InputError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(SecretsError::NoFile(path.to_path_buf()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Key names joined for messages.
pub fn join<'a>(keys: impl IntoIterator<Item = &'a String>) -> String {
    keys.into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
