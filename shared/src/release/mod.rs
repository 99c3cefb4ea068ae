//! Helm releases, read natively from Helm's release Secrets (no `helm` binary).
//!
//! Helm stores each revision as a Secret `sh.helm.release.v1.<release>.v<rev>` labelled
//! `owner=helm,name=<release>,version=<rev>`. Its `release` value is base64(gzip(JSON)); the
//! API base64-encodes Secret data once more and k8s-openapi undoes that layer, so the bytes we
//! get are the base64 text of the gzip stream.
//!
//! [`decode`], [`pick`] and [`choose`] are pure; [`find`] (in [`lookup`]) lists the Secrets
//! (one request) and picks.

pub mod lookup;

use std::collections::BTreeMap;
use std::io::Read;

use base64::Engine;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;

use crate::chart::{self, CHART_NAME, ObjectNames, Provider, SecretsMode};
use crate::cluster::ClusterError;
use crate::error::UserError;

pub use lookup::find;

/// Decompressed releases larger than this are refused (a corrupt or hostile Secret must not
/// exhaust memory).
const MAX_RELEASE_BYTES: u64 = 64 * 1024 * 1024;

/// One revision of a Helm release, as far as the plugins need it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Release {
    /// The release name.
    pub name: String,
    /// The namespace the release lives in.
    pub namespace: String,
    /// The revision number (Helm's `version`).
    pub revision: u32,
    /// `info.status`: deployed, failed, pending-install, pending-upgrade, superseded, ...
    pub status: String,
    /// `info.description`, e.g. "Install complete" or the failure reason.
    pub description: String,
    /// `chart.metadata.name`.
    pub chart_name: String,
    /// `chart.metadata.version`.
    pub chart_version: String,
    /// `chart.metadata.appVersion` (empty when unset).
    pub app_version: String,
    /// The user-supplied values (`config`), not merged with the chart defaults.
    #[serde(skip)]
    pub config: serde_json::Value,
    /// The rendered manifest.
    #[serde(skip)]
    pub manifest: String,
}

impl Release {
    /// A user value by dotted path (`secrets.mode`), when the user set it.
    pub fn value(&self, path: &str) -> Option<&serde_json::Value> {
        path.split('.').try_fold(&self.config, |v, key| v.get(key))
    }

    /// A user string value by dotted path, or `default` when unset or empty.
    pub fn str_value<'a>(&'a self, path: &str, default: &'a str) -> &'a str {
        self.value(path)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or(default)
    }

    /// The chart's full name for this release (`fullnameOverride` honoured).
    pub fn fullname(&self) -> String {
        chart::fullname(
            &self.name,
            self.value("fullnameOverride").and_then(|v| v.as_str()),
        )
    }

    /// The names of this release's objects.
    pub fn names(&self) -> ObjectNames {
        ObjectNames::new(self.fullname())
    }

    /// The Secret the pods read, per the chart contract.
    pub fn secret_name(&self) -> String {
        if self.secrets_mode() == Some(SecretsMode::ExistingSecret) {
            let name = self.str_value("secrets.existingSecret", "");
            if !name.is_empty() {
                return name.to_owned();
            }
        }
        let name = self.str_value("secrets.name", "");
        if name.is_empty() {
            self.names().default_secret()
        } else {
            name.to_owned()
        }
    }

    /// `secrets.mode` (sealed when unset); `None` for a value the chart does not know.
    pub fn secrets_mode(&self) -> Option<SecretsMode> {
        SecretsMode::parse(self.value("secrets.mode").and_then(|v| v.as_str()))
    }

    /// The LLM provider (`llm.provider`, default openai; an unknown value reads as openai,
    /// which the chart's schema refuses at install time anyway).
    pub fn provider(&self) -> Provider {
        Provider::parse(self.str_value("llm.provider", "openai")).unwrap_or_default()
    }

    /// The LLM API key name the backend gets, from `llm.provider`.
    pub fn llm_key(&self) -> &'static str {
        self.provider().key_name()
    }
}

/// The user's connection flags, as each tool spells them, repeated in a hint's commands
/// (each empty or starting with a space).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HintFlags {
    /// `--kubeconfig`/`--kube-context` for Helm.
    pub helm: String,
    /// `--kubeconfig`/`--context` for kubectl.
    pub kubectl: String,
}

