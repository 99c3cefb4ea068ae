//! Core library of todo-kube: everything the kubectl and Helm plugins do lives here.
//!
//! Layers, bottom to top (each only uses the ones below it):
//! - pure model and logic with no I/O: [`rollout`] criteria, [`seal`] (the sealed-secrets
//!   format), [`release`] decoding, [`diagnose`] (why a pod is unhealthy);
//! - cluster access: [`cluster`] (kubectl-style flags and environment → a client);
//! - command flows: [`verify`], [`scale`], [`secrets`];
//! - rendering: [`render`] turns results into tables, JSON and JUnit.
//!
//! Errors are typed ([`error::Error`]); binaries turn them into a message, a hint and an
//! exit code with [`error::report`].

pub mod cluster;
pub mod diagnose;
pub mod dispatch;
pub mod error;
pub mod release;
pub mod render;
pub mod rollout;
pub mod scale;
pub mod seal;
pub mod secrets;
pub mod verify;

pub use error::{Error, Result};
