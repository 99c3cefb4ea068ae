"""A test double of Helm's plugin commands (install, list, uninstall, update, running a
plugin), reproducing Helm 3.21 and Helm 4.0-4.2 rule by rule.

There is no helm binary here and helm-python-sdk has no plugin API, so this module re-states
what the Go code does; each function names the lines it reproduces as file:line@tag in
helm/helm. Signature verification is not re-stated: it runs Helm's own Go code
(pkg/provenance Signatory.Verify) through helm-python-sdk's `verify`, which calls it with the
same (archive bytes, .prov bytes, file name) as internal/plugin/verify.go:27@v4.2.4.

Where the tags differ, `Helm.tag` decides: v3.21.4 (pkg/plugin, cmd/helm) or v4.x
(internal/plugin, pkg/cmd). Between v4.0.0 and v4.2.4 the installers differ only in error
wording, except that a missing .prov is a warning up to v4.1.3 and an error from v4.1.4
(internal/plugin/installer/installer.go:99-101@v4.1.4, :99-102@v4.1.3).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PLUGIN_FILE = "plugin.yaml"
EXTRACTOR_SUFFIXES = (".tar.gz", ".tgz")  # installer/extractor.go:44-47@v4.2.4
VALID_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # plugin.go:255@v3.21.4
# Masterminds semver StrictNewVersion (metadata.go:28-31@v4.2.4)
STRICT_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?"
    r"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
# kvargs Helm consumes before running a plugin (load_plugins.go:170-209@v4.2.4)
HELM_KV_FLAGS = ["--kube-context", "--namespace", "-n", "--kubeconfig", "--kube-apiserver",
                 "--kube-token", "--kube-as-user", "--kube-as-group", "--kube-ca-file",
                 "--registry-config", "--repository-cache", "--repository-config",
                 "--kube-insecure-skip-tls-verify", "--kube-tls-server-name"]


class HelmError(Exception):
    """What Helm prints after `Error: ` and exits 1 for."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML that rejects duplicate keys, as go-yaml v2 strict and go-yaml v3 both do."""