impl HintFlags {
    /// The flags of the user of `cluster`.
    pub fn of(cluster: &crate::cluster::Cluster) -> Self {
        HintFlags {
            helm: cluster.helm_flags(),
            kubectl: cluster.context_flags(),
        }
    }
}

/// Why no single release could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// No matching release.
    #[error("{}", not_found_message(.namespace, .name, .candidates))]
    NotFound {
        /// The namespace searched.
        namespace: String,
        /// The release asked for, if any.
        name: Option<String>,
        /// Other Helm releases in the namespace, `name (chart)`.
        candidates: Vec<String>,
        /// todo-chatbot releases (of that name, when one was asked for) in namespaces the
        /// user may read, as (namespace, release).
        elsewhere: Vec<(String, String)>,
        /// The user's connection flags for the hint's commands (empty where the cluster is
        /// not known; boxed: the variant stays small).
        flags: Box<HintFlags>,
    },
    /// Several todo-chatbot releases and no `--release`.
    #[error("{} releases of chart todo-chatbot in namespace {namespace:?}: {}", .candidates.len(), .candidates.join(", "))]
    Ambiguous {
        /// The namespace searched.
        namespace: String,
        /// The release names.
        candidates: Vec<String>,
    },
    /// The release exists but is of another chart.
    #[error("release {name:?} is of chart {chart:?}, not todo-chatbot")]
    WrongChart {
        /// The release name.
        name: String,
        /// Its chart.
        chart: String,
        /// The namespace searched.
        namespace: String,
        /// The user's connection flags for the hint's commands (set by
        /// [`ReleaseError::for_user`]).
        flags: Box<HintFlags>,
    },
    /// The release Secret could not be decoded.
    #[error("cannot decode Helm release Secret {secret:?}: {detail}")]
    Decode {
        /// The Secret name.
        secret: String,
        /// What went wrong.
        detail: String,
        /// The release the Secret records (its `name` label), when labelled.
        release: Option<String>,
        /// The Secret's namespace.
        namespace: String,
        /// The user's connection flags for the hint's commands (set by
        /// [`ReleaseError::for_user`]).
        flags: Box<HintFlags>,
    },
    /// Helm's release records (Secrets) may not be listed, and the release's Deployments did
    /// not name a single release either.
    #[error(
        "may not list Secrets (Helm's release records) in namespace {namespace:?}, and no single todo-chatbot release was found by its Deployments' labels"
    )]
    Unlisted {
        /// The namespace searched.
        namespace: String,
        /// The refusal (boxed: the variant stays small).
        #[source]
        source: Box<ClusterError>,
        /// The user's `--kubeconfig`/`--kube-context` for the hint's Helm command.
        helm_flags: String,
    },
    /// The release Secrets could not be read.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl ReleaseError {
    /// The same error, its hint's commands carrying the connection flags of the user of
    /// `cluster`.
    pub fn for_user(mut self, cluster: &crate::cluster::Cluster) -> Self {
        match &mut self {
            ReleaseError::NotFound { flags, .. }
            | ReleaseError::WrongChart { flags, .. }
            | ReleaseError::Decode { flags, .. } => **flags = HintFlags::of(cluster),
            ReleaseError::Unlisted { helm_flags, .. } => *helm_flags = cluster.helm_flags(),
            ReleaseError::Ambiguous { .. } | ReleaseError::Cluster(_) => {}
        }
        self
    }
}

fn not_found_message(namespace: &str, name: &Option<String>, candidates: &[String]) -> String {
    let what = match name {
        Some(n) => format!("Helm release {n:?} not found in namespace {namespace:?}"),
        None => format!("no Helm release of chart todo-chatbot in namespace {namespace:?}"),
    };
    if candidates.is_empty() {
        what
    } else {
        format!("{what} (releases there: {})", candidates.join(", "))
    }
}

