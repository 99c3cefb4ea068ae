"""install.sh --demo: its sequence with recording stand-ins for the sandbox, kubectl and
helm (the order of the steps, and the kubeconfig from the sandbox's first stdout line reaching
every later command), and the whole demo on the real todo-sandbox with real Helm.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from installlib import BINARIES, REPO, clean_env

RECORDER = """#!/bin/sh
printf '%s KUBECONFIG=%s %s\\n' "$(basename "$0")" "${KUBECONFIG:-}" "$*" >>"$DEMO_LOG"
"""


def script(path: Path, body: str) -> None:
    path.write_text(body)
    path.chmod(0o755)


def test_demo_starts_sandbox_seals_installs_verifies_scales_and_stops(installer, tmp_path):
    log = tmp_path / "calls.log"
    fake = tmp_path / "fake"
    bins = tmp_path / "bins"
    fake.mkdir()
    bins.mkdir()
    kubeconfig = tmp_path / "sandbox-kubeconfig"
    for name in BINARIES:
        script(bins / name, RECORDER)
    # No cluster configured: current-context fails. Plugins run through kubectl.
    script(fake / "kubectl", RECORDER + """
case "$1" in
    config) exit 1 ;;
    todo) shift; sub=$1; shift; exec "kubectl-todo-$sub" "$@" ;;
esac
""")
    script(fake / "helm", RECORDER + 'case "$1" in env|plugin) exit 1 ;; esac\n')
    script(fake / "todo-sandbox", f"""#!/bin/sh
echo "todo-sandbox $*" >>"$DEMO_LOG"
trap 'echo "todo-sandbox stopped" >>"$DEMO_LOG"; exit 0' TERM
echo {kubeconfig}
while :; do sleep 1; done
""")
    env = clean_env(installer.home, f"{fake}{os.pathsep}{installer.path}")
    env["DEMO_LOG"] = str(log)
    run = subprocess.run(["sh", str(installer.checkout / "install.sh"), "--demo", "--bin-dir",
                          str(bins)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    calls = log.read_text().splitlines()
    kc = f"KUBECONFIG={kubeconfig}"
    expected = [
        "kubectl KUBECONFIG= config current-context",
        "todo-sandbox up",
        f"helm-todo-secrets {kc} init --from-env --release todo --file",
        f"kubectl {kc} todo preflight -n todo --release todo",
        f"kubectl-todo-preflight {kc} -n todo --release todo",
        f"helm {kc} upgrade --install todo",
        f"kubectl {kc} todo verify -n todo",
        f"kubectl-todo-verify {kc} -n todo",
        f"kubectl {kc} todo scale backend 3 -n todo",
        f"kubectl-todo-scale {kc} backend 3 -n todo",
        f"kubectl {kc} todo verify -n todo",
        f"kubectl-todo-verify {kc} -n todo",
        "todo-sandbox stopped",
    ]
    # helm env/plugin list probes and the wait for the sealing controller (which must come
    # before sealing) are not part of the sequence.
    waits = [i for i, c in enumerate(calls) if c.startswith(f"kubectl {kc} get ")]
    seal = next(i for i, c in enumerate(calls) if c.startswith("helm-todo-secrets"))
    assert waits and max(waits) < seal, "\n".join(calls)
    steps = [c for i, c in enumerate(calls) if i not in waits
             and not c.startswith(("helm KUBECONFIG= env", f"helm KUBECONFIG={kubeconfig} plugin"))]
    assert len(steps) == len(expected), "\n".join(calls)
    for got, want in zip(steps, expected):
        assert got.startswith(want), f"{got!r} does not start with {want!r}\n" + "\n".join(calls)
    # Every step says what it does.
    for needle in ("starting the sandbox", "helm todo-secrets init --from-env",
                   "kubectl todo preflight -n todo", "upgrade --install todo", "kubectl todo verify -n todo",
                   "kubectl todo scale backend 3 -n todo", "Stopping the sandbox"):
        assert needle in run.stdout, needle


def sandbox_binary() -> Path | None:
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    for profile in ("release", "debug"):
        candidate = target / profile / "todo-sandbox"
        if candidate.is_file():
            return candidate
    return None


def test_demo_end_to_end_on_the_sandbox(installer, tmp_path):
    sandbox = sandbox_binary()
    if sandbox is None:
        pytest.skip("todo-sandbox is not built (cargo build -p todo-sandbox)")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "todo-sandbox").symlink_to(sandbox)
    # No helm binary on this machine: the repository's shim runs real Helm v4.
    script(tools / "helm", f'#!/bin/sh\nexec sh {REPO / "tests/tools/helm"} "$@"\n')
    env = clean_env(installer.home, f"{tools}{os.pathsep}{installer.path}")
    env["TODO_PYTHON"] = str(REPO / ".venv/bin/python")
    run = subprocess.run(["sh", str(installer.checkout / "install.sh"), "--demo", "--bin-dir",
                          str(installer.bin_dir)], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    out = run.stdout
    assert "No cluster configured: starting the sandbox" in out
    assert "helm install todo of todo-chatbot-0.1.0 in namespace todo: READY" in out, out
    assert "STATUS: deployed" in out
    assert out.count("HEALTHY") == 2, out
    assert "scaled 1 → 3" in out
    pid = int(re.search(r"sandbox running \(pid (\d+)\)", out).group(1))
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    # The demo's values never reach the screen.
    assert "demo-password" not in out + run.stderr
