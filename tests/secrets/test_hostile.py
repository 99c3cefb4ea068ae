"""Hostile input: every case ends with the expected exit code and a phrase that says what
is wrong, and no output holds a sentinel secret, a raw control character or a panic. Plus
the deadlines: a silent API server and a hanging exec credential plugin end the run by
--timeout (+ 2 s)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from secretslib import VALUES

SENTINEL = "S3CRETsntl"
YAML_LINE = f"DATABASE_URL: postgresql://u:{SENTINEL}@h/db\n"


def check(res, code, phrase):
    out = res.stdout + res.stderr
    assert res.code == code, out
    assert phrase in res.stderr, res.stderr
    assert SENTINEL not in out, "a secret was echoed"
    assert "panicked" not in out
    assert not any(c in out for c in "\x1b\x07\x00"), repr(out)


@pytest.fixture
def bad_env(tmp_path):
    path = tmp_path / "bad.env"
    path.write_text(YAML_LINE)
    return path


@pytest.mark.parametrize("args", [
    ["init", "--from-file", "{bad}", "--format", "values", "--non-interactive", "--force"],
    ["init", "--from-file", "{bad}", "--non-interactive", "--cert", "{cert}"],
])
def test_a_dotenv_line_with_a_password_names_the_file_and_line_only(run, certs, bad_env, args):
    argv = [a.format(bad=bad_env, cert=certs["current"].cert_path) for a in args]
    check(run(*argv), 2, "bad.env: line 1: expected KEY=value (dotenv files use `=`")


@pytest.mark.parametrize("sub", [["status", "--offline"], ["rotate"], ["seal", "OPENAI_API_KEY"]])
@pytest.mark.parametrize("content", [YAML_LINE, f"DATABASE_URL=postgresql://u:{SENTINEL}@h/db\n", f"secrets: [{SENTINEL}\n"])
def test_a_non_values_file_given_with_f_is_refused_without_its_content(run, bad_env, sub, content):
    bad_env.write_text(content)
    res = run(*sub, "-f", bad_env, stdin="sk-x")
    check(res, 2, f"{bad_env}:")
    assert "hint:" in res.stderr


@pytest.mark.parametrize("args,phrase", [
    (["init", "--from-env", "--cert", "/dev/zero"], "/dev/zero is larger than 256 KiB"),
    (["fetch-cert", "--cert", "/dev/zero"], "/dev/zero is larger than 256 KiB"),
    (["init", "--from-file", "/dev/zero", "--cert", "{cert}"], "/dev/zero is larger than 1 MiB"),
    (["status", "--offline", "-f", "/dev/zero"], "/dev/zero is larger than 4 MiB"),
])
def test_endless_input_is_refused_at_its_limit_at_once(run, certs, args, phrase):
    argv = [a.format(cert=certs["current"].cert_path) for a in args]
    started = time.monotonic()
    res = run(*argv, extra_env=VALUES)
    assert time.monotonic() - started < 10
    check(res, 2, phrase)


def test_an_endless_value_on_stdin_is_refused(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    res = run("seal", "EXTRA", "--cert", certs["current"].cert_path, stdin="x" * (1024 * 1024 + 1))
    check(res, 2, "standard input is larger than 1 MiB")


def test_a_dotenv_file_with_a_byte_order_mark_is_read(run, certs, workdir, tmp_path):
    dotenv = tmp_path / "bom.env"
    dotenv.write_bytes(b"\xef\xbb\xbf" + "".join(f"{k}={v}\n" for k, v in VALUES.items()).encode())
    res = run("init", "--from-file", dotenv, "--cert", certs["current"].cert_path)
    assert res.code == 0, res.stderr


@pytest.mark.parametrize("flags,phrase", [
    (["--secret-name", "Bad_Name"], '"Bad_Name" is not a valid Secret name'),
    (["--release", "UPPER"], '"UPPER" is not a valid Helm release name'),
    (["-n", "a b"], '"a b" is not a valid namespace name'),
    (["-n", "evil\x1b[2J"], "is not a valid namespace name"),
    (["--controller-namespace", "kube_system"], '"kube_system" is not a valid namespace name'),
])
def test_kubernetes_names_are_checked_before_sealing(run, certs, workdir, flags, phrase):
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, *flags, extra_env=VALUES)
    check(res, 2, phrase)
    assert list(workdir.iterdir()) == []


def test_placeholder_values_are_refused_unless_allowed(run, certs, workdir):
    env = {**VALUES, "OPENAI_API_KEY": "changeme"}
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=env)
    check(res, 2, "OPENAI_API_KEY looks like a placeholder")
    assert "--allow-placeholder" in res.stderr and list(workdir.iterdir()) == []
    res = run("init", "--from-env", "--allow-placeholder", "--cert", certs["current"].cert_path, extra_env=env)
    assert res.code == 0, res.stderr


def test_a_failed_plaintext_write_leaves_nothing_in_the_work_tree_or_git_dir(run, workdir):
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True)
    (workdir / ".gitignore").write_text("secrets.values.yaml\n")
    too_long = "x" * 300 + ".yaml"  # the rename into place fails (name too long)
    res = run("init", "--from-env", "--format", "values", "--force", "-f", too_long, extra_env={**VALUES, "BETTER_AUTH_SECRET": SENTINEL + "k9Jx2LmQ8vR4tW7yZ1bN5cF3hD6gS"})
    assert res.code == 2 and "cannot write" in res.stderr, res.stderr
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=workdir, capture_output=True, text=True).stdout
    assert status.strip() == "?? .gitignore", status
    stray = [p for p in (workdir / ".git").rglob(".todo-secrets-*")]
    assert stray == []


# ---------------------------------------------------------------------------------------
# Deadlines


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    conns = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    thread.join()
    for c in conns:
        c.close()
    srv.close()


def kubeconfig(path, server, user):
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters:\n- name: c\n  cluster:\n    server: {server}\n"
        "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n"
        f"users:\n- name: u\n  user:\n{user}"
    )
    return path


@pytest.mark.parametrize("args", [["fetch-cert"], ["init", "--from-env", "--format", "secret"], ["status"], ["rotate"]])
def test_a_silent_api_server_ends_the_run_by_its_deadline(run, certs, workdir, silent_server, args):
    if args[0] in ("status", "rotate"):
        assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    kc = kubeconfig(workdir.parent / "kc", silent_server, "    token: t\n")
    started = time.monotonic()
    res = run(*args, "--timeout", "2s", extra_env={**VALUES, "KUBECONFIG": str(kc)})
    elapsed = time.monotonic() - started
    assert elapsed < 4, f"took {elapsed:.1f}s"
    check(res, 2, "did not answer")


def test_a_hanging_exec_credential_plugin_ends_the_run_by_its_deadline(run, workdir, silent_server):
    user = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sleep\n      args: ['20']\n      interactiveMode: Never\n"
    kc = kubeconfig(workdir.parent / "kc", silent_server, user)
    started = time.monotonic()
    res = run("fetch-cert", "--timeout", "2s", extra_env={"KUBECONFIG": str(kc)})
    elapsed = time.monotonic() - started
    assert elapsed < 4, f"took {elapsed:.1f}s"
    assert res.code == 2, res.stderr
    assert "did not answer" in res.stderr and "panicked" not in res.stderr
