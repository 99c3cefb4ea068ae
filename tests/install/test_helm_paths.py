"""Every way the README installs the Helm plugin, under Helm 3.21's and Helm 4.x's rules
(helmdouble.Helm reproduces them; each test names the lines it relies on): a local
directory (a symlink), the release tarball from disk and over HTTP, with and without its
.prov; then `helm plugin list` shows todo-secrets with its version and `helm todo-secrets
--help` runs the binary the install hook put in place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from helmdouble import Helm, HelmError, cache_key, strip_plugin_name, tgz_metadata
from installlib import clean_env
from releaselib import TARBALL, VERSION

# The tags whose rules differ: Helm 3; Helm 4 before and after a missing .prov became an
# error (installer.go:99-102@v4.1.3 → :99-101@v4.1.4); the newest.
TAGS = ["v3.21.4", "v4.0.0", "v4.1.3", "v4.1.4", "v4.2.4"]
HELM4 = [t for t in TAGS if t.startswith("v4")]


def helm_for(tag: str, home: Path, path: str | None = None) -> Helm:
    home.mkdir(parents=True, exist_ok=True)
    env = clean_env(home, path or "/usr/local/bin:/usr/bin:/bin")
    return Helm(tag, env)


def assert_works(helm: Helm) -> None:
    """helm plugin list shows todo-secrets with its version; helm todo-secrets --help runs."""
    rows = helm.list()
    assert [r[:2] for r in rows[1:]] == [["todo-secrets", VERSION]], rows
    run = helm.run("todo-secrets", ["--help"])
    assert run.returncode == 0, run.stderr
    assert "Usage: helm todo-secrets" in run.stdout
    # `helm todo-secrets <TAB>` through plugin.complete (Helm's dynamic plugin completion).
    words, directive = helm.complete("todo-secrets", [""])
    assert {"init", "seal", "rotate", "status", "fetch-cert"} <= {w.split("\t")[0] for w in words}, words
    assert directive & 4, f"no file names after a subcommand word (directive {directive})"
    words, _ = helm.complete("todo-secrets", ["status", "-o", ""])
    assert {w.split("\t")[0] for w in words} == {"text", "json", "yaml"}, words


# ---- a local directory -------------------------------------------------------------------

@pytest.mark.parametrize("tag", TAGS)
def test_local_directory_installs_as_symlink_and_runs(tag, checkout, bin_dir, tmp_path):
    """installFromDirectory symlinks the directory (local_installer.go:88-102@v4.2.4,
    :48-62@v3.21.4); the hook then runs with HELM_PLUGIN_DIR = the link. With no cargo, a
    binary the user names is installed into the checkout's plugin folder, through the link."""
    helm = helm_for(tag, tmp_path / "home")
    helm.env["HELM_TODO_SECRETS_BINARY"] = str(bin_dir / "helm-todo-secrets")
    source = tmp_path / "co"
    shutil.copytree(checkout / "plugins/helm-todo-secrets", source / "plugins/helm-todo-secrets",
                    ignore=shutil.ignore_patterns("bin"))
    plugin = helm.install(str(source / "plugins/helm-todo-secrets"))
    assert plugin.dir.is_symlink() and plugin.dir.resolve() == source / "plugins/helm-todo-secrets"
    assert (source / "plugins/helm-todo-secrets/bin/helm-todo-secrets").is_file()
    if tag.startswith("v4"):
        assert "Installing plugin from local directory (development mode)" in helm.output
    assert_works(helm)


def fake_cargo(tools: Path, bin_dir: Path, log: Path) -> None:
    """A cargo that records its working directory and arguments and "builds" by copying the
    prebuilt binary into <workspace>/target/release."""
    tools.mkdir(parents=True, exist_ok=True)
    script = tools / "cargo"
    script.write_text(f"""#!/bin/sh
echo "$(pwd -P) $*" >>{log}
case "$1" in
    metadata) printf '{{"target_directory":"%s/target"}}\\n' "$(pwd -P)" ;;
    build) mkdir -p target/release && cp {bin_dir}/helm-todo-secrets target/release/ ;;
esac
""")
    script.chmod(0o755)


@pytest.mark.parametrize("tag", ["v3.21.4", "v4.2.4"])
def test_checkout_symlink_builds_in_the_checkout_workspace(tag, checkout, bin_dir, tmp_path):
    """The hook follows the symlink Helm made to the checkout (cd -P) and runs cargo in the
    workspace root, not in Helm's data directory (`$plugin_dir/../..` of the link)."""
    source = tmp_path / "checkout"
    shutil.copytree(checkout / "plugins/helm-todo-secrets", source / "plugins/helm-todo-secrets",
                    ignore=shutil.ignore_patterns("bin"))
    shutil.copy2(checkout / "Cargo.toml", source / "Cargo.toml")
    log = tmp_path / "cargo.log"
    fake_cargo(tmp_path / "tools", bin_dir, log)
    helm = helm_for(tag, tmp_path / "home", f"{tmp_path / 'tools'}:/usr/local/bin:/usr/bin:/bin")
    plugin = helm.install(str(source / "plugins/helm-todo-secrets"))
    calls = log.read_text().splitlines()
    assert calls[0] == f"{source} build --release --locked --quiet -p helm-todo-secrets", calls
    assert (plugin.dir / "bin/helm-todo-secrets").is_file()
    assert_works(helm)


