"""scripts/build-release.sh: platform archives, sha256 sums, the Helm plugin tarball with a
.prov signed by the key from the environment (checked with Helm's own provenance code), the
krew manifest and index, and which platforms this machine leaves to CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from installlib import BINARIES
from releaselib import TARBALL, VERSION, build_release, host_platform, sha256

PLATFORMS = ["linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64"]


def test_release_has_the_host_archive_and_names_the_ci_built_rest(release):
    host = host_platform()
    assert release.archive.is_file()
    for platform in PLATFORMS:
        if platform != host:
            assert f"note: {platform} is built by CI" in release.run.stderr
            assert not (release.dir / f"todo-kube-{platform}.tar.gz").exists()


def test_platform_archive_holds_what_install_sh_krew_and_the_hook_need(release):
    with tarfile.open(release.archive) as tar:
        modes = {m.name: m.mode for m in tar.getmembers()}
        owners = {(m.uid, m.gid) for m in tar.getmembers()}
    for name in [*BINARIES, "install.sh", "scripts/install-hook.sh"]:
        assert modes[name] & 0o111, name
    assert {"LICENSE", "plugin.yaml", "scripts"} <= set(modes)
    assert owners == {(0, 0)}, "the builder's uid is not in the archive"


def test_sha256sums_cover_every_artefact(release):
    release.need_prov()
    run = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=release.dir, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    listed = {line.split()[1] for line in (release.dir / "SHA256SUMS").read_text().splitlines()}
    assert {release.archive.name, TARBALL, f"{TARBALL}.prov", "krew/todo.yaml",
            "todo-kube-release-key.gpg"} <= listed


def test_plugin_tarball_pins_the_archive_and_binary_sums(release, tmp_path):
    with tarfile.open(release.tarball) as tar:
        pins = dict(reversed(line.split()) for line in
                    tar.extractfile("checksums.txt").read().decode().splitlines())
        url = tar.extractfile("release-url.txt").read().decode().strip()
    assert url == release.url
    host = host_platform()
    assert pins[release.archive.name] == sha256(release.archive)
    subprocess.run(["tar", "-xzf", str(release.archive), "-C", str(tmp_path), "helm-todo-secrets"], check=True)
    assert pins[f"{host}/helm-todo-secrets"] == sha256(tmp_path / "helm-todo-secrets")


def test_prov_is_helm_provenance_and_verifies_with_helm(release):
    """The .prov is a clearsigned message block: metadata, "...", then files: with the
    tarball's sha256 under its name (pkg/provenance/sign.go:291-318@v4.2.4); Helm's own
    Signatory.Verify accepts it with the exported public keyring."""
    helm_python = pytest.importorskip("helm_python")
    release.need_prov()
    text = Path(f"{release.tarball}.prov").read_text()
    assert text.startswith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n")
    body = text.split("\n\n", 1)[1].split("-----BEGIN PGP SIGNATURE-----")[0]
    meta, sums = body.split("\n...\n")
    assert yaml.safe_load(meta)["Name"] == "todo-secrets"
    assert yaml.safe_load(sums) == {"files": {TARBALL: f"sha256:{sha256(release.tarball)}"}}
    result = helm_python.verify(release.tarball, release.keyring)
    assert result["file_hash"] == f"sha256:{sha256(release.tarball)}"
    assert result["signed_by"] == ["todo-kube test release key <release-test@example.invalid>"]


def test_signing_key_id_in_gnupghome_works_too(checkout, release, signing, tmp_path):
    """TODO_SIGNING_KEY may name a key in $GNUPGHOME instead of a key file."""
    if signing is None:
        pytest.skip("GnuPG (gpg) is not installed and tests/run.sh could not install it")
    shutil.copy2(release.archive, tmp_path / release.archive.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TODO_")}
    env.update(GNUPGHOME=str(signing.home), TODO_SIGNING_KEY=signing.uid)
    build_release(checkout, tmp_path, "--finish", env=env)
    helm_python = pytest.importorskip("helm_python")
    assert helm_python.verify(tmp_path / TARBALL, signing.keyring)["file_name"] == TARBALL


def fake_archives(folder: Path, platforms: list[str]) -> dict[str, str]:
    """Small stand-in platform archives holding a helm-todo-secrets; returns their sha256."""
    sums = {}
    for platform in platforms:
        stage = folder / f"stage-{platform}"
        stage.mkdir(parents=True)
        (stage / "helm-todo-secrets").write_text(f"#!/bin/sh\necho {platform}\n")
        archive = folder / f"todo-kube-{platform}.tar.gz"
        subprocess.run(["tar", "-czf", str(archive), "-C", str(stage), "helm-todo-secrets"], check=True)
        sums[platform] = sha256(archive)
    return sums


def test_finish_fills_every_platform_from_collected_archives(checkout, tmp_path):
    """The CI route: one --package-only job per platform, then --finish over the archives."""
    sums = fake_archives(tmp_path, PLATFORMS)
    run = build_release(checkout, tmp_path, "--finish", "--require-all")
    assert "TODO_SIGNING_KEY is not set" in run.stderr
    manifest = yaml.safe_load((tmp_path / "krew/todo.yaml").read_text())
    for p in manifest["spec"]["platforms"]:
        labels = p["selector"]["matchLabels"]
        platform = f"{labels['os']}-{labels['arch']}"
        assert p["sha256"] == sums[platform]
        assert p["uri"] == f"https://github.com/todo-kube/todo-kube/releases/download/v{VERSION}/todo-kube-{platform}.tar.gz"
    with tarfile.open(tmp_path / TARBALL) as tar:
        pins = tar.extractfile("checksums.txt").read().decode()
    for platform in PLATFORMS:
        assert f"{sums[platform]}  todo-kube-{platform}.tar.gz" in pins
        assert f"  {platform}/helm-todo-secrets" in pins
    assert (tmp_path / "krew-index/plugins/todo.yaml").read_text() == (tmp_path / "krew/todo.yaml").read_text()


def test_require_all_and_require_signature_fail_clearly(checkout, tmp_path):
    fake_archives(tmp_path, PLATFORMS[:1])
    run = build_release(checkout, tmp_path, "--finish", "--require-all", check=False)
    assert run.returncode == 1
    assert "--require-all: todo-kube-linux-arm64.tar.gz is missing" in run.stderr
    run = build_release(checkout, tmp_path, "--finish", "--require-signature", check=False)
    assert run.returncode == 1
    assert "--require-signature: TODO_SIGNING_KEY is not set" in run.stderr


def test_cross_builds_each_installed_rustup_target(checkout, tmp_path):
    """A platform whose rustup target is installed is cross-built with cargo --target (here
    rustup and cargo are recording stand-ins; this machine has only the host target)."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "rustup").write_text("#!/bin/sh\necho x86_64-unknown-linux-gnu\necho aarch64-unknown-linux-gnu\n")
    target = tmp_path / "target"
    (tools / "cargo").write_text(f"""#!/bin/sh
echo "$*" >>{tmp_path / 'cargo.log'}
case "$1" in
    metadata) echo '{{"target_directory":"{target}"}}' ;;
    build)
        dir={target}/release
        for a in "$@"; do case "$prev" in --target) dir={target}/$a/release ;; esac; prev=$a; done
        mkdir -p "$dir"
        for b in {' '.join(BINARIES)}; do printf '#!/bin/sh\\necho %s\\n' "$dir" >"$dir/$b"; chmod 755 "$dir/$b"; done ;;
esac
""")
    for f in tools.iterdir():
        f.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TODO_")}
    env["PATH"] = f"{tools}:{env['PATH']}"
    out = tmp_path / "dist"
    run = build_release(checkout, out, "--package-only", env=env)
    calls = (tmp_path / "cargo.log").read_text()
    if host_platform() == "linux-amd64":
        assert "--target aarch64-unknown-linux-gnu" in calls
        assert (out / "todo-kube-linux-arm64.tar.gz").is_file()
        assert "note: darwin-arm64 is built by CI (no aarch64-apple-darwin target installed here)" in run.stderr
    assert (out / f"todo-kube-{host_platform()}.tar.gz").is_file()
    assert not (out / TARBALL).exists(), "--package-only stops at the archives"


def test_versions_must_agree(checkout, tmp_path):
    """The workspace, plugin.yaml and krew versions are one; the script refuses otherwise."""
    other = tmp_path / "co"
    for rel in ("Cargo.toml", "scripts/build-release.sh", "plugins/krew/todo.yaml",
                "plugins/helm-todo-secrets/plugin.yaml"):
        (other / rel).parent.mkdir(parents=True, exist_ok=True)
        (other / rel).write_text((checkout / rel).read_text())
    yml = other / "plugins/helm-todo-secrets/plugin.yaml"
    yml.write_text(yml.read_text().replace(f'version: "{VERSION}"', 'version: "9.9.9"'))
    run = build_release(other, tmp_path / "out", "--finish", check=False)
    assert run.returncode == 1
    assert "plugin.yaml version is not" in run.stderr


def test_help_lists_the_modes(checkout):
    run = subprocess.run(["sh", str(checkout / "scripts/build-release.sh"), "--help"], capture_output=True, text=True)
    assert run.returncode == 0
    for needle in ("--package-only", "--finish", "TODO_SIGNING_KEY", "built by CI"):
        assert needle in run.stdout
