"""values.schema.json: wrong values are rejected with a message naming the key."""

from __future__ import annotations

import json

import helm_python as helm
import pytest

from chartlib import CHART_DIR, deep_merge, existing, inline, sealed, values_file

SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())


def test_schema_is_draft_07_and_closed_at_the_top_level():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert SCHEMA["additionalProperties"] is False


@pytest.mark.parametrize("name", ["values.yaml", "values-dev.yaml", "values-prod.yaml"])
def test_shipped_values_files_are_valid(chart, name):
    chart.validate_schema(deep_merge(values_file("values.yaml"), values_file(name)))


@pytest.mark.parametrize("values", [sealed(), inline(), existing()], ids=["sealed", "inline", "existing"])
def test_each_secrets_mode_is_valid(chart, values):
    chart.validate_schema(deep_merge(values_file("values.yaml"), values))


@pytest.mark.parametrize(
    ("values", "where", "says"),
    [
        ({"frontend": {"replicaCount": "two"}}, "/frontend/replicaCount", "want integer"),
        ({"backend": {"service": {"nodePort": "30081"}}}, "/backend/service/nodePort", "want"),
        ({"replicaCount": 2}, "additional properties 'replicaCount' not allowed", ""),
        ({"secrets": {"mode": "plain"}}, "/secrets/mode", "'sealed', 'existingSecret', 'inline'"),
        ({"llm": {"provider": "anthropic"}}, "/llm/provider", "'openai', 'openrouter', 'cohere'"),
        ({"frontend": {"service": {"type": "Ingress"}}}, "/frontend/service/type", "ClusterIP"),
        ({"backend": {"service": {"nodePort": 8080}}}, "/backend/service/nodePort", "minimum"),
        ({"secrets": {"sealed": {"scope": "global"}}}, "/secrets/sealed/scope", "strict"),
        ({"frontend": {"image": {"pullPolicy": "Sometimes"}}}, "/frontend/image/pullPolicy", "IfNotPresent"),
        ({"backend": {"probes": {"readinessPath": "health"}}}, "/backend/probes/readinessPath", "pattern"),
        ({"networkPolicy": {"enabled": "yes"}}, "/networkPolicy/enabled", "want boolean"),
        ({"frontend": {"replicas": 2}}, "additional properties 'replicas' not allowed", ""),
        ({"secrets": {"sealed": {"encryptedData": {"DATABASE_URL": "not base64!"}}}}, "DATABASE_URL", "pattern"),
        ({"secrets": {"inline": {"BETTER_AUTH_SECRET": "short"}}}, "/secrets/inline/BETTER_AUTH_SECRET", "32"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None,
)
def test_bad_values_are_rejected_with_a_readable_message(chart, values, where, says):
    with pytest.raises(helm.HelmValuesError) as err:
        chart.validate_schema(deep_merge(values_file("values.yaml"), values))
    message = str(err.value)
    assert where in message and says in message, message


def test_render_enforces_the_schema_too(render):
    with pytest.raises(helm.HelmValuesError, match="additional properties 'foo' not allowed"):
        render(sealed(foo=1))


SECRET_KEYS = {"DATABASE_URL", "BETTER_AUTH_SECRET", "OPENAI_API_KEY", "OPENROUTER_API_KEY", "COHERE_API_KEY"}


def test_secret_keys_are_marked_for_helm_todo_secrets():
    props = SCHEMA["properties"]["secrets"]["properties"]["inline"]["properties"]
    assert set(props) == SECRET_KEYS
    for key, spec in props.items():
        assert spec["x-secret"] is True, key
        assert spec["type"] == "string" and spec["description"], key
    assert props["BETTER_AUTH_SECRET"]["x-generate"] is True
    assert [k for k, spec in props.items() if spec.get("x-generate")] == ["BETTER_AUTH_SECRET"]


def test_nothing_outside_secrets_is_marked_secret():
    def walk(node, path):
        if isinstance(node, dict):
            if node.get("x-secret"):
                yield path
            for key, child in node.items():
                yield from walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                yield from walk(child, f"{path}/{i}")

    marked = list(walk(SCHEMA, ""))
    assert all(p.startswith("/properties/secrets/properties/inline/properties/") for p in marked), marked
    assert len(marked) == len(SECRET_KEYS)