impl UserError for ReleaseError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            ReleaseError::Cluster(e) => return e.hint(),
            ReleaseError::NotFound { elsewhere, .. } if !elsewhere.is_empty() => {
                let (ns, rel) = &elsewhere[0];
                let others = if elsewhere.len() > 1 {
                    let rest: Vec<String> = elsewhere[1..]
                        .iter()
                        .map(|(n, r)| format!("{r} in {n}"))
                        .collect();
                    format!(" (also: {})", rest.join(", "))
                } else {
                    String::new()
                };
                format!(
                    "release {rel} of chart todo-chatbot is in namespace {ns}: add `-n {}`{others}",
                    crate::cluster::shell_word(ns)
                )
            }
            ReleaseError::NotFound {
                namespace, flags, ..
            } => {
                let (helm_flags, kubectl_flags) = (&flags.helm, &flags.kubectl);
                let ns = crate::cluster::shell_word(namespace);
                format!(
                    "check the namespace (`-n`) and the name (`helm list -n {ns}{helm_flags}`), or check first and install it: `kubectl todo preflight -n {ns}{kubectl_flags}` then `helm install todo {} -n {ns}{helm_flags}`",
                    chart::DEFAULT_CHART_DIR
                )
            }
            ReleaseError::Unlisted {
                namespace,
                helm_flags,
                ..
            } => {
                let ns = crate::cluster::shell_word(namespace);
                format!(
                    "pass the release name with --release NAME (`helm list -n {ns}{helm_flags}` as a user who may), or ask for `list secrets` in {ns}"
                )
            }
            ReleaseError::Ambiguous { candidates, .. } => format!(
                "choose one with --release {}",
                candidates.first().map(String::as_str).unwrap_or("NAME")
            ),
            ReleaseError::WrongChart {
                namespace, flags, ..
            } => format!(
                "pass the name of a todo-chatbot release with --release (`helm list -n {}{}` shows the chart of each)",
                crate::cluster::shell_word(namespace),
                flags.helm
            ),
            ReleaseError::Decode {
                release,
                namespace,
                flags,
                ..
            } => format!(
                "the Secret is not a Helm v3/v4 release record; `helm history {} -n {}{}` shows what Helm sees",
                release
                    .as_deref()
                    .map(crate::cluster::shell_word)
                    .unwrap_or_else(|| "RELEASE".into()),
                crate::cluster::shell_word(namespace),
                flags.helm
            ),
        })
    }
}

#[derive(serde::Deserialize)]
struct RawRelease {
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    version: u32,
    #[serde(default)]
    info: RawInfo,
    #[serde(default)]
    chart: RawChart,
    #[serde(default)]
    config: serde_json::Value,
    #[serde(default)]
    manifest: String,
}

#[derive(serde::Deserialize, Default)]
struct RawInfo {
    #[serde(default)]
    status: String,
    #[serde(default)]
    description: String,
}

#[derive(serde::Deserialize, Default)]
struct RawChart {
    #[serde(default)]
    metadata: RawMetadata,
}

#[derive(serde::Deserialize, Default)]
struct RawMetadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default, rename = "appVersion")]
    app_version: String,
}

/// Decode one Helm release Secret.
pub fn decode(secret: &Secret) -> Result<Release, ReleaseError> {
    let secret_name = secret.metadata.name.clone().unwrap_or_default();
    let err = |detail: String| ReleaseError::Decode {
        secret: secret_name.clone(),
        detail,
        release: label(secret, "name").map(str::to_owned),
        namespace: secret.metadata.namespace.clone().unwrap_or_default(),
        flags: Box::default(),
    };
    let data = secret
        .data
        .as_ref()
        .and_then(|d| d.get("release"))
        .ok_or_else(|| err("no `release` key".into()))?;
    let text: Vec<u8> = data
        .0
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let gz = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .map_err(|e| err(format!("base64: {e}")))?;
    let mut json = Vec::new();
    if gz.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(gz.as_slice())
            .take(MAX_RELEASE_BYTES)
            .read_to_end(&mut json)
            .map_err(|e| err(format!("gzip: {e}")))?;
    } else {
        json = gz;
    }
    let raw: RawRelease = serde_json::from_slice(&json).map_err(|e| err(format!("JSON: {e}")))?;
    Ok(Release {
        name: raw.name,
        namespace: if raw.namespace.is_empty() {
            secret.metadata.namespace.clone().unwrap_or_default()
        } else {
            raw.namespace
        },
        revision: raw.version,
        status: raw.info.status,
        description: raw.info.description,
        chart_name: raw.chart.metadata.name,
        chart_version: raw.chart.metadata.version,
        app_version: raw.chart.metadata.app_version,
        config: raw.config,
        manifest: raw.manifest,
    })
}

