#!/usr/bin/env python3
"""Benchmark: `helm todo-secrets init` sealing five values with a 4096-bit certificate, as a
whole process (start, read, parse the certificate, seal, write), offline with --cert.

Usage: tests/secrets/bench_seal.py [--runs N] [--binary PATH]
Default binary: $HELM_TODO_SECRETS_BIN, else target/release/helm-todo-secrets (build it with
`cargo build --release -p helm-todo-secrets`). Prints mean, median, p95, min and max in ms.
Not a test: no assertion on timing (the goal from issue 6 is well under 50 ms).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]

FIVE = {
    "DATABASE_URL": "postgresql://app:secret@ep-bench.us-east-2.aws.neon.tech/todo?sslmode=require",
    "BETTER_AUTH_SECRET": "b" * 48,
    "OPENAI_API_KEY": "sk-bench-" + "k" * 40,
    "SMTP_PASSWORD": "p" * 24,
    "SENTRY_DSN": "https://abc@o1.ingest.sentry.io/1",
}


def make_cert(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--binary", default=os.environ.get("HELM_TODO_SECRETS_BIN")
                        or str(Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "release" / "helm-todo-secrets"))
    args = parser.parse_args()
    binary = Path(args.binary)
    if not binary.exists():
        print(f"{binary} not found: cargo build --release -p helm-todo-secrets", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cert = tmp / "cert.pem"
        make_cert(cert)
        # Two of the five keys come from the chart schema (x-secret), as a chart with extra
        # secrets would declare them.
        chart = tmp / "chart"
        chart.mkdir()
        (chart / "values.schema.json").write_text(
            '{"properties":{"secrets":{"properties":{"inline":{"properties":{'
            '"SMTP_PASSWORD":{"type":"string","x-secret":true},"SENTRY_DSN":{"type":"string","x-secret":true}}}}}}}'
        )
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp), "HELM_NAMESPACE": "todo", **FIVE}
        argv = [str(binary), "init", "--from-env", "--force", "--cert", str(cert), "--chart", str(chart), "-f", str(tmp / "out.yaml")]
        times = []
        for i in range(args.runs + 5):
            start = time.perf_counter()
            proc = subprocess.run(argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            elapsed = (time.perf_counter() - start) * 1000
            if proc.returncode != 0:
                print(proc.stderr.decode(), file=sys.stderr)
                return 1
            if i >= 5:  # warm-up runs are not counted
                times.append(elapsed)
        times.sort()
        import yaml

        sealed = yaml.safe_load((tmp / "out.yaml").read_text())["secrets"]["sealed"]["encryptedData"]
        if sorted(sealed) != sorted(FIVE):
            print(f"expected five sealed values, got {sorted(sealed)}", file=sys.stderr)
            return 1
        print(f"sealing 5 values, RSA-4096, whole process, {args.runs} runs ({binary.name}):")
        print(f"  mean {statistics.mean(times):.2f} ms  median {statistics.median(times):.2f} ms  "
              f"p95 {times[int(len(times) * 0.95) - 1]:.2f} ms  min {times[0]:.2f} ms  max {times[-1]:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
