"""install.sh end to end: a fake user's HOME, a clean copy of the checkout, the real kubectl."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from installlib import BINARIES, KUBECTL_PLUGINS, Installer, clean_env

HELM_PLUGIN = "todo-secrets"


def kubectl(installer: Installer, prefix: Path, *args: str) -> subprocess.CompletedProcess:
    env = installer.env
    env["PATH"] = f"{prefix}{os.pathsep}{installer.path}"
    return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def default_prefix(installer: Installer) -> Path:
    return installer.home / ".local/bin"


def helm_plugin_dir(installer: Installer) -> Path:
    return installer.home / ".local/share/helm/plugins" / HELM_PLUGIN


def manifest_entries(installer: Installer) -> list[str]:
    manifest = installer.home / ".local/share/todo-kube/install-manifest"
    return manifest.read_text().splitlines()


def test_install_builds_with_cargo(built):
    if built.cargo_run is None:
        pytest.skip("TODO_KUBE_TEST_BIN_DIR given: the cargo build path was not run")
    assert "Building release binaries with cargo" in built.cargo_run.stdout
    for name in BINARIES:
        installed = built.cargo_prefix / name
        assert installed.is_file() and os.access(installed, os.X_OK), name


def test_install_puts_binaries_in_default_prefix(installer):
    run = installer.ok()
    prefix = default_prefix(installer)
    for name in BINARIES:
        path = prefix / name
        assert path.is_file() and os.access(path, os.X_OK), name
        assert f"installed {path}" in run.stdout
    # The new user's PATH lacks the prefix: say how to add it.
    assert f'export PATH="{prefix}:$PATH"' in run.stdout


def test_install_records_every_file_in_manifest(installer):
    installer.ok()
    files = {line[2:] for line in manifest_entries(installer) if line.startswith("f ")}
    prefix = default_prefix(installer)
    assert {str(prefix / b) for b in BINARIES} <= files
    for path in files:
        assert Path(path).is_file(), path


def test_kubectl_plugin_list_shows_plugins_without_warnings(installer):
    installer.ok()
    prefix = default_prefix(installer)
    run = kubectl(installer, prefix, "plugin", "list")
    assert run.returncode == 0, run.stderr
    for name in KUBECTL_PLUGINS:
        assert str(prefix / name) in run.stdout
    assert "warning" not in run.stderr.lower(), run.stderr
    assert "helm-todo-secrets" not in run.stdout


@pytest.mark.parametrize("sub", ["verify", "scale", "preflight"])
def test_kubectl_runs_each_plugin(installer, sub):
    installer.ok()
    prefix = default_prefix(installer)
    run = kubectl(installer, prefix, "todo", sub, "--help")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()
    # The dispatcher route gives the same result as kubectl finding kubectl-todo-<sub>.
    direct = subprocess.run([str(prefix / "kubectl-todo"), sub, "--help"], env=installer.env,
                            capture_output=True, text=True, timeout=60)
    assert (direct.returncode, direct.stdout) == (run.returncode, run.stdout)


def test_kubectl_todo_help_lists_subcommands(installer):
    installer.ok()
    run = kubectl(installer, default_prefix(installer), "todo", "--help")
    assert run.returncode == 0, run.stderr
    for needle in ("verify", "scale", "preflight", "helm todo-secrets"):
        assert needle in run.stdout


def test_kubectl_todo_unknown_subcommand_exits_2(installer):
    installer.ok()
    run = kubectl(installer, default_prefix(installer), "todo", "frobnicate")
    assert run.returncode == 2
    assert 'unknown subcommand "frobnicate"' in run.stderr


def plugin_yaml_in_checkout(installer: Installer) -> Path:
    path = installer.checkout / "plugins/helm-todo-secrets/plugin.yaml"
    if not path.is_file():
        pytest.skip("plugins/helm-todo-secrets/plugin.yaml is not in the checkout yet")
    return path


def test_helm_plugin_layout_is_legacy_cli_plugin(installer):
    plugin_yaml_in_checkout(installer)
    installer.ok()
    pdir = helm_plugin_dir(installer)
    meta = yaml.safe_load((pdir / "plugin.yaml").read_text())
    assert meta["name"] == HELM_PLUGIN
    assert "apiVersion" not in meta, "the legacy format loads as a CLI plugin on Helm 3 and 4"
    assert "downloaders" not in meta
    binary = pdir / "bin/helm-todo-secrets"
    assert binary.is_file() and os.access(binary, os.X_OK)
    # Hooks run from the plugin directory; the files they name must be there.
    for hook in (meta.get("hooks") or {}).values():
        for word in shlex.split(hook):
            if word.startswith("scripts/"):
                assert (pdir / word).is_file(), word


def helm_plugin_env(installer: Installer, pdir: Path) -> dict[str, str]:
    """The environment Helm gives a plugin (helm/pkg/cli EnvSettings + plugin runtime)."""
    env = installer.env
    env.update(
        HELM_PLUGIN_NAME=HELM_PLUGIN,
        HELM_PLUGIN_DIR=str(pdir),
        HELM_PLUGINS=str(pdir.parent),
        HELM_BIN="helm",
        HELM_NAMESPACE="todo",
        HELM_KUBECONTEXT="",
        HELM_DEBUG="false",
        HELM_REGISTRY_CONFIG=str(installer.home / ".config/helm/registry/config.json"),
        HELM_REPOSITORY_CACHE=str(installer.home / ".cache/helm/repository"),
        HELM_REPOSITORY_CONFIG=str(installer.home / ".config/helm/repositories.yaml"),
        HELM_DATA_HOME=str(installer.home / ".local/share/helm"),
        HELM_CONFIG_HOME=str(installer.home / ".config/helm"),
        HELM_CACHE_HOME=str(installer.home / ".cache/helm"),
        KUBECONFIG=str(installer.home / ".kube/config"),
    )
    return env


def plugin_command(meta: dict) -> str:
    """The command Helm runs: platformCommand for this OS/arch if any, else command."""
    for pc in meta.get("platformCommand") or []:
        if pc.get("os") in (None, "", "linux") and pc.get("arch") in (None, "", "amd64", "arm64"):
            return " ".join([pc["command"], *pc.get("args", [])])
    return meta["command"]


def test_helm_plugin_command_runs_with_helm_env(installer):
    plugin_yaml_in_checkout(installer)
    installer.ok()
    pdir = helm_plugin_dir(installer)
    meta = yaml.safe_load((pdir / "plugin.yaml").read_text())
    env = helm_plugin_env(installer, pdir)
    # Helm expands $VARS in the command with the plugin environment, then splits it.
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        argv = shlex.split(os.path.expandvars(plugin_command(meta)))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert Path(argv[0]).resolve() == (pdir / "bin/helm-todo-secrets").resolve()
    run = subprocess.run([*argv, "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()


def test_install_asks_helm_for_its_plugin_dir(installer, tmp_path):
    plugin_yaml_in_checkout(installer)
    fake = tmp_path / "fakebin"
    fake.mkdir()
    plugins = tmp_path / "helm-plugins-from-helm-env"
    helm = fake / "helm"
    helm.write_text(f'#!/bin/sh\n[ "$*" = "env HELM_PLUGINS" ] && echo {plugins} && exit 0\nexit 1\n')
    helm.chmod(0o755)
    env = clean_env(installer.home, f"{fake}{os.pathsep}{installer.path}")
    installer.ok(env=env)
    assert (plugins / HELM_PLUGIN / "plugin.yaml").is_file()
    assert (plugins / HELM_PLUGIN / "bin/helm-todo-secrets").is_file()


def test_install_is_idempotent(installer):
    installer.ok("--completions")
    first_tree, first_manifest = installer.tree(), manifest_entries(installer)
    installer.ok("--completions")
    assert installer.tree() == first_tree
    assert manifest_entries(installer) == first_manifest


def test_uninstall_removes_exactly_what_was_installed(installer):
    keep = installer.home / ".local/share/keep-me"
    keep.parent.mkdir(parents=True)
    keep.write_text("user data")
    before = installer.tree()
    installer.ok("--completions")
    assert installer.tree() - before
    run = installer.ok("--uninstall", bin_dir=False)
    assert "Uninstalled" in run.stdout
    assert installer.tree() == before
    assert keep.read_text() == "user data"


def test_uninstall_after_two_prefixes_removes_both(installer, tmp_path):
    installer.ok("--prefix", str(tmp_path / "one"))
    installer.ok("--prefix", str(tmp_path / "two"))
    installer.ok("--uninstall", bin_dir=False)
    assert not (tmp_path / "one").exists()
    assert not (tmp_path / "two").exists()


def test_uninstall_without_install_is_harmless(installer):
    run = installer.ok("--uninstall", bin_dir=False)
    assert "Nothing to uninstall" in run.stdout


def test_completions_are_installed_and_parse(installer):
    installer.ok("--completions")
    share = installer.home / ".local/share"
    bash = share / "bash-completion/completions/kubectl-todo"
    assert subprocess.run(["bash", "-n", str(bash)]).returncode == 0
    assert (share / "zsh/site-functions/_kubectl-todo").is_file()
    assert (installer.home / ".config/fish/completions/kubectl-todo.fish").is_file()


def test_kubectl_completes_todo_subcommands(installer):
    installer.ok("--completions")
    run = kubectl(installer, default_prefix(installer), "__complete", "todo", "ve")
    assert run.returncode == 0, run.stderr
    names = [line.split("\t")[0] for line in run.stdout.splitlines()]
    assert names.count("verify") == 1, run.stdout
    assert "scale" not in names
    assert names[-1] == ":4", run.stdout


def path_without_cargo(installer: Installer, tmp_path: Path) -> str:
    """The test PATH's tools, less cargo, rustc and rustup wherever the system keeps them."""
    tools = tmp_path / "no-cargo-bin"
    tools.mkdir()
    for folder in installer.path.split(os.pathsep):
        for entry in sorted(Path(folder).glob("*")) if Path(folder).is_dir() else []:
            if entry.name not in ("cargo", "rustc", "rustup") and not (tools / entry.name).exists():
                (tools / entry.name).symlink_to(entry)
    return str(tools)


