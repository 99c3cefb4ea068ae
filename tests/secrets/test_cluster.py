"""Talking to an API server: the certificate through the service proxy, status against the
controller's certificate, `--format secret`, and the kubeconfig/context Helm passes."""

from __future__ import annotations

import base64
import json

from secretslib import VALUES, FakeApi, label_for, load, unseal

SECRET = "todo-todo-chatbot-secrets"


def test_certificate_is_fetched_through_the_service_proxy(run, certs, workdir):
    with FakeApi(certs["current"].cert_path.read_text()) as api:
        kubeconfig = api.kubeconfig(workdir.parent / "kubeconfig")
        res = run("init", "--from-env", extra_env={**VALUES, "KUBECONFIG": str(kubeconfig), "HELM_NAMESPACE": "todo"})
    assert res.code == 0, res.stderr
    paths = [p for _, p, _ in api.requests]
    assert "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem" in paths
    data = load(workdir / "todo-secrets.sealed.yaml")["secrets"]["sealed"]
    assert data["certificateFingerprint"] == certs["current"].fingerprint
    assert unseal(certs["current"].key, label_for("strict", "todo", SECRET), data["encryptedData"]["DATABASE_URL"]) == VALUES["DATABASE_URL"].encode()


def test_port_name_comes_from_the_controller_service(run, certs, workdir):
    with FakeApi(certs["current"].cert_path.read_text(), port_name="8080") as api:
        kubeconfig = api.kubeconfig(workdir.parent / "kubeconfig")
        res = run("fetch-cert", extra_env={"KUBECONFIG": str(kubeconfig)})
    assert res.code == 0, res.stderr
    assert res.stdout == certs["current"].cert_path.read_text()
    assert any(p.endswith("services/http:sealed-secrets-controller:8080/proxy/v1/cert.pem") for _, p, _ in api.requests)


def test_controller_without_endpoints_is_reported_with_a_hint(run, certs, workdir):
    with FakeApi(certs["current"].cert_path.read_text(), proxy_status=503) as api:
        kubeconfig = api.kubeconfig(workdir.parent / "kubeconfig")
        res = run("init", "--from-env", "--request-timeout", "2s", extra_env={**VALUES, "KUBECONFIG": str(kubeconfig)})
    assert res.code == 2
    assert "controller did not serve its certificate" in res.stderr and "503" in res.stderr and "--cert FILE" in res.stderr
    assert list(workdir.iterdir()) == []


def test_missing_controller_service_is_reported(run, certs, workdir):
    with FakeApi(certs["current"].cert_path.read_text()) as api:
        kubeconfig = api.kubeconfig(workdir.parent / "kubeconfig")
        res = run("fetch-cert", "--controller-name", "other", extra_env={"KUBECONFIG": str(kubeconfig)})
    assert res.code == 2 and 'service "other" not found in namespace "kube-system"' in res.stderr and "--cert FILE" in res.stderr


def test_status_warns_when_sealed_with_an_older_key_the_controller_still_holds(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    keys = [certs["rotated"].key, certs["current"].key]  # renewed: the new key seals, the old one decrypts
    with FakeApi(certs["rotated"].cert_path.read_text(), keys=keys) as api:
        kubeconfig = api.kubeconfig(workdir.parent / "kubeconfig")
        res = run("status", "-o", "json", extra_env={"KUBECONFIG": str(kubeconfig)})
        text = run("status", extra_env={"KUBECONFIG": str(kubeconfig)})
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["controller"] == {"state": "older-key", "current": certs["rotated"].fingerprint}
    assert text.code == 0 and "older key the controller still holds" in text.stdout and "rotate" in text.stdout


def test_status_fails_when_no_key_of_the_controller_decrypts(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    with FakeApi(certs["rotated"].cert_path.read_text(), keys=[certs["rotated"].key]) as api:
        kubeconfig = api.kubeconfig(workdir.parent / "kubeconfig")
        res = run("status", "-o", "json", "--validate", extra_env={"KUBECONFIG": str(kubeconfig)})
    assert res.code == 1, res.stderr
    report = json.loads(res.stdout)
    assert report["controller"] == {"state": "unknown-key", "current": certs["rotated"].fingerprint}
    assert report["validation"] == {"decrypts": False, "failing": sorted(VALUES)}


def test_format_secret_applies_a_secret_and_writes_existing_secret_values(run, certs, workdir):
    with FakeApi(certs["current"].cert_path.read_text()) as api:
        kubeconfig = api.kubeconfig(workdir.parent / "kubeconfig")
        res = run("init", "--from-env", "--format", "secret", extra_env={**VALUES, "KUBECONFIG": str(kubeconfig), "HELM_NAMESPACE": "todo"})
    assert res.code == 0, res.stderr
    patches = [(p, b) for m, p, b in api.requests if m == "PATCH"]
    assert len(patches) == 1
    path, body = patches[0]
    assert path.startswith(f"/api/v1/namespaces/todo/secrets/{SECRET}?")
    assert "fieldManager=helm-todo-secrets" in path and "force=true" in path
    secret = json.loads(body)
    assert secret["kind"] == "Secret" and secret["type"] == "Opaque"
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == VALUES
    doc = load(workdir / "todo-secrets.existing.yaml")
    assert doc["secrets"] == {"mode": "existingSecret", "existingSecret": SECRET}
    assert VALUES["DATABASE_URL"] not in (workdir / "todo-secrets.existing.yaml").read_text()


def test_helm_kubecontext_selects_the_context(run, certs, workdir):
    with FakeApi(certs["current"].cert_path.read_text()) as api:
        kubeconfig = api.kubeconfig(workdir.parent / "kubeconfig", context="dev")
        ok = run("fetch-cert", extra_env={"KUBECONFIG": str(kubeconfig), "HELM_KUBECONTEXT": "dev"})
        missing = run("fetch-cert", extra_env={"KUBECONFIG": str(kubeconfig), "HELM_KUBECONTEXT": "prod"})
    assert ok.code == 0, ok.stderr
    assert missing.code == 2 and 'context "prod" not found' in missing.stderr


def test_unreachable_api_server_is_a_connection_error(run, workdir):
    kubeconfig = workdir.parent / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:9\n"
        "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n"
    )
    res = run("fetch-cert", extra_env={"KUBECONFIG": str(kubeconfig)})
    assert res.code == 2 and "cannot reach the API server" in res.stderr


def test_kube_context_is_accepted_as_helm_spells_it(run, certs, workdir):
    with FakeApi(certs["current"].cert_path.read_text()) as api:
        kubeconfig = api.kubeconfig(workdir.parent / "kubeconfig", context="dev")
        env = {"KUBECONFIG": str(kubeconfig)}
        ok = run("fetch-cert", "--kube-context", "dev", extra_env={**env, "HELM_KUBECONTEXT": "prod"})
        missing = run("fetch-cert", "--context", "prod", extra_env=env)
    assert ok.code == 0, ok.stderr  # the flag wins over Helm's environment
    assert missing.code == 2 and 'context "prod" not found' in missing.stderr
