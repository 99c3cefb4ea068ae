"""Render the chart with Helm's engine and check the facts the chart contract promises."""

from __future__ import annotations

import base64

import helm_python as helm
import pytest

from chartlib import (
    ALL_OPTIONAL_ON,
    FULLNAME,
    INLINE_DATA,
    NAMESPACE,
    RELEASE,
    SEALED_DATA,
    deep_merge,
    existing,
    inline,
    scenarios,
    sealed,
    values_file,
)

COMPONENTS = {"frontend": (3000, 30080, "/api/health"), "backend": (8000, 30081, "/health")}
STANDARD_LABELS = {
    "app.kubernetes.io/name": "todo-chatbot",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/part-of": "todo-chatbot",
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/version": "1.0.0",
    "helm.sh/chart": "todo-chatbot-0.1.0",
}


def container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def secret_refs(deployment: dict) -> dict[str, tuple[str, str, object]]:
    refs = {}
    for env in container(deployment).get("env", []):
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            refs[env["name"]] = (ref["name"], ref["key"], ref.get("optional"))
    return refs


# --- names and labels -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_every_object_carries_the_standard_labels(rendered_scenarios, name):
    for doc in rendered_scenarios[name].docs:
        labels = doc["metadata"]["labels"]
        for key, value in STANDARD_LABELS.items():
            assert labels.get(key) == value, f"{name}: {doc['kind']}/{doc['metadata']['name']} {key}"
        assert doc["metadata"]["namespace"] == NAMESPACE


def test_default_objects_are_named_per_contract(render):
    out = render(sealed())
    assert out.kinds() == sorted(
        [
            f"ConfigMap/{FULLNAME}-config",
            f"Deployment/{FULLNAME}-backend",
            f"Deployment/{FULLNAME}-frontend",
            f"Pod/{FULLNAME}-test-backend-health",
            f"SealedSecret/{FULLNAME}-secrets",
            f"Service/{FULLNAME}-backend",
            f"Service/{FULLNAME}-frontend",
            f"ServiceAccount/{FULLNAME}",
        ]
    )


@pytest.mark.parametrize(
    ("release", "override", "fullname"),
    [
        ("todo", "", "todo-todo-chatbot"),
        ("todo-chatbot", "", "todo-chatbot"),
        ("my-todo-chatbot-prod", "", "my-todo-chatbot-prod"),
        ("todo", "chat", "chat"),
        ("r" * 53, "", ("r" * 53 + "-todo-chatbot")[:63]),
    ],
)
def test_fullname_follows_the_contract(render, release, override, fullname):
    out = render(deep_merge(existing(), {"fullnameOverride": override}), name=release)
    assert out.has("Deployment", f"{fullname}-frontend")
    assert out.has("Service", f"{fullname}-backend")
    assert out.has("ConfigMap", f"{fullname}-config")
    assert out.has("ServiceAccount", fullname)


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_pods_and_selectors_carry_component_labels(render, component):
    out = render(sealed())
    dep = out.get("Deployment", f"{FULLNAME}-{component}")
    selector = {
        "app.kubernetes.io/name": "todo-chatbot",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/component": component,
    }
    assert dep["spec"]["selector"]["matchLabels"] == selector
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    assert STANDARD_LABELS.items() <= pod_labels.items()
    assert dep["metadata"]["labels"]["app.kubernetes.io/component"] == component
    svc = out.get("Service", f"{FULLNAME}-{component}")
    assert svc["spec"]["selector"] == selector


# --- ports and services -----------------------------------------------------------------


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_default_services_are_nodeports_on_contract_ports(render, component):
    port, node_port, _ = COMPONENTS[component]
    out = render(sealed())
    svc = out.get("Service", f"{FULLNAME}-{component}")
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"] == [
        {"name": "http", "port": port, "targetPort": "http", "protocol": "TCP", "nodePort": node_port}
    ]
    ports = container(out.get("Deployment", f"{FULLNAME}-{component}"))["ports"]
    assert ports == [{"name": "http", "containerPort": port, "protocol": "TCP"}]


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_clusterip_services_have_no_nodeport(rendered_scenarios, component):
    svc = rendered_scenarios["clusterip"].get("Service", f"{FULLNAME}-{component}")
    assert svc["spec"]["type"] == "ClusterIP"
    assert "nodePort" not in svc["spec"]["ports"][0]


# --- configuration ----------------------------------------------------------------------


