"""Sealed output decrypts with an independent implementation of the sealed-secrets format,
only under the label its scope allows; offline sealing with --cert; bad certificates refused."""

from __future__ import annotations

import pytest

from secretslib import VALUES, label_for, load, unseal

SECRET = "todo-todo-chatbot-secrets"


def init_sealed(run, cert, *flags, namespace="todo", values=VALUES):
    return run("init", "--from-env", "--cert", cert, *flags, extra_env={**values, "HELM_NAMESPACE": namespace})


@pytest.mark.parametrize("scope", ["strict", "namespace-wide", "cluster-wide"])
def test_sealed_values_decrypt_under_their_scope_label(run, certs, workdir, scope):
    res = init_sealed(run, certs["current"].cert_path, "--scope", scope)
    assert res.code == 0, res.stderr
    doc = load(workdir / "todo-secrets.sealed.yaml")
    sealed = doc["secrets"]["sealed"]
    assert doc["secrets"]["mode"] == "sealed"
    assert doc["secrets"]["name"] == SECRET
    assert doc["llm"]["provider"] == "openai"
    assert sealed["scope"] == scope
    assert set(sealed["encryptedData"]) == set(VALUES)
    key = certs["current"].key
    for name, text in sealed["encryptedData"].items():
        assert unseal(key, label_for(scope, "todo", SECRET), text) == VALUES[name].encode()


def test_strict_value_does_not_decrypt_for_another_name_or_namespace(run, certs, workdir):
    assert init_sealed(run, certs["current"].cert_path).code == 0
    text = load(workdir / "todo-secrets.sealed.yaml")["secrets"]["sealed"]["encryptedData"]["DATABASE_URL"]
    key = certs["current"].key
    for label in ("todo/other-secrets", f"prod/{SECRET}", b"todo", b""):
        with pytest.raises(ValueError):
            unseal(key, label.encode() if isinstance(label, str) else label, text)


def test_namespace_wide_value_does_not_decrypt_in_another_namespace(run, certs, workdir):
    assert init_sealed(run, certs["current"].cert_path, "--scope", "namespace-wide").code == 0
    text = load(workdir / "todo-secrets.sealed.yaml")["secrets"]["sealed"]["encryptedData"]["OPENAI_API_KEY"]
    key = certs["current"].key
    assert unseal(key, b"todo", text) == VALUES["OPENAI_API_KEY"].encode()
    for label in (b"prod", f"todo/{SECRET}".encode(), b""):
        with pytest.raises(ValueError):
            unseal(key, label, text)


def test_cluster_wide_value_decrypts_only_with_the_empty_label(run, certs, workdir):
    assert init_sealed(run, certs["current"].cert_path, "--scope", "cluster-wide").code == 0
    text = load(workdir / "todo-secrets.sealed.yaml")["secrets"]["sealed"]["encryptedData"]["OPENAI_API_KEY"]
    with pytest.raises(ValueError):
        unseal(certs["current"].key, b"todo", text)


def test_value_sealed_with_another_key_does_not_decrypt(run, certs, workdir):
    assert init_sealed(run, certs["rotated"].cert_path).code == 0
    text = load(workdir / "todo-secrets.sealed.yaml")["secrets"]["sealed"]["encryptedData"]["DATABASE_URL"]
    with pytest.raises(ValueError):
        unseal(certs["current"].key, f"todo/{SECRET}".encode(), text)


def test_certificate_fingerprint_is_sha256_of_the_der(run, certs, workdir):
    assert init_sealed(run, certs["current"].cert_path).code == 0
    sealed = load(workdir / "todo-secrets.sealed.yaml")["secrets"]["sealed"]
    assert sealed["certificateFingerprint"] == certs["current"].fingerprint


def test_secret_name_follows_release_and_override(run, certs, workdir):
    assert init_sealed(run, certs["current"].cert_path, "--release", "my-todo-chatbot", "-f", "a.yaml").code == 0
    assert load(workdir / "a.yaml")["secrets"]["name"] == "my-todo-chatbot-secrets"
    assert init_sealed(run, certs["current"].cert_path, "--secret-name", "app-env", "-f", "b.yaml").code == 0
    b = load(workdir / "b.yaml")["secrets"]
    assert b["name"] == "app-env"
    assert unseal(certs["current"].key, b"todo/app-env", b["sealed"]["encryptedData"]["DATABASE_URL"])


