"""Helpers for the `helm todo-secrets` tests: where the binary is, an independent
implementation of the sealed-secrets format, and test certificates."""

from __future__ import annotations

import base64
import datetime
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
PLUGIN_SRC = REPO / "plugins" / "helm-todo-secrets"
BIN_NAME = "helm-todo-secrets"


def binary_path() -> Path:
    """The built plugin binary: $HELM_TODO_SECRETS_BIN, else $CARGO_TARGET_DIR or target/."""
    if os.environ.get("HELM_TODO_SECRETS_BIN"):
        return Path(os.environ["HELM_TODO_SECRETS_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    for profile in ("debug", "release"):
        candidate = target / profile / BIN_NAME
        if candidate.exists():
            return candidate
    return target / "debug" / BIN_NAME



# ---------------------------------------------------------------------------------------
# The sealed-secrets format, written from the published layout (not from our Rust code):
# u16 BE len(rsa) || RSA-OAEP(SHA-256, MGF1-SHA-256, label)(session key) || AES-256-GCM
# (zero 12-byte nonce, no AAD) ciphertext+tag; base64 standard.


def label_for(scope: str, namespace: str, name: str) -> bytes:
    return {"strict": f"{namespace}/{name}", "namespace-wide": namespace, "cluster-wide": ""}[scope].encode()


def unseal(key: rsa.RSAPrivateKey, label: bytes, text: str) -> bytes:
    """Decrypt one encryptedData value as the controller does; raises on a wrong label."""
    raw = base64.b64decode(text, validate=True)
    length = int.from_bytes(raw[:2], "big")
    wrapped, body = raw[2 : 2 + length], raw[2 + length :]
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None)
    session = key.decrypt(wrapped, oaep)
    assert len(session) == 32
    return AESGCM(session).decrypt(b"\0" * 12, body, None)


def seal(public_key, label: bytes, plaintext: bytes) -> str:
    """Seal one value as kubeseal's HybridEncrypt does (for the fake controller's /v1/rotate)."""
    session = os.urandom(32)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None)
    wrapped = public_key.encrypt(session, oaep)
    body = AESGCM(session).encrypt(b"\0" * 12, plaintext, None)
    return base64.b64encode(len(wrapped).to_bytes(2, "big") + wrapped + body).decode()


def label_of(sealed_secret: dict) -> bytes:
    """The label the controller derives from a SealedSecret's metadata (its scope)."""
    meta = sealed_secret.get("metadata", {})
    annotations = meta.get("annotations") or {}
    if annotations.get("sealedsecrets.bitnami.com/cluster-wide") == "true":
        return b""
    if annotations.get("sealedsecrets.bitnami.com/namespace-wide") == "true":
        return meta.get("namespace", "").encode()
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}".encode()


def try_unseal(keys, label: bytes, text: str):
    for key in keys:
        try:
            return unseal(key, label, text)
        except Exception:  # noqa: BLE001 - any failure means "this key cannot"
            continue
    return None


@dataclass
class CertPair:
    key: rsa.RSAPrivateKey
    cert_path: Path
    fingerprint: str


def make_cert(tmp: Path, name: str, key: rsa.RSAPrivateKey, not_before, not_after) -> CertPair:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path = tmp / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertPair(key, path, cert.fingerprint(hashes.SHA256()).hex())


NOW = datetime.datetime.now(datetime.timezone.utc)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


VALUES = {
    "DATABASE_URL": "postgresql://app:p%40ss@db.example.com:5432/todo?sslmode=require",
    "BETTER_AUTH_SECRET": "0123456789abcdefghijklmnopqrstuvwxyzABCD",
    "OPENAI_API_KEY": "sk-test-0123456789",
}


def key_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()).decode()


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


# ---------------------------------------------------------------------------------------
# A minimal fake API server (plain HTTP) for the certificate fetch through the service
# proxy and for `--format secret`; the end-to-end run on the sandbox covers the real thing.

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeApi:
    """Serves the controller Service, its cert.pem through the service proxy, /v1/verify and
    /v1/rotate as the controller does (with `keys`, newest first: the controller's private
    keys; without them those endpoints answer 404 like an old controller), and Secret
    server-side apply. `requests` records (method, path, body) of every call."""

    def __init__(self, cert_pem: str, port_name: str = "http", proxy_status: int = 200, keys=None, key_secrets=None):
        self.cert_pem = cert_pem
        self.port_name = port_name
        self.proxy_status = proxy_status
        self.keys = keys or []
        # (name, certificate PEM, private key PEM) of the controller's key Secrets.
        self.key_secrets = key_secrets or []
        self.requests: list[tuple[str, str, bytes]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code, body, ctype="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                api.requests.append(("GET", self.path, b""))
                svc = "/api/v1/namespaces/kube-system/services/sealed-secrets-controller"
                proxy = f"/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:{api.port_name}/proxy/v1/cert.pem"
                secrets_list = "/api/v1/namespaces/kube-system/secrets?labelSelector=sealedsecrets.bitnami.com%2Fsealed-secrets-key%3Dactive"
                if self.path == secrets_list:
                    items = [{"metadata": {"name": name, "namespace": "kube-system", "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}},
                              "type": "kubernetes.io/tls",
                              "data": {"tls.crt": base64.b64encode(crt.encode()).decode(), "tls.key": base64.b64encode(key.encode()).decode()}}
                             for name, crt, key in api.key_secrets]
                    self._send(200, {"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": items})
                elif self.path.split("?")[0] == svc:
                    port = {"port": 8080, "targetPort": 8080, "protocol": "TCP"}
                    if api.port_name != "8080":
                        port["name"] = api.port_name
                    self._send(200, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sealed-secrets-controller", "namespace": "kube-system"}, "spec": {"ports": [port]}})
                elif self.path == proxy and api.proxy_status == 200:
                    self._send(200, api.cert_pem.encode(), "text/plain")
                elif self.path == proxy:
                    self._send(api.proxy_status, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "no endpoints available for service \"sealed-secrets-controller\"", "reason": "ServiceUnavailable", "code": api.proxy_status})
                else:
                    self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "not found", "reason": "NotFound", "code": 404})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                api.requests.append(("POST", self.path, body))
                base = f"/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:{api.port_name}/proxy"
                if not api.keys or self.path not in (base + "/v1/verify", base + "/v1/rotate"):
                    self._send(404, b"404 page not found\n", "text/plain")
                    return
                ss = json.loads(body)
                label = label_of(ss)
                plain = {k: try_unseal(api.keys, label, v) for k, v in ss["spec"]["encryptedData"].items()}
                if self.path.endswith("/v1/verify"):
                    self._send(200 if all(v is not None for v in plain.values()) else 409, b"", "text/plain")
                elif any(v is None for v in plain.values()):
                    self._send(500, b"", "text/plain")
                else:
                    ss["spec"]["encryptedData"] = {k: seal(api.keys[0].public_key(), label, v) for k, v in plain.items()}
                    self._send(200, ss)

            def do_PATCH(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                api.requests.append(("PATCH", self.path, body))
                self._send(200, json.loads(body))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path, context: str = "fake") -> Path:
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "contexts": [{"name": context, "context": {"cluster": "fake", "user": "admin", "namespace": "ctx-ns"}}],
            "users": [{"name": "admin", "user": {"token": "test-token"}}],
        }))
        return path

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
