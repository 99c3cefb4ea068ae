#!/usr/bin/env python3
"""Benchmark: `kubectl todo verify` against the seeds' verify.sh done with kubectl, and
verify's peak memory on a namespace with 1,000 pods.

In one run on the sandbox (`todo-sandbox up`):

1. installs charts/todo-chatbot as `todo` in `todo` with 2 replicas per component (demo
   Secret, mode existingSecret) and waits for the rollout;
2. times `kubectl todo verify -n todo` and `baseline-verify.sh todo todo` (same checks as the
   seeds' verify.sh, one kubectl call at a time), alternating, --rounds times each, and
   prints the medians, the ratio and the API requests each made (sandbox stats);
3. scales the backend to 1,000 replicas, waits until the pods exist, and runs the plugin
   binary under `/usr/bin/time -v` (else polls VmHWM in /proc) to get its peak memory.

Usage:

    bench/verify/bench.py [--bin-dir target/debug] [--rounds 10] [--pods 1000]

Needs `kubectl` on PATH and the built binaries `todo-sandbox`, `kubectl-todo`,
`kubectl-todo-verify` in --bin-dir (default: $TODO_BIN_DIR, $CARGO_TARGET_DIR/release,
$CARGO_TARGET_DIR/debug, target/release, target/debug). Exits 1 when the ratio is under 10
or the peak memory is 50 MB or more.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
NS = "todo"
RELEASE = "todo"
SECRET = "todo-demo-secrets"
SECRET_DATA = {
    "DATABASE_URL": "postgresql://todo:s3cr3t-Passw0rd@ep-demo-123456.us-east-2.aws.neon.tech/todo?sslmode=require",
    "BETTER_AUTH_SECRET": "k9Jx2LmQ8vR4tW7yZ1bN5cF3hD6gS0aP2eU9iO4uY7rT1wQe",
    "OPENAI_API_KEY": "sk-test-0123456789abcdefghijklmnopqrstuvwxyzABCD",
}
VALUES = f"""\
secrets:
  mode: existingSecret
  existingSecret: {SECRET}
backend:
  replicaCount: 2
frontend:
  replicaCount: 2
"""
SCENARIO = "timings: {scheduleMs: 20, startMs: 100, readyMs: 150}\n"


def default_bin_dir():
    target = os.environ.get("CARGO_TARGET_DIR")
    cands = [os.environ.get("TODO_BIN_DIR")]
    if target:
        cands += [os.path.join(target, "release"), os.path.join(target, "debug")]
    cands += [os.path.join(ROOT, "target", "release"), os.path.join(ROOT, "target", "debug")]
    for cand in cands:
        if cand and os.path.exists(os.path.join(cand, "kubectl-todo-verify")) and os.path.exists(os.path.join(cand, "todo-sandbox")):
            return cand
    return os.path.join(ROOT, "target", "debug")


def sh(env, *args, check=True, input=None):
    r = subprocess.run(args, env=env, capture_output=True, text=True, input=input, cwd=ROOT)
    if check and r.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def requests(env):
    return json.loads(sh(env, "kubectl", "get", "--raw", "/sandbox/v1/stats").stdout)["requests"]


def timed(env, args):
    """Wall time of one run, and the API requests it made (minus the stats read itself)."""
    before = requests(env)
    t0 = time.perf_counter()
    r = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - t0
    made = requests(env) - before
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return elapsed, made


def peak_memory_kb(env, args):
    """Peak RSS of the process in kB: /usr/bin/time -v, else VmHWM polled from /proc."""
    if os.path.exists("/usr/bin/time"):
        r = subprocess.run(["/usr/bin/time", "-v", *args], env=env, capture_output=True, text=True, cwd=ROOT)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
        if m:
            return int(m.group(1)), r.returncode, "/usr/bin/time -v"
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    peak = 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.002)
    return peak, p.returncode, "VmHWM polling"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin-dir", default=default_bin_dir())
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--pods", type=int, default=1000)
    a = ap.parse_args()
    bin_dir = os.path.abspath(a.bin_dir)

    tmp = tempfile.mkdtemp(prefix="bench-verify-")
    scenario = os.path.join(tmp, "scenario.yaml")
    with open(scenario, "w") as f:
        f.write(SCENARIO)
    sandbox = subprocess.Popen([os.path.join(bin_dir, "todo-sandbox"), "up", "--scenario", scenario],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        kubeconfig = sandbox.stdout.readline().strip()
        path = [bin_dir]
        if not shutil.which("helm"):
            path.append(os.path.join(ROOT, "tests", "tools"))
        env = dict(os.environ, KUBECONFIG=kubeconfig, NO_COLOR="1",
                   PATH=":".join(path + [os.environ.get("PATH", "")]))

        sh(env, "kubectl", "create", "namespace", NS)
        secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": {"name": SECRET, "namespace": NS}, "stringData": SECRET_DATA}
        sh(env, "kubectl", "apply", "-f", "-", input=json.dumps(secret))
        values = os.path.join(tmp, "values.yaml")
        with open(values, "w") as f:
            f.write(VALUES)
        sh(env, "helm", "install", RELEASE, "charts/todo-chatbot", "-n", NS, "-f", values)
        for c in ("backend", "frontend"):
            sh(env, "kubectl", "rollout", "status", f"deployment/{RELEASE}-todo-chatbot-{c}", "-n", NS, "--timeout=60s")

        ours_cmd = ["kubectl", "todo", "verify", "-n", NS]
        base_cmd = ["bash", os.path.join(HERE, "baseline-verify.sh"), NS, RELEASE, SECRET]
        timed(env, ours_cmd)  # warm-up: page cache, TLS session setup
        timed(env, base_cmd)
        ours, base = [], []
        for _ in range(a.rounds):
            ours.append(timed(env, ours_cmd))
            base.append(timed(env, base_cmd))
        o = statistics.median(t for t, _ in ours)
        b = statistics.median(t for t, _ in base)
        ratio = b / o
        print(f"healthy release, 2 replicas per component, {a.rounds} rounds (binaries: {bin_dir}):")
        print(f"  kubectl todo verify : median {o * 1000:7.1f} ms, {ours[0][1]} API requests, 15 checks")
        print(f"  baseline verify.sh  : median {b * 1000:7.1f} ms, {base[0][1]} API requests, 6 points")
        print(f"  ratio               : {ratio:.1f}x faster")

        sh(env, "kubectl", "scale", f"deployment/{RELEASE}-todo-chatbot-backend", "-n", NS, f"--replicas={a.pods}")
        deadline = time.time() + 300
        count = 0
        while time.time() < deadline:
            out = sh(env, "kubectl", "get", "pods", "-n", NS, "-o", "name").stdout
            count = len(out.split())
            if count >= a.pods:
                break
            time.sleep(0.5)
        kb, code, how = peak_memory_kb(env, [os.path.join(bin_dir, "kubectl-todo-verify"), "-n", NS, "--timeout", "120s", "-o", "json"])
        print(f"namespace with {count} pods: kubectl-todo-verify peak memory {kb / 1024:.1f} MB ({how}; exit {code})")
        ok = ratio >= 10 and kb < 50 * 1024
        print("PASS" if ok else "FAIL (targets: ratio >= 10, peak memory < 50 MB)")
        return 0 if ok else 1
    finally:
        sandbox.terminate()
        try:
            sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