def test_configmap_holds_environment_loglevel_and_backend_url(render):
    cm = render(sealed()).get("ConfigMap", f"{FULLNAME}-config")
    assert cm["data"] == {
        "ENVIRONMENT": "production",
        "LOG_LEVEL": "info",
        "BACKEND_URL": f"http://{FULLNAME}-backend:8000",
    }


def test_dev_values_set_development_environment(rendered_scenarios):
    cm = rendered_scenarios["dev"].get("ConfigMap", f"{FULLNAME}-config")
    assert cm["data"]["ENVIRONMENT"] == "development"
    assert cm["data"]["LOG_LEVEL"] == "debug"


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_no_secret_value_or_key_in_the_configmap(rendered_scenarios, name):
    cm = rendered_scenarios[name].get("ConfigMap", f"{FULLNAME}-config")
    text = repr(cm)
    for key, value in {**INLINE_DATA, **SEALED_DATA}.items():
        assert key not in cm["data"]
        assert value not in text


def test_configmap_extra_refuses_secret_keys(render):
    with pytest.raises(helm.HelmError, match="DATABASE_URL"):
        render(deep_merge(sealed(), {"config": {"extra": {"DATABASE_URL": "postgresql://x"}}}))


def test_configmap_extra_adds_plain_entries(render):
    cm = render(deep_merge(sealed(), {"config": {"extra": {"FEATURE_X": "on", "WORKERS": 2}}})).get(
        "ConfigMap", f"{FULLNAME}-config"
    )
    assert cm["data"]["FEATURE_X"] == "on"
    assert cm["data"]["WORKERS"] == "2"


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_pods_read_the_configmap_with_envfrom(render, component):
    dep = render(sealed()).get("Deployment", f"{FULLNAME}-{component}")
    assert container(dep)["envFrom"] == [{"configMapRef": {"name": f"{FULLNAME}-config"}}]


# --- secrets wiring ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret", "llm_key"),
    [
        ("default-sealed", f"{FULLNAME}-secrets", "OPENAI_API_KEY"),
        ("inline", f"{FULLNAME}-secrets", "OPENAI_API_KEY"),
        ("existing-secret", "my-app-secrets", "OPENAI_API_KEY"),
        ("dev", "todo-chatbot-dev-secrets", "OPENAI_API_KEY"),
        ("openrouter-inline", f"{FULLNAME}-secrets", "OPENROUTER_API_KEY"),
        ("cohere-namespace-wide", f"{FULLNAME}-secrets", "COHERE_API_KEY"),
    ],
)
def test_pods_read_secrets_through_required_secretkeyrefs(rendered_scenarios, name, secret, llm_key):
    out = rendered_scenarios[name]
    backend = secret_refs(out.get("Deployment", f"{FULLNAME}-backend"))
    frontend = secret_refs(out.get("Deployment", f"{FULLNAME}-frontend"))
    assert backend == {k: (secret, k, None) for k in ("DATABASE_URL", "BETTER_AUTH_SECRET", llm_key)}
    assert frontend == {k: (secret, k, None) for k in ("BETTER_AUTH_SECRET", "DATABASE_URL")}


def test_secrets_name_overrides_the_rendered_secret(render):
    out = render(sealed(secrets={"name": "chat-creds"}))
    assert out.has("SealedSecret", "chat-creds")
    assert secret_refs(out.get("Deployment", f"{FULLNAME}-backend"))["DATABASE_URL"][0] == "chat-creds"


def test_no_secret_value_in_any_deployment(rendered_scenarios):
    for name in ("inline", "openrouter-inline"):
        out = rendered_scenarios[name]
        for dep in out.all("Deployment"):
            text = repr(dep)
            for value in INLINE_DATA.values():
                assert value not in text, f"{name}: {dep['metadata']['name']} leaks a secret value"


# --- probes, resources, rollout ---------------------------------------------------------


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_probes_hit_the_health_paths_on_the_named_port(render, component):
    _, _, path = COMPONENTS[component]
    c = container(render(sealed()).get("Deployment", f"{FULLNAME}-{component}"))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert c[probe]["httpGet"] == {"path": path, "port": "http"}, probe
        assert c[probe]["timeoutSeconds"] >= 1


