"""Release helpers for the installation tests: a local HTTP release host, a throwaway GnuPG
signing key, and scripts/build-release.sh's output."""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from installlib import REPO

VERSION = re.search(r'^version = "([^"]+)"', (REPO / "Cargo.toml").read_text(), re.M).group(1)
TARBALL = f"todo-secrets-{VERSION}.tgz"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def host_platform() -> str:
    os_ = {"Linux": "linux", "Darwin": "darwin"}[os.uname().sysname]
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[os.uname().machine]
    return f"{os_}-{arch}"


@dataclass
class Served:
    """A threaded HTTP server on 127.0.0.1 serving `root`; .tgz/.tar.gz go out as
    application/gzip (what Helm 3's HEAD check needs), and every request is recorded."""

    root: Path
    url: str = ""
    requests: list[str] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None

    @classmethod
    def start(cls, root: Path) -> Served:
        served = cls(root)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(root), **kw)

            def guess_type(self, path):
                if str(path).endswith((".tgz", ".tar.gz")):
                    return "application/gzip"
                return super().guess_type(path)

            def send_head(self):
                served.requests.append(f"{self.command} {self.path}")
                return super().send_head()

            def log_message(self, *args):
                pass

        served._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        served.url = f"http://127.0.0.1:{served._server.server_address[1]}"
        threading.Thread(target=served._server.serve_forever, daemon=True).start()
        return served

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class Signing:
    """A GnuPG home with one throwaway ed25519 signing key, the key exported to a file (what
    TODO_SIGNING_KEY may name) and a binary public keyring (what Helm's --keyring reads)."""

    home: Path
    secret_key: Path
    keyring: Path
    uid: str = "todo-kube test release key <release-test@example.invalid>"

    @classmethod
    def create(cls, home: Path) -> Signing:
        gnupg = home / "gnupg"
        gnupg.mkdir(mode=0o700)
        env = {**os.environ, "GNUPGHOME": str(gnupg)}
        uid = cls.uid

        def gpg(*args: str, **kw) -> subprocess.CompletedProcess:
            return subprocess.run(["gpg", "--batch", "--quiet", *args], env=env, check=True,
                                  capture_output=True, timeout=60, **kw)

        gpg("--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
        secret, keyring = home / "secret-key.asc", home / "pubring.gpg"
        secret.write_bytes(gpg("--armor", "--export-secret-keys", uid).stdout)
        secret.chmod(0o600)
        keyring.write_bytes(gpg("--export", uid).stdout)
        return cls(gnupg, secret, keyring)

    def stop(self) -> None:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": str(self.home)},
                       capture_output=True, check=False)


def build_release(checkout: Path, out: Path, *args: str, env: dict | None = None,
                  check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run(["sh", str(checkout / "scripts/build-release.sh"), "--out", str(out), *args],
                         env=env or {k: v for k, v in os.environ.items() if not k.startswith("TODO_")},
                         capture_output=True, text=True, timeout=600)
    if check:
        assert run.returncode == 0, f"build-release.sh failed:\n{run.stdout}\n{run.stderr}"
    return run


@dataclass
class Release:
    """A built release: its folder (served at `url`) and the build's output."""

    dir: Path
    url: str
    run: subprocess.CompletedProcess
    keyring: Path

    @classmethod
    def build(cls, checkout: Path, bin_dir: Path, server: Served, signing: Signing | None) -> Release:
        out = server.root / f"v{VERSION}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TODO_")}
        if signing:
            env.update(TODO_SIGNING_KEY=str(signing.secret_key))
        url = f"{server.url}/v{VERSION}"
        run = build_release(checkout, out, "--bin-dir", str(bin_dir), "--base-url", url, env=env)
        return cls(out, url, run, out / "todo-kube-release-key.gpg")

    def need_prov(self) -> None:
        """Skip a test that needs the signed .prov when GnuPG was not to be had."""
        if not Path(f"{self.tarball}.prov").exists():
            pytest.skip("no .prov: GnuPG (gpg) is not installed and tests/run.sh could not "
                        "install it")

    @property
    def tarball(self) -> Path:
        return self.dir / TARBALL

    @property
    def archive(self) -> Path:
        return self.dir / f"todo-kube-{host_platform()}.tar.gz"

    def copy_to(self, dest: Path, *, prov: bool = True) -> Path:
        """The Helm plugin tarball (and its .prov) copied into dest, as a user downloads it."""
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.tarball, dest / TARBALL)
        if prov:
            self.need_prov()
            shutil.copy2(f"{self.tarball}.prov", dest / f"{TARBALL}.prov")
        return dest / TARBALL
