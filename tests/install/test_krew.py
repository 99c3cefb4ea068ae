"""The krew manifest and the custom index, checked by krew's rules (krewdouble reproduces
krew v0.5.0; each test names the lines): validation, `kubectl krew install --manifest
--archive`, `kubectl krew index add` + `kubectl krew install todo-kube/todo`, then the real
kubectl finds the plugin with no warning and runs its subcommands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from installlib import REPO, base_path, clean_env
from krewdouble import Krew, KrewError, validate_manifest_file, validate_plugin
from releaselib import VERSION, host_platform, sha256

MANIFEST = REPO / "plugins/krew/todo.yaml"


def spec() -> dict:
    return yaml.safe_load(MANIFEST.read_text())["spec"]


def test_template_passes_krew_index_validation():
    """validate-krew-manifest's static checks (cmd/validate-krew-manifest/main.go:66-107)."""
    assert validate_manifest_file(MANIFEST) == []


def test_manifest_version_is_workspace_version():
    assert spec()["version"] == f"v{VERSION}"


def test_short_description_is_short_and_plain():
    """krew's plugin-manifest guide: a tagline of a few words; krew-index review holds it to
    50 characters, one line, no markup, no "kubectl", no trailing period."""
    short = spec()["shortDescription"]
    assert len(short) <= 50, len(short)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ,'/-]*[A-Za-z0-9]", short), short
    assert "kubectl" not in short.lower()


@pytest.mark.parametrize("field", ["description", "caveats"])
def test_description_has_no_usage_examples_or_long_lines(field):
    """The guide: "Avoid including a list of commands or options"; lines fit 80 columns."""
    text = spec()[field]
    for line in text.splitlines():
        assert len(line) <= 80, line
        assert not re.match(r"\s*(\$ |kubectl |helm )", line), f"usage example: {line}"
        assert not line.startswith((" ", "\t")), f"indented example block: {line}"
        assert "`" not in line, line


def test_validator_rejects_what_krew_rejects(tmp_path):
    bad = yaml.safe_load(MANIFEST.read_text())
    bad["spec"]["version"] = "0.1.0"
    with pytest.raises(KrewError, match="failed to parse plugin version"):
        validate_plugin("todo", bad)
    bad = yaml.safe_load(MANIFEST.read_text())
    bad["spec"]["platforms"][0]["sha256"] = "ABC"
    with pytest.raises(KrewError, match="is not valid"):
        validate_plugin("todo", bad)
    bad = yaml.safe_load(MANIFEST.read_text())
    bad["spec"]["platforms"][1]["selector"]["matchLabels"]["distro"] = "debian"
    with pytest.raises(KrewError, match='key "distro" not supported'):
        validate_plugin("todo", bad)
    bad = yaml.safe_load(MANIFEST.read_text())
    bad["spec"]["platforms"][1]["selector"] = bad["spec"]["platforms"][0]["selector"]
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(bad))
    problems = "\n".join(validate_manifest_file(path))
    assert "plugin should be named 'other'" in problems


def test_release_manifest_carries_archive_sha256_and_url(release):
    built = release.dir / "krew/todo.yaml"
    assert validate_manifest_file(built) == []
    os_, arch = host_platform().split("-")
    platform = next(p for p in yaml.safe_load(built.read_text())["spec"]["platforms"]
                    if p["selector"]["matchLabels"] == {"os": os_, "arch": arch})
    assert platform["sha256"] == sha256(release.archive)
    assert platform["uri"] == f"{release.url}/{release.archive.name}"


def krew_kubectl(bin_dir: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = clean_env(home, f"{bin_dir}{os.pathsep}{base_path()}")
    return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=60)


def assert_kubectl_runs_the_plugin(krew: Krew, home: Path) -> None:
    run = krew_kubectl(krew.bin, home, "plugin", "list")
    assert run.returncode == 0, run.stderr
    assert str(krew.bin / "kubectl-todo") in run.stdout
    assert "kubectl-todo-verify" not in run.stdout, "krew links one binary per plugin"
    assert "warning" not in run.stderr.lower(), run.stderr
    for sub in ("verify", "scale", "preflight"):
        run = krew_kubectl(krew.bin, home, "todo", sub, "--help")
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip()
    assert krew.installed_license(), "krew-index CI checks the LICENSE was installed"


def test_krew_install_manifest_with_local_archive(release, tmp_path):
    """`kubectl krew install --manifest=FILE --archive=FILE` (cmd/krew/cmd/install.go:110-152):
    the archive's sha256 must match the platform's (installation/install.go:144-156), its
    files move per `files:` (move.go:34-186) and bin is linked as kubectl-todo
    (install.go:195-253)."""
    krew = Krew(tmp_path / "krew")
    link = krew.install(manifest=release.dir / "krew/todo.yaml", archive=release.archive)
    assert link == krew.bin / "kubectl-todo" and link.is_symlink()
    assert link.resolve().parent == tmp_path / f"krew/store/todo/v{VERSION}"
    receipt = yaml.safe_load((tmp_path / "krew/receipts/todo.yaml").read_text())
    assert receipt["status"]["source"]["name"] == "detached"
    assert_kubectl_runs_the_plugin(krew, tmp_path / "home")


def test_krew_refuses_an_archive_with_another_sha256(release, tmp_path):
    other = tmp_path / "other.tar.gz"
    other.write_bytes(release.archive.read_bytes() + b"\0")
    with pytest.raises(KrewError, match="checksum does not match"):
        Krew(tmp_path / "krew").install(manifest=release.dir / "krew/todo.yaml", archive=other)


def index_repository(release, tmp_path: Path) -> str:
    """dist/krew-index published as a git repository, as docs/install.md says."""
    repo = tmp_path / "krew-index"
    shutil.copytree(release.dir / "krew-index", repo)
    git = ["git", "-c", "user.name=release", "-c", "user.email=release@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "todo v" + VERSION], check=True)
    return f"file://{repo}"


def test_custom_index_add_and_install(release, tmp_path):
    """`kubectl krew index add todo-kube URL` clones the repository (index.go:67-88,
    gitutil/git.go:31-40); `kubectl krew install todo-kube/todo` updates every index
    (update.go:153-180), reads plugins/todo.yaml (install.go:115-131) and downloads the
    archive from its uri (download/fetch.go:43-72) — here the local release host."""
    url = index_repository(release, tmp_path)
    krew = Krew(tmp_path / "krew")
    krew.index_add("todo-kube", url)
    krew.install("todo-kube/todo")
    receipt = yaml.safe_load((tmp_path / "krew/receipts/todo.yaml").read_text())
    assert receipt["status"]["source"]["name"] == "todo-kube"
    assert_kubectl_runs_the_plugin(krew, tmp_path / "home")


def test_index_layout_is_what_krew_reads(release):
    """A custom index is a git repository with plugins/<name>.yaml at its root
    (indexscanner/scanner.go:32-44; krew docs, custom-indexes)."""
    files = sorted(p.relative_to(release.dir / "krew-index").as_posix()
                   for p in (release.dir / "krew-index").rglob("*") if p.is_file())
    assert files == ["README.md", "plugins/todo.yaml"]
    assert validate_manifest_file(release.dir / "krew-index/plugins/todo.yaml") == []


def test_index_name_must_be_safe(tmp_path):
    with pytest.raises(KrewError, match="invalid index name"):
        Krew(tmp_path / "krew").index_add("todo kube", "file:///nowhere")