def test_offline_sealing_needs_no_cluster(run, certs, workdir, env):
    # env points KUBECONFIG at a missing file and HOME has no ~/.kube: any API call would fail.
    res = init_sealed(run, certs["current"].cert_path)
    assert res.code == 0, res.stderr
    assert "next: helm upgrade --install todo charts/todo-chatbot -n todo" in res.stdout


def test_the_next_command_carries_the_users_helm_flags(run, certs, workdir):
    # Under `helm --kube-context dev todo-secrets init`, Helm hands the context over as
    # HELM_KUBECONTEXT: the install it suggests must target the same cluster.
    res = init_sealed(run, certs["current"].cert_path, "-f", "my values.yaml", "--kubeconfig", "/k/config")
    assert res.code == 0, res.stderr
    assert "next: helm upgrade --install todo charts/todo-chatbot -n todo -f 'my values.yaml' --kubeconfig /k/config\n" in res.stdout, res.stdout
    res = run(
        "init", "--from-env", "--cert", certs["current"].cert_path, "-f", "c.yaml",
        extra_env={**VALUES, "HELM_NAMESPACE": "todo", "HELM_KUBECONTEXT": "dev"},
    )
    assert res.code == 0, res.stderr
    assert "next: helm upgrade --install todo charts/todo-chatbot -n todo -f c.yaml --kube-context dev\n" in res.stdout, res.stdout


def test_cert_from_stdin(run, certs, workdir):
    res = run("init", "--from-env", "--cert", "-", extra_env=VALUES, stdin=certs["current"].cert_path.read_text())
    assert res.code == 0, res.stderr
    assert load(workdir / "todo-secrets.sealed.yaml")["secrets"]["sealed"]["certificateFingerprint"] == certs["current"].fingerprint


def test_expired_certificate_is_refused_with_the_reason(run, certs, workdir):
    res = init_sealed(run, certs["expired"].cert_path)
    assert res.code == 2
    assert "expired on" in res.stderr and "hint:" in res.stderr
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("content", [None, "hello, not PEM\n"])
def test_malformed_certificate_is_refused_with_the_reason(run, certs, workdir, content):
    path = certs["malformed"]
    if content is not None:
        path = workdir.parent / "junk.pem"
        path.write_text(content)
    res = init_sealed(run, path)
    assert res.code == 2
    assert "refused" in res.stderr and ("malformed" in res.stderr or "not a PEM" in res.stderr)
    assert not (workdir / "todo-secrets.sealed.yaml").exists()


def test_missing_certificate_file_is_a_usage_error(run, workdir):
    res = init_sealed(run, workdir.parent / "nope.pem")
    assert res.code == 2 and "nope.pem" in res.stderr


def test_cert_url_is_reported_unsupported(run):
    res = init_sealed(run, "https://example.com/cert.pem")
    assert res.code == 2 and "not supported" in res.stderr and "curl" in res.stderr


def test_fetch_cert_prints_the_pem(run, certs):
    res = run("fetch-cert", "--cert", certs["current"].cert_path)
    assert res.code == 0
    assert res.stdout == certs["current"].cert_path.read_text()
    assert certs["current"].fingerprint in res.stderr and "4096 bits" in res.stderr


def test_the_independent_decryptor_agrees_with_the_shared_vectors():
    """The Python decryptor the tests trust is itself checked on tests/vectors (which the
    controller's own HybridDecrypt opened), as the core and the sandbox are."""
    import base64
    import json

    from cryptography.hazmat.primitives import serialization

    from secretslib import REPO

    v = json.loads((REPO / "tests/vectors/sealed-secrets.json").read_text())
    key = serialization.load_pem_private_key(v["private_key_pem"].encode(), password=None)

    def opened(e):
        text = e["ciphertext"].replace("\r", "").replace("\n", "")
        try:
            return unseal(key, label_for(e["scope"], e["namespace"], e["name"]), text)
        except Exception:  # noqa: BLE001 - any failure is "does not unseal"
            return None

    for e in v["entries"]:
        assert opened(e) == base64.b64decode(e["plaintext_b64"]), e["key"]
    for e in v["negative"]:
        assert opened(e) is None, e["why"]
