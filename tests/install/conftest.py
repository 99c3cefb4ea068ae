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
from releaselib import Release, Served, Signing


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
def server(tmp_path_factory) -> Served:
    """A local HTTP server (127.0.0.1, an ephemeral port) over a folder, as a release host."""
    served = Served.start(tmp_path_factory.mktemp("www"))
    yield served
    served.stop()


@pytest.fixture(scope="session")
def signing(tmp_path_factory) -> Signing | None:
    """A throwaway GnuPG key (never a real one) and its public keyring; None without gpg
    (tests/run.sh installs GnuPG; the tests that need a .prov then skip, saying why)."""
    if not shutil.which("gpg"):
        yield None
        return
    signing = Signing.create(tmp_path_factory.mktemp("gnupg-home"))
    yield signing
    signing.stop()


@pytest.fixture(scope="session")
def release(checkout, bin_dir, server, signing) -> Release:
    """scripts/build-release.sh for the prebuilt binaries, signed with the throwaway key,
    published under the local server's /v<version>/ (so the install hook downloads the
    platform archive from there)."""
    return Release.build(checkout, bin_dir, server, signing)
