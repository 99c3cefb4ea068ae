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
        flags: Box::default(),
    };
    let hint = err.hint().unwrap();
    assert!(
        hint.starts_with("release demo of chart todo-chatbot is in namespace apps: add `-n apps`"),
        "{hint}"
    );
    assert!(
        hint.contains("also: todo in staging, todo in todo"),
        "{hint}"
    );
}

#[test]
fn not_found_hints_run_as_given_on_the_user_s_cluster() {
    let err = ReleaseError::NotFound {
        namespace: "my ns".into(),
        name: None,
        candidates: Vec::new(),
        elsewhere: Vec::new(),
        flags: Box::new(HintFlags {
            helm: " --kube-context dev".into(),
            kubectl: " --context dev".into(),
        }),
    };
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("`helm list -n 'my ns' --kube-context dev`"),
        "{hint}"
    );
    assert!(
        hint.contains("kubectl todo preflight -n 'my ns' --context dev"),
        "{hint}"
    );
    assert!(
        hint.contains("helm install todo charts/todo-chatbot -n 'my ns' --kube-context dev"),
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
        let mut secret = helm_secret("todo", 1, "todo-chatbot", "deployed", serde_json::json!({}));
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

#[test]
fn wrong_chart_and_undecodable_hints_name_the_release_namespace_and_flags() {
    let flags = || {
        Box::new(HintFlags {
            helm: " --kube-context dev".into(),
            kubectl: " --context dev".into(),
        })
    };
    let secrets = vec![helm_secret(
        "redis",
        1,
        "redis",
        "deployed",
        serde_json::json!({}),
    )];
    let mut err = pick(&secrets, "shop", Some("redis")).unwrap_err();
    if let ReleaseError::WrongChart { flags: f, .. } = &mut err {
        *f = flags();
    }
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("`helm list -n shop --kube-context dev`"),
        "{hint}"
    );
    let mut s = helm_secret("todo", 1, CHART_NAME, "deployed", serde_json::json!({}));
    s.metadata.namespace = Some("shop".into());
    s.data = Some(
        [("release".to_owned(), ByteString(b"!!not base64".to_vec()))]
            .into_iter()
            .collect(),
    );
    let mut err = decode(&s).unwrap_err();
    if let ReleaseError::Decode { flags: f, .. } = &mut err {
        *f = flags();
    }
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("`helm history todo -n shop --kube-context dev`"),
        "{hint}"
    );
}
