"""Helpers shared by the installation tests (imported by conftest.py and the test files)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINARIES = ["kubectl-todo", "kubectl-todo-verify", "kubectl-todo-scale", "kubectl-todo-preflight", "helm-todo-secrets"]
KUBECTL_PLUGINS = ["kubectl-todo", "kubectl-todo-verify", "kubectl-todo-scale", "kubectl-todo-preflight"]


def tool_dir(name: str) -> str:
    """The folder of a tool on the current PATH, or fail the test run clearly."""
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is required on PATH for the installation tests")
    return str(Path(found).parent)


def base_path() -> str:
    """A PATH with the system folders and kubectl, but none of our plugins and no cargo."""
    dirs = ["/usr/local/bin", "/usr/bin", "/bin"]
    kubectl = tool_dir("kubectl")
    if kubectl not in dirs:
        dirs.insert(0, kubectl)
    return os.pathsep.join(dirs)


def clean_env(home: Path, path: str) -> dict[str, str]:
    """An environment like a new user's: its own HOME, no XDG or Helm overrides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("XDG_", "HELM_", "KUBECTL_", "TODO_KUBE_")) and k != "KUBECONFIG"
    }
    env.update(HOME=str(home), PATH=path, NO_COLOR="1", SHELL="/bin/bash")
    return env


def copy_checkout(dest: Path) -> Path:
    """Copy the files git knows about (tracked, or untracked and not ignored) to dest."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if not src.is_file():  # deleted in the working tree
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


@dataclass
class Built:
    """Release binaries and, when install.sh built them, that run's output."""

    bin_dir: Path
    cargo_run: subprocess.CompletedProcess | None
    cargo_prefix: Path | None


@dataclass
class Installer:
    """Runs install.sh from the clean checkout for one fake user."""

    checkout: Path
    home: Path
    bin_dir: Path
    path: str

    @property
    def env(self) -> dict[str, str]:
        return clean_env(self.home, self.path)

    def run(self, *args: str, bin_dir: bool = True, env: dict | None = None,
            script: Path | None = None) -> subprocess.CompletedProcess:
        cmd = ["sh", str(script or self.checkout / "install.sh"), *args]
        if bin_dir:
            cmd += ["--bin-dir", str(self.bin_dir)]
        return subprocess.run(cmd, env=env or self.env, capture_output=True, text=True,
                              timeout=300)

    def ok(self, *args: str, **kw) -> subprocess.CompletedProcess:
        run = self.run(*args, **kw)
        assert run.returncode == 0, f"install.sh {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
        return run

    def tree(self) -> set[str]:
        """Every path under HOME, relative."""
        return {str(p.relative_to(self.home)) for p in self.home.rglob("*")}
