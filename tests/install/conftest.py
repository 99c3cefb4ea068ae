"""Fixtures for the installation tests: a clean copy of the checkout and release binaries.

The release binaries come from one `install.sh --from-source` run in a clean copy of the
checkout (the cargo build path, tested by test_install_builds_with_cargo); every other test
installs those binaries with `--bin-dir` to stay fast. Set TODO_KUBE_TEST_BIN_DIR to a folder
holding prebuilt release binaries to skip the cargo build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from installlib import REPO, Built, Installer, base_path, clean_env, copy_checkout


def cargo_target() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")


@pytest.fixture(scope="session")
def checkout(tmp_path_factory) -> Path:
    if os.environ.get("TODO_KUBE_TEST_BIN_DIR"):
        return copy_checkout(tmp_path_factory.mktemp("checkout"))
    # cargo fingerprints path dependencies by their folder: a fixed place (with mtimes kept
    # by the copy) lets a second run reuse the first run's build instead of rebuilding.
    dest = cargo_target() / "install-test-checkout"
    shutil.rmtree(dest, ignore_errors=True)
    return copy_checkout(dest)


@pytest.fixture(scope="session")
def built(checkout, tmp_path_factory) -> Built:
    prebuilt = os.environ.get("TODO_KUBE_TEST_BIN_DIR")
    if prebuilt:
        return Built(Path(prebuilt), None, None)
    home = tmp_path_factory.mktemp("cargo-home")
    prefix = home / "prefix"
    target = cargo_target()
    env = clean_env(home, os.environ["PATH"])
    # cargo and rustup live under the real HOME; keep them reachable with the fake HOME.
    for var in ("CARGO_HOME", "RUSTUP_HOME"):
        default = Path(os.environ["HOME"]) / (".cargo" if var == "CARGO_HOME" else ".rustup")
        env[var] = os.environ.get(var, str(default))
    env["CARGO_TARGET_DIR"] = str(target)
    run = subprocess.run(
        ["sh", str(checkout / "install.sh"), "--from-source", "--no-helm-plugin",
         "--prefix", str(prefix)],
        env=env, capture_output=True, text=True, timeout=3600,
    )
    if run.returncode != 0:
        pytest.fail(f"install.sh --from-source failed:\n{run.stdout}\n{run.stderr}")
    return Built(target / "release", run, prefix)


@pytest.fixture(scope="session")
def bin_dir(built) -> Path:
    return built.bin_dir


@pytest.fixture
def installer(checkout, bin_dir, tmp_path) -> Installer:
    home = tmp_path / "home"
    home.mkdir()
    return Installer(checkout, home, bin_dir, base_path())


@pytest.fixture(scope="session")
def dist(checkout, bin_dir, tmp_path_factory) -> Path:
    """scripts/build-release.sh's output for the prebuilt binaries: the host's archive and
    dist/krew/todo.yaml."""
    out = tmp_path_factory.mktemp("dist")
    run = subprocess.run(["sh", str(checkout / "scripts/build-release.sh"), "--bin-dir",
                          str(bin_dir), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return out