fn label<'a>(secret: &'a Secret, key: &str) -> Option<&'a str> {
    secret
        .metadata
        .labels
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// From Helm release Secrets (any releases, any revisions), pick the latest revision of the
/// release `name`, or of the only release of chart todo-chatbot when `name` is `None`.
pub fn pick(
    secrets: &[Secret],
    namespace: &str,
    name: Option<&str>,
) -> Result<Release, ReleaseError> {
    // Latest revision per release name, by the `version` label (cheap: no decoding).
    let mut latest: BTreeMap<&str, (u32, &Secret)> = BTreeMap::new();
    for s in secrets {
        if label(s, "owner") != Some("helm") {
            continue;
        }
        let Some(rel) = label(s, "name") else {
            continue;
        };
        let version = label(s, "version")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let entry = latest.entry(rel).or_insert((version, s));
        if version > entry.0 {
            *entry = (version, s);
        }
    }
    if let Some(wanted) = name {
        return match latest.get(wanted) {
            Some((_, s)) => {
                let release = decode(s)?;
                if release.chart_name != CHART_NAME {
                    return Err(ReleaseError::WrongChart {
                        name: release.name,
                        chart: release.chart_name,
                        namespace: namespace.to_owned(),
                        flags: Box::default(),
                    });
                }
                Ok(release)
            }
            None => Err(ReleaseError::NotFound {
                namespace: namespace.to_owned(),
                name: Some(wanted.to_owned()),
                candidates: latest.keys().map(|k| k.to_string()).collect(),
                elsewhere: Vec::new(),
                flags: Box::default(),
            }),
        };
    }
    let mut ours = Vec::new();
    let mut others = Vec::new();
    for (rel, (_, s)) in &latest {
        match decode(s) {
            Ok(r) if r.chart_name == CHART_NAME => ours.push(r),
            Ok(r) => others.push(format!("{rel} ({})", r.chart_name)),
            Err(_) => others.push(format!("{rel} (unreadable)")),
        }
    }
    match ours.len() {
        0 => Err(ReleaseError::NotFound {
            namespace: namespace.to_owned(),
            name: None,
            candidates: others,
            elsewhere: Vec::new(),
            flags: Box::default(),
        }),
        1 => Ok(ours.remove(0)),
        _ => Err(ReleaseError::Ambiguous {
            namespace: namespace.to_owned(),
            candidates: ours.into_iter().map(|r| r.name).collect(),
        }),
    }
}

/// The todo-chatbot releases that own these Deployments (by `app.kubernetes.io/instance`
/// on Deployments labelled `app.kubernetes.io/name=todo-chatbot`), sorted.
pub fn releases_of(deployments: &[Deployment]) -> Vec<String> {
    deployments
        .iter()
        .filter(|d| deployment_label(d, chart::LABEL_NAME) == Some(CHART_NAME))
        .filter_map(|d| deployment_label(d, chart::LABEL_INSTANCE).map(str::to_owned))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The todo-chatbot releases these Deployments (of any namespaces) belong to, except those
/// in `skip_namespace`: (namespace, release), sorted; `name` restricts to that release.
pub fn releases_elsewhere(
    deployments: &[Deployment],
    skip_namespace: &str,
    name: Option<&str>,
) -> Vec<(String, String)> {
    deployments
        .iter()
        .filter(|d| deployment_label(d, chart::LABEL_NAME) == Some(CHART_NAME))
        .filter_map(|d| {
            let ns = d.metadata.namespace.as_deref()?;
            let rel = deployment_label(d, chart::LABEL_INSTANCE)?;
            (ns != skip_namespace && name.is_none_or(|n| n == rel))
                .then(|| (ns.to_owned(), rel.to_owned()))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn deployment_label<'a>(d: &'a Deployment, key: &str) -> Option<&'a str> {
    d.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// Pick the release from candidate names (found from labels): `--release` if given, else
/// the only one.
pub fn choose(
    flag: Option<&str>,
    found: &[String],
    namespace: &str,
) -> Result<String, ReleaseError> {
    match (flag, found) {
        (Some(r), _) => Ok(r.to_owned()),
        (None, [only]) => Ok(only.clone()),
        (None, []) => Err(ReleaseError::NotFound {
            namespace: namespace.to_owned(),
            name: None,
            candidates: Vec::new(),
            elsewhere: Vec::new(),
            flags: Box::default(),
        }),
        (None, many) => Err(ReleaseError::Ambiguous {
            namespace: namespace.to_owned(),
            candidates: many.to_vec(),
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests;
