"""Fixtures for the `helm todo-secrets` tests: the binary, test certificates and an
isolated environment. Helpers live in secretslib.py."""

from __future__ import annotations

import datetime
import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from secretslib import NOW, Result, binary_path, make_cert


@pytest.fixture(scope="session")
def binary() -> Path:
    path = binary_path()
    if not path.exists():
        pytest.fail(f"{path} not built: run `cargo build -p helm-todo-secrets` (or set HELM_TODO_SECRETS_BIN)")
    return path




@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A 4096-bit controller-like certificate (as sealed-secrets generates), a second one for
    rotation, an expired one and a malformed file."""
    tmp = tmp_path_factory.mktemp("certs")
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    key2 = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    day = datetime.timedelta(days=1)
    current = make_cert(tmp, "current", key, NOW - day, NOW + 3650 * day)
    rotated = make_cert(tmp, "rotated", key2, NOW - day, NOW + 3650 * day)
    expired = make_cert(tmp, "expired", key, NOW - 800 * day, NOW - 400 * day)
    malformed = tmp / "malformed.pem"
    malformed.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    return {"current": current, "rotated": rotated, "expired": expired, "malformed": malformed}


@pytest.fixture
def env(tmp_path):
    """A clean environment: no kubeconfig, no Helm variables, a private TMPDIR and HOME."""
    home = tmp_path / "home"
    home.mkdir()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TODO_PYTHON")}
    return {**keep, "HOME": str(home), "TMPDIR": str(tmpdir), "NO_COLOR": "1", "KUBECONFIG": str(home / "no-kubeconfig")}


@pytest.fixture
def workdir(tmp_path):
    d = tmp_path / "work"
    d.mkdir()
    return d


@pytest.fixture
def run(binary, env, workdir):
    """Run the binary in `workdir` with the clean environment plus `extra_env`."""

    def _run(*args, extra_env=None, stdin="", cwd=None, exe=None) -> Result:
        proc = subprocess.run(
            [str(exe or binary), *map(str, args)],
            cwd=cwd or workdir,
            env={**env, **(extra_env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return _run


