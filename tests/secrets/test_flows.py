"""init sources and formats, merging, seal KEY, rotate and status."""

from __future__ import annotations

import json
import stat
import subprocess

import pytest

from secretslib import VALUES, label_for, load, unseal

SECRET = "todo-todo-chatbot-secrets"
SEALED = "todo-secrets.sealed.yaml"


def encrypted(workdir, name=SEALED):
    return load(workdir / name)["secrets"]["sealed"]["encryptedData"]


def test_non_interactive_lists_exactly_the_missing_values(run, certs, workdir):
    res = run(
        "init", "--from-env", "--non-interactive", "--cert", certs["current"].cert_path,
        extra_env={"DATABASE_URL": VALUES["DATABASE_URL"], "LLM_PROVIDER": "cohere"},
    )
    assert res.code == 2
    assert "missing values: BETTER_AUTH_SECRET, COHERE_API_KEY\n" in res.stderr
    assert list(workdir.iterdir()) == []


def test_no_terminal_and_no_source_fails_with_the_hint(run, certs, workdir):
    res = run("init", "--cert", certs["current"].cert_path)
    assert res.code == 2
    assert "no terminal" in res.stderr and "--from-env" in res.stderr
    assert list(workdir.iterdir()) == []


def test_from_file_reads_dotenv_and_env_overrides_it(run, certs, workdir):
    dotenv = workdir.parent / "app.env"
    dotenv.write_text(
        "# app secrets\nexport DATABASE_URL='postgresql://u:p@h/db'\nBETTER_AUTH_SECRET=\"" + "a" * 40 + "\"\n"
        "LLM_PROVIDER=openrouter\nOPENROUTER_API_KEY=sk-or-from-file\n"
    )
    res = run(
        "init", "--from-file", dotenv, "--from-env", "--cert", certs["current"].cert_path,
        extra_env={"OPENROUTER_API_KEY": "sk-or-from-env", "HELM_NAMESPACE": "todo"},
    )
    assert res.code == 0, res.stderr
    doc = load(workdir / SEALED)
    assert doc["llm"]["provider"] == "openrouter"
    data = doc["secrets"]["sealed"]["encryptedData"]
    assert set(data) == {"DATABASE_URL", "BETTER_AUTH_SECRET", "OPENROUTER_API_KEY"}
    label = label_for("strict", "todo", SECRET)
    assert unseal(certs["current"].key, label, data["OPENROUTER_API_KEY"]) == b"sk-or-from-env"
    assert unseal(certs["current"].key, label, data["DATABASE_URL"]) == b"postgresql://u:p@h/db"


def test_invalid_database_url_is_refused(run, certs, workdir):
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env={**VALUES, "DATABASE_URL": "mysql://u:p@h/db"})
    assert res.code == 2 and "DATABASE_URL must start with postgresql://" in res.stderr
    assert list(workdir.iterdir()) == []


def test_short_auth_secret_is_refused_and_generate_fills_a_missing_one(run, certs, workdir):
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env={**VALUES, "BETTER_AUTH_SECRET": "short"})
    assert res.code == 2 and "shorter than 32" in res.stderr
    env = {k: v for k, v in VALUES.items() if k != "BETTER_AUTH_SECRET"}
    res = run("init", "--from-env", "--generate", "--cert", certs["current"].cert_path, extra_env=env)
    assert res.code == 0, res.stderr
    secret = unseal(certs["current"].key, label_for("strict", "default", SECRET), encrypted(workdir)["BETTER_AUTH_SECRET"])
    assert len(secret) == 48 and secret.isalnum()


def test_neon_url_without_sslmode_warns_but_seals(run, certs, workdir):
    res = run("init", "--from-env", "--cert", certs["current"].cert_path,
              extra_env={**VALUES, "DATABASE_URL": "postgresql://u:p@ep-cool-1.us-east-2.aws.neon.tech/neondb"})
    assert res.code == 0
    assert "warning: DATABASE_URL" in res.stderr and "sslmode=require" in res.stderr


def test_openai_key_without_sk_prefix_only_warns(run, certs, workdir):
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env={**VALUES, "OPENAI_API_KEY": "abc123"})
    assert res.code == 0 and "warning: OPENAI_API_KEY" in res.stderr


def test_schema_x_secret_keys_are_required(run, certs, workdir):
    chart = workdir.parent / "chart"
    chart.mkdir()
    schema = {"properties": {"secrets": {"properties": {"inline": {"properties": {
        "SMTP_PASSWORD": {"type": "string", "x-secret": True, "description": "Mail password"}}}}}}}
    (chart / "values.schema.json").write_text(json.dumps(schema))
    res = run("init", "--from-env", "--chart", chart, "--cert", certs["current"].cert_path, extra_env=VALUES)
    assert res.code == 2 and "missing values: SMTP_PASSWORD" in res.stderr
    res = run("init", "--from-env", "--chart", chart, "--cert", certs["current"].cert_path, extra_env={**VALUES, "SMTP_PASSWORD": "pw"})
    assert res.code == 0 and "SMTP_PASSWORD" in encrypted(workdir)