@pytest.mark.parametrize("tag", ["v3.21.4", "v4.2.4"])
def test_checkout_symlink_without_cargo_says_what_to_do(tag, checkout, tmp_path):
    source = tmp_path / "checkout"
    shutil.copytree(checkout / "plugins/helm-todo-secrets", source / "plugins/helm-todo-secrets",
                    ignore=shutil.ignore_patterns("bin"))
    shutil.copy2(checkout / "Cargo.toml", source / "Cargo.toml")
    helm = helm_for(tag, tmp_path / "home")
    with pytest.raises(HelmError, match='plugin install hook for "todo-secrets" exited with error'):
        helm.install(str(source / "plugins/helm-todo-secrets"))
    text = "\n".join(helm.output)
    assert f"cargo is not installed to build helm-todo-secrets in {source}" in text
    assert "HELM_TODO_SECRETS_BINARY" in text


# ---- the release tarball ----------------------------------------------------------------

def release_helm(tag: str, tmp_path: Path, release) -> Helm:
    return helm_for(tag, tmp_path / "home")


@pytest.mark.parametrize("tag", HELM4)
def test_local_tarball_with_provenance_installs_verified(tag, release, tmp_path):
    """installFromArchive (local_installer.go:105-159@v4.2.4) wants <stripPluginName>/
    plugin.yaml; --verify is on by default (plugin_install.go:85) and checks the .prov beside
    the file with Helm's own provenance code. The hook then downloads this platform's archive
    from the release URL and checks its sha256."""
    tarball = release.copy_to(tmp_path / "download")
    helm = release_helm(tag, tmp_path, release)
    plugin = helm.install(str(tarball), keyring=release.keyring)
    assert "Signed by: todo-kube test release key <release-test@example.invalid>" in helm.output
    assert plugin.dir == helm.data_home / "plugins/todo-secrets"
    assert not (plugin.dir / "todo-secrets").exists(), "the hook drops the unused second copy"
    assert any("sha256 verified" in line for line in helm.output), helm.output
    assert_works(helm)
    assert helm.list()[1][4] == "signed"


@pytest.mark.parametrize("tag", HELM4)
def test_local_tarball_without_provenance(tag, release, tmp_path):
    """No .prov beside the tarball: a warning up to v4.1.3 (installer.go:99-102@v4.1.3), an
    error from v4.1.4 (installer.go:99-101@v4.1.4); --verify=false installs on every tag."""
    tarball = release.copy_to(tmp_path / "download", prov=False)
    helm = release_helm(tag, tmp_path, release)
    if helm.prov_required:
        with pytest.raises(HelmError, match=r"no provenance file \(\.prov\) found"):
            helm.install(str(tarball), keyring=release.keyring)
        helm.install(str(tarball), verify=False)
        assert "WARNING: Skipping plugin signature verification" in helm.output
    else:
        helm.install(str(tarball), keyring=release.keyring)
        assert any("No provenance file found" in line for line in helm.output)
    assert_works(helm)
    assert helm.list()[1][4] == "unsigned"


def test_helm3_cannot_install_a_local_tarball(release, tmp_path):
    """Helm 3 treats every existing path as a directory (installer.go:67-75,
    local_installer.go:48-56@v3.21.4); docs/install.md gives the HTTP URL or the unpacked
    directory instead."""
    tarball = release.copy_to(tmp_path / "download")
    helm = release_helm("v3.21.4", tmp_path, release)
    with pytest.raises(HelmError, match="expected plugin to be a folder"):
        helm.install(str(tarball))


def test_helm3_installs_the_unpacked_tarball_directory(release, tmp_path):
    """The Helm 3 route for a downloaded tarball: unpack, install the todo-secrets/ folder."""
    tarball = release.copy_to(tmp_path / "download")
    subprocess.run(["tar", "-xzf", str(tarball), "-C", str(tarball.parent)], check=True)
    helm = release_helm("v3.21.4", tmp_path, release)
    helm.install(str(tarball.parent / "todo-secrets"))
    assert_works(helm)


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("prov", [True, False], ids=["prov", "no-prov"])
def test_http_url_installs(tag, prov, release, tmp_path, server):
    """HTTPInstaller: Helm 3 decides by a HEAD's Content-Type and needs plugin.yaml at the
    archive root (installer.go:96-121, http_installer.go:128-149@v3.21.4); Helm 4 decides by
    the suffix, finds plugin.yaml at the root or one folder down (http_installer.go:78-142,
    plugin_structure.go:30-52@v4.2.4) and fetches <url>.prov for --verify."""
    folder = server.root / f"{tag}-{'prov' if prov else 'noprov'}"
    release.copy_to(folder, prov=prov)
    url = f"{server.url}/{folder.name}/{TARBALL}"
    helm = release_helm(tag, tmp_path, release)
    if not prov and not helm.helm3 and helm.prov_required:
        with pytest.raises(HelmError, match=r"no provenance file"):
            helm.install(url, keyring=release.keyring)
        helm.install(url, verify=False)
    else:
        helm.install(url, keyring=release.keyring)
    assert (helm.data_home / "plugins/todo-secrets/plugin.yaml").is_file()
    assert_works(helm)
    if helm.helm3:
        assert f"HEAD /{folder.name}/{TARBALL}" in server.requests


