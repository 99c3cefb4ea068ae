"""plugin.yaml under both decoders: Helm 3 decodes strictly and one bad plugin stops every
plugin loading; Helm 4 decodes legacy files leniently and v1 files strictly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helmdouble import Helm, HelmError, load_metadata_v3, load_metadata_v4
from installlib import REPO, clean_env

PLUGIN_YAML = REPO / "plugins/helm-todo-secrets/plugin.yaml"


def test_our_plugin_yaml_loads_under_helm3_strict_rules():
    """yaml.UnmarshalStrict into plugin.Metadata (plugin.go:312-324@v3.21.4)."""
    meta = load_metadata_v3(PLUGIN_YAML.read_text(), str(PLUGIN_YAML))
    assert (meta["name"], meta["version"]) == ("todo-secrets", "0.1.0")
    assert meta["command"] == "$HELM_PLUGIN_DIR/bin/helm-todo-secrets"


def test_our_plugin_yaml_loads_as_a_helm4_legacy_cli_plugin():
    """loadMetadata (loader.go:91-105@v4.2.4): no apiVersion → legacy, type cli/v1
    (fromMetadataLegacy, metadata.go:114-130); version strict semver (metadata_legacy.go:76)."""
    meta = load_metadata_v4(PLUGIN_YAML.read_text(), str(PLUGIN_YAML))
    assert (meta["apiVersion"], meta["type"], meta["version"]) == ("legacy", "cli/v1", "0.1.0")


def plugins_with(tmp_path: Path, extra: str) -> Helm:
    """HELM_PLUGINS holding our plugin and a second plugin whose plugin.yaml is `extra`."""
    home = tmp_path / "home"
    plugins = home / ".local/share/helm/plugins"
    (plugins / "todo-secrets").mkdir(parents=True)
    shutil.copy2(PLUGIN_YAML, plugins / "todo-secrets/plugin.yaml")
    (plugins / "other").mkdir()
    (plugins / "other/plugin.yaml").write_text(extra)
    return clean_env(home, "/usr/bin:/bin")


LEGACY_UNKNOWN_FIELD = "name: other\nversion: 1.0.0\ncommand: echo\nfrobnicate: true\n"
V1_UNKNOWN_FIELD = ("apiVersion: v1\nname: other\ntype: cli/v1\nruntime: subprocess\n"
                    "version: 1.0.0\nfrobnicate: true\n")


def test_helm3_one_bad_plugin_stops_every_plugin(tmp_path):
    """LoadAll returns the first error (plugin.go:342-349@v3.21.4); `helm plugin list` fails
    and load_plugins.go:59-63 registers no plugin command at all."""
    helm = Helm("v3.21.4", plugins_with(tmp_path, LEGACY_UNKNOWN_FIELD))
    with pytest.raises(HelmError, match='unknown field "frobnicate"'):
        helm.list()
    run = helm.run("todo-secrets", ["--help"])
    assert 'unknown command "todo-secrets"' in run.stderr


def test_helm4_ignores_unknown_legacy_fields(tmp_path):
    """Legacy files decode without KnownFields (loader.go:47-54@v4.2.4)."""
    helm = Helm("v4.2.4", plugins_with(tmp_path, LEGACY_UNKNOWN_FIELD))
    assert sorted(r[0] for r in helm.list()[1:]) == ["other", "todo-secrets"]


def test_helm4_skips_a_strictly_bad_v1_plugin_and_keeps_ours(tmp_path):
    """v1 files decode with KnownFields(true) (loader.go:67-73@v4.2.4); a failure is logged
    and skipped (LogIgnorePluginLoadErrorFilterFunc, loader.go:162-165)."""
    helm = Helm("v4.2.4", plugins_with(tmp_path, V1_UNKNOWN_FIELD))
    assert [r[0] for r in helm.list()[1:]] == ["todo-secrets"]
    assert any("failed to load plugin (ignoring)" in line for line in helm.output)


@pytest.mark.parametrize("loader", [load_metadata_v3, load_metadata_v4], ids=["helm3", "helm4"])
def test_duplicate_keys_fail_both(loader):
    with pytest.raises(HelmError, match="already defined"):
        loader("name: a\nname: b\n", "plugin.yaml")


@pytest.mark.parametrize("text,v3_ok,v4_ok", [
    ('name: a\nversion: "1.0"\ncommand: x\n', True, False),       # not strict semver in v4
    ("name: a\ncommand: x\nplatformCommand: [{command: y}]\n", True, False),  # both set
    ("name: a b\ncommand: x\n", False, False),                     # invalid name
    ("name: a\nHooks: {install: x}\ncommand: x\n", True, True),    # Go field name, any case
])
def test_the_two_rule_sets_differ_where_helm_does(text, v3_ok, v4_ok):
    """validatePluginData (plugin.go:258-278@v3.21.4) only warns for command+platformCommand
    and checks no version; MetadataLegacy.Validate (metadata_legacy.go:71-88@v4.2.4) rejects
    both."""
    for loader, ok in ((load_metadata_v3, v3_ok), (load_metadata_v4, v4_ok)):
        if ok:
            loader(text, "plugin.yaml")
        else:
            with pytest.raises(HelmError):
                loader(text, "plugin.yaml")
