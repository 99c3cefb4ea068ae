"""The krew manifest, checked by krew-index's rules, and a krew-style install from the archive.

The rules follow krew's own validation (internal/index/validation in kubernetes-sigs/krew)
and krew-index's review criteria: name equals the file name, a semver version with a leading
v, sha256 as 64 lowercase hex, platform selectors on os/arch only, and a LICENSE in the
archive.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from installlib import REPO, base_path, clean_env

MANIFEST = REPO / "plugins/krew/todo.yaml"
SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
SHA256 = re.compile(r"^[a-f0-9]{64}$")
PLATFORMS = {(os_, arch) for os_ in ("linux", "darwin") for arch in ("amd64", "arm64")}


def krew_index_errors(path: Path) -> list[str]:
    """Everything krew or krew-index would reject in the manifest at path."""
    m = yaml.safe_load(path.read_text())
    errors = []
    if m.get("apiVersion") != "krew.googlecontainertools.github.com/v1alpha2":
        errors.append(f"apiVersion {m.get('apiVersion')!r}")
    if m.get("kind") != "Plugin":
        errors.append(f"kind {m.get('kind')!r}")
    name = (m.get("metadata") or {}).get("name")
    if name != path.stem:
        errors.append(f"metadata.name {name!r} is not the file name {path.stem!r}")
    if not re.fullmatch(r"[\w-]+", name or ""):
        errors.append(f"unsafe plugin name {name!r}")
    spec = m.get("spec") or {}
    if not SEMVER.match(str(spec.get("version", ""))):
        errors.append(f"version {spec.get('version')!r} is not semver with a leading v")
    short = spec.get("shortDescription") or ""
    if not short or "\n" in short or "\r" in short:
        errors.append("shortDescription must be one non-empty line")
    if not str(spec.get("homepage", "")).startswith("https://"):
        errors.append("homepage must be an https URL")
    if not spec.get("description"):
        errors.append("description is missing")
    seen = set()
    for i, p in enumerate(spec.get("platforms") or []):
        where = f"platforms[{i}]"
        selector = p.get("selector") or {}
        if set(selector) != {"matchLabels"}:
            errors.append(f"{where}: select with matchLabels only")
        labels = selector.get("matchLabels") or {}
        if set(labels) - {"os", "arch"} or not labels:
            errors.append(f"{where}: selector keys {sorted(labels)}; only os and arch are allowed")
        seen.add((labels.get("os"), labels.get("arch")))
        if not SHA256.match(str(p.get("sha256", ""))):
            errors.append(f"{where}: sha256 {p.get('sha256')!r} is not 64 lowercase hex")
        uri = str(p.get("uri", ""))
        if not uri.startswith("https://"):
            errors.append(f"{where}: uri must be https")
        expected = f"todo-kube-{labels.get('os')}-{labels.get('arch')}.tar.gz"
        if not uri.endswith("/" + expected) or f"/{spec.get('version')}/" not in uri:
            errors.append(f"{where}: uri {uri} is not the {spec.get('version')} {expected}")
        if not p.get("bin"):
            errors.append(f"{where}: bin is missing")
        files = p.get("files")
        if files is not None:
            if not files:
                errors.append(f"{where}: files must be absent or non-empty")
            for op in files:
                if not op.get("from") or not op.get("to"):
                    errors.append(f"{where}: files entry {op} needs from and to")
            if not any(fnmatch.fnmatch("LICENSE", op.get("from", "")) for op in files):
                errors.append(f"{where}: files do not install the LICENSE")
    if seen != PLATFORMS:
        errors.append(f"platforms {sorted(seen, key=str)}; want linux/darwin x amd64/arm64")
    return errors


def host_platform() -> tuple[str, str]:
    os_ = {"Linux": "linux", "Darwin": "darwin"}[os.uname().sysname]
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[
        os.uname().machine]
    return os_, arch


def platform_of(manifest: dict, os_: str, arch: str) -> dict:
    for p in manifest["spec"]["platforms"]:
        if p["selector"]["matchLabels"] == {"os": os_, "arch": arch}:
            return p
    raise AssertionError(f"no platform {os_}/{arch}")


def test_manifest_follows_krew_index_rules():
    assert krew_index_errors(MANIFEST) == []


def test_manifest_version_is_workspace_version():
    cargo = (REPO / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
    assert yaml.safe_load(MANIFEST.read_text())["spec"]["version"] == f"v{version}"


def test_validator_rejects_what_krew_index_rejects(tmp_path):
    good = yaml.safe_load(MANIFEST.read_text())
    bad = yaml.safe_load(MANIFEST.read_text())
    bad["spec"]["version"] = "0.1.0"
    bad["spec"]["platforms"][0]["sha256"] = "ABC"
    bad["spec"]["platforms"][1]["selector"]["matchLabels"]["distro"] = "debian"
    for op in list(bad["spec"]["platforms"][2]["files"]):
        if op["from"] == "LICENSE":
            bad["spec"]["platforms"][2]["files"].remove(op)
    path = tmp_path / "other-name.yaml"
    path.write_text(yaml.safe_dump(bad))
    errors = "\n".join(krew_index_errors(path))
    for needle in ("not the file name", "leading v", "lowercase hex", "only os and arch",
                   "LICENSE"):
        assert needle in errors
    assert good["metadata"]["name"] == "todo"


def test_release_manifest_carries_archive_sha256(dist):
    built = dist / "krew/todo.yaml"
    assert krew_index_errors(built) == []
    os_, arch = host_platform()
    archive = dist / f"todo-kube-{os_}-{arch}.tar.gz"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert platform_of(yaml.safe_load(built.read_text()), os_, arch)["sha256"] == digest


def test_archive_holds_every_file_the_manifest_installs(dist):
    os_, arch = host_platform()
    manifest = yaml.safe_load((dist / "krew/todo.yaml").read_text())
    with tarfile.open(dist / f"todo-kube-{os_}-{arch}.tar.gz") as tar:
        names = set(tar.getnames())
        modes = {m.name: m.mode for m in tar.getmembers()}
    assert "LICENSE" in names
    for op in platform_of(manifest, os_, arch)["files"]:
        assert any(fnmatch.fnmatch(n, op["from"]) for n in names), op
    for binary in ("kubectl-todo", "kubectl-todo-verify", "kubectl-todo-scale",
                   "helm-todo-secrets"):
        assert modes[binary] & 0o111, binary


def test_manifest_only_fills_every_platform_from_collected_archives(checkout, tmp_path):
    sums = {}
    for os_, arch in sorted(PLATFORMS):
        archive = tmp_path / f"todo-kube-{os_}-{arch}.tar.gz"
        archive.write_bytes(f"{os_}/{arch}".encode())
        sums[(os_, arch)] = hashlib.sha256(archive.read_bytes()).hexdigest()
    run = subprocess.run(["sh", str(checkout / "scripts/build-release.sh"), "--manifest-only",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    manifest = yaml.safe_load((tmp_path / "krew/todo.yaml").read_text())
    for (os_, arch), digest in sums.items():
        assert platform_of(manifest, os_, arch)["sha256"] == digest


def krew_install(archive: Path, manifest: dict, root: Path) -> Path:
    """Install like `kubectl krew install --manifest --archive`: unpack into the store,
    apply the files operations, symlink bin into root/bin as kubectl-<name>."""
    os_, arch = host_platform()
    platform = platform_of(manifest, os_, arch)
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == platform["sha256"]
    name, version = manifest["metadata"]["name"], manifest["spec"]["version"]
    staging = root / "staging"
    staging.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(staging, filter="data")
    store = root / "store" / name / version
    store.mkdir(parents=True)
    for op in platform["files"]:
        for src in staging.glob(op["from"]):
            dest_dir = store / op["to"]
            dest_dir.mkdir(parents=True, exist_ok=True)
            src.rename(dest_dir / src.name)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    link = bin_dir / f"kubectl-{name.replace('-', '_')}"
    link.symlink_to(store / platform["bin"])
    return bin_dir


@pytest.fixture(scope="module")
def krew_bin(dist, tmp_path_factory) -> Path:
    os_, arch = host_platform()
    manifest = yaml.safe_load((dist / "krew/todo.yaml").read_text())
    root = tmp_path_factory.mktemp("krew")
    return krew_install(dist / f"todo-kube-{os_}-{arch}.tar.gz", manifest, root)


def krew_kubectl(krew_bin: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = clean_env(home, f"{krew_bin}{os.pathsep}{base_path()}")
    return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_krew_install_lists_one_plugin_without_warnings(krew_bin, tmp_path):
    run = krew_kubectl(krew_bin, tmp_path, "plugin", "list")
    assert run.returncode == 0, run.stderr
    assert str(krew_bin / "kubectl-todo") in run.stdout
    assert "kubectl-todo-verify" not in run.stdout
    assert "warning" not in run.stderr.lower(), run.stderr


@pytest.mark.parametrize("sub", ["verify", "scale"])
def test_krew_install_runs_subcommands_through_kubectl(krew_bin, tmp_path, sub):
    run = krew_kubectl(krew_bin, tmp_path, "todo", sub, "--help")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()


def test_krew_install_help_lists_subcommands(krew_bin, tmp_path):
    run = krew_kubectl(krew_bin, tmp_path, "todo", "--help")
    assert run.returncode == 0, run.stderr
    assert "verify" in run.stdout and "scale" in run.stdout
