"""Prompts on a real terminal (a pty): masked input, generation, and Ctrl-C leaving no file
and a terminal with echo back on."""

from __future__ import annotations

import os
import select
import sys
import termios
import time

import pytest

from secretslib import label_for, load, unseal

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty behaviour checked on Linux")
pty = pytest.importorskip("pty")

SECRET = "todo-todo-chatbot-secrets"


class Terminal:
    """The binary on a pty; `expect` waits for text, `send` types."""

    def __init__(self, argv, env, cwd):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        self.out = b""

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:
            return None
        self.out += chunk
        return bool(chunk)

    def expect(self, text, timeout=15.0):
        end = time.time() + timeout
        while text.encode() not in self.out:
            if time.time() > end or self._read(0.1) is None:
                raise AssertionError(f"did not see {text!r} in {self.out!r}")

    def send(self, data: bytes):
        os.write(self.fd, data)
        time.sleep(0.2)

    def wait(self, timeout=15.0):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.05):
                    pass
                return os.waitstatus_to_exitcode(status)
            self._read(0.05)
        os.kill(self.pid, 9)
        raise AssertionError(f"still running: {self.out!r}")


@pytest.fixture
def terminal(binary, env, workdir):
    def _start(*args, extra_env=None):
        return Terminal([str(binary), *map(str, args)], {**env, "TERM": "xterm", **(extra_env or {})}, workdir)

    return _start


def test_prompts_mask_input_and_seal_the_typed_values(terminal, certs, workdir):
    t = terminal("init", "--cert", certs["current"].cert_path, extra_env={"HELM_NAMESPACE": "todo"})
    t.expect("LLM provider")
    t.send(b"\x1b[B")  # arrow down: OpenRouter
    t.send(b"\r")
    t.expect("DATABASE_URL")
    t.send(b"mysql://typo@h/db\r")
    t.expect("try again")
    t.send(b"postgresql://u:TYPEDpw@db.example.com/app\r")
    t.expect("Generate a random 48-character BETTER_AUTH_SECRET")
    t.send(b"y")
    t.expect("OPENROUTER_API_KEY")
    t.send(b"sk-or-TYPEDkey\r")
    assert t.wait() == 0, t.out
    assert b"TYPED" not in t.out, "a secret was echoed"
    doc = load(workdir / "todo-secrets.sealed.yaml")
    assert doc["llm"]["provider"] == "openrouter"
    data = doc["secrets"]["sealed"]["encryptedData"]
    label = label_for("strict", "todo", SECRET)
    assert unseal(certs["current"].key, label, data["DATABASE_URL"]) == b"postgresql://u:TYPEDpw@db.example.com/app"
    assert unseal(certs["current"].key, label, data["OPENROUTER_API_KEY"]) == b"sk-or-TYPEDkey"
    assert len(unseal(certs["current"].key, label, data["BETTER_AUTH_SECRET"])) == 48


def test_ctrl_c_at_a_masked_prompt_leaves_no_file_and_echo_on(terminal, certs, workdir):
    t = terminal("init", "--provider", "openai", "--cert", certs["current"].cert_path)
    t.expect("DATABASE_URL")
    t.send(b"postgresql://half")
    t.send(b"\x03")
    assert t.wait() == 130
    assert b"nothing was written" in t.out
    assert list(workdir.iterdir()) == []
    assert termios.tcgetattr(t.fd)[3] & termios.ECHO, "echo left off"


def test_ctrl_c_at_the_provider_menu_leaves_no_file(terminal, certs, workdir):
    t = terminal("init", "--cert", certs["current"].cert_path)
    t.expect("LLM provider")
    t.send(b"\x03")
    assert t.wait() != 0
    assert list(workdir.iterdir()) == []


def test_merge_into_an_existing_file_asks_first(terminal, run, certs, workdir):
    env = {"DATABASE_URL": "postgresql://u:p@h/db", "BETTER_AUTH_SECRET": "a" * 40, "OPENAI_API_KEY": "sk-a"}
    assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=env).code == 0
    before = (workdir / "todo-secrets.sealed.yaml").read_text()
    t = terminal("init", "--cert", certs["current"].cert_path)
    t.expect("merge into it")
    t.send(b"n")
    assert t.wait() == 2
    assert b"left unchanged" in t.out
    assert (workdir / "todo-secrets.sealed.yaml").read_text() == before