def test_missing_cargo_fails_clearly(installer, tmp_path):
    path = path_without_cargo(installer, tmp_path)
    assert shutil.which("cargo", path=path) is None
    run = installer.run(bin_dir=False, env=clean_env(installer.home, path))
    assert run.returncode == 1
    assert "cargo is not installed" in run.stderr
    assert "hint: install Rust from https://rustup.rs" in run.stderr
    assert installer.tree() == set(), "a failed install leaves nothing behind"


def test_prefix_that_cannot_be_created_fails_clearly(installer, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    run = installer.run("--prefix", str(blocker / "bin"))
    assert run.returncode == 1
    assert f"cannot create the prefix {blocker}/bin: {blocker} is not a directory" in run.stderr
    assert "--prefix" in run.stderr.split("hint:")[1]


def test_read_only_prefix_fails_clearly(installer, tmp_path):
    if os.geteuid() == 0:
        # root writes through permission bits; /proc refuses new files even to root.
        prefix, restore = Path("/proc/todo-kube-test/bin"), None
    else:
        prefix = restore = tmp_path / "ro"
        prefix.mkdir()
        prefix.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        run = installer.run("--prefix", str(prefix))
    finally:
        if restore:
            restore.chmod(0o755)
    assert run.returncode == 1
    assert f"the prefix {prefix} is not writable" in run.stderr
    assert "hint: choose a directory you can write to with --prefix" in run.stderr
    assert installer.tree() == set()


def test_unknown_option_is_usage_error(installer):
    run = installer.run("--frobnicate", bin_dir=False)
    assert run.returncode == 2
    assert "unknown option: --frobnicate" in run.stderr


def test_install_uses_release_archive_beside_it(installer, release, tmp_path):
    archive = release.archive
    folder = tmp_path / "download"
    folder.mkdir()
    shutil.copy2(installer.checkout / "install.sh", folder / "install.sh")
    shutil.copy2(archive, folder / archive.name)
    # With no binaries beside it, install.sh prefers the archive to building with cargo.
    run = installer.ok(bin_dir=False, script=folder / "install.sh")
    assert f"Unpacking {folder / archive.name}" in run.stdout
    for name in BINARIES:
        assert (default_prefix(installer) / name).is_file()


def test_unpacked_archive_installs_itself(installer, release, tmp_path):
    archive = release.archive
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(unpacked)], check=True)
    run = installer.ok(bin_dir=False, script=unpacked / "install.sh")
    assert "Using the binaries beside install.sh" in run.stdout
    assert (default_prefix(installer) / "kubectl-todo").is_file()
    if (unpacked / "plugin.yaml").is_file():
        assert (helm_plugin_dir(installer) / "plugin.yaml").is_file()


def test_help_documents_options(installer):
    run = installer.ok("--help", bin_dir=False)
    for flag in ("--prefix", "--uninstall", "--demo", "--completions", "--helm-plugins"):
        assert flag in run.stdout
