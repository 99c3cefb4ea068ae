"""Rendered manifests pass kubernetes-validate (Kubernetes 1.33, strict) and checkov."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from chartlib import Rendered, deep_merge, scenarios, sealed

KUBE_VERSION = "1.33"
HERE = Path(__file__).resolve().parent
SKIPS = yaml.safe_load((HERE / "checkov-skips.yaml").read_text())
INSTALL_CHECKOV = (
    "checkov pins packaging<24 (pytest needs >=24), so it lives in its own venv: "
    "python3 -m venv .venv/checkov-env && .venv/checkov-env/bin/pip install -r tests/chart/requirements-checkov.txt "
    "&& ln -sf ../checkov-env/bin/checkov .venv/bin/checkov   (or set CHECKOV=/path/to/checkov)"
)


def checkov_bin() -> str:
    """checkov from $CHECKOV, beside this Python, or on PATH; a missing checkov fails the test."""
    candidates = [os.environ.get("CHECKOV", ""), str(Path(sys.executable).with_name("checkov")), shutil.which("checkov") or ""]
    found = next((c for c in candidates if c and Path(c).exists()), None)
    assert found, f"checkov not found. {INSTALL_CHECKOV}"
    return found


CANARY = "canary"

# kubernetes-validate ships only built-in kinds. The SealedSecret (bitnami.com/v1alpha1) is
# checked against this schema instead: the openAPIV3Schema of sealed-secrets' CRD
# (helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml: spec.encryptedData a map of
# strings, required; spec.template.metadata an object; spec.template.type a string), made
# stricter (no unknown spec fields, base64 values, name and namespace required).
SEALED_SECRET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "bitnami.com/v1alpha1"},
        "kind": {"const": "SealedSecret"},
        "metadata": {
            "type": "object",
            "required": ["name", "namespace"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "required": ["encryptedData", "template"],
            "additionalProperties": False,
            "properties": {
                "encryptedData": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": "string", "pattern": "^[A-Za-z0-9+/]+={0,2}$"},
                },
                "template": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "metadata": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string"},
                                "namespace": {"type": "string"},
                                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                            },
                        },
                        "type": {"type": "string"},
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def per_scenario(render) -> dict[str, Rendered]:
    """Each value set rendered as release and namespace named after it, so the combined
    manifest has unique objects and checkov's graph checks cannot mix value sets."""
    return {name: render(values, name=name, namespace=name) for name, values in scenarios().items()}


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_manifests_are_valid_kubernetes_1_33(per_scenario, name):
    checked = 0
    for doc in per_scenario[name].manifests():
        if doc["kind"] == "SealedSecret":
            jsonschema.validate(doc, SEALED_SECRET_SCHEMA)
        else:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        checked += 1
    assert checked >= 7


def test_kubernetes_validate_catches_a_broken_manifest(per_scenario):
    dep = next(d for d in per_scenario["default-sealed"].manifests() if d["kind"] == "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, KUBE_VERSION, strict=True)


@pytest.fixture(scope="module")
def checkov_report(per_scenario, render, tmp_path_factory) -> dict[str, Any]:
    """One checkov run over every value set (checkov is slow to start)."""
    combined = tmp_path_factory.mktemp("checkov") / "todo-chatbot.yaml"
    docs = [doc for out in per_scenario.values() for doc in out.manifests()]
    # A canary render with privilege escalation allowed proves checkov really evaluates.
    canary = render(deep_merge(sealed(), {"containerSecurityContext": {"allowPrivilegeEscalation": True}}),
                    name=CANARY, namespace=CANARY)
    docs += canary.manifests()
    combined.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    skip = ",".join(entry["id"] for entry in SKIPS["skip"])
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_NO_OUTPUT_COLOR="1", LOG_LEVEL="ERROR")
    proc = subprocess.run(
        [checkov_bin(), "--framework", "kubernetes", "-f", str(combined), "--skip-download",
         "--skip-check", skip, "-o", "json"],
        capture_output=True, text=True, env=env, timeout=240, check=False,
    )
    assert proc.returncode in (0, 1), f"checkov crashed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    assert isinstance(report, dict), "expected a single kubernetes report"
    report["__resources__"] = {f"{d['kind']}.{d['metadata']['namespace']}.{d['metadata']['name']}" for d in docs}
    return report


def test_checkov_scanned_every_resource(checkov_report):
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0
    results = checkov_report["results"]
    seen = {r["resource"] for key in ("passed_checks", "failed_checks", "skipped_checks") for r in results.get(key, [])}
    # checkov has checks for workloads, Services and the like; none for HPA, PDB, NetworkPolicy.
    checked_kinds = ("Deployment.", "Pod.", "Service.", "ServiceAccount.", "ConfigMap.", "Secret.")
    expected = {r for r in checkov_report["__resources__"] if r.startswith(checked_kinds)}
    assert {r.split(".")[0] for r in expected} == {k.rstrip(".") for k in checked_kinds}
    missing = expected - seen
    assert not missing, sorted(missing)
    assert summary["passed"] > 100


def test_checkov_kubernetes_checks_pass(checkov_report):
    allowed = {entry["id"] for entry in SKIPS["allowed_failures"]}
    no_netpol = {name for name, values in scenarios().items()
                 if not values.get("networkPolicy", {}).get("enabled", False)}
    unexpected = []
    for failure in checkov_report["results"]["failed_checks"]:
        namespace = failure["resource"].split(".")[1]
        if namespace == CANARY or (failure["check_id"] in allowed and namespace in no_netpol):
            continue
        unexpected.append(f"{failure['check_id']} {failure['check_name']}: {failure['resource']}")
    assert unexpected == []


def test_checkov_flags_the_insecure_canary(checkov_report):
    flagged = {f["check_id"] for f in checkov_report["results"]["failed_checks"]
               if f["resource"].split(".")[1] == CANARY}
    assert "CKV_K8S_20" in flagged, flagged  # "Containers should not run with allowPrivilegeEscalation"


def test_checkov_networkpolicy_check_passes_where_policies_are_on(checkov_report):
    with_netpol = {name for name, values in scenarios().items()
                   if values.get("networkPolicy", {}).get("enabled", False)}
    assert {"prod", "optional-on"} <= with_netpol
    failing = [f["resource"] for f in checkov_report["results"]["failed_checks"]
               if f["check_id"] == "CKV2_K8S_6" and f["resource"].split(".")[1] in with_netpol]
    assert failing == []


def test_checkov_skips_are_documented():
    for section in ("skip", "allowed_failures", "annotated"):
        for entry in SKIPS[section]:
            assert entry["id"].startswith(("CKV_K8S_", "CKV2_K8S_")), entry
            assert len(entry["reason"]) > 40, entry


def test_chart_annotation_skips_match_the_skips_file(per_scenario):
    pod = next(d for d in per_scenario["default-sealed"].manifests() if d["kind"] == "Pod")
    annotated = {v.split("=", 1)[0] for k, v in pod["metadata"]["annotations"].items()
                 if k.startswith("checkov.io/skip")}
    assert annotated == {entry["id"] for entry in SKIPS["annotated"]}
    for doc in per_scenario["prod"].manifests():
        if doc["kind"] != "Pod":
            assert not any(k.startswith("checkov.io/") for k in doc["metadata"].get("annotations", {})), doc["kind"]
