#!/usr/bin/env python3
"""Write tests/vectors/sealed-secrets.json: values sealed in Bitnami sealed-secrets' wire
format (docs/PRODUCT.md, "Sealing") under a fixed 2048-bit RSA test key, plus values that a
controller holding that key must refuse to unseal.

Run from the repository root with a Python that has `cryptography`:

    .venv/bin/python tests/vectors/gen_sealed_secrets.py

The key is kept from the existing file, so running again changes only the ciphertexts (RSA-OAEP
and the session keys are random). The session keys and the throw-away "other" key are not
written anywhere. This is an independent implementation of the format (Python's cryptography
package), so neither Rust side checks itself against its own code.
"""
import base64
import datetime
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "sealed-secrets.json")


def label(scope, namespace, name):
    if scope == "cluster-wide":
        return b""
    if scope == "namespace-wide":
        return namespace.encode()
    if scope == "strict":
        return f"{namespace}/{name}".encode()
    raise ValueError(scope)


def seal_bytes(public_key, lbl, plaintext):
    session = os.urandom(32)
    rsa_ct = public_key.encrypt(
        session,
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=lbl or None),
    )
    gcm = AESGCM(session).encrypt(b"\x00" * 12, plaintext, None)
    return len(rsa_ct).to_bytes(2, "big") + rsa_ct + gcm


def b64(data):
    return base64.b64encode(data).decode()


def load_or_make_key():
    if os.path.exists(OUT):
        with open(OUT) as f:
            pem = json.load(f)["private_key_pem"].encode()
        return serialization.load_pem_private_key(pem, password=None)
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(key):
    """A self-signed certificate like the controller serves at /v1/cert.pem."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret")])
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x5EA1ED)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650 * 10))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def entry(public_key, scope, namespace, name, key, plaintext, encode=b64):
    return {
        "scope": scope,
        "namespace": namespace,
        "name": name,
        "key": key,
        "plaintext_b64": b64(plaintext),
        "ciphertext": encode(seal_bytes(public_key, label(scope, namespace, name), plaintext)),
    }


def wrapped(data):
    """Base64 in 76-character lines (Go's base64 decoder skips CR and LF)."""
    text = b64(data)
    return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def negatives(public_key):
    def sealed(scope="strict", ns="todo", name="todo-secrets", plaintext=b"s3cr3t"):
        return seal_bytes(public_key, label(scope, ns, name), plaintext)

    def neg(why, ciphertext, scope="strict", ns="todo", name="todo-secrets"):
        return {"why": why, "scope": scope, "namespace": ns, "name": name, "key": "K", "ciphertext": ciphertext}

    good = sealed()
    flipped_gcm = bytearray(good)
    flipped_gcm[-5] ^= 0x01
    flipped_rsa = bytearray(good)
    flipped_rsa[40] ^= 0x80
    # 2 + 256 + 3 + 16 = 277 bytes: not a multiple of 3, so the base64 text ends in "==".
    padded = b64(sealed(plaintext=b"abc"))
    assert padded.endswith("=="), padded[-4:]
    unpadded = padded.rstrip("=")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return [
        neg("strict scope: another name", b64(good), name="other"),
        neg("strict scope: another namespace", b64(good), ns="prod"),
        neg("namespace-wide scope: another namespace", b64(sealed("namespace-wide")), "namespace-wide", ns="prod"),
        neg("sealed strict, presented as cluster-wide", b64(good), "cluster-wide"),
        neg("sealed cluster-wide, presented as strict", b64(sealed("cluster-wide"))),
        neg("sealed namespace-wide, presented as strict", b64(sealed("namespace-wide"))),
        neg("truncated: the last bytes of the AES-GCM tag are missing", b64(good[:-4])),
        neg("truncated: shorter than the RSA ciphertext its header announces", b64(good[:100])),
        neg("truncated: a lone length byte", b64(good[:1])),
        neg("empty", ""),
        neg("one bit flipped in the AES-GCM ciphertext", b64(bytes(flipped_gcm))),
        neg("one bit flipped in the RSA ciphertext", b64(bytes(flipped_rsa))),
        neg("base64 without its padding (Go's StdEncoding requires it)", unpadded),
        neg("URL-safe base64 alphabet", base64.urlsafe_b64encode(good).decode().replace("=", "")),
        neg("not base64", "not-base64!"),
        neg("sealed with another controller's key", b64(seal_bytes(other_key, b"todo/todo-secrets", b"s3cr3t"))),
    ]


def main():
    key = load_or_make_key()
    public_key = key.public_key()
    entries = [
        entry(public_key, "strict", "todo", "todo-secrets", "DATABASE_URL",
              b"postgresql://todo:s3cr3t@ep-demo-123456.us-east-2.aws.neon.tech/todo?sslmode=require"),
        entry(public_key, "strict", "todo", "todo-secrets", "EMPTY", b""),
        entry(public_key, "strict", "todo", "todo-secrets", "BINARY", bytes(range(256))),
        entry(public_key, "strict", "todo", "todo-secrets", "WRAPPED", b"x" * 300, encode=wrapped),
        entry(public_key, "namespace-wide", "todo", "todo-secrets", "OPENAI_API_KEY", b"sk-test-0123456789abcdef"),
        entry(public_key, "cluster-wide", "todo", "todo-secrets", "BETTER_AUTH_SECRET",
              b"k9Jx2LmQ8vR4tW7yZ1bN5cF3hD6gS0aP2eU9iO4uY7rT1wQe"),
    ]
    doc = {
        "description": "Bitnami sealed-secrets wire format under a fixed TEST key (never use it for anything else). "
        "See tests/vectors/README.md.",
        "private_key_pem": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "certificate_pem": certificate(key),
        "entries": entries,
        "negative": negatives(public_key),
    }
    with open(OUT + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(OUT + ".tmp", OUT)
    print(f"wrote {OUT}: {len(entries)} entries, {len(doc['negative'])} negative", file=sys.stderr)


if __name__ == "__main__":
    main()
