#!/usr/bin/env python3
"""Benchmark: how long after a rollout's failure becomes permanent does `kubectl todo scale`
exit, beside `kubectl rollout status` on the same rollout (which waits for the progress
deadline or its --timeout).

It starts the sandbox (`todo-sandbox up`) with a Deployment `bench` whose image is not on the
node and whose pull policy is Never (ErrImageNeverPull: waiting cannot fix it), and for
each round:

1. creates `bench` afresh at 0 replicas;
2. starts `kubectl get pods -w` and timestamps the first watch event in which a container
   waits with reason ErrImageNeverPull (the event that makes the failure permanent);
3. runs `kubectl todo scale deployment/bench N` and, as soon as it reports the change,
   `kubectl rollout status deployment/bench`;
4. prints exit − permanent event for both.

All times are `time.monotonic()` in this process. The target is under 1 s for scale.

    bench/failfast/bench.py [--bin-dir target/debug] [--rounds 3] [--replicas 2]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "scale"))
from bench import default_bin_dir, run, sandbox_env  # noqa: E402  (the scale benchmark's helpers)

NS = "bench"
SCENARIO = "timings: {scheduleMs: 20, startMs: 100, readyMs: 150}\n"
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "bench", "namespace": NS},
    "spec": {
        "replicas": 0,
        "progressDeadlineSeconds": 15,
        "selector": {"matchLabels": {"app": "bench"}},
        "template": {
            "metadata": {"labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "app", "image": "not-on-the-node:1",
                                     "imagePullPolicy": "Never",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]},
        },
    },
}


class PermanentWatch:
    """`kubectl get pods -w`, remembering when ErrImageNeverPull was first seen."""

    def __init__(self, env):
        template = '{.metadata.name} {.status.containerStatuses[*].state.waiting.reason}{"\\n"}'
        self.proc = subprocess.Popen(
            ["kubectl", "get", "pods", "-n", NS, "-l", "app=bench", "-w", "-o", "jsonpath=" + template],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.first = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            if "ErrImageNeverPull" in line and self.first is None:
                self.first = time.monotonic()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        return self.first


def one_round(env, manifest, replicas, timeout):
    # A fresh Deployment each round: a previous round's ProgressDeadlineExceeded condition
    # would end `kubectl rollout status` at once.
    run(env, "kubectl", "delete", "-n", NS, "deployment/bench", "--ignore-not-found", "--wait")
    run(env, "kubectl", "apply", "-f", manifest)
    time.sleep(0.5)
    watch = PermanentWatch(env)
    time.sleep(0.3)  # let the watch establish before anything changes
    exits = {}
    scale = subprocess.Popen(
        ["kubectl", "todo", "scale", "-n", NS, "deployment/bench", str(replicas), "--timeout", timeout],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
    rollout = {}

    def start_rollout_once_scaled():
        # Started before the scale lands, rollout status would see 0/0 replicas rolled out.
        for line in scale.stderr:
            if "scale 0 → " in line and "proc" not in rollout:
                rollout["proc"] = subprocess.Popen(
                    ["kubectl", "rollout", "status", "-n", NS, "deployment/bench", "--timeout", timeout],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    reader = threading.Thread(target=start_rollout_once_scaled, daemon=True)
    reader.start()
    scale.wait()
    exits["scale"] = time.monotonic()
    reader.join()
    if "proc" not in rollout:
        sys.exit("kubectl todo scale did not report the change")
    rollout = rollout["proc"]
    rollout.wait()
    exits["rollout"] = time.monotonic()
    first = watch.stop()
    if first is None or scale.returncode != 1:
        sys.exit(f"round failed: scale rc={scale.returncode} (want 1), permanent event seen={first is not None}")
    if exits["rollout"] < first:
        sys.exit(f"kubectl rollout status ended before the failure: {rollout.stderr.read().strip()}")
    return (exits["scale"] - first) * 1000, (exits["rollout"] - first) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin-dir", default=default_bin_dir())
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--timeout", default="30s")
    args = ap.parse_args()
    bin_dir = os.path.abspath(args.bin_dir)
    with sandbox_env(bin_dir, SCENARIO) as (env, tmp):
        run(env, "kubectl", "create", "namespace", NS)
        manifest = os.path.join(tmp, "bench.json")
        with open(manifest, "w") as f:
            json.dump(DEPLOYMENT, f)
        scale_ms, rollout_ms = [], []
        for i in range(args.rounds):
            s, r = one_round(env, manifest, args.replicas, args.timeout)
            scale_ms.append(s)
            rollout_ms.append(r)
            print(f"round {i + 1}: permanent failure → exit: kubectl todo scale {s:8.1f} ms | "
                  f"kubectl rollout status {r:8.1f} ms")
        ms, mr = statistics.median(scale_ms), statistics.median(rollout_ms)
        print(f"median over {args.rounds} rounds: kubectl todo scale {ms:.1f} ms, "
              f"kubectl rollout status {mr:.1f} ms (ratio {mr / max(ms, 0.1):.0f}x)")
        if ms >= 1000:
            print("FAIL: the target is under 1 s", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
