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
    },
    /// The release Secret could not be decoded.
    #[error("cannot decode Helm release Secret {secret:?}: {detail}")]
    Decode {
        /// The Secret name.
        secret: String,
        /// What went wrong.
        detail: String,
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
    },
    /// The release Secrets could not be read.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
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
                    let rest: Vec<String> =
                        elsewhere[1..].iter().map(|(n, r)| format!("{r} in {n}")).collect();
                    format!(" (also: {})", rest.join(", "))
                } else {
                    String::new()
                };
                format!(
                    "release {rel} of chart todo-chatbot is in namespace {ns}: add `-n {}`{others}",
                    crate::cluster::shell_word(ns)
                )
            }
            ReleaseError::NotFound { namespace, .. } => format!(
                "check the namespace (`-n`) and the name (`helm list -n {namespace}`), or install it: `helm install todo {} -n {namespace}`",
                chart::DEFAULT_CHART_DIR
            ),
            ReleaseError::Unlisted { namespace, .. } => format!(
                "pass the release name with --release NAME (`helm list -n {namespace}` as a user who may), or ask for `list secrets` in {namespace}"
            ),
            ReleaseError::Ambiguous { candidates, .. } => format!(
                "choose one with --release {}",
                candidates.first().map(String::as_str).unwrap_or("NAME")
            ),
            ReleaseError::WrongChart { .. } => "pass the name of a todo-chatbot release with --release (`helm list` shows the chart of each)".into(),
            ReleaseError::Decode { .. } => "the Secret is not a Helm v3/v4 release record; `helm history` shows what Helm sees".into(),
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
                    });
                }
                Ok(release)
            }
            None => Err(ReleaseError::NotFound {
                namespace: namespace.to_owned(),
                name: Some(wanted.to_owned()),
                candidates: latest.keys().map(|k| k.to_string()).collect(),
                elsewhere: Vec::new(),
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
        }),
        (None, many) => Err(ReleaseError::Ambiguous {
            namespace: namespace.to_owned(),
            candidates: many.to_vec(),
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::io::Write;

    /// A Helm release Secret as the API returns it (data already base64-decoded once).
    pub fn helm_secret(
        name: &str,
        rev: u32,
        chart: &str,
        status: &str,
        config: serde_json::Value,
    ) -> Secret {
        let json = serde_json::json!({
            "name": name, "namespace": "todo", "version": rev,
            "info": {"status": status, "description": "Install complete"},
            "chart": {"metadata": {"name": chart, "version": "0.1.0", "appVersion": "1.0.0"}},
            "config": config,
            "manifest": "---\nkind: Deployment\n",
        });
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(json.to_string().as_bytes()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        Secret {
            metadata: ObjectMeta {
                name: Some(format!("sh.helm.release.v1.{name}.v{rev}")),
                namespace: Some("todo".into()),
                labels: Some(
                    [
                        ("owner", "helm"),
                        ("name", name),
                        ("version", &rev.to_string()),
                        ("status", status),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                ),
                ..Default::default()
            },
            data: Some(
                [("release".to_owned(), ByteString(b64.into_bytes()))]
                    .into_iter()
                    .collect(),
            ),
            type_: Some("helm.sh/release.v1".into()),
            ..Default::default()
        }
    }

    fn deployment(ns: &str, release: &str, chart_name: &str) -> Deployment {
        let mut d = Deployment::default();
        d.metadata.namespace = Some(ns.into());
        d.metadata.labels = Some(
            [
                (chart::LABEL_NAME.to_owned(), chart_name.to_owned()),
                (chart::LABEL_INSTANCE.to_owned(), release.to_owned()),
            ]
            .into_iter()
            .collect(),
        );
        d
    }

    #[test]
    fn releases_elsewhere_are_todo_chatbot_ones_outside_the_namespace() {
        let deployments = vec![
            deployment("todo", "todo", CHART_NAME),
            deployment("apps", "demo", CHART_NAME),
            deployment("apps", "demo", CHART_NAME),
            deployment("db", "pg", "postgresql"),
            deployment("staging", "todo", CHART_NAME),
        ];
        assert_eq!(releases_of(&deployments), vec!["demo", "todo"]);
        assert_eq!(
            releases_elsewhere(&deployments, "default", None),
            vec![
                ("apps".to_owned(), "demo".to_owned()),
                ("staging".to_owned(), "todo".to_owned()),
                ("todo".to_owned(), "todo".to_owned()),
            ]
        );
        assert_eq!(
            releases_elsewhere(&deployments, "todo", Some("todo")),
            vec![("staging".to_owned(), "todo".to_owned())]
        );
        let err = ReleaseError::NotFound {
            namespace: "default".into(),
            name: None,
            candidates: Vec::new(),
            elsewhere: releases_elsewhere(&deployments, "default", None),
        };
        let hint = err.hint().unwrap();
        assert!(
            hint.starts_with(
                "release demo of chart todo-chatbot is in namespace apps: add `-n apps`"
            ),
            "{hint}"
        );
        assert!(
            hint.contains("also: todo in staging, todo in todo"),
            "{hint}"
        );
    }

    #[test]
    fn decode_reads_status_chart_and_config() {
        let s = helm_secret(
            "todo",
            3,
            CHART_NAME,
            "deployed",
            serde_json::json!({"llm": {"provider": "cohere"}}),
        );
        let r = decode(&s).unwrap();
        assert_eq!(
            (r.name.as_str(), r.revision, r.status.as_str()),
            ("todo", 3, "deployed")
        );
        assert_eq!(
            (r.chart_version.as_str(), r.app_version.as_str()),
            ("0.1.0", "1.0.0")
        );
        assert_eq!(r.llm_key(), "COHERE_API_KEY");
        assert!(r.manifest.contains("Deployment"));
    }

    #[test]
    fn decode_rejects_garbage_without_panicking() {
        let mut s = helm_secret("todo", 1, CHART_NAME, "deployed", serde_json::json!({}));
        s.data = Some(
            [("release".to_owned(), ByteString(b"!!not base64".to_vec()))]
                .into_iter()
                .collect(),
        );
        assert!(matches!(decode(&s), Err(ReleaseError::Decode { .. })));
    }

    #[test]
    fn pick_takes_highest_revision() {
        let secrets = vec![
            helm_secret("todo", 1, CHART_NAME, "superseded", serde_json::json!({})),
            helm_secret("todo", 10, CHART_NAME, "failed", serde_json::json!({})),
            helm_secret("todo", 2, CHART_NAME, "superseded", serde_json::json!({})),
        ];
        let r = pick(&secrets, "todo", None).unwrap();
        assert_eq!((r.revision, r.status.as_str()), (10, "failed"));
    }

    #[test]
    fn pick_finds_the_only_todo_chatbot_release() {
        let secrets = vec![
            helm_secret("redis", 1, "redis", "deployed", serde_json::json!({})),
            helm_secret("demo", 1, CHART_NAME, "deployed", serde_json::json!({})),
        ];
        assert_eq!(pick(&secrets, "todo", None).unwrap().name, "demo");
    }

    #[test]
    fn pick_reports_ambiguous_with_candidates() {
        let secrets = vec![
            helm_secret("a", 1, CHART_NAME, "deployed", serde_json::json!({})),
            helm_secret("b", 1, CHART_NAME, "deployed", serde_json::json!({})),
        ];
        let err = pick(&secrets, "todo", None).unwrap_err();
        assert!(
            matches!(&err, ReleaseError::Ambiguous { candidates, .. } if candidates == &["a", "b"])
        );
        assert!(err.hint().unwrap().contains("--release a"));
    }

    #[test]
    fn pick_reports_not_found_listing_other_releases() {
        let secrets = vec![helm_secret(
            "redis",
            1,
            "redis",
            "deployed",
            serde_json::json!({}),
        )];
        let err = pick(&secrets, "todo", None).unwrap_err();
        assert!(err.to_string().contains("redis (redis)"), "{err}");
        let err = pick(&secrets, "todo", Some("todo")).unwrap_err();
        assert!(err.to_string().contains("\"todo\" not found"), "{err}");
        let err = pick(&secrets, "todo", Some("redis")).unwrap_err();
        assert!(matches!(err, ReleaseError::WrongChart { .. }));
    }

    #[test]
    fn secret_name_follows_the_contract() {
        let r = decode(&helm_secret(
            "todo",
            1,
            CHART_NAME,
            "deployed",
            serde_json::json!({}),
        ))
        .unwrap();
        assert_eq!(r.secret_name(), "todo-todo-chatbot-secrets");
        assert_eq!(r.secrets_mode(), Some(SecretsMode::Sealed));
        let cfg = serde_json::json!({"fullnameOverride": "app", "secrets": {"mode": "existingSecret", "existingSecret": "mine"}});
        let r = decode(&helm_secret("todo", 1, CHART_NAME, "deployed", cfg)).unwrap();
        assert_eq!(
            (r.fullname().as_str(), r.secret_name().as_str()),
            ("app", "mine")
        );
    }

    #[test]
    fn choose_needs_the_flag_when_ambiguous() {
        let two = vec!["a".to_string(), "b".to_string()];
        assert_eq!(choose(Some("b"), &two, "ns").unwrap(), "b");
        assert_eq!(choose(None, &two[..1], "ns").unwrap(), "a");
        assert!(matches!(
            choose(None, &two, "ns"),
            Err(ReleaseError::Ambiguous { .. })
        ));
        assert!(matches!(
            choose(None, &[], "ns"),
            Err(ReleaseError::NotFound { .. })
        ));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn with_release_data(bytes: Vec<u8>) -> Secret {
            let mut secret =
                helm_secret("todo", 1, "todo-chatbot", "deployed", serde_json::json!({}));
            secret.data = Some(
                [("release".to_owned(), ByteString(bytes))]
                    .into_iter()
                    .collect(),
            );
            secret
        }

        fn gzip(bytes: &[u8]) -> Vec<u8> {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = gz.write_all(bytes);
            gz.finish().unwrap_or_default()
        }

        fn b64(bytes: &[u8]) -> Vec<u8> {
            base64::engine::general_purpose::STANDARD
                .encode(bytes)
                .into_bytes()
        }

        proptest! {
            #[test]
            fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = decode(&with_release_data(bytes.clone()));
                let _ = decode(&with_release_data(b64(&bytes)));
                let _ = decode(&with_release_data(b64(&gzip(&bytes))));
            }

            #[test]
            fn never_panics_on_truncated_or_flipped_records(cut in 0usize..400, at in 0usize..400, byte in any::<u8>()) {
                let good = helm_secret("todo", 3, "todo-chatbot", "deployed", serde_json::json!({"a": 1}));
                let mut data = good.data.and_then(|d| d.get("release").cloned()).map(|b| b.0).unwrap_or_default();
                if at < data.len() {
                    data[at] = byte;
                }
                data.truncate(cut.max(1));
                let _ = decode(&with_release_data(data));
            }

            #[test]
            fn errors_never_quote_the_record(text in "SNTL[a-zA-Z0-9 ]{0,40}") {
                for data in [b64(text.as_bytes()), b64(&gzip(text.as_bytes())), text.clone().into_bytes()] {
                    if let Err(e) = decode(&with_release_data(data)) {
                        prop_assert!(!e.to_string().contains("SNTL"), "{e}");
                    }
                }
            }

            #[test]
            fn releases_round_trip(
                name in "[a-z][a-z0-9-]{0,20}",
                rev in 1u32..10_000,
                status in "(deployed|failed|superseded|pending-upgrade)",
                config in proptest::collection::btree_map("[a-zA-Z]{1,8}", any::<String>(), 0..4),
            ) {
                let config = serde_json::json!(config);
                let release = decode(&helm_secret(&name, rev, "todo-chatbot", &status, config.clone()))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&release.name, &name);
                prop_assert_eq!(release.revision, rev);
                prop_assert_eq!(&release.status, &status);
                prop_assert_eq!(&release.config, &config);
                prop_assert_eq!(release.chart_name.as_str(), "todo-chatbot");
            }
        }
    }
}
