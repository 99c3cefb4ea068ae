"""What `kubectl todo preflight` says an install would create (its JSON `plan`) against what
real Helm v4 (helm-python-sdk) renders for the same `-f`/`--set` combinations: the images, pull
policies, replicas, Service types and NodePorts, the secrets mode and Secret name, and the
kinds of object. Preflight runs against the todo-sandbox (it needs an API server); Helm renders
offline. A difference means preflight would check something other than what gets installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import helm_python as helm
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "tools"))
from helm import deep_merge  # noqa: E402  (the repository's Helm shim: -f/--set layering)

CHART = REPO / "charts" / "todo-chatbot"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "debug"
NAMESPACE = "todo"

SEALED = """secrets:
  sealed:
    encryptedData:
      DATABASE_URL: AgBy3i4OJSWK+PiTySYZZA==
      BETTER_AUTH_SECRET: AgBy3i4OJSWK+PiTySYZZA==
      OPENAI_API_KEY: AgBy3i4OJSWK+PiTySYZZA==
"""

# (name, release, files, --set, --set-string)
CASES: list[tuple[str, str, list[str], list[str], list[str]]] = [
    ("defaults", "todo", [SEALED], [], []),
    ("replicas by --set", "todo", [SEALED], ["backend.replicaCount=3,frontend.replicaCount=2"], []),
    ("later file wins", "todo", [SEALED, "backend:\n  replicaCount: 4\n", "backend:\n  replicaCount: 5\n"], [], []),
    ("--set wins over files", "todo", [SEALED, "backend:\n  replicaCount: 4\n"], ["backend.replicaCount=2"], []),
    ("tag and digest", "todo", [SEALED], ["backend.image.tag=1.2.3",
                                          "backend.image.digest=sha256:" + "a" * 64], []),
    ("tag as a string", "todo", [SEALED], [], ["frontend.image.tag=2"]),
    ("registry and pull policy", "todo", [SEALED], [
        "frontend.image.repository=ghcr.io/acme/todo-frontend,frontend.image.pullPolicy=Always"], []),
    ("autoscaling", "todo", [SEALED], ["backend.autoscaling.enabled=true,backend.autoscaling.minReplicas=3"], []),
    ("pdb and netpol", "todo", [SEALED], ["frontend.pdb.enabled=true,networkPolicy.enabled=true"], []),
    ("clusterip", "todo", [SEALED], ["frontend.service.type=ClusterIP,backend.service.type=ClusterIP"], []),
    ("node ports", "todo", [SEALED], ["frontend.service.nodePort=31000,backend.service.nodePort=31001"], []),
    ("loadbalancer", "todo", [SEALED], ["backend.service.type=LoadBalancer"], []),
    ("existing secret", "todo", ["secrets:\n  mode: existingSecret\n  existingSecret: app-secrets\n"], [], []),
    ("inline", "todo", ["secrets:\n  mode: inline\n  inline:\n    DATABASE_URL: postgresql://u:p@h/db\n"
                        "    BETTER_AUTH_SECRET: k9Jx2LmQ8vR4tW7yZ1bN5cF3hD6gS0aP2eU9\n    OPENAI_API_KEY: sk-test-0123\n"], [], []),
    ("secret name", "todo", [SEALED], ["secrets.name=my-secrets"], []),
    ("fullname override", "todo", [SEALED], ["fullnameOverride=chatbot"], []),
    ("release containing the chart name", "my-todo-chatbot", [SEALED], [], []),
    ("no service account", "todo", [SEALED], ["serviceAccount.create=false"], []),
    ("null deletes a default", "todo", [SEALED, "frontend:\n  service:\n    nodePort: null\n"], [], []),
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[dict[str, str]]:
    binary = TARGET / "todo-sandbox"
    if not binary.is_file():
        pytest.fail(f"{binary} is not built: cargo build --workspace --bins")
    proc = subprocess.Popen([str(binary), "up"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        kubeconfig = proc.stdout.readline().strip()
        assert kubeconfig, "todo-sandbox did not start"
        yield dict(os.environ, KUBECONFIG=kubeconfig, NO_COLOR="1")
    finally:
        proc.terminate()
        proc.wait()


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(str(CHART)) as loaded:
        yield loaded


def helm_facts(chart: helm.Chart, release: str, files: list[str], sets: list[str],
               set_strings: list[str]) -> dict[str, Any]:
    user: dict[str, Any] = {}
    for text in files:
        user = deep_merge(user, helm.values_from_yaml(text) or {})
    for s in sets:
        user = deep_merge(user, helm.parse_set_string(s))
    for s in set_strings:
        user = deep_merge(user, helm.parse_set_string_values(s))
    rendered = chart.render(values=user, name=release, namespace=NAMESPACE, is_install=True)
    objects = []
    for path, text in rendered.items():
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(o for o in yaml.safe_load_all(text) if o)
    # `helm install` creates the hooks of `helm test` only when the test runs.
    objects = [o for o in objects if "helm.sh/hook" not in (o["metadata"].get("annotations") or {})]
    components = []
    hpas = {o["spec"]["scaleTargetRef"]["name"]: o["spec"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    services = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "Service"}
    secret_names = set()
    for d in sorted((o for o in objects if o["kind"] == "Deployment"), key=lambda o: o["metadata"]["name"]):
        name = d["metadata"]["name"]
        container = d["spec"]["template"]["spec"]["containers"][0]
        for env in container.get("env", []):
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                secret_names.add(ref["name"])
        for src in container.get("envFrom", []):
            if "secretRef" in src:
                secret_names.add(src["secretRef"]["name"])
        svc = services[name]
        replicas = d["spec"].get("replicas", hpas.get(name, {}).get("minReplicas"))
        components.append({
            "deployment": name,
            "image": container["image"],
            "pullPolicy": container["imagePullPolicy"],
            "replicas": replicas,
            "serviceType": svc.get("type", "ClusterIP"),
            "nodePort": svc["ports"][0].get("nodePort"),
        })
    kinds = {o["kind"] for o in objects}
    mode = "sealed" if "SealedSecret" in kinds else ("inline" if "Secret" in kinds else "existingSecret")
    return {"components": components, "secretsMode": mode, "secretNames": secret_names, "kinds": kinds}


KIND_OF = {"configmaps": "ConfigMap", "secrets": "Secret", "serviceaccounts": "ServiceAccount",
           "services": "Service", "deployments.apps": "Deployment",
           "sealedsecrets.bitnami.com": "SealedSecret",
           "poddisruptionbudgets.policy": "PodDisruptionBudget",
           "horizontalpodautoscalers.autoscaling": "HorizontalPodAutoscaler",
           "networkpolicies.networking.k8s.io": "NetworkPolicy"}


def preflight_plan(env: dict[str, str], release: str, files: list[str], sets: list[str],
                   set_strings: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        args = [str(TARGET / "kubectl-todo-preflight"), "-n", NAMESPACE, "-o", "json",
                "--release", release, "--chart", str(CHART)]
        for i, text in enumerate(files):
            p = Path(tmp) / f"values-{i}.yaml"
            p.write_text(text)
            args += ["-f", str(p)]
        for s in sets:
            args += ["--set", s]
        for s in set_strings:
            args += ["--set-string", s]
        run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(run.stdout)
    assert report["kind"] == "PreflightReport"
    values = next(c for c in report["checks"] if c["id"] == "values.valid")
    assert values["status"] == "pass", values
    return report["plan"]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_preflight_plans_what_helm_renders(sandbox, chart, case):
    _, release, files, sets, set_strings = case
    want = helm_facts(chart, release, files, sets, set_strings)
    plan = preflight_plan(sandbox, release, files, sets, set_strings)
    got = sorted(({k: c[k] for k in ("deployment", "image", "pullPolicy", "replicas", "serviceType", "nodePort")}
                  for c in plan["components"]), key=lambda c: c["deployment"])
    assert got == want["components"]
    assert plan["secretsMode"] == want["secretsMode"]
    assert want["secretNames"] == {plan["secretName"]}, (want["secretNames"], plan["secretName"])
    # Helm's own release record is a Secret the chart does not render.
    planned = {KIND_OF[k] for k in plan["kinds"]}
    rendered = set(want["kinds"])
    if want["secretsMode"] != "inline":
        planned.discard("Secret")
    assert planned == rendered


def test_a_case_that_differs_is_caught(sandbox, chart):
    """The comparison can fail: the same values with one replica count changed differ."""
    want = helm_facts(chart, "todo", [SEALED], ["backend.replicaCount=3"], [])
    plan = preflight_plan(sandbox, "todo", [SEALED], ["backend.replicaCount=2"], [])
    got = sorted(({k: c[k] for k in ("deployment", "image", "pullPolicy", "replicas", "serviceType", "nodePort")}
                  for c in plan["components"]), key=lambda c: c["deployment"])
    assert got != want["components"]
