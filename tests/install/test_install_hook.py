"""The install hook on its own, as Helm runs it (`sh -c` with HELM_PLUGIN_DIR): a release
plugin never needs cargo and installs only bytes whose sha256 the release pins."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from installlib import clean_env
from releaselib import host_platform

HOOK = 'cd "$HELM_PLUGIN_DIR" && sh scripts/install-hook.sh'


@pytest.fixture
def plugin(release, tmp_path) -> Path:
    """The release plugin as Helm 4 installs it from the tarball's todo-secrets/ folder."""
    with tarfile.open(release.tarball) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    dest = tmp_path / "plugins/todo-secrets"
    shutil.copytree(tmp_path / "x/todo-secrets", dest)
    return dest


def run_hook(pdir: Path, home: Path, path: str = "/usr/bin:/bin", **env) -> subprocess.CompletedProcess:
    home.mkdir(exist_ok=True)
    return subprocess.run(["sh", "-c", HOOK], env={**clean_env(home, path), "HELM_PLUGIN_DIR": str(pdir), **env},
                          capture_output=True, text=True, timeout=120)


def test_release_plugin_downloads_and_verifies_the_platform_archive(plugin, release, server, tmp_path):
    """No cargo on PATH: the hook fetches todo-kube-<os>-<arch>.tar.gz from release-url.txt."""
    before = len(server.requests)
    run = run_hook(plugin, tmp_path / "home")
    assert run.returncode == 0, run.stderr
    assert f"GET /v{release.url.rsplit('/v', 1)[1]}/{release.archive.name}" in server.requests[before:]
    assert f"({release.archive.name}, sha256 verified)" in run.stderr
    binary = plugin / "bin/helm-todo-secrets"
    assert subprocess.run([str(binary), "--version"], capture_output=True).returncode == 0


def test_release_plugin_refuses_an_archive_with_another_sha256(plugin, release, server, tmp_path):
    bad = server.root / "tampered"
    bad.mkdir(exist_ok=True)
    (bad / release.archive.name).write_bytes(release.archive.read_bytes() + b"\0")
    run = run_hook(plugin, tmp_path / "home", HELM_TODO_SECRETS_BASE_URL=f"{server.url}/tampered")
    assert run.returncode == 1
    assert "this release pins" in run.stderr and "nothing was installed" in run.stderr
    assert not (plugin / "bin").exists()


def test_release_plugin_installs_offline_from_a_local_archive(plugin, release, tmp_path):
    run = run_hook(plugin, tmp_path / "home", HELM_TODO_SECRETS_BASE_URL="http://127.0.0.1:9/none",
                   HELM_TODO_SECRETS_ARCHIVE=str(release.archive))
    assert run.returncode == 0, run.stderr
    assert (plugin / "bin/helm-todo-secrets").is_file()


def test_release_plugin_reuses_this_releases_binary_from_path(plugin, release, server, tmp_path):
    """helm-todo-secrets on PATH (install.sh from the same archive) is taken when its sha256
    is the one pinned for this platform: nothing is downloaded."""
    tools = tmp_path / "tools"
    tools.mkdir()
    subprocess.run(["tar", "-xzf", str(release.archive), "-C", str(tools), "helm-todo-secrets"], check=True)
    before = len(server.requests)
    run = run_hook(plugin, tmp_path / "home", f"{tools}:/usr/bin:/bin")
    assert run.returncode == 0, run.stderr
    assert "on PATH, sha256 verified" in run.stderr
    assert server.requests[before:] == []


def test_release_plugin_ignores_another_binary_on_path(plugin, release, tmp_path, bin_dir):
    tools = tmp_path / "tools"
    tools.mkdir()
    other = tools / "helm-todo-secrets"
    other.write_text('#!/bin/sh\necho "helm todo-secrets 0.1.0"\n')
    other.chmod(0o755)
    run = run_hook(plugin, tmp_path / "home", f"{tools}:/usr/bin:/bin")
    assert run.returncode == 0, run.stderr
    assert "sha256 verified" in run.stderr and "on PATH" not in run.stderr
    assert (plugin / "bin/helm-todo-secrets").read_bytes() != other.read_bytes()


def test_rerun_keeps_a_binary_of_the_plugins_version(plugin, release, tmp_path):
    assert run_hook(plugin, tmp_path / "home", HELM_TODO_SECRETS_ARCHIVE=str(release.archive)).returncode == 0
    run = run_hook(plugin, tmp_path / "home", HELM_TODO_SECRETS_BASE_URL="http://127.0.0.1:9/none")
    assert run.returncode == 0, run.stderr
    assert "using the prebuilt" in run.stderr


def test_release_without_this_platform_says_so(plugin, tmp_path):
    checksums = plugin / "checksums.txt"
    checksums.write_text("".join(line for line in checksums.read_text().splitlines(True)
                                 if host_platform() not in line))
    run = run_hook(plugin, tmp_path / "home")
    assert run.returncode == 1
    assert f"this release has no todo-kube-{host_platform()}.tar.gz" in run.stderr


def test_hostile_release_url_is_refused(plugin, tmp_path):
    (plugin / "release-url.txt").write_text("https://example.invalid/$(touch pwned)\n")
    run = run_hook(plugin, tmp_path / "home")
    assert run.returncode == 1
    assert "release URL has unexpected characters" in run.stderr
    assert not Path("pwned").exists() and not (plugin / "pwned").exists()


def test_hook_removes_the_unused_second_copy_from_an_http_install(release, tmp_path):
    """Helm 3 and Helm 4 over HTTP copy the whole archive, todo-secrets/ copy included."""
    pdir = tmp_path / "plugins/todo-secrets"
    pdir.mkdir(parents=True)
    with tarfile.open(release.tarball) as tar:
        tar.extractall(pdir, filter="data")
    run = run_hook(pdir, tmp_path / "home", HELM_TODO_SECRETS_ARCHIVE=str(release.archive))
    assert run.returncode == 0, run.stderr
    assert not (pdir / "todo-secrets").exists()
    assert (pdir / "plugin.yaml").is_file()


def test_real_cargo_builds_through_the_symlink_in_a_checkout(checkout, tmp_path, built):
    """The bug this hook had: through Helm's symlink, `$plugin_dir/../..` was Helm's data
    directory. Here with the real cargo, in the test checkout the session already built."""
    if built.cargo_run is None:
        pytest.skip("TODO_KUBE_TEST_BIN_DIR given: no cargo-built checkout to reuse")
    link = tmp_path / "helm-data/plugins/helm-todo-secrets"
    link.parent.mkdir(parents=True)
    link.symlink_to(checkout / "plugins/helm-todo-secrets")
    home = Path(os.environ["HOME"])
    env = {"CARGO_HOME": os.environ.get("CARGO_HOME", str(home / ".cargo")),
           "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(home / ".rustup")),
           "CARGO_TARGET_DIR": str(built.bin_dir.parent)}
    cargo = shutil.which("cargo")
    built_bin = checkout / "plugins/helm-todo-secrets/bin"
    try:
        run = run_hook(link, tmp_path / "home", f"{Path(cargo).parent}:/usr/bin:/bin", **env)
        assert run.returncode == 0, run.stderr
        assert f"with cargo (release) in {checkout}" in run.stderr
        assert (built_bin / "helm-todo-secrets").is_file()
    finally:
        shutil.rmtree(built_bin, ignore_errors=True)
