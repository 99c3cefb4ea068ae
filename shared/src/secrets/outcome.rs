//! What a `helm todo-secrets` flow produced, and its rendering for stdout in the format
//! chosen with `-o` (text for a person; JSON, or the same document as YAML, for scripts).
//! Nothing rendered here holds a secret value: outcomes carry key names, files,
//! fingerprints and certificates only.

use serde::Serialize;

use super::SecretsError;
use super::args::{CertFormat, OutputFormat};
use super::fetch_cert::FetchCertOutcome;
use super::init::InitOutcome;
use super::rotate::RotateOutcome;
use super::seal_one::SealOutcome;
use super::status::StatusReport;
use crate::error::Output;

/// The outcome of one subcommand.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// `init`.
    Init(InitOutcome),
    /// `seal`.
    Seal(SealOutcome),
    /// `rotate`.
    Rotate(RotateOutcome),
    /// `status` (exit 1 when it found a problem).
    Status(StatusReport),
    /// `fetch-cert`.
    FetchCert(FetchCertOutcome),
}

fn document<T: Serialize>(
    value: &T,
    format: OutputFormat,
    text: impl FnOnce(&T) -> String,
) -> Result<String, SecretsError> {
    Ok(match format {
        OutputFormat::Text => text(value),
        OutputFormat::Json => serde_json::to_string_pretty(value)? + "\n",
        OutputFormat::Yaml => serde_saphyr::to_string(value)?,
    })
}

impl Outcome {
    /// The exit code: 0, or `status`'s verdict.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Status(r) => r.exit_code(),
            _ => crate::error::EXIT_OK,
        }
    }

    /// The text for stdout, in the format the subcommand was asked for.
    pub fn render(&self) -> Result<String, SecretsError> {
        match self {
            Outcome::Init(o) => document(o, o.output, InitOutcome::render_text),
            Outcome::Seal(o) => document(o, o.output, SealOutcome::render_text),
            Outcome::Rotate(o) => document(o, o.output, RotateOutcome::render_text),
            Outcome::Status(o) => document(o, o.output, StatusReport::render_text),
            Outcome::FetchCert(o) => match o.output {
                CertFormat::Pem => Ok(o.render_pem()),
                CertFormat::Json => document(o, OutputFormat::Json, |_| String::new()),
                CertFormat::Yaml => document(o, OutputFormat::Yaml, |_| String::new()),
            },
        }
    }

    /// Stdout and exit code for [`crate::cli::run`].
    pub fn into_output(self) -> Result<Output, SecretsError> {
        Ok(Output::with_code(self.render()?, self.exit_code()))
    }
}
