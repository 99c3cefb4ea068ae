"""Leak test: with sentinel secret values, nothing the plugin prints, logs or leaves behind
contains a sentinel, except the intended 0600 plaintext output of `--format values`."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from secretslib import FakeApi

SENTINELS = ["SNTLdbuser", "SNTLdbpass", "SNTLdbhost", "SNTLdbname", "SNTLauth", "SNTLllm", "SNTLextra"]
LEAKY = {
    "DATABASE_URL": "postgresql://SNTLdbuser:SNTLdbpass@SNTLdbhost.neon.tech/SNTLdbname",
    "BETTER_AUTH_SECRET": "SNTLauth" + "k9Jx2LmQ8vR4tW7yZ1bN5cF3hD6gS0aP2eU9iO4u",
    "OPENAI_API_KEY": "SNTLllm-not-an-sk-key",
}
DEBUG = {"HELM_DEBUG": "true", "RUST_LOG": "trace", "RUST_BACKTRACE": "full"}


def files_under(*roots: Path):
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                yield path


def assert_clean(texts, *roots: Path, allow: tuple[Path, ...] = ()):
    for text in texts:
        for s in SENTINELS:
            assert s not in text, f"sentinel {s} printed"
    for path in files_under(*roots):
        if path in allow:
            continue
        data = path.read_bytes()
        for s in SENTINELS:
            assert s.encode() not in data, f"sentinel {s} in {path}"


@pytest.fixture
def roots(env, workdir):
    return (workdir, Path(env["TMPDIR"]), Path(env["HOME"]))


def test_sealed_init_from_env_leaks_nothing(run, certs, roots):
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env={**LEAKY, **DEBUG})
    assert res.code == 0, res.stderr
    assert "warning" in res.stderr  # the Neon and OpenAI-format warnings were printed, without values
    assert_clean([res.stdout, res.stderr], *roots)
    assert list(Path(roots[1]).iterdir()) == []


def test_sealed_init_from_file_leaks_nothing(run, certs, roots, tmp_path):
    dotenv = tmp_path / "app.env"
    dotenv.write_text("".join(f"{k}={v}\n" for k, v in LEAKY.items()))
    res = run("init", "--from-file", dotenv, "--cert", certs["current"].cert_path, extra_env=DEBUG)
    assert res.code == 0, res.stderr
    assert_clean([res.stdout, res.stderr], *roots)


@pytest.mark.parametrize("key,bad", [
    ("DATABASE_URL", "mysql://SNTLdbuser:SNTLdbpass@SNTLdbhost/SNTLdbname"),
    ("DATABASE_URL", "postgresql://SNTLdbuser:SNTLdbpass@SNTLdbhost"),
    ("DATABASE_URL", "SNTLdbuser not a url"),
    ("BETTER_AUTH_SECRET", "SNTLauth-short"),
    ("OPENAI_API_KEY", " SNTLllm "),
])
def test_rejected_values_are_not_echoed(run, certs, roots, key, bad):
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env={**LEAKY, key: bad, **DEBUG})
    assert res.code == 2
    assert key in res.stderr
    assert_clean([res.stdout, res.stderr], *roots)


def test_malformed_dotenv_errors_do_not_echo_values(run, certs, roots, tmp_path):
    dotenv = tmp_path / "bad.env"
    dotenv.write_text('DATABASE_URL="SNTLdbpass\n')
    res = run("init", "--from-file", dotenv, "--cert", certs["current"].cert_path)
    assert res.code == 2 and "line 1" in res.stderr
    assert_clean([res.stdout, res.stderr], *roots)


def test_seal_status_and_rotate_leak_nothing(run, certs, roots):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=LEAKY).code == 0
    outputs = []
    res = run("seal", "EXTRA_TOKEN", "--cert", certs["current"].cert_path, stdin="SNTLextra\n", extra_env=DEBUG)
    assert res.code == 0, res.stderr
    outputs += [res.stdout, res.stderr]
    res = run("seal", "BETTER_AUTH_SECRET", "--cert", certs["current"].cert_path, stdin="SNTLauth", extra_env=DEBUG)
    assert res.code == 2
    outputs += [res.stdout, res.stderr]
    for args in (["status", "--offline"], ["status", "--cert", certs["current"].cert_path, "-o", "json"]):
        res = run(*args, extra_env=DEBUG)
        outputs += [res.stdout, res.stderr]
    res = run("rotate", "--reenter", "--from-env", "--cert", certs["rotated"].cert_path, extra_env={**LEAKY, **DEBUG})
    assert res.code == 0, res.stderr
    outputs += [res.stdout, res.stderr]
    assert_clean(outputs, *roots)


def test_plaintext_output_is_the_only_place_with_values(run, roots, workdir):
    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True)
    (workdir / ".gitignore").write_text("secrets.values.yaml\n")
    res = run("init", "--from-env", "--format", "values", extra_env={**LEAKY, **DEBUG})
    assert res.code == 0, res.stderr
    out = workdir / "secrets.values.yaml"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text()
    assert all(s in text for s in SENTINELS if s != "SNTLextra")
    assert_clean([res.stdout, res.stderr], *roots, allow=(out,))


def test_applied_secret_leaves_no_plaintext_locally(run, certs, roots, workdir):
    with FakeApi(certs["current"].cert_path.read_text()) as api:
        kubeconfig = api.kubeconfig(workdir.parent / "kubeconfig")
        res = run("init", "--from-env", "--format", "secret", extra_env={**LEAKY, **DEBUG, "KUBECONFIG": str(kubeconfig)})
    assert res.code == 0, res.stderr
    assert_clean([res.stdout, res.stderr], *roots)


def test_the_controller_paths_leak_nothing(run, certs, roots, workdir):
    from secretslib import key_pem

    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env={**LEAKY, "HELM_NAMESPACE": "todo"}).code == 0
    keys = [certs["rotated"].key, certs["current"].key]
    private = [key_pem(k) for k in keys]
    key_secrets = [("k-new", certs["rotated"].cert_path.read_text(), private[0]), ("k-old", certs["current"].cert_path.read_text(), private[1])]
    outputs = []
    with FakeApi(certs["rotated"].cert_path.read_text(), keys=keys, key_secrets=key_secrets) as api:
        env = {**DEBUG, "KUBECONFIG": str(api.kubeconfig(workdir.parent / "kubeconfig"))}
        for args in (["status", "--validate"], ["status", "-o", "json"], ["status", "-o", "yaml"], ["rotate", "-o", "yaml"],
                     ["rotate"], ["fetch-cert", "--all", "-o", "json"], ["fetch-cert", "--all"]):
            res = run(*args, extra_env=env)
            assert res.code == 0, (args, res.stderr)
            outputs += [res.stdout, res.stderr]
    assert_clean(outputs, *roots)
    for pem in private:
        body = "".join(pem.splitlines()[1:-1])
        assert all(body[i:i + 40] not in o for o in outputs for i in range(0, len(body) - 40, 200)), "a private key was printed"


@pytest.mark.parametrize("content", [
    "".join(f"{k}: {v}\n" for k, v in LEAKY.items()),
    "".join(f"{k}={v}\n" for k, v in LEAKY.items()),
])
def test_a_secrets_file_passed_as_the_sealed_file_leaks_nothing(run, certs, roots, tmp_path, content):
    wrong = tmp_path / "app.env"
    wrong.write_text(content)
    outputs = []
    for args in (["status", "--offline", "-f", wrong], ["rotate", "-f", wrong], ["seal", "EXTRA", "-f", wrong, "--cert", certs["current"].cert_path]):
        res = run(*args, extra_env=DEBUG, stdin="x")
        assert res.code == 2 and str(wrong) in res.stderr, res.stderr
        outputs += [res.stdout, res.stderr]
    res = run("init", "--from-file", wrong, "--cert", certs["current"].cert_path, extra_env=DEBUG)
    outputs += [res.stdout, res.stderr]
    assert_clean(outputs)
