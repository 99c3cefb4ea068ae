//! The secrets: the sealed-secrets controller, and the values for the chosen mode. Secret
//! values are compared, never shown.

use secrecy::ExposeSecret;

use super::{Context, unread_result};
use crate::preflight::plan::{SealedPlan, SecretsPlan};
use crate::preflight::reads::CertificateRead;
use crate::redact::printable;
use crate::secret_rules::{database_url_problem, is_placeholder};
use crate::secrets::controller::INSTALL_HINT;
use crate::verify::CheckResult;

pub(super) fn controller(ctx: &Context<'_>) -> CheckResult {
    let id = "config.controller";
    let Some(side) = &ctx.obs.sealed else {
        return CheckResult::skip(id, "secrets.mode is not sealed: no controller needed");
    };
    match &side.api {
        Ok(false) => {
            return CheckResult::fail(
                id,
                "the API does not serve sealedsecrets.bitnami.com: the sealed-secrets CRD is not installed, and helm would refuse the SealedSecret",
                INSTALL_HINT,
            );
        }
        Err(u) => return unread_result(ctx, id, "ask the API for sealedsecrets.bitnami.com", u),
        Ok(true) => {}
    }
    let c = &ctx.controller;
    match &side.certificate {
        CertificateRead::Served(fp) => CheckResult::pass(
            id,
            format!(
                "controller {} serves certificate {}",
                c.describe(),
                crate::seal::short(fp)
            ),
        ),
        CertificateRead::NoService => CheckResult::fail(
            id,
            format!(
                "no Service {}: the controller that unseals the values is not installed there",
                c.describe()
            ),
            format!("{INSTALL_HINT} (or pass --controller-name/--controller-namespace)"),
        ),
        CertificateRead::Unread(u) => {
            unread_result(ctx, id, "read the controller's certificate", u)
        }
        CertificateRead::Failed(why) => CheckResult::fail(
            id,
            format!(
                "the controller {} does not serve its certificate: {}",
                c.describe(),
                printable(why)
            ),
            format!(
                "see `kubectl logs -n {} deploy/{}{}`",
                c.namespace, c.name, ctx.kubectl_flags
            ),
        ),
    }
}