def test_backend_readiness_path_is_configurable(render):
    c = container(
        render(sealed(backend={"probes": {"readinessPath": "/health/ready"}})).get(
            "Deployment", f"{FULLNAME}-backend"
        )
    )
    assert c["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_containers_have_requests_and_limits(rendered_scenarios, name):
    for dep in rendered_scenarios[name].all("Deployment"):
        res = container(dep)["resources"]
        assert {"cpu", "memory"} <= set(res["requests"]) and {"cpu", "memory"} <= set(res["limits"])


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_rolling_update_surges_one_and_keeps_all_available(rendered_scenarios, name):
    for dep in rendered_scenarios[name].all("Deployment"):
        assert dep["spec"]["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
        }


# --- security ---------------------------------------------------------------------------


def pod_specs(out):
    for dep in out.all("Deployment"):
        yield dep["metadata"]["name"], dep["spec"]["template"]["spec"]
    for pod in out.all("Pod"):
        yield pod["metadata"]["name"], pod["spec"]


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_every_pod_runs_restricted(rendered_scenarios, name):
    for pod_name, spec in pod_specs(rendered_scenarios[name]):
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 1001 and psc["runAsGroup"] == 1001, pod_name
        assert psc["seccompProfile"] == {"type": "RuntimeDefault"}, pod_name
        assert spec["automountServiceAccountToken"] is False, pod_name
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, pod_name
            assert sc["readOnlyRootFilesystem"] is True, pod_name
            assert sc["capabilities"] == {"drop": ["ALL"]}, pod_name
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 1001, pod_name
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, pod_name


@pytest.mark.parametrize(
    ("component", "mounts"),
    [("backend", {"/tmp"}), ("frontend", {"/tmp", "/app/.next/cache"})],
)
def test_writable_paths_are_emptydirs(render, component, mounts):
    spec = render(sealed()).get("Deployment", f"{FULLNAME}-{component}")["spec"]["template"]["spec"]
    c = spec["containers"][0]
    assert {m["mountPath"] for m in c["volumeMounts"]} == mounts
    volumes = {v["name"]: v for v in spec["volumes"]}
    for m in c["volumeMounts"]:
        assert "emptyDir" in volumes[m["name"]]
        assert volumes[m["name"]]["emptyDir"]["sizeLimit"]


def test_serviceaccount_does_not_automount_a_token(render):
    out = render(sealed())
    sa = out.get("ServiceAccount", FULLNAME)
    assert sa["automountServiceAccountToken"] is False
    for _, spec in pod_specs(out):
        assert spec["serviceAccountName"] == FULLNAME


# --- images -----------------------------------------------------------------------------


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_images_default_to_local_repositories_at_app_version(render, component):
    c = container(render(sealed()).get("Deployment", f"{FULLNAME}-{component}"))
    assert c["image"] == f"todo-chatbot-{component}:1.0.0"
    assert c["imagePullPolicy"] == "IfNotPresent"


def test_image_digest_pins_the_image(render):
    digest = "sha256:" + "ab" * 32
    c = container(
        render(sealed(backend={"image": {"repository": "ghcr.io/me/api", "tag": "1.2.3", "digest": digest}})).get(
            "Deployment", f"{FULLNAME}-backend"
        )
    )
    assert c["image"] == f"ghcr.io/me/api:1.2.3@{digest}"


def test_latest_tag_is_refused(render):
    with pytest.raises(helm.HelmError, match="must not be \"latest\""):
        render(sealed(frontend={"image": {"tag": "latest"}}))


# --- checksums --------------------------------------------------------------------------


def checksums(out, component="backend"):
    annotations = out.get("Deployment", f"{FULLNAME}-{component}")["spec"]["template"]["metadata"]["annotations"]
    return annotations["checksum/config"], annotations["checksum/secret"]


def test_config_change_rolls_the_pods(render):
    before = checksums(render(sealed()))
    after = checksums(render(sealed(config={"logLevel": "debug"})))
    assert before[0] != after[0] and before[1] == after[1]


def test_sealed_secret_change_rolls_the_pods(render):
    before = checksums(render(sealed()))
    changed = dict(SEALED_DATA, DATABASE_URL="QW5vdGhlckNpcGhlcnRleHQ=")
    after = checksums(render(sealed(secrets={"sealed": {"encryptedData": changed}})))
    assert before[0] == after[0] and before[1] != after[1]


def test_inline_secret_change_rolls_the_pods(render):
    before = checksums(render(inline()), "frontend")
    after = checksums(render(deep_merge(inline(), {"secrets": {"inline": {"BETTER_AUTH_SECRET": "y" * 40}}})), "frontend")
    assert before[1] != after[1]


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_checksums_are_sha256_hex(render, component):
    for value in checksums(render(sealed()), component):
        assert len(value) == 64 and int(value, 16) >= 0


# --- replicas, HPA, PDB -----------------------------------------------------------------


def test_defaults_render_one_replica_and_no_optional_objects(render):
    out = render(sealed())
    for dep in out.all("Deployment"):
        assert dep["spec"]["replicas"] == 1
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"):
        assert not out.has(kind), kind


def test_dev_values_run_one_replica_on_nodeports(rendered_scenarios):
    out = rendered_scenarios["dev"]
    for component, (_, node_port, _) in COMPONENTS.items():
        assert out.get("Deployment", f"{FULLNAME}-{component}")["spec"]["replicas"] == 1
        assert out.get("Service", f"{FULLNAME}-{component}")["spec"]["ports"][0]["nodePort"] == node_port
    assert not out.has("Secret") and not out.has("SealedSecret")


def test_prod_values_turn_on_hpa_pdb_networkpolicy_and_clusterip(rendered_scenarios):
    out = rendered_scenarios["prod"]
    for component in COMPONENTS:
        name = f"{FULLNAME}-{component}"
        assert "replicas" not in out.get("Deployment", name)["spec"], "HPA owns replicas"
        hpa = out.get("HorizontalPodAutoscaler", name)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["minReplicas"] == 2
        pdb = out.get("PodDisruptionBudget", name)
        assert pdb["apiVersion"] == "policy/v1" and pdb["spec"]["minAvailable"] == 1
        assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component
        assert out.get("Service", name)["spec"]["type"] == "ClusterIP"
        assert out.has("NetworkPolicy", name)
    assert out.has("SealedSecret", f"{FULLNAME}-secrets")


def test_prod_values_without_hpa_run_two_replicas(render):
    values = deep_merge(
        values_file("values-prod.yaml"),
        sealed(),
        {"frontend": {"autoscaling": {"enabled": False}}, "backend": {"autoscaling": {"enabled": False}}},
    )
    for dep in render(values).all("Deployment"):
        assert dep["spec"]["replicas"] == 2


def test_replica_count_is_settable_per_component(render):
    out = render(sealed(frontend={"replicaCount": 3}, backend={"replicaCount": 0}))
    assert out.get("Deployment", f"{FULLNAME}-frontend")["spec"]["replicas"] == 3
    assert out.get("Deployment", f"{FULLNAME}-backend")["spec"]["replicas"] == 0


def test_hpa_memory_metric_is_optional(rendered_scenarios):
    out = rendered_scenarios["optional-on"]
    metrics = out.get("HorizontalPodAutoscaler", f"{FULLNAME}-frontend")["spec"]["metrics"]
    assert [m["resource"]["name"] for m in metrics] == ["cpu"]
    prod = rendered_scenarios["prod"].get("HorizontalPodAutoscaler", f"{FULLNAME}-backend")["spec"]["metrics"]
    assert [m["resource"]["name"] for m in prod] == ["cpu", "memory"]


def test_hpa_min_above_max_fails(render):
    with pytest.raises(helm.HelmError, match="minReplicas"):
        render(sealed(backend={"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}))


def test_pdb_max_unavailable_replaces_min_available(render):
    out = render(sealed(frontend={"pdb": {"enabled": True, "maxUnavailable": "50%"}}))
    spec = out.get("PodDisruptionBudget", f"{FULLNAME}-frontend")["spec"]
    assert spec["maxUnavailable"] == "50%" and "minAvailable" not in spec


@pytest.mark.parametrize("feature", ["autoscaling", "pdb"])
def test_optional_objects_render_per_component(render, feature):
    kind = {"autoscaling": "HorizontalPodAutoscaler", "pdb": "PodDisruptionBudget"}[feature]
    out = render(sealed(backend={feature: {"enabled": True}}))
    assert out.has(kind, f"{FULLNAME}-backend") and not out.has(kind, f"{FULLNAME}-frontend")


# --- network policy ---------------------------------------------------------------------


def test_networkpolicy_lets_only_frontend_and_tests_reach_backend(rendered_scenarios):
    out = rendered_scenarios["optional-on"]
    np = out.get("NetworkPolicy", f"{FULLNAME}-backend")
    assert set(np["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    (rule,) = np["spec"]["ingress"]
    components = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in rule["from"]}
    assert components == {"frontend", "test"}
    for peer in rule["from"]:
        assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == RELEASE
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]


def egress_ports(np):
    return {(p["port"], p["protocol"]) for rule in np["spec"]["egress"] for p in rule["ports"]}


def test_backend_egress_is_database_llm_and_dns_only(rendered_scenarios):
    np = rendered_scenarios["optional-on"].get("NetworkPolicy", f"{FULLNAME}-backend")
    assert egress_ports(np) == {(5432, "TCP"), (443, "TCP"), (53, "UDP"), (53, "TCP")}


def test_frontend_egress_is_backend_database_and_dns_only(rendered_scenarios):
    np = rendered_scenarios["optional-on"].get("NetworkPolicy", f"{FULLNAME}-frontend")
    assert egress_ports(np) == {(8000, "TCP"), (5432, "TCP"), (53, "UDP"), (53, "TCP")}
    backend_rule = np["spec"]["egress"][0]
    assert backend_rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "backend"


def test_database_cidrs_restrict_egress(render):
    out = render(deep_merge(sealed(), ALL_OPTIONAL_ON, {"networkPolicy": {"database": {"cidrs": ["10.1.0.0/16"]}}}))
    np = out.get("NetworkPolicy", f"{FULLNAME}-backend")
    db_rule = next(r for r in np["spec"]["egress"] if r["ports"][0]["port"] == 5432)
    assert db_rule["to"] == [{"ipBlock": {"cidr": "10.1.0.0/16"}}]


def test_test_pod_has_its_own_networkpolicy(rendered_scenarios):
    np = rendered_scenarios["optional-on"].get("NetworkPolicy", f"{FULLNAME}-test")
    assert np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "test"
    assert egress_ports(np) == {(8000, "TCP"), (53, "UDP"), (53, "TCP")}
    assert "ingress" not in np["spec"]


# --- helm test --------------------------------------------------------------------------


def test_helm_test_pod_curls_the_backend_health_endpoint(render):
    pod = render(sealed()).get("Pod", f"{FULLNAME}-test-backend-health")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    (c,) = pod["spec"]["containers"]
    assert c["image"] == "curlimages/curl:8.10.1"
    assert c["command"] == ["curl"]
    assert c["args"][-1] == f"http://{FULLNAME}-backend:8000/health"
    assert "--fail" in c["args"]
    assert c["resources"]["limits"]


def test_helm_test_image_is_configurable_and_can_be_disabled(render):
    out = render(sealed(tests={"image": {"repository": "registry.local/curl", "tag": "8.11.0"}}))
    assert out.get("Pod", f"{FULLNAME}-test-backend-health")["spec"]["containers"][0]["image"] == (
        "registry.local/curl:8.11.0"
    )
    assert not render(sealed(tests={"enabled": False})).has("Pod")


# --- NOTES ------------------------------------------------------------------------------


def test_notes_give_minikube_urls_and_the_verify_command(render):
    notes = render(sealed()).notes
    assert f"minikube service -n {NAMESPACE} {FULLNAME}-frontend --url" in notes
    assert f"minikube service -n {NAMESPACE} {FULLNAME}-backend --url" in notes
    assert f"kubectl todo verify -n {NAMESPACE} --release {RELEASE} --wait" in notes
    assert f"kubectl todo preflight -n {NAMESPACE} --release {RELEASE} -f" in notes
    assert f"helm test {RELEASE} -n {NAMESPACE}" in notes
    assert "WARNING" not in notes


def test_notes_use_port_forward_for_clusterip(rendered_scenarios):
    notes = rendered_scenarios["clusterip"].notes
    assert f"kubectl -n {NAMESPACE} port-forward svc/{FULLNAME}-frontend 3000:3000" in notes
    assert "minikube service" not in notes


def test_notes_warn_loudly_in_inline_mode(rendered_scenarios):
    notes = rendered_scenarios["inline"].notes
    assert "WARNING: secrets.mode=inline" in notes
    assert "DEVELOPMENT ONLY" in notes
    for value in INLINE_DATA.values():
        assert value not in notes


def test_inline_secret_holds_base64_values(rendered_scenarios):
    secret = rendered_scenarios["inline"].get("Secret", f"{FULLNAME}-secrets")
    assert secret["type"] == "Opaque"
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == INLINE_DATA


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_port_env_follows_the_container_port(render, component):
    out = render(sealed(**{component: {"containerPort": 9000}}))
    c = container(out.get("Deployment", f"{FULLNAME}-{component}"))
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["PORT"] == "9000"
    assert c["ports"][0]["containerPort"] == 9000
    if component == "frontend":
        assert env["HOSTNAME"] == "0.0.0.0"
