//! End-to-end test support: start a cluster sandbox (or use a real cluster), run the real
//! binaries through kubectl and Helm, and read the results.
//!
//! Set `TODO_E2E_REAL_CLUSTER=1` (with `KUBECONFIG`/context pointing at a disposable
//! cluster where the images are loaded) to run the same suite against a real cluster;
//! tests that need sandbox-only fault injection skip themselves there.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

pub mod harness;