fn missing_keys(required: &[&'static str], have: &[String]) -> Vec<&'static str> {
    required
        .iter()
        .filter(|k| !have.iter().any(|h| h == *k))
        .copied()
        .collect()
}

pub(super) fn secrets(ctx: &Context<'_>) -> CheckResult {
    let id = "config.secrets";
    let plan = ctx.plan;
    let required = plan.required_keys();
    let init = format!(
        "helm todo-secrets init -n {} --release {}{} -f {}",
        ctx.ns(),
        plan.release,
        ctx.helm_flags,
        ctx.values_file
    );
    match &plan.secrets {
        SecretsPlan::Inline { keys, .. } => {
            let missing = missing_keys(&required, keys);
            if !missing.is_empty() {
                return CheckResult::fail(
                    id,
                    format!(
                        "secrets.inline lacks {} (the chart refuses to render)",
                        missing.join(", ")
                    ),
                    format!("seal them instead: `{init}`"),
                );
            }
            CheckResult::warn(
                id,
                "secrets.mode=inline: the values go in plaintext into Helm's release record (development only)",
                format!("for anything shared, seal them: `{init}`, and install with -f that file"),
            )
        }
        SecretsPlan::Existing { name } if name.is_empty() => CheckResult::fail(
            id,
            "secrets.mode=existingSecret without secrets.existingSecret",
            "set secrets.existingSecret to the name of your Secret",
        )
        .caused_by(&["values.valid"]),
        SecretsPlan::Existing { name } => existing(ctx, name, &required),
        SecretsPlan::Sealed(sealed) => sealed_values(ctx, sealed, &required, &init),
    }
}

/// Sealed mode: the values fit this release (keys, scope), then the controller's certificate.
fn sealed_values(
    ctx: &Context<'_>,
    sealed: &SealedPlan,
    required: &[&'static str],
    init: &str,
) -> CheckResult {
    let id = "config.secrets";
    let SealedPlan {
        secret_name,
        scope,
        sealed_namespace,
        sealed_name,
        keys,
        ..
    } = sealed;
    if keys.is_empty() {
        return CheckResult::fail(
            id,
            "secrets.mode=sealed but no sealed values (secrets.sealed.encryptedData is empty; the chart refuses to render)",
            format!("seal them: `{init}`, then preflight and install with -f that file"),
        );
    }
    if let Err(misfit) = scope.admits(Some(sealed_namespace), sealed_name, ctx.ns(), secret_name) {
        return CheckResult::fail(
            id,
            format!(
                "the sealed values cannot be unsealed here: {misfit} (the chart refuses to render)"
            ),
            format!(
                "install into the namespace they were sealed for, or seal them for this one: `{init}`"
            ),
        );
    }
    let missing = missing_keys(required, keys);
    if !missing.is_empty() {
        let seal: Vec<String> = missing
            .iter()
            .map(|k| {
                format!(
                    "`helm todo-secrets seal {k} -n {} -f {}{}`",
                    ctx.ns(),
                    ctx.values_file,
                    ctx.helm_flags
                )
            })
            .collect();
        return CheckResult::fail(
            id,
            format!(
                "secrets.sealed.encryptedData lacks {} (llm.provider={})",
                missing.join(", "),
                ctx.plan.provider.as_str()
            ),
            format!("seal them: {}", seal.join(", ")),
        );
    }
    sealed_certificate(ctx, sealed, init)
}

/// Sealed mode: the recorded certificate fingerprint is the controller's current one.
fn sealed_certificate(ctx: &Context<'_>, sealed: &SealedPlan, init: &str) -> CheckResult {
    let id = "config.secrets";
    let SealedPlan {
        secret_name,
        scope,
        fingerprint,
        keys,
        ..
    } = sealed;
    let Some(side) = &ctx.obs.sealed else {
        return CheckResult::skip(id, "the controller was not asked");
    };
    let CertificateRead::Served(current) = &side.certificate else {
        return CheckResult::fail(
            id,
            "cannot tell whether the controller can unseal the values",
            "see config.controller",
        )
        .caused_by(&["config.controller"]);
    };
    if fingerprint.is_empty() {
        return CheckResult::warn(
            id,
            format!(
                "{} sealed values for {scope} scope; no certificate fingerprint recorded, so whether this controller can unseal them is unknown",
                keys.len()
            ),
            format!(
                "re-seal with `{init}` (it records the fingerprint), or check after install with `kubectl todo verify{}`",
                ctx.kflags()
            ),
        );
    }
    if fingerprint != current {
        return CheckResult::fail(
            id,
            format!(
                "the values were sealed with certificate {}, but controller {} serves {}: sealed for another controller (or a key it no longer holds), they would not unseal",
                crate::seal::short(fingerprint),
                ctx.controller.describe(),
                crate::seal::short(current)
            ),
            format!(
                "re-seal them for this cluster: `{init}` (or `helm todo-secrets rotate -f {}` if the controller still holds the old key)",
                ctx.values_file
            ),
        );
    }
    CheckResult::pass(
        id,
        format!(
            "{} sealed values ({}) for {scope} scope, namespace {}, Secret {}, with the controller's current certificate",
            keys.len(),
            keys.join(", "),
            ctx.ns(),
            secret_name
        ),
    )
}

fn existing(ctx: &Context<'_>, name: &str, required: &[&'static str]) -> CheckResult {
    let id = "config.secrets";
    let create = format!(
        "`kubectl create secret generic {name} --from-env-file=.env{}` (or `helm todo-secrets init --format secret`)",
        ctx.kflags()
    );
    let data = match &ctx.obs.existing {
        Some(Ok(Some(d))) => d,
        Some(Ok(None)) => {
            return CheckResult::fail(
                id,
                format!(
                    "Secret {name} (secrets.existingSecret) does not exist in namespace {}: the pods would fail CreateContainerConfigError",
                    ctx.ns()
                ),
                create,
            );
        }
        Some(Err(u)) => return unread_result(ctx, id, &format!("read Secret {name}"), u),
        None => return CheckResult::skip(id, "the Secret was not read"),
    };
    let mut problems = Vec::new();
    for key in required {
        match data.values.get(*key) {
            None => problems.push(format!("{key}: missing")),
            Some(v) if v.expose_secret().is_empty() => problems.push(format!("{key}: empty")),
            Some(v) if is_placeholder(v.expose_secret()) => {
                problems.push(format!("{key}: a placeholder, not a real value"));
            }
            Some(v) if *key == "DATABASE_URL" => {
                if let Some(p) = database_url_problem(v.expose_secret()) {
                    problems.push(format!("{key}: {}", crate::redact::redact(&p)));
                }
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        CheckResult::pass(
            id,
            format!(
                "Secret {name} has {} (values not shown)",
                required.join(", ")
            ),
        )
    } else {
        CheckResult::fail(
            id,
            format!("Secret {name} is not usable: {}", problems.join("; ")),
            format!(
                "set the keys: `kubectl edit secret {name}{}`, or re-create it: {create}",
                ctx.kflags()
            ),
        )
    }
}
