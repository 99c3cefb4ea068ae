"""A test double of krew (kubernetes-sigs/krew v0.5.0): manifest validation, `kubectl krew
install --manifest [--archive]`, `kubectl krew index add` and `kubectl krew install
INDEX/NAME`, reproduced rule by rule.

krew needs Go 1.25 and its Go modules; neither can be had here, so this module re-states what
the Go code does, each function naming the lines as file:line@v0.5.0 in kubernetes-sigs/krew.
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
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"  # pkg/constants/constants.go:18
SAFE_NAME = re.compile(r"^[\w-]+$")  # internal/index/validation/validate.go:35
SHA256 = re.compile(r"^[a-f0-9]{64}$")  # validate.go:31
INDEX_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # internal/index/indexoperations/index.go:27
WINDOWS_FORBIDDEN = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}  # validate.go:39-41
# k8s.io/apimachinery/pkg/util/version ParseSemantic, after krew's leading-v check
SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
# cmd/validate-krew-manifest/main.go:234-250
ALL_PLATFORMS = [("windows", "386"), ("windows", "amd64"), ("windows", "arm64"), ("linux", "386"),
                 ("linux", "amd64"), ("linux", "arm"), ("linux", "arm64"), ("linux", "ppc64le"),
                 ("darwin", "386"), ("darwin", "amd64"), ("darwin", "arm64")]
LICENSE_FILES = {"license", "license.txt", "license.md", "licenses", "licenses.txt",
                 "licenses.md", "copying", "copying.txt"}  # main.go:209-218


class KrewError(Exception):
    """What krew reports before exiting non-zero."""


def read_manifest(path: Path) -> dict:
    """ReadPluginFromFile: internal/index/indexscanner/scanner.go:83-90,113-136 (lenient
    sigs.k8s.io/yaml decoding, then ValidatePlugin against its own name)."""
    try:
        plugin = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise KrewError(f'failed to parse yaml file "{path}": {err}') from err
    validate_plugin((plugin.get("metadata") or {}).get("name", ""), plugin)
    return plugin


def validate_plugin(name: str, p: dict) -> None:
    """ValidatePlugin and validatePlatform: internal/index/validation/validate.go:65-123."""
    spec = p.get("spec") or {}
    if p.get("apiVersion") != API_VERSION:
        raise KrewError(f"plugin manifest has apiVersion={p.get('apiVersion')!r}, not supported")
    if p.get("kind") != "Plugin":
        raise KrewError(f"plugin manifest has kind={p.get('kind')!r}, but only \"Plugin\" is supported")
    if not SAFE_NAME.match(name or "") or (name or "").upper() in WINDOWS_FORBIDDEN:
        raise KrewError(f"the plugin name {name!r} is not allowed")
    if (p.get("metadata") or {}).get("name") != name:
        raise KrewError(f"plugin should be named {name!r}, not {(p.get('metadata') or {}).get('name')!r}")
    short = spec.get("shortDescription") or ""
    if not short:
        raise KrewError("should have a short description")
    if "\r" in short or "\n" in short:
        raise KrewError("should not have line breaks in short description")
    if not spec.get("platforms"):
        raise KrewError("should have a platform specified")
    if not spec.get("version"):
        raise KrewError("should have a version specified")
    if not SEMVER.match(str(spec["version"])):
        raise KrewError(f"failed to parse plugin version: {spec['version']!r}")
    for platform in spec["platforms"]:
        validate_platform(platform)


def validate_platform(pl: dict) -> None:
    """validatePlatform, validateFiles, validateSelector: validate.go:103-173."""
    if not pl.get("uri"):
        raise KrewError("`uri` has to be set")
    if not pl.get("sha256"):
        raise KrewError("`sha256` sum has to be set")
    if not SHA256.match(str(pl["sha256"])):
        raise KrewError(f"`sha256` value {pl['sha256']} is not valid, must match pattern ^[a-f0-9]{{64}}$")
    if not pl.get("bin"):
        raise KrewError("`bin` has to be set")
    files = pl.get("files")
    if files is not None:
        if not files:
            raise KrewError("`files` has to be unspecified or non-empty")
        for op in files:
            if not op.get("from"):
                raise KrewError("`from` field has to be set")
            if not op.get("to"):
                raise KrewError("`to` field has to be set")
    sel = pl.get("selector")
    if sel is None:
        raise KrewError("nil selector is not supported")
    labels, exprs = sel.get("matchLabels"), sel.get("matchExpressions")
    if labels is None and not exprs:
        raise KrewError("empty selector is not supported")
    for key in [*(labels or {}), *(e.get("key") for e in exprs or [])]:
        if key not in ("os", "arch"):
            raise KrewError(f'key "{key}" not supported')
    if labels is not None and not labels:
        raise KrewError("`matchLabels` specified but empty")
    if exprs is not None and not exprs:
        raise KrewError("`matchExpressions` specified but empty")


def selector_matches(sel: dict | None, os_: str, arch: str) -> bool:
    """metav1.LabelSelectorAsSelector(...).Matches (apimachinery), as matchPlatform uses it:
    internal/installation/platform.go:38-55. nil matches nothing, empty matches all."""
    if sel is None:
        return False
    env = {"os": os_, "arch": arch}
    for key, value in (sel.get("matchLabels") or {}).items():
        if env.get(key) != value:
            return False
    for e in sel.get("matchExpressions") or []:
        op, have, values = e.get("operator"), env.get(e.get("key")), e.get("values") or []
        if op == "In" and have not in values or op == "NotIn" and have in values:
            return False
        if op == "Exists" and have is None or op == "DoesNotExist" and have is not None:
            return False
    return True


def validate_manifest_file(path: Path) -> list[str]:
    """cmd/validate-krew-manifest/main.go:66-124 without the install step: extension and
    file name, ValidatePlugin, every platform selects a supported os/arch, no two select the
    same one. Returns the problems (empty when krew-index CI would pass)."""
    problems = []
    if path.suffix != ".yaml":
        problems.append(f'expected manifest extension ".yaml" but found "{path.suffix}"')
    try:
        plugin = yaml.safe_load(path.read_text()) or {}
        validate_plugin(path.stem, plugin)
    except KrewError as err:
        return problems + [f"plugin validation error: {err}"]
    platforms = plugin["spec"]["platforms"]
    for i, pl in enumerate(platforms):
        if not any(selector_matches(pl.get("selector"), o, a) for o, a in ALL_PLATFORMS):
            problems.append(f"spec.platform[{i}]'s selector doesn't match any supported platforms")
    for o, a in ALL_PLATFORMS:
        hits = [i for i, pl in enumerate(platforms) if selector_matches(pl.get("selector"), o, a)]
        if len(hits) > 1:
            problems.append(f"multiple spec.platforms (at indexes {hits}) have overlapping selectors that select {o}/{a}")
    return problems


def detect_mime(data: bytes) -> str:
    """detectMIMEType: internal/download/downloader.go:176-189 (Go's http.DetectContentType
    signatures for the two archive types krew extracts, :193-196)."""
    if data[:3] == b"\x1f\x8b\x08":
        return "application/x-gzip"
    if data[:4] == b"PK\x03\x04":
        return "application/zip"
    return "application/octet-stream"


def suspicious_path(name: str) -> None:
    """suspiciousPath: downloader.go:164-174."""
    if ".." in name:
        raise KrewError(f"refusing to unpack archive with suspicious entry {name!r}")
    if name.startswith(("/", "\\")):
        raise KrewError(f"refusing to unpack archive with absolute entry {name!r}")


def extract_archive(data: bytes, dest: Path) -> None:
    """extractArchive, extractTARGZ, extractZIP: downloader.go:51-162,198-209: directories and
    regular files only (a symlink in a tarball is an error), pax_global_header skipped."""
    mime = detect_mime(data)
    if mime == "application/x-gzip":
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for m in tar:
                if m.name == "pax_global_header":
                    continue
                suspicious_path(m.name)
                path = dest / m.name
                if m.isdir():
                    path.mkdir(parents=True, exist_ok=True)
                elif m.isreg():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(tar.extractfile(m).read())
                    path.chmod(m.mode & 0o7777)
                else:
                    raise KrewError(f"unable to handle file type {m.type!r} for {m.name!r} in tar")
    elif mime == "application/zip":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                suspicious_path(info.filename)
                z.extract(info, dest)
    else:
        raise KrewError(f'mime type "{mime}" for archive file is not a supported archive format')


def _is_sub_path(base: Path, path: Path) -> bool:
    """pathutil.IsSubPath: the relative path does not climb out."""
    rel = os.path.relpath(path, base)
    return not (rel == ".." or rel.startswith("../"))


def move_to_install_dir(src: Path, install_dir: Path, files: list[dict]) -> None:
    """moveToInstallDir, findMoveTargets, getDirectMove: internal/installation/move.go:34-186:
    a `from` naming a file moves it (to `to`, or its own name for "."), else `from` is a glob
    whose matches move into `to`; no match is an error; nothing may leave src or install_dir."""
    install_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="krew-temp-move") as tmp_name:
        tmp = Path(tmp_name)
        for op in files:
            if op["to"] != os.path.normpath(op["to"]):
                raise KrewError(f"the provided path is not clean, {op['to']!r} should be {os.path.normpath(op['to'])!r}")
            direct = Path(os.path.normpath(src / op["from"]))
            if direct.exists():
                to = Path(os.path.abspath(tmp / (direct.name if os.path.normpath(op["to"]) == "." else op["to"])))
                moves = [(direct, to)]
            else:
                matches = sorted(src.glob(op["from"]))
                if not matches:
                    raise KrewError(f"no files in the plugin archive matched the glob pattern={op['from']}")
                moves = [(m, Path(os.path.abspath(tmp / op["to"] / m.name))) for m in matches]
            for frm, to in moves:
                if not (_is_sub_path(src, frm) and _is_sub_path(tmp, to)):
                    raise KrewError(f"can't move, move target {to} is out of bounds")
                to.parent.mkdir(parents=True, exist_ok=True)
                if to.is_dir():
                    shutil.rmtree(to)
                shutil.move(str(frm), str(to))
        if install_dir.is_dir():
            shutil.rmtree(install_dir)
        shutil.copytree(tmp, install_dir, symlinks=True)


def host_os_arch(env: dict[str, str]) -> tuple[str, str]:
    """OSArch: internal/installation/platform.go:66-76 (KREW_OS/KREW_ARCH override)."""
    uname = os.uname()
    os_ = {"Linux": "linux", "Darwin": "darwin"}.get(uname.sysname, uname.sysname.lower())
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(uname.machine, uname.machine)
    return env.get("KREW_OS") or os_, env.get("KREW_ARCH") or arch


@dataclass
class Krew:
    """krew for one user: KREW_ROOT (default ~/.krew) and the process environment."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    @property
    def bin(self) -> Path:
        return self.root / "bin"  # environment.go:84

    def _git(self, cwd: Path | None, *args: str) -> None:
        """gitutil.Exec: internal/gitutil/git.go:75-93."""
        run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            raise KrewError(f"command execution failure, output={run.stdout + run.stderr!r}")

    def index_add(self, name: str, url: str) -> None:
        """`kubectl krew index add`: cmd/krew/cmd/index.go:67-88, AddIndex
        indexoperations/index.go:63-71, EnsureCloned git.go:31-40 (`git clone -v URL DIR`)."""
        if not INDEX_NAME.match(name):
            raise KrewError("invalid index name")
        dest = self.root / "index" / name
        if dest.exists():
            raise KrewError("index already exists")
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._git(None, "clone", "-v", url, str(dest))
        self.output.append(f'WARNING: You have added a new index from "{url}"')

    def update_indexes(self) -> None:
        """ensureIndexesUpdated: cmd/krew/cmd/update.go:153-180 with EnsureUpdated
        git.go:63-69 (fetch, reset --hard @{upstream}, clean -xfd)."""
        for idx in sorted((self.root / "index").iterdir()):
            if idx.is_dir():
                self._git(idx, "fetch", "-v")
                self._git(idx, "reset", "--hard", "@{upstream}")
                self._git(idx, "clean", "-xfd")

    def install(self, name: str | None = None, *, manifest: Path | None = None,
                archive: Path | None = None) -> Path:
        """`kubectl krew install`: cmd/krew/cmd/install.go:83-212 (--archive only with
        --manifest; INDEX/NAME from the index's plugins/NAME.yaml after updating the indexes;
        --manifest's index is "detached"), then installation.Install install.go:59-132."""
        if archive and not manifest:
            raise KrewError("--archive can be specified only with --manifest or --manifest-url")
        if manifest:
            plugin, index = read_manifest(manifest), "detached"
        else:
            index, _, pname = name.partition("/") if "/" in name else ("default", "", name)
            if not SAFE_NAME.match(pname):
                raise KrewError(f"plugin name {pname!r} not allowed")
            self.update_indexes()
            path = self.root / "index" / index / "plugins" / f"{pname}.yaml"
            if not path.exists():
                raise KrewError(f'plugin "{name}" does not exist in the plugin index')
            plugin = read_manifest(path)
        return self._install(plugin, index, archive)

    def _install(self, plugin: dict, index: str, archive: Path | None) -> Path:
        name, version = plugin["metadata"]["name"], plugin["spec"]["version"]
        receipt = self.root / "receipts" / f"{name}.yaml"
        if receipt.exists():
            raise KrewError("can't install, the newest version is already installed")
        os_, arch = host_os_arch(self.env)
        platform = next((p for p in plugin["spec"]["platforms"]
                         if selector_matches(p.get("selector"), os_, arch)), None)
        if platform is None:
            raise KrewError(f'plugin "{name}" does not offer installation for this platform')
        data = archive.read_bytes() if archive else self._fetch(platform["uri"])
        digest = hashlib.sha256(data).hexdigest()
        if digest != platform["sha256"]:  # internal/download/verifier.go
            raise KrewError(f"checksum does not match, want: {platform['sha256']}, got {digest}")
        install_dir = self.root / "store" / name / version
        with tempfile.TemporaryDirectory(prefix="krew-downloads") as staging:
            extract_archive(data, Path(staging))
            files = platform.get("files")
            if files is None:  # applyDefaults install.go:134-139
                files = [{"from": "*", "to": "."}]
            move_to_install_dir(Path(staging), install_dir, files)
        binary = install_dir / platform["bin"]
        if not _is_sub_path(install_dir, Path(os.path.abspath(binary))):
            raise KrewError(f"the fullPath {binary} does not extend the sub-fullPath {install_dir}")
        if not binary.exists():
            raise KrewError(f"can't create symbolic link, source binary ({binary}) cannot be found in extracted archive")
        self.bin.mkdir(parents=True, exist_ok=True)
        link = self.bin / f"kubectl-{name.replace('-', '_')}"  # pluginNameToBin install.go:246-253
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            raise KrewError(f"file {link} is not a symlink")
        link.symlink_to(binary)
        receipt.parent.mkdir(parents=True, exist_ok=True)
        receipt.write_text(yaml.safe_dump({**plugin, "status": {"source": {"name": index}}}))
        self.output.append(f"Installed plugin: {name}")
        return link

    def _fetch(self, uri: str) -> bytes:
        """HTTPFetcher.Get: internal/download/fetch.go:43-72 (a status above 200 fails)."""
        try:
            with urllib.request.urlopen(uri, timeout=60) as res:
                if res.status > 200:
                    raise KrewError(f"failed to download {uri!r}, status code {res.status}")
                return res.read()
        except urllib.error.HTTPError as err:
            raise KrewError(f"failed to download {uri!r}, status code {err.code}") from err

    def installed_license(self) -> bool:
        """validateLicenseFileExists: cmd/validate-krew-manifest/main.go:221-231."""
        return any(p.name.lower() in LICENSE_FILES for p in (self.root / "store").rglob("*") if p.is_file())

