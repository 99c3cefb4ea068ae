"""After the first seal, against a fake controller that serves /v1/verify and /v1/rotate
with the independent Python implementation of the format: `status --validate`, `rotate`
without plaintext (re-encrypt), `fetch-cert --all`. The sandbox e2e tests drive the same
flows against the emulated controller."""

from __future__ import annotations

import json

import yaml

from secretslib import VALUES, FakeApi, key_pem, label_for, load, unseal

SECRET = "todo-todo-chatbot-secrets"
SEALED = "todo-secrets.sealed.yaml"


def seal_with_current(run, certs, *flags):
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, *flags, extra_env={**VALUES, "HELM_NAMESPACE": "todo"})
    assert res.code == 0, res.stderr


def renewed(certs, **kw):
    """The controller after a key renewal: the rotated key seals, the current one still decrypts."""
    return FakeApi(certs["rotated"].cert_path.read_text(), keys=[certs["rotated"].key, certs["current"].key], **kw)


def kube(api, workdir):
    return {"KUBECONFIG": str(api.kubeconfig(workdir.parent / "kubeconfig"))}


def test_rotate_re_encrypts_through_the_controller_without_plaintext(run, certs, workdir):
    seal_with_current(run, certs)
    with renewed(certs) as api:
        res = run("rotate", extra_env=kube(api, workdir))  # no value source: none is needed
        rotate_calls = [p for m, p, _ in api.requests if m == "POST" and p.endswith("/v1/rotate")]
    assert res.code == 0, res.stderr
    assert len(rotate_calls) == 1
    assert "re-encrypted" in res.stdout and "current key" in res.stdout
    sealed = load(workdir / SEALED)["secrets"]["sealed"]
    assert sealed["certificateFingerprint"] == certs["rotated"].fingerprint
    assert sealed["scope"] == "strict" and sealed["namespace"] == "todo"
    label = label_for("strict", "todo", SECRET)
    for name, text in sealed["encryptedData"].items():
        assert unseal(certs["rotated"].key, label, text) == VALUES[name].encode()
        try:
            unseal(certs["current"].key, label, text)
        except ValueError:
            continue
        raise AssertionError(f"{name} still decrypts with the old key")


def test_rotate_keeps_the_scope(run, certs, workdir):
    seal_with_current(run, certs, "--scope", "namespace-wide")
    with renewed(certs) as api:
        assert run("rotate", extra_env=kube(api, workdir)).code == 0
    sealed = load(workdir / SEALED)["secrets"]["sealed"]
    assert sealed["scope"] == "namespace-wide"
    assert unseal(certs["rotated"].key, b"todo", sealed["encryptedData"]["DATABASE_URL"]) == VALUES["DATABASE_URL"].encode()


def test_rotate_with_the_current_key_changes_nothing(run, certs, workdir):
    seal_with_current(run, certs)
    before = (workdir / SEALED).read_text()
    with FakeApi(certs["current"].cert_path.read_text(), keys=[certs["current"].key]) as api:
        res = run("rotate", "-o", "json", extra_env=kube(api, workdir))
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["via"] == "unchanged"
    assert (workdir / SEALED).read_text() == before


def test_rotate_names_the_values_the_controller_cannot_decrypt(run, certs, workdir):
    seal_with_current(run, certs)
    before = (workdir / SEALED).read_text()
    with FakeApi(certs["rotated"].cert_path.read_text(), keys=[certs["rotated"].key]) as api:
        res = run("rotate", extra_env=kube(api, workdir))
    assert res.code == 1, res.stderr
    assert "cannot decrypt BETTER_AUTH_SECRET, DATABASE_URL, OPENAI_API_KEY" in res.stderr
    assert "rotate --reenter" in res.stderr
    assert (workdir / SEALED).read_text() == before


def test_rotate_value_sources_need_reenter(run, certs, workdir):
    seal_with_current(run, certs)
    res = run("rotate", "--from-env", extra_env=VALUES)
    assert res.code == 2 and "--reenter" in res.stderr


def test_status_validate_passes_when_every_value_decrypts(run, certs, workdir):
    seal_with_current(run, certs)
    with renewed(certs) as api:
        res = run("status", "--validate", "-o", "json", extra_env=kube(api, workdir))
    assert res.code == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["validation"] == {"decrypts": True, "failing": []}
    assert report["controller"]["state"] == "older-key"


def test_status_validate_names_a_value_sealed_for_another_secret(run, certs, workdir):
    seal_with_current(run, certs)
    doc = load(workdir / SEALED)
    # One value sealed by hand for another Secret name: the controller cannot unseal it here.
    from secretslib import seal

    doc["secrets"]["sealed"]["encryptedData"]["OPENAI_API_KEY"] = seal(certs["current"].key.public_key(), b"todo/other", b"sk-x")
    (workdir / SEALED).write_text(yaml.safe_dump(doc))
    with FakeApi(certs["current"].cert_path.read_text(), keys=[certs["current"].key]) as api:
        res = run("status", "--validate", extra_env=kube(api, workdir))
    assert res.code == 1, res.stderr
    assert "validate:    the controller cannot decrypt OPENAI_API_KEY" in res.stdout


def test_a_file_without_a_recorded_fingerprint_compares_nothing(run, certs, workdir):
    seal_with_current(run, certs)
    doc = load(workdir / SEALED)
    del doc["secrets"]["sealed"]["certificateFingerprint"]  # as kubeseal or a hand-made file
    (workdir / SEALED).write_text(yaml.safe_dump(doc))
    with FakeApi(certs["rotated"].cert_path.read_text(), keys=[certs["rotated"].key]) as api:
        res = run("status", extra_env=kube(api, workdir))
    assert res.code == 0, res.stderr
    assert "CHANGED" not in res.stdout and "nothing compared" in res.stdout
    assert "(not recorded" in res.stdout


def test_fetch_cert_all_prints_every_active_certificate_and_no_private_key(run, certs, workdir):
    key_secrets = [
        ("sealed-secrets-keyold", certs["current"].cert_path.read_text(), key_pem(certs["current"].key)),
        ("sealed-secrets-keynew", certs["rotated"].cert_path.read_text(), key_pem(certs["rotated"].key)),
    ]
    with renewed(certs, key_secrets=key_secrets) as api:
        env = kube(api, workdir)
        pem = run("fetch-cert", "--all", extra_env=env)
        js = run("fetch-cert", "--all", "-o", "json", extra_env=env)
        ym = run("fetch-cert", "--all", "-o", "yaml", extra_env=env)
    assert pem.code == 0, pem.stderr
    assert pem.stdout.count("BEGIN CERTIFICATE") == 2
    certs_json = json.loads(js.stdout)["certificates"]
    assert yaml.safe_load(ym.stdout)["certificates"] == certs_json
    assert {c["fingerprint"] for c in certs_json} == {certs["rotated"].fingerprint, certs["current"].fingerprint}
    assert [c["current"] for c in certs_json if c["fingerprint"] == certs["rotated"].fingerprint] == [True]
    for _, _, key in key_secrets:
        body = "".join(key.splitlines()[1:-1])[:64]
        for out in (pem, js, ym):
            assert body not in out.stdout + out.stderr, "a private key was printed"
    assert "current" in pem.stderr and certs["current"].fingerprint in pem.stderr
