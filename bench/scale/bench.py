#!/usr/bin/env python3
"""Benchmark: how long after the last pod becomes Ready does `kubectl todo scale` exit,
compared with `kubectl rollout status` watching the same rollout in the same run.

It starts the sandbox (`todo-sandbox up`), creates a Deployment `bench` (a generic app
image the sandbox's registry serves), and for each round:

1. scales `bench` back to 1 replica and waits for it;
2. starts `kubectl get pods -w` and timestamps each pod's Ready condition turning True
   as the watch event arrives (the sandbox's own lastTransitionTime has 1 s precision);
3. runs `kubectl todo scale deployment/bench N`; as soon as it reports the change
   (stderr line "scale 1 → N"), starts `kubectl rollout status deployment/bench`;
4. records when each process exits, and prints exit − last Ready for both.

All times are `time.monotonic()` in this process. Usage:

    bench/scale/bench.py [--bin-dir target/debug] [--rounds 5] [--replicas 4]

Needs `kubectl` on PATH and the built binaries `todo-sandbox`, `kubectl-todo`,
`kubectl-todo-scale` in --bin-dir (default: $TODO_BIN_DIR, $CARGO_TARGET_DIR/debug, then
target/debug).
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
NS = "bench"

SCENARIO = """\
timings: {scheduleMs: 20, startMs: 100, readyMs: 150}
registry: [bench-app:1]
"""

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "bench", "namespace": NS},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "bench"}},
        "template": {
            "metadata": {"labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "app", "image": "bench-app:1",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]},
        },
    },
}


def default_bin_dir():
    for cand in (os.environ.get("TODO_BIN_DIR"),
                 os.path.join(os.environ["CARGO_TARGET_DIR"], "debug") if os.environ.get("CARGO_TARGET_DIR") else None,
                 os.path.join(ROOT, "target", "debug")):
        if cand and os.path.exists(os.path.join(cand, "kubectl-todo-scale")):
            return cand
    return os.path.join(ROOT, "target", "debug")


@contextlib.contextmanager
def sandbox_env(bin_dir, scenario_text):
    """Start `todo-sandbox up` with this scenario; yield (env with its KUBECONFIG and the
    binaries first on PATH, a temporary directory); stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="todo-bench-") as tmp:
        scenario = os.path.join(tmp, "scenario.yaml")
        with open(scenario, "w") as f:
            f.write(scenario_text)
        sandbox = subprocess.Popen([os.path.join(bin_dir, "todo-sandbox"), "up", "--scenario", scenario],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            kubeconfig = sandbox.stdout.readline().strip()
            if not kubeconfig:
                sys.exit("todo-sandbox did not start")
            yield dict(os.environ, KUBECONFIG=kubeconfig, NO_COLOR="1",
                       PATH=bin_dir + os.pathsep + os.environ.get("PATH", "")), tmp
        finally:
            sandbox.terminate()
            sandbox.wait()


class PodReadyWatch:
    """`kubectl get pods -w`, remembering when each pod was first seen Ready."""

    def __init__(self, env):
        template = '{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}'
        self.proc = subprocess.Popen(
            ["kubectl", "get", "pods", "-n", NS, "-l", "app=bench", "-w", "-o", "jsonpath=" + template],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.ready_at = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            now = time.monotonic()
            parts = line.split()
            if len(parts) == 2 and parts[1] == "True":
                with self.lock:
                    self.ready_at.setdefault(parts[0], now)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        with self.lock:
            return dict(self.ready_at)


def run(env, *args, check=True):
    r = subprocess.run(list(args), env=env, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{r.stdout}\n{r.stderr}")
    return r


def one_round(env, replicas, timeout):
    run(env, "kubectl", "todo", "scale", "-n", NS, "deployment/bench", "1", "--timeout", "60s")
    pods = json.loads(run(env, "kubectl", "get", "pods", "-n", NS, "-l", "app=bench", "-o", "json").stdout)["items"]
    before = {p["metadata"]["name"] for p in pods}
    watch = PodReadyWatch(env)
    time.sleep(0.3)  # let the watch establish before anything changes
    scale = subprocess.Popen(
        ["kubectl", "todo", "scale", "-n", NS, "deployment/bench", str(replicas), "--timeout", timeout],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    exits = {}
    rollout = {}

    def read_scale_stderr():
        for line in scale.stderr:
            if "scale 1 → " in line and "proc" not in rollout:
                rollout["proc"] = subprocess.Popen(
                    ["kubectl", "rollout", "status", "-n", NS, "deployment/bench", "--timeout", timeout],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                threading.Thread(target=lambda: (rollout["proc"].wait(), exits.__setitem__("rollout", time.monotonic())), daemon=True).start()

    reader = threading.Thread(target=read_scale_stderr, daemon=True)
    reader.start()
    scale.wait()
    exits["scale"] = time.monotonic()
    reader.join()
    if "proc" not in rollout:
        sys.exit("kubectl todo scale did not report the change")
    rollout["proc"].wait()
    deadline = time.monotonic() + 5
    while "rollout" not in exits and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # let the pod watch deliver any late event
    ready = {p: t for p, t in watch.stop().items() if p not in before}
    if scale.returncode != 0 or rollout["proc"].returncode != 0 or len(ready) < replicas - 1:
        sys.exit(f"round failed: scale rc={scale.returncode} rollout rc={rollout['proc'].returncode} new ready pods={len(ready)}")
    last_ready = max(ready.values())
    return (exits["scale"] - last_ready) * 1000, (exits["rollout"] - last_ready) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin-dir", default=default_bin_dir())
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--replicas", type=int, default=4)
    ap.add_argument("--timeout", default="60s")
    args = ap.parse_args()
    bin_dir = os.path.abspath(args.bin_dir)
    with sandbox_env(bin_dir, SCENARIO) as (env, tmp):
        run(env, "kubectl", "create", "namespace", NS)
        manifest = os.path.join(tmp, "bench.json")
        with open(manifest, "w") as f:
            json.dump(DEPLOYMENT, f)
        run(env, "kubectl", "apply", "-f", manifest)
        scale_ms, rollout_ms = [], []
        for i in range(args.rounds):
            s, r = one_round(env, args.replicas, args.timeout)
            scale_ms.append(s)
            rollout_ms.append(r)
            print(f"round {i + 1}: last pod Ready → exit: kubectl todo scale {s:7.1f} ms | kubectl rollout status {r:7.1f} ms")
        print(f"median over {args.rounds} rounds (1 → {args.replicas} replicas): "
              f"kubectl todo scale {statistics.median(scale_ms):.1f} ms, "
              f"kubectl rollout status {statistics.median(rollout_ms):.1f} ms "
              f"(max {max(scale_ms):.1f} / {max(rollout_ms):.1f} ms)")
        if statistics.median(scale_ms) >= 100:
            print("FAIL: the target is under 100 ms", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