@pytest.mark.parametrize("tag", HELM4)
def test_tampered_tarball_fails_verification(tag, release, tmp_path):
    """Signatory.Verify compares the tarball's sha256 with the one signed in the .prov
    (pkg/provenance/sign.go:241-278@v4.2.4): a changed byte is refused before installing."""
    tarball = release.copy_to(tmp_path / "download")
    data = bytearray(tarball.read_bytes())
    data[-1] ^= 0xFF
    tarball.write_bytes(bytes(data))
    helm = release_helm(tag, tmp_path, release)
    with pytest.raises(HelmError, match="sha256 sum does not match"):
        helm.install(str(tarball), keyring=release.keyring)
    assert not (helm.data_home / "plugins/todo-secrets").exists()


@pytest.mark.parametrize("tag", HELM4)
def test_unknown_key_fails_verification(tag, release, tmp_path):
    """The signature must come from a key in --keyring (sign.go:281-288@v4.2.4)."""
    release.need_prov()
    tarball = release.copy_to(tmp_path / "download")
    empty = tmp_path / "empty.gpg"
    empty.write_bytes(b"")
    helm = release_helm(tag, tmp_path, release)
    with pytest.raises(HelmError, match="plugin verification failed"):
        helm.install(str(tarball), keyring=empty)


def test_tarball_layout_suits_every_installer(release):
    """One archive for all: plugin.yaml at the root (Helm 3 over HTTP) and under
    todo-secrets/ = stripPluginName(file name) (Helm 4 from disk); only directories and
    regular files, no "./" entry, each directory before its files (Helm 3's extractor uses
    os.Mkdir and creates no parents, http_installer.go:248-262@v3.21.4)."""
    with tarfile.open(release.tarball) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        root_yaml = tar.extractfile("plugin.yaml").read()
        assert tar.extractfile("todo-secrets/plugin.yaml").read() == root_yaml
    assert strip_plugin_name(TARBALL) == "todo-secrets"
    assert all(m.isdir() or m.isreg() for m in members)
    assert not any(n in (".", "./") or n.startswith("./") for n in names)
    seen = set()
    for name in names:
        parent = os.path.dirname(name)
        assert not parent or parent in seen, f"{name} comes before its folder"
        seen.add(name)
    assert tgz_metadata(release.tarball.read_bytes())["name"] == "todo-secrets"


# ---- updating ---------------------------------------------------------------------------

@pytest.mark.parametrize("tag", ["v3.21.4", "v4.2.4"])
def test_plugin_update_fails_and_the_documented_reinstall_works(tag, release, tmp_path, server):
    """`helm plugin update` finds a source only as a VCS checkout at the plugin's resolved
    directory (plugin_update.go:88-113, installer.go:159-170@v4.2.4), which none of our
    installs is; docs/install.md gives uninstall + install instead."""
    release.need_prov()
    url = f"{release.url}/{TARBALL}"
    helm = release_helm(tag, tmp_path, release)
    helm.install(url, keyring=release.keyring)
    with pytest.raises(HelmError, match="cannot get information about plugin source"):
        helm.update("todo-secrets")
    helm.uninstall("todo-secrets")
    assert helm.list()[1:] == []
    assert not (helm.data_home / f"plugins/{TARBALL}").exists() or helm.helm3
    if helm.helm3:
        # Helm 3 extracts into a cache folder it never empties, with os.Mkdir
        # (http_installer.go:102,250@v3.21.4; helm/helm#10402): the same URL twice fails
        # until that folder goes, as docs/install.md says.
        with pytest.raises(HelmError, match="file exists"):
            helm.install(url)
        shutil.rmtree(helm.cache_home / "plugins" / cache_key(url))
    helm.install(url, keyring=release.keyring)
    assert_works(helm)


def test_docs_give_the_update_command_not_helm_plugin_update():
    from installlib import REPO
    docs = (REPO / "docs/install.md").read_text()
    assert "helm plugin uninstall todo-secrets" in docs
    for path in ("install.sh", "plugins/helm-todo-secrets/scripts/install-hook.sh",
                 "plugins/helm-todo-secrets/README.md"):
        text = (REPO / path).read_text()
        assert "helm plugin update" not in text, f"{path} points users to `helm plugin update`"


# ---- install.sh -------------------------------------------------------------------------

@pytest.mark.parametrize("tag", ["v3.21.4", "v4.2.4"])
def test_install_sh_helm_plugin_loads_and_runs(tag, installer):
    """install.sh copies the plugin into HELM_PLUGINS; Helm loads it like any plugin dir."""
    installer.ok()
    helm = Helm(tag, installer.env)
    assert_works(helm)
