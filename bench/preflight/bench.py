#!/usr/bin/env python3
"""Benchmark: `kubectl todo preflight` beside what it replaces, on the same cluster in one run.

With a `helm` binary on PATH the baseline is `helm install --dry-run=server` (renders against
the API server, which is what users reach for; it checks far less). Without one it is the
kubectl commands a script would run to make the same checks, one after the other:

  kubectl get namespace; kubectl get secrets -l owner=helm,name=todo; kubectl get nodes -o json;
  kubectl get pods -A (non-terminated) -o json; kubectl get services -A -o json;
  kubectl api-resources --api-group=bitnami.com; kubectl get service sealed-secrets-controller;
  kubectl get --raw .../proxy/v1/cert.pem; kubectl auth can-i create KIND for each kind.

Both run against the sandbox (`todo-sandbox up`) with a file sealed for it. Prints the median
and range of each over the rounds, and the ratio. Not a test: no assertion on time.

    bench/preflight/bench.py [--bin-dir target/debug] [--rounds 10]
"""

import argparse
import os
import shutil
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "scale"))
from bench import default_bin_dir, run, sandbox_env  # noqa: E402  (the scale benchmark's helpers)

NS = "todo"
KINDS = ["configmaps", "secrets", "serviceaccounts", "services", "deployments.apps",
         "sealedsecrets.bitnami.com", "namespaces"]
SEAL_ENV = {
    "DATABASE_URL": "postgresql://demo:demo-password@ep-demo-123456.us-east-2.aws.neon.tech/todo",
    "BETTER_AUTH_SECRET": "k9Jx2LmQ8vR4tW7yZ1bN5cF3hD6gS0aP2eU9iO4uY7rT1wQe",
    "OPENAI_API_KEY": "sk-test-0123456789abcdefghijklmnopqrstuvwxyzABCD",
    "LLM_PROVIDER": "openai",
    "HELM_NAMESPACE": NS,
}


def timed(fn):
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def kubectl_checks(env):
    k = lambda *a: run(env, "kubectl", *a, check=False)  # noqa: E731
    k("get", "namespace", NS)
    k("get", "secrets", "-n", NS, "-l", "owner=helm,name=todo")
    k("get", "nodes", "-o", "json")
    k("get", "pods", "-A", "--field-selector=status.phase!=Succeeded,status.phase!=Failed", "-o", "json")
    k("get", "services", "-A", "-o", "json")
    k("api-resources", "--api-group=bitnami.com")
    k("get", "service", "-n", "kube-system", "sealed-secrets-controller")
    k("get", "--raw", "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:/proxy/v1/cert.pem")
    for kind in KINDS:
        k("auth", "can-i", "create", kind, "-n", NS)


def summary(name, xs):
    ms = [x * 1000 for x in xs]
    return f"{name:<44} median {statistics.median(ms):8.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=default_bin_dir())
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    with sandbox_env(args.bin_dir, "") as (env, tmp):
        sealed = os.path.join(tmp, "sealed.yaml")
        run(dict(env, **SEAL_ENV), os.path.join(args.bin_dir, "helm-todo-secrets"), "init", "--from-env",
            "--release", "todo", "-f", sealed)
        preflight = [os.path.join(args.bin_dir, "kubectl-todo-preflight"), "-n", NS, "--create-namespace",
                     "--chart", os.path.join(ROOT, "charts", "todo-chatbot"), "-f", sealed]
        r = run(env, *preflight, check=False)
        if r.returncode != 0:
            sys.exit(f"preflight is not ready on the benchmark cluster:\n{r.stdout}\n{r.stderr}")
        helm = shutil.which("helm", path=env["PATH"])
        if helm and not os.path.realpath(helm).startswith(ROOT):
            base_name = "helm install --dry-run=server"
            baseline = lambda: run(env, helm, "install", "todo", os.path.join(ROOT, "charts", "todo-chatbot"),  # noqa: E731
                                   "-n", NS, "--create-namespace", "--dry-run=server", "-f", sealed, check=False)
        else:
            base_name = f"kubectl, {9 + len(KINDS)} commands in sequence"
            baseline = lambda: kubectl_checks(env)  # noqa: E731
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(timed(lambda: run(env, *preflight)))
            theirs.append(timed(baseline))
        print(f"{args.rounds} rounds on the sandbox, binaries from {args.bin_dir}")
        print(summary("kubectl todo preflight (13 checks)", ours))
        print(summary(base_name, theirs))
        print(f"ratio (baseline / preflight, medians): {statistics.median(theirs) / statistics.median(ours):.1f}x")


if __name__ == "__main__":
    main()
