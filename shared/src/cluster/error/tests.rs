use super::*;

fn api(code: u16) -> kube::Error {
    kube::Error::Api(Box::new(kube::core::Status {
        code,
        reason: "Reason".into(),
        message: "msg".into(),
        ..Default::default()
    }))
}

fn service_error(e: impl StdError + Send + Sync + 'static) -> kube::Error {
    kube::Error::Service(Box::new(e))
}

fn user(kubeconfig: Option<&str>, context: Option<&str>) -> KubeArgs {
    KubeArgs {
        kubeconfig: kubeconfig.map(Into::into),
        context: context.map(Into::into),
        namespace: Some("ignored-here".into()),
        ..KubeArgs::default()
    }
}

#[test]
fn hints_carry_the_users_connection_flags() {
    let who = user(Some("/tmp/my config"), Some("dev"));
    let a = Action::new("list", "pods", Some("todo"));
    let hint = classify("s", &a, api(403)).for_user(&who).hint().unwrap();
    assert!(
        hint.contains(
            "`kubectl auth can-i list pods --kubeconfig '/tmp/my config' --context dev -n todo`"
        ),
        "{hint}"
    );
    let hint = classify("s", &a.clone().named("p"), api(404))
        .for_user(&who)
        .hint()
        .unwrap();
    assert!(
        hint.contains("`kubectl get pods --kubeconfig '/tmp/my config' --context dev -n todo`"),
        "{hint}"
    );
    let hint = classify("s", &a, api(401)).for_user(&who).hint().unwrap();
    assert!(
        hint.contains("`kubectl config view --minify --kubeconfig '/tmp/my config' --context dev`"),
        "{hint}"
    );
    let refused = service_error(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
    let hint = classify("s", &a, refused).for_user(&who).hint().unwrap();
    assert!(
        hint.contains("`kubectl cluster-info --kubeconfig '/tmp/my config' --context dev`"),
        "{hint}"
    );
}

#[test]
fn kubeconfig_hints_carry_the_file_but_not_the_context_that_may_be_wrong() {
    let who = user(Some("/k"), Some("gone"));
    let missing = ClusterError::ContextNotFound {
        context: "gone".into(),
        flags: String::new(),
    }
    .for_user(&who);
    assert_eq!(
        missing.hint().unwrap(),
        "list contexts with `kubectl config get-contexts --kubeconfig /k`"
    );
    let broken = ClusterError::Kubeconfig {
        detail: "d".into(),
        flags: String::new(),
        source: None,
    }
    .for_user(&who);
    let hint = broken.hint().unwrap();
    assert!(
        hint.contains("`kubectl config view --kubeconfig /k`"),
        "{hint}"
    );
    assert!(!hint.contains("gone"), "{hint}");
}

#[test]
fn without_flags_the_hints_are_the_plain_commands() {
    let a = Action::new("list", "pods", Some("todo"));
    let hint = classify("s", &a, api(403))
        .for_user(&KubeArgs::default())
        .hint()
        .unwrap();
    assert!(
        hint.ends_with("`kubectl auth can-i list pods -n todo`"),
        "{hint}"
    );
}

#[test]
fn status_codes_classify_by_code() {
    let a = Action::new("list", "pods", Some("todo"));
    assert!(matches!(
        classify("s", &a, api(401)),
        ClusterError::Unauthorized { .. }
    ));
    assert!(classify("s", &a, api(403)).is_forbidden());
    assert!(matches!(
        classify("s", &a.clone().named("p"), api(404)),
        ClusterError::NotFound { .. }
    ));
    assert!(matches!(
        classify("s", &a, api(404)),
        ClusterError::Api { code: 404, .. }
    ));
}

#[test]
fn io_kinds_classify_refused_and_timeouts() {
    let a = Action::new("get", "version", None);
    let refused = service_error(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
    assert!(matches!(
        classify("https://x", &a, refused),
        ClusterError::Refused { .. }
    ));
    let timeout = service_error(std::io::Error::from(std::io::ErrorKind::TimedOut));
    let e = classify("https://x", &a, timeout);
    assert!(matches!(e, ClusterError::Timeout { .. }));
    assert!(!e.to_string().contains("0ns"), "{e}");
}

#[test]
fn rustls_errors_inside_io_errors_are_tls() {
    let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
    let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
    let io = std::io::Error::other(io);
    let e = classify(
        "https://x",
        &Action::new("get", "version", None),
        service_error(io),
    );
    assert!(matches!(e, ClusterError::Tls { .. }), "{e:?}");
    assert!(e.to_string().contains("certificate authority"), "{e}");
}

#[test]
fn a_message_that_mentions_certificates_is_not_tls() {
    let io = std::io::Error::other("certificate tls handshake timed out");
    let e = classify(
        "https://x",
        &Action::new("get", "version", None),
        service_error(io),
    );
    assert!(matches!(e, ClusterError::Unreachable { .. }), "{e:?}");
}

#[test]
fn failing_exec_plugin_is_credentials_without_its_output() {
    let err = kube::Error::Auth(AuthError::AuthExec("VAULT_TOKEN=hunter2".into()));
    let e = classify("https://x", &Action::new("get", "version", None), err);
    assert!(matches!(e, ClusterError::Credentials { .. }));
    assert!(!e.to_string().contains("hunter2"), "{e}");
}
