"""The three secrets modes: sealed, existingSecret, inline."""

from __future__ import annotations

import helm_python as helm
import pytest

from chartlib import FULLNAME, NAMESPACE, SEALED_DATA, deep_merge, existing, inline, sealed

LABELS = {
    "app.kubernetes.io/name": "todo-chatbot",
    "app.kubernetes.io/instance": "todo",
    "app.kubernetes.io/part-of": "todo-chatbot",
    "app.kubernetes.io/managed-by": "Helm",
}


def test_sealed_mode_renders_a_sealedsecret_with_the_template(render):
    out = render(sealed())
    ss = out.get("SealedSecret", f"{FULLNAME}-secrets")
    assert ss["apiVersion"] == "bitnami.com/v1alpha1"
    assert ss["spec"]["encryptedData"] == SEALED_DATA
    template = ss["spec"]["template"]
    assert template["type"] == "Opaque"
    assert template["metadata"]["name"] == f"{FULLNAME}-secrets"
    assert template["metadata"]["namespace"] == NAMESPACE
    assert LABELS.items() <= template["metadata"]["labels"].items()
    assert "annotations" not in ss["metadata"], "strict scope has no scope annotation"
    assert not out.has("Secret")


@pytest.mark.parametrize("scope", ["namespace-wide", "cluster-wide"])
def test_sealed_scope_annotation_is_rendered(render, scope):
    ss = render(sealed(secrets={"sealed": {"scope": scope}})).get("SealedSecret", f"{FULLNAME}-secrets")
    annotation = {f"sealedsecrets.bitnami.com/{scope}": "true"}
    assert ss["metadata"]["annotations"] == annotation
    assert ss["spec"]["template"]["metadata"]["annotations"] == annotation


def test_sealed_mode_without_encrypted_data_fails_with_the_next_step(render):
    with pytest.raises(helm.HelmRenderError) as err:
        render({})
    message = str(err.value)
    assert "secrets.sealed.encryptedData is empty" in message
    assert "helm todo-secrets init" in message


def test_prod_values_alone_fail_until_sealed_data_is_given(render):
    from chartlib import values_file

    with pytest.raises(helm.HelmRenderError, match="encryptedData is empty"):
        render(values_file("values-prod.yaml"))


def test_sealed_mode_missing_the_llm_key_names_it(render):
    data = {k: v for k, v in SEALED_DATA.items() if k != "OPENAI_API_KEY"}
    with pytest.raises(helm.HelmRenderError, match="lacks OPENAI_API_KEY"):
        render({"secrets": {"sealed": {"encryptedData": data}}})


def test_sealed_mode_checks_the_key_of_the_chosen_provider(render):
    with pytest.raises(helm.HelmRenderError, match="lacks COHERE_API_KEY"):
        render(sealed(llm={"provider": "cohere"}))


def test_existing_secret_mode_renders_no_secret_and_references_it(render):
    out = render(existing("prepared"))
    assert not out.has("Secret") and not out.has("SealedSecret")
    env = out.get("Deployment", f"{FULLNAME}-backend")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e} == {"prepared"}


def test_existing_secret_mode_without_a_name_fails(render):
    with pytest.raises(helm.HelmRenderError, match="secrets.existingSecret is empty"):
        render({"secrets": {"mode": "existingSecret"}})


def test_inline_mode_renders_an_opaque_secret(render):
    out = render(inline())
    secret = out.get("Secret", f"{FULLNAME}-secrets")
    assert set(secret["data"]) == {"DATABASE_URL", "BETTER_AUTH_SECRET", "OPENAI_API_KEY"}
    assert not out.has("SealedSecret")


def test_inline_mode_missing_a_key_names_it(render):
    values = deep_merge(inline(), {"llm": {"provider": "openrouter"}})
    with pytest.raises(helm.HelmRenderError, match="lacks OPENROUTER_API_KEY"):
        render(values)


def test_checksum_secret_differs_between_modes(render):
    def checksum(values):
        dep = render(values).get("Deployment", f"{FULLNAME}-backend")
        return dep["spec"]["template"]["metadata"]["annotations"]["checksum/secret"]

    assert len({checksum(sealed()), checksum(inline()), checksum(existing())}) == 3


# ---------------------------------------------------------------------------------------
# Values sealed for a namespace and Secret name are refused at render time where the
# controller could not unseal them (strict: namespace and name; namespace-wide: namespace;
# cluster-wide: anywhere), with the reason and the fix.


def bound(scope: str, namespace: str = NAMESPACE, secret_name: str = f"{FULLNAME}-secrets", **extra) -> dict:
    sealed_part = {"scope": scope, "namespace": namespace}
    if scope == "strict":
        sealed_part["secretName"] = secret_name
    return deep_merge(sealed(secrets={"sealed": sealed_part}), extra)


@pytest.mark.parametrize("scope", ["strict", "namespace-wide"])
def test_values_sealed_for_another_namespace_are_refused_at_render_time(render, scope):
    with pytest.raises(helm.HelmRenderError) as err:
        render(bound(scope, namespace="prod"))
    message = str(err.value)
    assert f'sealed for namespace "prod" (scope {scope})' in message
    assert f'cannot unseal them in "{NAMESPACE}"' in message
    assert "-n prod" in message and f"helm todo-secrets init -n {NAMESPACE}" in message


def test_cluster_wide_values_render_in_any_namespace(render):
    ss = render(bound("cluster-wide", namespace="prod")).get("SealedSecret", f"{FULLNAME}-secrets")
    assert ss["metadata"]["namespace"] == NAMESPACE


def test_strict_values_under_another_secret_name_are_refused(render):
    with pytest.raises(helm.HelmRenderError) as err:
        render(bound("strict", secrets={"name": "renamed"}))
    message = str(err.value)
    assert f'sealed (scope strict) for the Secret "{FULLNAME}-secrets"' in message
    assert 'renders the Secret "renamed"' in message and f"secrets.name={FULLNAME}-secrets" in message


def test_strict_values_without_a_pinned_name_are_refused_under_another_release(render):
    with pytest.raises(helm.HelmRenderError, match="sealed \\(scope strict\\) for the Secret"):
        render(bound("strict"), name="web")


def test_namespace_wide_values_take_any_secret_name(render):
    out = render(bound("namespace-wide", secrets={"name": "renamed"}))
    assert out.get("SealedSecret", "renamed")["spec"]["template"]["metadata"]["name"] == "renamed"


def test_values_sealed_where_they_are_installed_render(render):
    ss = render(bound("strict")).get("SealedSecret", f"{FULLNAME}-secrets")
    assert ss["spec"]["encryptedData"] == SEALED_DATA


def test_the_certificate_fingerprint_is_an_annotation_of_the_sealedsecret(render):
    fingerprint = "AB" * 32
    ss = render(sealed(secrets={"sealed": {"certificateFingerprint": fingerprint}})).get("SealedSecret", f"{FULLNAME}-secrets")
    assert ss["metadata"]["annotations"] == {"todo-chatbot.dev/certificate-fingerprint": fingerprint.lower()}
    assert "annotations" not in ss["spec"]["template"]["metadata"], "the Secret does not carry it"
