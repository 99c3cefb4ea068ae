//! Core library of todo-kube: everything the kubectl and Helm plugins do lives here.
//!
//! Layers, bottom to top (each only uses the ones below it):
//! - facts and pure logic, no I/O: [`error`] (what an error tells a user), [`redact`],
//!   [`names`] (Kubernetes name rules),
//!   [`duration`], [`quantity`], [`chart`] (names, labels, components of the chart),
//!   [`platform`], [`pod`], [`rollout`] criteria, [`diagnose`] (why a pod is unhealthy),
//!   [`seal`] (the sealed-secrets format), [`ui`] (the interface flows talk through);
//! - cluster access: [`cluster`] (kubectl-style flags and environment → a client, typed
//!   errors, retries, paging) and [`release`] (Helm's release records: decoding is pure,
//!   [`release::lookup`] reads them);
//! - command flows: [`verify`], [`scale`], [`secrets`], [`dispatch`];
//! - the terminal edge: [`render`] (verify's table, JSON, JUnit) and [`term`] (progress bars,
//!   prompts, colour).
//!
//! Errors are typed per flow and implement [`error::UserError`]; binaries turn them into a
//! message, a hint and an exit code with [`error::report`].

pub mod chart;
pub mod cli;
pub mod cluster;
pub mod complete;
pub mod deadline;
pub mod diagnose;
pub mod dispatch;
pub mod duration;
pub mod error;
pub mod names;
pub mod platform;
pub mod pod;
pub mod preflight;
pub mod quantity;
pub mod redact;
pub mod release;
pub mod render;
pub mod rollout;
pub mod scale;
pub mod seal;
pub mod secrets;
pub mod term;
pub mod ui;
pub mod verify;
