#!/usr/bin/env python3
"""Decrypt a sealed values file with private keys, using the independent Python
implementation of the sealed-secrets format in secretslib.py (not the Rust code). For the
end-to-end tests: `unseal_file.py VALUES_FILE KEY.pem [KEY.pem...]` prints a JSON object
KEY -> plaintext (or null when none of the keys decrypts it) for the label the file's scope,
namespace and Secret name give."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization

sys.path.insert(0, str(Path(__file__).resolve().parent))
from secretslib import label_for, try_unseal  # noqa: E402

import yaml  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    doc = yaml.safe_load(Path(argv[1]).read_text())
    keys = [serialization.load_pem_private_key(Path(p).read_bytes(), password=None) for p in argv[2:]]
    sealed = doc["secrets"]["sealed"]
    label = label_for(sealed["scope"], sealed.get("namespace", ""), doc["secrets"].get("name") or sealed.get("secretName", ""))
    out = {}
    for name, text in sealed["encryptedData"].items():
        plain = try_unseal(keys, label, text)
        out[name] = None if plain is None else plain.decode()
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