def _mapping(loader, node, deep=False):
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise yaml.constructor.ConstructorError(None, None, f"mapping key {sorted(dup)[0]!r} already defined", node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_yaml(text: str):
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        raise HelmError(f"yaml: {err}") from err


# ---- plugin.yaml decoding --------------------------------------------------------------

# Helm 3's Metadata JSON fields (plugin.go:56-142@v3.21.4); `Hooks` has no tag, so its key is
# "Hooks", matched case-insensitively by encoding/json.
V3_FIELDS = {"name": str, "version": str, "usage": str, "description": str,
             "platformcommand": list, "command": str, "ignoreflags": bool,
             "platformhooks": dict, "hooks": dict, "downloaders": list, "usetunnel": bool}
V3_PLATFORM_COMMAND = {"os", "arch", "command", "args"}
V3_DOWNLOADER = {"protocols", "command"}
V1_FIELDS = {"apiVersion", "name", "type", "runtime", "version", "sourceURL", "config",
             "runtimeConfig"}  # metadata_v1.go:26-47@v4.2.4


def _typed(value, kind, where: str) -> None:
    if value is None:
        return
    if kind is str and isinstance(value, (str, int, float, bool)):
        return  # sigs.k8s.io/yaml turns a scalar into the string the target field wants
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise HelmError(f"error unmarshaling JSON: cannot unmarshal {type(value).__name__} into {where}")


def _strict_keys(obj: dict, allowed: set[str], where: str) -> None:
    for key in obj:
        if str(key).lower() not in {a.lower() for a in allowed}:
            raise HelmError(f'error unmarshaling JSON: json: unknown field "{key}" in {where}')


def load_metadata_v3(text: str, path: str) -> dict:
    """pkg/plugin/plugin.go:311-324@v3.21.4 (yaml.UnmarshalStrict) and validatePluginData
    :258-278: unknown fields, duplicate keys and wrong types are errors; the name must match
    ^[A-Za-z0-9_-]+$."""
    data = parse_yaml(text) or {}
    if not isinstance(data, dict):
        raise HelmError(f'failed to load plugin at "{path}": not a mapping')
    try:
        _strict_keys(data, set(V3_FIELDS), "plugin.Metadata")
        for key, value in data.items():
            _typed(value, V3_FIELDS[key.lower()], f"Metadata.{key}")
        for pc in data.get("platformCommand") or []:
            _strict_keys(pc, V3_PLATFORM_COMMAND, "plugin.PlatformCommand")
        for d in data.get("downloaders") or []:
            _strict_keys(d, V3_DOWNLOADER, "plugin.Downloaders")
    except HelmError as err:
        raise HelmError(f'failed to load plugin at "{path}": {err}') from err
    if not VALID_NAME.match(str(data.get("name") or "")):
        raise HelmError(f'invalid plugin name at "{path}"')
    return {"name": str(data["name"]), "version": str(data.get("version") or ""),
            "description": data.get("description") or "", "usage": data.get("usage") or "",
            "command": data.get("command") or "", "platformCommand": data.get("platformCommand") or [],
            "hooks": data.get("hooks") or data.get("Hooks") or {}, "apiVersion": "legacy",
            "type": "cli/v1", "ignoreFlags": bool(data.get("ignoreFlags"))}


def load_metadata_v4(text: str, path: str) -> dict:
    """internal/plugin/loader.go:91-105@v4.2.4: peek apiVersion; "" is legacy, decoded
    leniently (:47-65, unknown fields ignored) and validated by MetadataLegacy.Validate
    (metadata_legacy.go:71-106); "v1" is decoded with KnownFields(true) (:67-89)."""
    data = parse_yaml(text) or {}
    if not isinstance(data, dict):
        raise HelmError(f'failed to load plugin "{path}": not a mapping')
    api = data.get("apiVersion") or ""
    where = f'failed to load plugin "{path}"'
    if api == "v1":
        unknown = sorted(set(data) - V1_FIELDS)
        if unknown:
            raise HelmError(f"{where}: yaml: field {unknown[0]} not found in type plugin.MetadataV1")
        for req in ("type", "runtime"):
            if not data.get(req):
                raise HelmError(f"{where}: empty {req} field")
    elif api != "":
        raise HelmError(f'{where}: invalid plugin apiVersion: "{api}"')
    for key in ("name", "version", "usage", "description", "command"):
        _typed(data.get(key), str, f"MetadataLegacy.{key}")
    name, version = str(data.get("name") or ""), str(data.get("version") or "")
    if not VALID_NAME.match(name):
        raise HelmError(f'{where}: invalid plugin name "{name}": must contain only a-z, A-Z, 0-9, _ and -')
    if version and not STRICT_SEMVER.match(version):
        raise HelmError(f'{where}: invalid plugin version "{version}": must be valid semver')
    if data.get("platformCommand") and data.get("command"):
        raise HelmError(f"{where}: both platformCommand and command are set")
    if data.get("platformHooks") and data.get("hooks"):
        raise HelmError(f"{where}: both platformHooks and hooks are set")
    ptype = data.get("type") or ("getter/v1" if data.get("downloaders") else "cli/v1")
    return {"name": name, "version": version, "description": data.get("description") or "",
            "usage": data.get("usage") or "", "command": data.get("command") or "",
            "platformCommand": data.get("platformCommand") or [], "hooks": data.get("hooks") or {},
            "apiVersion": "legacy" if api == "" else api, "type": ptype,
            "ignoreFlags": bool(data.get("ignoreFlags")), "sourceURL": data.get("sourceURL") or ""}


# ---- archives --------------------------------------------------------------------------

def strip_plugin_name(name: str) -> str:
    """installer/extractor.go:184-195@v4.2.4 (http_installer.go:111-122@v3.21.4): drop the
    archive suffix, then a trailing -<digits>.<anything>."""
    stripped = ""
    for suffix in EXTRACTOR_SUFFIXES:
        if name.endswith(suffix):
            stripped = name[: -len(suffix)]
            break
    return re.sub(r"^(.*)-[0-9]+\..*$", r"\1", stripped, flags=re.S)


def clean_join(root: Path, dest: str) -> Path:
    """installer/extractor.go:92-125@v4.2.4: ':' , '..' and absolute names are refused."""
    if ":" in dest:
        raise HelmError("path contains ':', which is illegal")
    dest = dest.replace("\\", "/")
    if ".." in dest.split("/"):
        raise HelmError("path contains '..', which is illegal")
    if dest.startswith("/"):
        raise HelmError("path is absolute, which is illegal")
    return Path(os.path.normpath(root / dest))


def extract(data: bytes, target: Path, helm3: bool) -> None:
    """TarGzExtractor.Extract: installer/extractor.go:130-182@v4.2.4 (MkdirAll for
    directories and for a file's parent) and http_installer.go:223-271@v3.21.4 (os.Mkdir: a
    directory entry that exists, "./" included, is an error, and a file's parent directory
    must come earlier in the archive). Only directories and regular files are allowed."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            path = clean_join(target, member.name)
            if member.isdir():
                if helm3:
                    try:
                        path.mkdir()
                    except FileExistsError as err:
                        raise HelmError(f"mkdir {path}: file exists") from err
                else:
                    path.mkdir(parents=True, exist_ok=True)
            elif member.isreg():
                if not helm3:
                    path.parent.mkdir(parents=True, exist_ok=True)
                elif not path.parent.is_dir():
                    raise HelmError(f"open {path}: no such file or directory")
                with open(path, "wb") as out:
                    out.write(tar.extractfile(member).read())
                path.chmod(member.mode & 0o7777)
            else:
                raise HelmError(f"unknown type: {member.type!r} in {member.name}")


def tgz_metadata(data: bytes) -> dict:
    """internal/plugin/sign.go:56-91@v4.2.4: the first entry whose base name is plugin.yaml."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            if os.path.basename(member.name) == PLUGIN_FILE:
                return load_metadata_v4(tar.extractfile(member).read().decode(), member.name)
    raise HelmError("failed to extract plugin metadata from tarball: plugin.yaml not found in tarball")


def detect_plugin_root(extract_dir: Path) -> Path:
    """installer/plugin_structure.go:30-52@v4.2.4: plugin.yaml at the root, else in one
    immediate subdirectory (os.ReadDir order: by name)."""
    if (extract_dir / PLUGIN_FILE).exists():
        return extract_dir
    for entry in sorted(extract_dir.iterdir(), key=lambda p: p.name):
        if entry.is_dir() and (entry / PLUGIN_FILE).exists():
            return entry
    raise HelmError(f"plugin.yaml not found in {extract_dir} or its immediate subdirectories")


def cache_key(url: str) -> str:
    """internal/plugin/cache/cache.go:33-66@v4.2.4 (scheme-host-path with / and : as -)."""
    from urllib.parse import urlparse
    u = urlparse(url)
    key = (f"{u.scheme}-" if u.scheme else "") + (f"{u.username}-" if u.username else "")
    key += (u.hostname or "") + (f":{u.port}" if u.port else "") + u.path.replace("/", "-")
    return key.replace(":", "-")


def go_expand(text: str, env: dict[str, str]) -> str:
    """Go's os.Expand: $NAME and ${NAME}; an unset variable becomes empty."""
    return re.sub(r"\$\{([^}]*)\}|\$([A-Za-z0-9_]+|[*#$@!?-])",
                  lambda m: env.get(m.group(1) or m.group(2), ""), text)


# ---- the double --------------------------------------------------------------------------

@dataclass
class Plugin:
    dir: Path
    meta: dict


@dataclass
class Helm:
    """One Helm release (tag) run by one user (env holds HOME and the rest of os.Environ)."""

    tag: str
    env: dict[str, str]
    output: list[str] = field(default_factory=list)

    @property
    def helm3(self) -> bool:
        return self.tag.startswith("v3.")

    @property
    def prov_required(self) -> bool:
        major, minor, patch = (int(x) for x in self.tag[1:].split("."))
        return (major, minor, patch) >= (4, 1, 4)

    # helmpath (pkg/helmpath/lazypath.go, home_xdg.go@v4.2.4): HELM_*_HOME, else XDG, else ~.
    def _home(self, helm_var: str, xdg_var: str, default: str) -> Path:
        if self.env.get(helm_var):
            return Path(self.env[helm_var])
        base = self.env.get(xdg_var) or str(Path(self.env["HOME"]) / default)
        return Path(base) / "helm"

    @property
    def data_home(self) -> Path:
        return self._home("HELM_DATA_HOME", "XDG_DATA_HOME", ".local/share")

    @property
    def cache_home(self) -> Path:
        return self._home("HELM_CACHE_HOME", "XDG_CACHE_HOME", ".cache")

    @property
    def plugins_dir(self) -> Path:
        """pkg/cli/environment.go:110@v4.2.4: HELM_PLUGINS, else DataPath("plugins")."""
        return Path(self.env.get("HELM_PLUGINS") or self.data_home / "plugins")

    def say(self, line: str) -> None:
        self.output.append(line)

    # -- loading --

    def load_dir(self, directory: Path) -> Plugin:
        """LoadDir: plugin.go:312-324@v3.21.4, internal/plugin/loader.go:143-160@v4.2.4."""
        path = directory / PLUGIN_FILE
        try:
            text = path.read_text()
        except OSError as err:
            raise HelmError(f'failed to read plugin at "{path}": {err}') from err
        loader = load_metadata_v3 if self.helm3 else load_metadata_v4
        return Plugin(directory, loader(text, str(path)))

    def load_all(self) -> list[Plugin]:
        """LoadAll (plugin.go:329-351@v3.21.4: the first bad plugin fails every plugin) and
        LoadAllDir with LogIgnorePluginLoadErrorFilterFunc (loader.go:162-200@v4.2.4: a bad
        plugin is skipped with a warning); then detectDuplicates."""
        found = []
        for yml in sorted(self.plugins_dir.glob(f"*/{PLUGIN_FILE}")):
            try:
                found.append(self.load_dir(yml.parent))
            except HelmError as err:
                if self.helm3:
                    raise
                self.say(f'level=WARN msg="failed to load plugin (ignoring)" plugin_yaml={yml} error="{err}"')
        names: dict[str, Path] = {}
        for p in found:
            if p.meta["name"] in names:
                raise HelmError(f'two plugins claim the name "{p.meta["name"]}" at "{names[p.meta["name"]]}" and "{p.dir}"')
            names[p.meta["name"]] = p.dir
        return found

    # -- install --

    def install(self, source: str, *, verify: bool = True, keyring: Path | None = None) -> Plugin:
        """`helm plugin install`: cmd/helm/plugin_install.go:69-90@v3.21.4 (no --verify) and
        pkg/cmd/plugin_install.go:122-184@v4.2.4 (verify by default; a local directory is
        installed unverified, "development mode")."""
        kind = self._source_kind(source)
        if self.helm3:
            should_verify = False
        elif kind == "dir":
            should_verify = False
            self.say("Installing plugin from local directory (development mode)")
        elif verify:
            if kind not in ("archive", "http") or (kind == "http" and not source.endswith(EXTRACTOR_SUFFIXES)):
                raise HelmError("plugin source does not support verification. Use --verify=false to skip verification")
            self.say("Verifying plugin signature...")
            should_verify = True
        else:
            should_verify = False
            self.say("WARNING: Skipping plugin signature verification")
        path = self._install_path(source, kind)
        # installer.go:74-82@v4.2.4, :48-54@v3.21.4
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            raise HelmError("plugin already exists")
        if should_verify:
            self._verify(*self._verification_data(source, kind), keyring)
        {"dir": self._install_dir, "archive": self._install_archive, "http": self._install_http,
         "vcs": self._install_vcs}[kind](source, path)
        try:
            plugin = self.load_dir(path)
        except HelmError as err:
            raise HelmError(f"plugin is installed but unusable: {err}") from err
        self.run_hook(plugin, "install")
        self.say(f"Installed plugin: {plugin.meta['name']}")
        return plugin

    def _source_kind(self, source: str) -> str:
        """NewForSource: installer.go:138-156@v4.2.4 (oci://, local path, HTTP archive, else
        VCS) and :67-75@v3.21.4; a local path is an archive by suffix only in v4
        (local_installer.go:55-75@v4.2.4)."""
        if os.path.exists(source):
            if not self.helm3 and source.endswith(EXTRACTOR_SUFFIXES):
                return "archive"
            return "dir"
        if self._is_remote_http_archive(source):
            return "http"
        return "vcs"

    def _is_remote_http_archive(self, source: str) -> bool:
        """installer.go:182-216@v4.2.4 (suffix first, then HEAD) and :96-121@v3.21.4 (HEAD
        only: the server's Content-Type must be a gzip type, extractor.go:52-62)."""
        if not source.startswith(("http://", "https://")):
            return False
        if not self.helm3 and source.endswith(EXTRACTOR_SUFFIXES):
            return True
        try:
            with urllib.request.urlopen(urllib.request.Request(source, method="HEAD"), timeout=30) as res:
                ctype = (res.headers.get("content-type") or "").lower()
        except (urllib.error.URLError, OSError):
            return False
        return ctype in ("application/gzip", "application/x-gzip", "application/x-tgz", "application/x-gtar")

    def _install_path(self, source: str, kind: str) -> Path:
        """base.go:40-45, local_installer.go:168-180, http_installer.go:151-156@v4.2.4: a
        directory or VCS source by its base name, an archive by stripPluginName; the archive
        installers use DataPath("plugins"), not HELM_PLUGINS (http_installer.go:157-163
        @v3.21.4 too)."""
        base = os.path.basename(os.path.abspath(source) if kind in ("dir", "archive") else source)
        if kind == "archive" or kind == "http":
            return self.data_home / "plugins" / strip_plugin_name(base)
        if kind == "dir" and not self.helm3:  # LocalInstaller.Path overrides base.Path
            return self.data_home / "plugins" / base
        return self.plugins_dir / base

    def _install_dir(self, source: str, path: Path) -> None:
        """installFromDirectory: local_installer.go:88-102@v4.2.4, Install :48-62@v3.21.4."""
        src = Path(os.path.abspath(source))
        if not src.is_dir():
            raise HelmError("expected plugin to be a folder" if self.helm3 else
                            "expected plugin to be a directory (containing a file 'plugin.yaml')")
        if not (src / PLUGIN_FILE).exists():
            raise HelmError("plugin metadata (plugin.yaml) missing")
        path.symlink_to(src)

    def _save_tarball(self, data: bytes, prov: bytes | None) -> None:
        """local_installer.go:112-134 and http_installer.go:88-118@v4.2.4: keep the tarball
        (and .prov) as DataPath("plugins", "<name>-<version>.tgz")."""
        meta = tgz_metadata(data)
        tarball = self.data_home / "plugins" / f"{meta['name']}-{meta['version']}.tgz"
        tarball.parent.mkdir(parents=True, exist_ok=True)
        tarball.write_bytes(data)
        if prov is not None:
            Path(f"{tarball}.prov").write_bytes(prov)

    def _install_archive(self, source: str, path: Path) -> None:
        """installFromArchive: local_installer.go:105-159@v4.2.4: the plugin must be in
        <stripPluginName(file name)>/plugin.yaml inside the archive."""
        src = Path(os.path.abspath(source))
        data = src.read_bytes()
        prov = Path(f"{src}.prov")
        self._save_tarball(data, prov.read_bytes() if prov.exists() else None)
        with tempfile.TemporaryDirectory(prefix="helm-plugin-extract-") as tmp:
            extract(data, Path(tmp), helm3=False)
            plugin_dir = Path(tmp) / strip_plugin_name(src.name)
            if not (plugin_dir / PLUGIN_FILE).exists():
                raise HelmError(f"plugin.yaml not found in expected directory {plugin_dir}: "
                                f"stat {plugin_dir / PLUGIN_FILE}: no such file or directory")
            shutil.copytree(plugin_dir, path, symlinks=True)

    def _get(self, url: str) -> bytes:
        """The http getter: pkg/getter/httpgetter.go@v4.2.4 (anything but 200 is an error)."""
        try:
            with urllib.request.urlopen(url, timeout=60) as res:
                return res.read()
        except urllib.error.HTTPError as err:
            raise HelmError(f"failed to fetch {url} : {err.code} {err.reason}") from err

    def _install_http(self, source: str, path: Path) -> None:
        """HTTPInstaller.Install: http_installer.go:78-142@v4.2.4 (detectPluginRoot) and
        :128-149@v3.21.4 (plugin.yaml must be at the archive root)."""
        data = self._get(source)
        cache = self.cache_home / "plugins" / cache_key(source)
        if self.helm3:
            extract(data, cache, helm3=True)
            if not (cache / PLUGIN_FILE).exists():
                raise HelmError("plugin metadata (plugin.yaml) missing")
            root = cache
        else:
            try:
                prov = self._get(source + ".prov")
            except HelmError:
                prov = None
            self._save_tarball(data, prov)
            extract(data, cache, helm3=False)
            root = detect_plugin_root(cache)
        shutil.copytree(root, path, symlinks=True)

    def _install_vcs(self, source: str, path: Path) -> None:
        """VCSInstaller.Install: vcs_installer.go:75-96@v4.2.4: clone, plugin.yaml at the
        repository root, copy the clone."""
        clone = self.cache_home / "plugins" / cache_key(source)
        if not clone.exists():
            run = subprocess.run(["git", "clone", "--quiet", source, str(clone)], capture_output=True, text=True)
            if run.returncode != 0:
                raise HelmError(f"cannot get information about plugin source {source!r}: {run.stderr.strip()}")
        if not (clone / PLUGIN_FILE).exists():
            raise HelmError("plugin metadata (plugin.yaml) missing")
        shutil.copytree(clone, path, symlinks=True)

    def _verification_data(self, source: str, kind: str) -> tuple[bytes, bytes | None, str]:
        """GetVerificationData: local_installer.go:189-219, http_installer.go:165-192@v4.2.4."""
        if kind == "archive":
            prov = Path(os.path.abspath(source) + ".prov")
            return Path(source).read_bytes(), prov.read_bytes() if prov.exists() else None, os.path.basename(source)
        try:
            prov = self._get(source + ".prov")
        except HelmError:
            prov = None
        return self._get(source), prov, os.path.basename(source)

    def _verify(self, archive: bytes, prov: bytes | None, filename: str, keyring: Path | None) -> None:
        """InstallWithOptions: installer.go:87-119@v4.2.4; the signature check is Helm's own
        provenance code (helm-python-sdk verify → Signatory.Verify)."""
        if not prov:
            if self.prov_required:
                raise HelmError("plugin verification failed: no provenance file (.prov) found")
            self.say("WARNING: No provenance file found for plugin. Plugin is not signed and cannot be verified.")
            return
        import helm_python  # real Helm v4 as a library
        keyring = keyring or self.default_keyring()
        with tempfile.TemporaryDirectory() as tmp:
            archive_path = Path(tmp) / filename
            archive_path.write_bytes(archive)
            Path(f"{archive_path}.prov").write_bytes(prov)
            try:
                result = helm_python.verify(archive_path, keyring)
            except Exception as err:  # the library's HelmError family
                raise HelmError(f"plugin verification failed: {err}") from err
        for signer in result.get("signed_by") or []:
            self.say(f"Signed by: {signer}")
        self.say(f"Plugin Hash Verified: {result['file_hash']}")

    def default_keyring(self) -> Path:
        """defaultKeyring: pkg/cmd/dependency_build.go:95-100@v4.2.4."""
        if "GNUPGHOME" in self.env:
            return Path(self.env["GNUPGHOME"]) / "pubring.gpg"
        return Path(self.env["HOME"]) / ".gnupg/pubring.gpg"

    # -- hooks, running --

    def plugin_env(self, plugin: Plugin, namespace: str = "default", kubeconfig: str = "") -> dict[str, str]:
        """os.Environ plus EnvSettings.EnvVars (pkg/cli/environment.go:242-273@v4.2.4) plus
        HELM_PLUGIN_NAME and HELM_PLUGIN_DIR (runtime_subprocess.go:201-205@v4.2.4,
        plugin.go:370-377@v3.21.4)."""
        env = dict(self.env)
        config_home = self._home("HELM_CONFIG_HOME", "XDG_CONFIG_HOME", ".config")
        env.update({
            "HELM_BIN": "helm", "HELM_CACHE_HOME": str(self.cache_home),
            "HELM_CONFIG_HOME": str(config_home), "HELM_DATA_HOME": str(self.data_home),
            "HELM_DEBUG": "false", "HELM_PLUGINS": str(self.plugins_dir),
            "HELM_REGISTRY_CONFIG": str(config_home / "registry/config.json"),
            "HELM_REPOSITORY_CACHE": str(self.cache_home / "repository"),
            "HELM_REPOSITORY_CONFIG": str(config_home / "repositories.yaml"),
            "HELM_NAMESPACE": namespace, "HELM_MAX_HISTORY": "10", "HELM_BURST_LIMIT": "100",
            "HELM_QPS": "0.00", "HELM_KUBECONTEXT": "", "HELM_KUBETOKEN": "", "HELM_KUBEASUSER": "",
            "HELM_KUBEASGROUPS": "", "HELM_KUBEAPISERVER": "", "HELM_KUBECAFILE": "",
            "HELM_KUBEINSECURE_SKIP_TLS_VERIFY": "false", "HELM_KUBETLS_SERVER_NAME": "",
        })
        if not self.helm3:
            env["HELM_CONTENT_CACHE"] = str(self.cache_home / "content")
        if kubeconfig:
            env["KUBECONFIG"] = kubeconfig
        env["HELM_PLUGIN_NAME"] = plugin.meta["name"]
        env["HELM_PLUGIN_DIR"] = str(plugin.dir)
        return env

    def run_hook(self, plugin: Plugin, event: str) -> None:
        """A legacy `hooks:` entry runs as `sh -c <hook>`, unexpanded, in Helm's working
        directory: cmd/helm/plugin.go:49-79@v3.21.4 (with Helm's settings in the
        environment), runtime_subprocess_hooks/InvokeHook runtime_subprocess.go:135-166 and
        metadata.go:172-180@v4.2.4 (only HELM_PLUGIN_NAME and HELM_PLUGIN_DIR added)."""
        hook = plugin.meta["hooks"].get(event)
        if not hook:
            return
        env = self.plugin_env(plugin) if self.helm3 else {
            **self.env, "HELM_PLUGIN_NAME": plugin.meta["name"], "HELM_PLUGIN_DIR": str(plugin.dir)}
        run = subprocess.run(["sh", "-c", hook], env=env, capture_output=True, text=True, timeout=900)
        self.output.extend((run.stdout + run.stderr).splitlines())
        if run.returncode != 0:
            raise HelmError(f'plugin {event} hook for "{plugin.meta["name"]}" exited with error')

    def run(self, name: str, args: list[str], **kw) -> subprocess.CompletedProcess:
        """`helm NAME ARGS`: load_plugins.go:55-165@v4.2.4 and :55-100@v3.21.4 (flag parsing
        off; Helm's own flags taken out by manuallyProcessArgs; the command expanded with the
        plugin environment, split on spaces, then the remaining args appended). Only
        `command:` is reproduced, not platformCommand selection: our plugin.yaml has none."""
        try:
            plugins = self.load_all()
        except HelmError as err:
            self.say(f"failed to load plugins: {err}")
            plugins = []
        plugin = next((p for p in plugins if p.meta["name"] == name and p.meta["type"] == "cli/v1"), None)
        if plugin is None:
            return subprocess.CompletedProcess(["helm", name, *args], 1, "", f'Error: unknown command "{name}" for "helm"\n')
        known, unknown = manually_process_args(args)
        namespace = next((known[i + 1] for i, a in enumerate(known[:-1]) if a in ("-n", "--namespace")), "default")
        env = self.plugin_env(plugin, namespace)
        command = plugin.meta["command"]
        parts = command.split(" ")
        main = go_expand(parts[0], env)
        argv = [go_expand(p, env) for p in parts[1:]]
        extra = [] if plugin.meta["ignoreFlags"] else unknown
        return subprocess.run([main, *argv, *extra], env=env, capture_output=True, text=True, timeout=120, **kw)

    def complete(self, name: str, words: list[str]) -> tuple[list[str], int]:
        """`helm __complete NAME WORDS...` for a plugin with no completion.yaml: Helm runs
        <plugin dir>/plugin.complete with the words after the plugin's name, Helm's own
        flags taken out, and the word being completed last, then keeps the non-empty lines
        and reads a last `:N` as cobra's directive (pkg/cmd/load_plugins.go:221-235 and
        :335-403@v4.2.4, where the plugin's stderr goes into the same buffer as its stdout;
        cmd/helm/load_plugins.go:125-149, :207-221 and :326-376@v3.21.4, stdout only). A
        plugin.complete that is missing or fails gives no candidates, directive 0."""
        plugin = next(p for p in self.load_all() if p.meta["name"] == name)
        *typed, to_complete = words
        _, unknown = manually_process_args(typed)
        argv = [] if plugin.meta["ignoreFlags"] else [*unknown, to_complete]
        main = plugin.dir / "plugin.complete"
        try:
            run = subprocess.run([str(main), *argv], env=self.plugin_env(plugin), capture_output=True,
                                 text=True, timeout=60)
        except OSError:
            return [], 0
        if run.returncode != 0:
            return [], 0
        out = run.stdout if self.helm3 else run.stdout + run.stderr
        lines = [line for line in out.split("\n") if line]
        directive = 0
        if lines and len(lines[-1]) > 1 and lines[-1][0] == ":" and lines[-1][1:].lstrip("-").isdigit():
            directive = int(lines.pop()[1:])
        return lines, directive

    # -- list, uninstall, update --

    def list(self) -> list[list[str]]:
        """cmd/helm/plugin_list.go:42-44@v3.21.4 (NAME VERSION DESCRIPTION) and
        pkg/cmd/plugin_list.go:45-68@v4.2.4 (NAME VERSION TYPE APIVERSION PROVENANCE SOURCE)."""
        plugins = self.load_all()
        if self.helm3:
            return [["NAME", "VERSION", "DESCRIPTION"]] + [
                [p.meta["name"], p.meta["version"], p.meta["description"]] for p in plugins]
        return [["NAME", "VERSION", "TYPE", "APIVERSION", "PROVENANCE", "SOURCE"]] + [
            [p.meta["name"], p.meta["version"], p.meta["type"], p.meta["apiVersion"],
             self.signing_status(p.meta), p.meta["sourceURL"] or "unknown"] for p in plugins]

    def signing_status(self, meta: dict) -> str:
        """GetPluginSigningInfo: internal/plugin/signing_info.go:43-108@v4.2.4 (looked up by
        DataPath("plugins", <name>): a plugin in a directory of another name is "unknown")."""
        pdir = self.data_home / "plugins" / meta["name"]
        if not (pdir.exists() or pdir.is_symlink()):
            return "unknown"
        if pdir.is_symlink():
            return "local dev"
        tarball = self.data_home / "plugins" / f"{meta['name']}-{meta['version']}.tgz"
        prov = Path(f"{tarball}.prov")
        if not tarball.exists() or not prov.exists():
            return "unsigned"
        text = prov.read_text(errors="replace")
        if "-----BEGIN PGP SIGNED MESSAGE-----" not in text:
            return "invalid provenance"
        digest = "sha256:" + hashlib.sha256(tarball.read_bytes()).hexdigest()
        return "signed" if f"{tarball.name}: {digest}" in text else "mismatched provenance"

    def uninstall(self, name: str) -> None:
        """pkg/cmd/plugin_uninstall.go:63-128@v4.2.4 (RemoveAll of the plugin dir, which for
        a symlink removes the link; then the kept <name>-<version>.tgz and .prov) and
        cmd/helm/plugin_uninstall.go:60-91@v3.21.4."""
        plugin = next((p for p in self.load_all() if p.meta["name"] == name), None)
        if plugin is None:
            raise HelmError(f"plugin: {name} not found")
        if plugin.dir.is_symlink():
            plugin.dir.unlink()
        else:
            shutil.rmtree(plugin.dir)
        if not self.helm3 and plugin.meta["version"]:
            for suffix in ("", ".prov"):
                Path(self.plugins_dir / f"{name}-{plugin.meta['version']}.tgz{suffix}").unlink(missing_ok=True)
        self.run_hook(plugin, "delete")
        self.say(f"Uninstalled plugin: {name}")

    def update(self, name: str) -> None:
        """updatePlugin: pkg/cmd/plugin_update.go:88-113@v4.2.4 (cmd/helm/plugin_update.go
        @v3.21.4 alike): the source is found only as a VCS checkout at the plugin's resolved
        directory (FindSource, installer.go:159-170; Masterminds/vcs looks for .git etc. in
        that very directory), then git fetch and pull (vcs_installer.go:99-111)."""
        plugin = next((p for p in self.load_all() if p.meta["name"] == name), None)
        if plugin is None:
            raise HelmError(f"plugin: {name} not found")
        where = Path(os.path.realpath(plugin.dir))
        if not any((where / vcs).exists() for vcs in (".git", ".hg", ".bzr", ".svn")):
            raise HelmError(f"failed to update plugin {name}, got error (cannot get information about plugin source)")
        def git(*args):
            return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True)
        if git("diff").stdout:
            raise HelmError(f"failed to update plugin {name}, got error (plugin repo was modified)")
        for args in (("fetch", "--tags", "origin"), ("pull",)):
            if git(*args).returncode != 0:
                raise HelmError(f"failed to update plugin {name}, got error (Unable to update repository)")
        self.run_hook(self.load_dir(plugin.dir), "update")
        self.say(f"Updated plugin: {name}")


def manually_process_args(args: list[str]) -> tuple[list[str], list[str]]:
    """load_plugins.go:170-209@v4.2.4: Helm keeps --debug and its key-value flags."""
    known, unknown = [], []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--debug":
            known.append(a)
        elif a in HELM_KV_FLAGS:
            known.append(a)
            i += 1
            if i < len(args):
                known.append(args[i])
        elif any(a.startswith(f + "=") for f in HELM_KV_FLAGS):
            known.append(a)
        else:
            unknown.append(a)
        i += 1
    return known, unknown
