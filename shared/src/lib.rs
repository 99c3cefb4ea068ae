//! Core library of todo-kube: everything the kubectl and Helm plugins do lives here.
//!
//! Layers, bottom to top. A module uses the layers below it and, where said, its own layer.
//!
//! 1. Facts and pure logic, no I/O (no network, files, environment, processes or terminal):
//!    [`chart`] (names, labels, components of the chart), [`names`] (Kubernetes name rules),
//!    [`redact`], [`secret_rules`] (placeholders, DATABASE_URL), [`duration`], [`quantity`],
//!    [`image`] (image references), [`platform`],
//!    [`pod`], [`rollout`] criteria, [`diagnose`] (why a pod is unhealthy), [`ui`] (the
//!    interface flows talk through, with its silent and scripted implementations), and two
//!    with one stated impurity each: [`seal`] (the sealed-secrets format; it draws randomness
//!    from the OS and reads the clock to check a certificate's validity) and [`error`] (what
//!    an error tells a user, exit codes, and [`error::Output`], what a flow hands the edge;
//!    [`error::report`] writes the message to stderr,
//!    coloured when stderr is a terminal and `NO_COLOR` is unset, so that every layer can
//!    name exit codes without reaching up). Within the layer: `diagnose` uses `image`,
//!    `platform` and `pod`; `pod` uses `chart`; `ui` uses `rollout`.
//! 2. Process and cluster access, I/O: [`deadline`] (the whole-run deadline: a watchdog
//!    thread that removes the cleanup files and exits the process), [`cluster`]
//!    (kubectl-style flags, kubeconfig files and environment → a client; API calls with typed
//!    errors, retries, paging) and [`release`] (Helm's release records: decoding and picking
//!    are pure, [`release::find`] lists the release Secrets).
//! 3. Command flows: each returns data, talks to the person only through [`ui::Ui`], and
//!    keeps its decisions in pure steps beside the I/O. [`verify`] (collect does API reads and
//!    log reads; the checks are pure over the snapshot), [`scale`] (API reads and writes, and
//!    `helm upgrade` for `--persist`; plan and render are pure), [`secrets`] (reads and writes
//!    the values files, runs `git` to check they are ignored, reads the controller's
//!    certificate and Secrets from the cluster, prompts through `Ui`), [`preflight`] (a
//!    command flow: values → plan → reads → checks; values reads the chart and values files,
//!    reads makes API calls, plan and checks are pure), [`complete`] (the `__complete` walk is
//!    pure; `KubeValues` reads the kubeconfig and lists namespaces) and [`dispatch`] (decides
//!    which sibling binary runs; reads the filesystem to find it, never executes it). Within
//!    the layer: `preflight` reports with `verify`'s result types, reuses its Secret read, and
//!    `secrets`' controller discovery; `dispatch` uses `complete`.
//! 4. The terminal edge: [`render`] (verify's and preflight's reports as a table, JSON or
//!    JUnit; pure formatting, the only user of comfy-table), [`term`] (the terminal `Ui`:
//!    progress bars, prompts, colour; the only user of indicatif and dialoguer) and [`cli`]
//!    (parse the flags, run a flow under its deadline, write stdout, exit). `term` uses
//!    `cli`'s exit.
//!
//! Errors are typed per flow and implement [`error::UserError`]; binaries turn them into a
//! message, a hint and an exit code with [`error::report`]. `error` imports from no flow.

pub mod chart;
pub mod cli;
pub mod cluster;
pub mod complete;
pub mod deadline;
pub mod diagnose;
pub mod dispatch;
pub mod duration;
pub mod error;
pub mod image;
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
pub mod secret_rules;
pub mod secrets;
pub mod term;
pub mod ui;
pub mod verify;