def test_existing_file_is_kept_without_force(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    before = (workdir / SEALED).read_text()
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES)
    assert res.code == 2 and "already exists" in res.stderr and "--force" in res.stderr
    assert (workdir / SEALED).read_text() == before


def test_force_merges_keeping_keys_not_re_entered(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    old = encrypted(workdir)
    res = run("init", "--from-env", "--force", "--cert", certs["current"].cert_path,
              extra_env={"OPENAI_API_KEY": "sk-new-value"})
    assert res.code == 0, res.stderr
    new = encrypted(workdir)
    assert new["DATABASE_URL"] == old["DATABASE_URL"] and new["BETTER_AUTH_SECRET"] == old["BETTER_AUTH_SECRET"]
    assert unseal(certs["current"].key, label_for("strict", "default", SECRET), new["OPENAI_API_KEY"]) == b"sk-new-value"
    assert "kept from the existing file: BETTER_AUTH_SECRET, DATABASE_URL" in res.stdout


def test_merge_with_a_new_certificate_is_refused_in_favour_of_rotate(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    res = run("init", "--from-env", "--force", "--cert", certs["rotated"].cert_path, extra_env=VALUES)
    assert res.code == 2 and "rotate" in res.stderr


def test_seal_one_key_from_stdin_updates_only_that_key(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env={**VALUES, "HELM_NAMESPACE": "todo"}).code == 0
    old = encrypted(workdir)
    res = run("seal", "OPENAI_API_KEY", "--cert", certs["current"].cert_path, stdin="sk-rotated-key\n")
    assert res.code == 0, res.stderr
    new = encrypted(workdir)
    assert new["DATABASE_URL"] == old["DATABASE_URL"]
    assert unseal(certs["current"].key, label_for("strict", "todo", SECRET), new["OPENAI_API_KEY"]) == b"sk-rotated-key"


def test_seal_one_key_from_env(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    res = run("seal", "EXTRA_TOKEN", "--from-env", "--cert", certs["current"].cert_path, extra_env={"EXTRA_TOKEN": "tok"})
    assert res.code == 0 and "not a key the chart reads" in res.stderr
    assert unseal(certs["current"].key, label_for("strict", "default", SECRET), encrypted(workdir)["EXTRA_TOKEN"]) == b"tok"
    res = run("seal", "MISSING_ONE", "--from-env", "--cert", certs["current"].cert_path)
    assert res.code == 2 and "missing values: MISSING_ONE" in res.stderr


def test_seal_refuses_another_namespace_than_the_files(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env={**VALUES, "HELM_NAMESPACE": "todo"}).code == 0
    res = run("seal", "OPENAI_API_KEY", "--cert", certs["current"].cert_path, stdin="sk-x", extra_env={"HELM_NAMESPACE": "prod"})
    assert res.code == 2 and "namespace" in res.stderr


def test_rotate_reseals_everything_with_the_new_certificate(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env={**VALUES, "HELM_NAMESPACE": "todo"}).code == 0
    res = run("rotate", "--reenter", "--from-env", "--cert", certs["rotated"].cert_path, extra_env=VALUES)
    assert res.code == 0, res.stderr
    doc = load(workdir / SEALED)
    assert doc["secrets"]["sealed"]["certificateFingerprint"] == certs["rotated"].fingerprint
    for name, text in doc["secrets"]["sealed"]["encryptedData"].items():
        assert unseal(certs["rotated"].key, label_for("strict", "todo", SECRET), text) == VALUES[name].encode()


def test_status_reports_keys_and_certificate_match(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    res = run("status", "--cert", certs["current"].cert_path, "-o", "json")
    assert res.code == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["keys"] == sorted(VALUES)
    assert report["missing"] == []
    assert report["scope"] == "strict"
    assert report["certificateFingerprint"] == certs["current"].fingerprint
    assert report["controller"] == {"state": "matches"}


def test_status_detects_a_rotated_controller_key(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    res = run("status", "--cert", certs["rotated"].cert_path)
    assert res.code == 1
    assert "CHANGED" in res.stdout and "rotate" in res.stdout


def test_status_offline_compares_nothing_and_exits_0(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    res = run("status", "--offline")
    assert res.code == 0, res.stderr
    assert "not checked (--offline)" in res.stdout


def test_status_that_cannot_ask_the_cluster_exits_2(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    res = run("status")  # no kubeconfig: the controller cannot be asked
    assert res.code == 2, res.stdout
    assert "kubeconfig" in res.stderr and "hint:" in res.stderr and res.stdout == ""


def test_status_without_a_file_points_at_init(run):
    res = run("status", "--offline")
    assert res.code == 2 and "helm todo-secrets init" in res.stderr


def git(workdir, *args):
    subprocess.run(["git", *args], cwd=workdir, check=True, capture_output=True)


def test_values_format_is_refused_when_git_would_pick_it_up(run, certs, workdir):
    git(workdir, "init", "-q")
    res = run("init", "--from-env", "--format", "values", extra_env=VALUES)
    assert res.code == 2 and "git does not ignore" in res.stderr and ".gitignore" in res.stderr
    assert not (workdir / "secrets.values.yaml").exists()


def test_values_format_writes_0600_when_ignored(run, workdir):
    git(workdir, "init", "-q")
    (workdir / ".gitignore").write_text("secrets.values.yaml\n")
    res = run("init", "--from-env", "--format", "values", extra_env=VALUES)
    assert res.code == 0, res.stderr
    path = workdir / "secrets.values.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = load(path)
    assert doc["secrets"]["mode"] == "inline"
    assert doc["secrets"]["inline"] == VALUES


def test_values_format_with_force_writes_anyway(run, workdir):
    git(workdir, "init", "-q")
    res = run("init", "--from-env", "--format", "values", "--force", "-f", "plain.yaml", extra_env=VALUES)
    assert res.code == 0
    assert stat.S_IMODE((workdir / "plain.yaml").stat().st_mode) == 0o600


def test_sealed_file_is_world_readable_and_no_temp_files_remain(run, certs, workdir):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    assert [p.name for p in workdir.iterdir()] == [SEALED]
    assert stat.S_IMODE((workdir / SEALED).stat().st_mode) == 0o644


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_are_generated(run, shell):
    res = run("completion", shell)
    assert res.code == 0 and "helm-todo-secrets" in res.stdout


def test_version(run):
    res = run("--version")
    assert res.code == 0 and res.stdout.startswith("helm todo-secrets ")


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_every_report_has_json_and_yaml_forms_holding_no_value(run, certs, workdir, fmt):
    import yaml

    parse = json.loads if fmt == "json" else yaml.safe_load
    cert = certs["current"].cert_path
    init = run("init", "--from-env", "--cert", cert, "-o", fmt, extra_env={**VALUES, "HELM_NAMESPACE": "todo"})
    assert init.code == 0, init.stderr
    doc = parse(init.stdout)
    assert doc["written"] == sorted(VALUES) and doc["namespace"] == "todo" and doc["scope"] == "strict"
    assert doc["certificateFingerprint"] == certs["current"].fingerprint
    seal = run("seal", "EXTRA_TOKEN", "--cert", cert, "-o", fmt, stdin="tok")
    assert parse(seal.stdout)["key"] == "EXTRA_TOKEN"
    status = run("status", "--cert", cert, "-o", fmt)
    assert parse(status.stdout)["controller"] == {"state": "matches"}
    rotate = run("rotate", "--reenter", "--from-env", "--cert", certs["rotated"].cert_path, "-o", fmt, extra_env=VALUES)
    assert parse(rotate.stdout)["via"] == "reentered"
    fetch = run("fetch-cert", "--cert", cert, "-o", fmt)
    assert parse(fetch.stdout)["certificates"][0]["fingerprint"] == certs["current"].fingerprint
    for res in (init, seal, status, rotate, fetch):
        assert not any(v in res.stdout for v in VALUES.values())


def test_o_is_the_output_format_and_f_the_file(run, certs, workdir):
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, "-o", "out.yaml", extra_env=VALUES)
    assert res.code == 2 and "hint:" in res.stderr
    res = run("init", "--from-env", "--cert", certs["current"].cert_path, "-f", "out.yaml", extra_env=VALUES)
    assert res.code == 0 and (workdir / "out.yaml").is_file()


def test_fetch_cert_help_lists_only_what_applies_to_it(run):
    res = run("fetch-cert", "--help")
    assert res.code == 0
    for flag in ("--all", "--controller-name", "--controller-namespace", "--kube-context", "--timeout", "--output"):
        assert flag in res.stdout, flag
    for flag in ("--release", "--secret-name", "--chart", "--namespace", "--from-env", "--scope"):
        assert flag not in res.stdout, flag


def test_help_says_how_stdin_values_are_read(run):
    res = run("seal", "--help")
    assert "except one trailing newline" in res.stdout and "--keep-newline" in res.stdout


@pytest.mark.parametrize("flags,expected", [([], b"line1\nline2"), (["--keep-newline"], b"line1\nline2\n")])
def test_a_stdin_value_keeps_its_bytes_except_one_trailing_newline(run, certs, workdir, flags, expected):
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=VALUES).code == 0
    res = run("seal", "TLS_BUNDLE", *flags, "--cert", certs["current"].cert_path, stdin="line1\nline2\n")
    assert res.code == 0, res.stderr
    text = encrypted(workdir)["TLS_BUNDLE"]
    assert unseal(certs["current"].key, label_for("strict", "default", SECRET), text) == expected


def test_completion_into_a_closed_pipe_does_not_panic(binary, env, workdir):
    for _ in range(10):
        proc = subprocess.run(f"'{binary}' completion bash | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}",
                              shell=True, executable="/bin/bash", cwd=workdir, env=env, capture_output=True, text=True)
        assert "panicked" not in proc.stderr
        assert proc.stdout.strip() in ("0", "141"), proc.stdout
