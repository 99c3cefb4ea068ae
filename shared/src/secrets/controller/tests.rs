use super::*;

#[test]
fn proxy_path_matches_kubeseal() {
    assert_eq!(
        Controller::default().proxy_path("http", "/v1/cert.pem"),
        "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem"
    );
}

#[test]
fn controller_names_are_checked() {
    let args = ControllerArgs {
        controller_name: "Sealed_Secrets".into(),
        controller_namespace: "kube-system".into(),
    };
    assert!(matches!(
        Controller::from_args(&args),
        Err(SecretsError::Name(_))
    ));
}

#[test]
fn key_certificates_are_newest_first_and_private_keys_are_not_kept() {
    use base64::Engine as _;
    let pem = include_str!("../testdata/TEST-ONLY-cert.pem");
    let b64 = base64::engine::general_purpose::STANDARD.encode(pem);
    let item = |name: &str, created: &str| {
        serde_json::json!({"metadata": {"name": name, "creationTimestamp": created},
            "data": {"tls.crt": b64, "tls.key": "U05UTC1wcml2YXRl"}})
    };
    let body = serde_json::json!({"items": [item("old", "2025-01-01T00:00:00Z"), item("new", "2025-02-01T00:00:00Z")]});
    let keys = key_certificates(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        keys.iter().map(|k| k.secret.as_str()).collect::<Vec<_>>(),
        ["new", "old"]
    );
    assert!(keys.iter().all(|k| !k.pem.contains("PRIVATE")));
    assert!(matches!(
        key_certificates(b"not json"),
        Err(ControllerError::BadAnswer { .. })
    ));
}

#[test]
fn the_served_key_comes_first_when_timestamps_tie() {
    use base64::Engine as _;
    let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    let item = |name: &str, pem: &str| {
        serde_json::json!({"metadata": {"name": name, "creationTimestamp": "2025-01-01T00:00:00Z"},
            "data": {"tls.crt": b64(pem)}})
    };
    let a = include_str!("../testdata/TEST-ONLY-cert.pem");
    let b = include_str!("../testdata/TEST-ONLY-expired-cert.pem");
    let body = serde_json::json!({"items": [item("a", a), item("b", b)]});
    let keys = key_certificates(body.to_string().as_bytes()).unwrap();
    for served in &keys {
        let mut ordered = keys.clone();
        current_first(&mut ordered, &served.certificate.fingerprint());
        assert_eq!(ordered[0].secret, served.secret);
        assert_eq!(ordered.len(), 2);
    }
    let mut ordered = keys.clone();
    current_first(&mut ordered, "not-served");
    let names = |k: &[KeyCertificate]| k.iter().map(|k| k.secret.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ordered), names(&keys));
}

#[test]
fn errors_say_what_the_controller_did_not_serve() {
    let e = ControllerError::NotServing {
        endpoint: "/v1/cert.pem",
        status: 503,
        reason: "ServiceUnavailable".into(),
        message: "no endpoints available for service \"sealed-secrets-controller\"".into(),
    };
    assert_eq!(
        e.to_string(),
        "the controller did not serve its certificate (503 ServiceUnavailable): no endpoints available for service \"sealed-secrets-controller\""
    );
    assert!(
        e.hint_at(&ControllerPlace::default())
            .unwrap()
            .contains("--cert FILE")
    );
}

#[test]
fn hints_name_the_controller_asked_and_carry_the_users_flags() {
    let at = ControllerPlace {
        name: "sealer".into(),
        namespace: "ops".into(),
        flags: " --context dev".into(),
    };
    let slow = ControllerError::Slow {
        endpoint: "/v1/cert.pem",
        after: Duration::from_secs(3),
    };
    let hint = slow.hint_at(&at).unwrap();
    assert!(
        hint.contains("`kubectl describe service sealer -n ops --context dev`"),
        "{hint}"
    );
    assert!(
        hint.contains("`kubectl logs service/sealer -n ops --context dev`"),
        "{hint}"
    );
    assert!(!hint.contains("kube-system"), "{hint}");
    let failed = ControllerError::Failed {
        endpoint: "/v1/rotate",
    };
    let hint = failed.hint_at(&at).unwrap();
    assert!(
        hint.contains("`kubectl logs service/sealer -n ops --context dev`"),
        "{hint}"
    );
    let missing = ControllerError::ServiceNotFound {
        name: "sealer".into(),
        namespace: "ops".into(),
    };
    let hint = missing.hint_at(&at).unwrap();
    assert!(
        hint.contains("`kubectl get services -A --context dev | grep sealed-secrets`"),
        "{hint}"
    );
}
