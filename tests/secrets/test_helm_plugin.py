"""The plugin as Helm runs it: plugin.yaml (legacy format), the install hook, the
HELM_PLUGIN_DIR layout and Helm's environment; and the chart accepts the sealed file."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from secretslib import PLUGIN_SRC, REPO, VALUES, label_for, load, unseal

SECRET = "todo-todo-chatbot-secrets"
HELM = REPO / "tests" / "tools" / "helm"


@pytest.fixture
def manifest():
    return yaml.safe_load((PLUGIN_SRC / "plugin.yaml").read_text())


def test_plugin_yaml_is_a_legacy_cli_plugin(manifest):
    assert "apiVersion" not in manifest and "downloaders" not in manifest
    assert manifest["name"] == "todo-secrets"
    assert manifest["command"] == "$HELM_PLUGIN_DIR/bin/helm-todo-secrets"
    assert "scripts/install-hook.sh" in manifest["hooks"]["install"]
    assert "scripts/install-hook.sh" in manifest["hooks"]["update"]


def test_install_hook_is_posix_and_shellcheck_clean():
    shellcheck = shutil.which("shellcheck") or str(REPO / ".venv" / "bin" / "shellcheck")
    if not Path(shellcheck).exists():
        pytest.skip("shellcheck not installed")
    res = subprocess.run([shellcheck, "-s", "sh", str(PLUGIN_SRC / "scripts" / "install-hook.sh")], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout


@pytest.fixture
def plugins(tmp_path):
    """HELM_PLUGINS with the plugin directory copied in, as `helm plugin install` lays it out."""
    root = tmp_path / "plugins"
    pdir = root / "todo-secrets"
    pdir.mkdir(parents=True)
    shutil.copy(PLUGIN_SRC / "plugin.yaml", pdir)
    shutil.copytree(PLUGIN_SRC / "scripts", pdir / "scripts")
    return root


def run_hook(manifest, pdir: Path, env: dict, event="install"):
    # Helm runs a legacy hook as `sh -c <hook>` with the plugin environment.
    return subprocess.run(["sh", "-c", manifest["hooks"][event]], env={**env, "HELM_PLUGIN_DIR": str(pdir)},
                          capture_output=True, text=True, timeout=60)


def test_install_hook_installs_a_prebuilt_binary(manifest, plugins, env, binary):
    pdir = plugins / "todo-secrets"
    res = run_hook(manifest, pdir, {**env, "HELM_TODO_SECRETS_BINARY": str(binary)})
    assert res.returncode == 0, res.stderr
    installed = pdir / "bin" / "helm-todo-secrets"
    assert os.access(installed, os.X_OK)
    # A second run (helm plugin update) keeps the prebuilt binary.
    res = run_hook(manifest, pdir, env, event="update")
    assert res.returncode == 0 and "prebuilt" in res.stderr


def test_install_hook_takes_the_binary_from_path(manifest, plugins, env, binary, tmp_path):
    bindir = tmp_path / "path-bin"
    bindir.mkdir()
    (bindir / "helm-todo-secrets").symlink_to(binary)
    pdir = plugins / "todo-secrets"
    res = run_hook(manifest, pdir, {**env, "PATH": f"{bindir}:/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    assert (pdir / "bin" / "helm-todo-secrets").is_file()


def test_install_hook_explains_what_to_do_without_binary_or_cargo(manifest, plugins, env):
    res = run_hook(manifest, plugins / "todo-secrets", {**env, "PATH": "/usr/bin:/bin"})
    assert res.returncode == 1
    assert "HELM_TODO_SECRETS_BINARY" in res.stderr and "rustup" in res.stderr


def helm_env(plugins: Path, pdir: Path, env: dict, namespace: str, **extra) -> dict:
    """The environment Helm gives a plugin (pkg/cli EnvVars + plugin variables)."""
    return {
        **env,
        "HELM_BIN": "helm",
        "HELM_PLUGINS": str(plugins),
        "HELM_PLUGIN_NAME": "todo-secrets",
        "HELM_PLUGIN_DIR": str(pdir),
        "HELM_NAMESPACE": namespace,
        "HELM_KUBECONTEXT": "",
        "HELM_DEBUG": "false",
        "HELM_REGISTRY_CONFIG": str(Path(env["HOME"]) / ".config/helm/registry/config.json"),
        "HELM_REPOSITORY_CACHE": str(Path(env["HOME"]) / ".cache/helm/repository"),
        **extra,
    }


def test_plugin_runs_from_its_directory_with_helms_environment(manifest, plugins, env, binary, certs, workdir):
    pdir = plugins / "todo-secrets"
    assert run_hook(manifest, pdir, {**env, "HELM_TODO_SECRETS_BINARY": str(binary)}).returncode == 0
    penv = helm_env(plugins, pdir, env, "todo", **VALUES)
    argv = [os.path.expandvars(a) for a in shlex.split(manifest["command"].replace("$HELM_PLUGIN_DIR", str(pdir)))]
    res = subprocess.run([*argv, "init", "--from-env", "--cert", str(certs["current"].cert_path)], cwd=workdir,
                         env=penv, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    data = load(workdir / "todo-secrets.sealed.yaml")["secrets"]["sealed"]["encryptedData"]
    # HELM_NAMESPACE decided the strict-scope label.
    assert unseal(certs["current"].key, label_for("strict", "todo", SECRET), data["DATABASE_URL"]) == VALUES["DATABASE_URL"].encode()


def helm_available() -> bool:
    if not HELM.exists():
        return False
    res = subprocess.run([str(HELM), "version", "--short"], capture_output=True, text=True)
    return res.returncode == 0


needs_helm = pytest.mark.skipif(not helm_available(), reason="tests/tools/helm (Helm via helm-python-sdk) not usable")


@needs_helm
def test_helm_runs_the_plugin_with_its_namespace_flag(manifest, plugins, env, binary, certs, workdir):
    pdir = plugins / "todo-secrets"
    assert run_hook(manifest, pdir, {**env, "HELM_TODO_SECRETS_BINARY": str(binary)}).returncode == 0
    res = subprocess.run(
        # Helm takes its global flags anywhere on the line and passes them in the environment.
        [str(HELM), "todo-secrets", "-n", "shop", "init", "--from-env", "--cert", str(certs["current"].cert_path), "--release", "web"],
        cwd=workdir, env={**env, **VALUES, "HELM_PLUGINS": str(plugins), "PATH": os.environ["PATH"]},
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0, res.stderr
    doc = load(workdir / "todo-secrets.sealed.yaml")
    assert doc["secrets"]["name"] == "web-todo-chatbot-secrets"
    text = doc["secrets"]["sealed"]["encryptedData"]["OPENAI_API_KEY"]
    assert unseal(certs["current"].key, b"shop/web-todo-chatbot-secrets", text) == VALUES["OPENAI_API_KEY"].encode()


def test_chart_renders_the_sealed_file_into_a_sealedsecret(run, certs, workdir):
    helm = pytest.importorskip("helm_python")
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env={**VALUES, "HELM_NAMESPACE": "todo"}).code == 0
    sealed_file = workdir / "todo-secrets.sealed.yaml"
    values = helm.values_from_yaml(sealed_file.read_text())
    with helm.Chart.load(REPO / "charts" / "todo-chatbot") as chart:
        files = chart.render(values=values, name="todo", namespace="todo", is_install=True)
    docs = [d for path, text in files.items() if not path.endswith("NOTES.txt") for d in yaml.safe_load_all(text) if d]
    sealed = [d for d in docs if d.get("kind") == "SealedSecret"]
    assert len(sealed) == 1
    ss = sealed[0]
    assert ss["metadata"]["name"] == SECRET
    assert ss["spec"]["template"]["metadata"]["name"] == SECRET
    assert ss["spec"]["encryptedData"] == load(sealed_file)["secrets"]["sealed"]["encryptedData"]


@pytest.mark.parametrize("scope,refused", [("strict", True), ("namespace-wide", True), ("cluster-wide", False)])
def test_chart_refuses_a_sealed_file_in_another_namespace_at_render_time(run, certs, workdir, scope, refused):
    helm = pytest.importorskip("helm_python")
    res = run("init", "--from-env", "--scope", scope, "--cert", certs["current"].cert_path, extra_env={**VALUES, "HELM_NAMESPACE": "todo"})
    assert res.code == 0, res.stderr
    values = helm.values_from_yaml((workdir / "todo-secrets.sealed.yaml").read_text())
    with helm.Chart.load(REPO / "charts" / "todo-chatbot") as chart:
        if not refused:
            files = chart.render(values=values, name="todo", namespace="other", is_install=True)
            assert any("kind: SealedSecret" in text for text in files.values())
            return
        with pytest.raises(helm.HelmRenderError) as err:
            chart.render(values=values, name="todo", namespace="other", is_install=True)
    message = str(err.value)
    assert f'sealed for namespace "todo" (scope {scope})' in message and "-n todo" in message
