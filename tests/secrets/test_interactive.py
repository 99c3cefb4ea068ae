"""Prompts on a real terminal (a pty): masked input, generation, and Ctrl-C leaving no file
and a terminal with echo back on."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import sys
import termios
import time

import pytest

from secretslib import label_for, load, unseal

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty behaviour checked on Linux")
pty = pytest.importorskip("pty")

SECRET = "todo-todo-chatbot-secrets"


class Terminal:
    """The binary on a pty of `columns` x 40; `expect` waits for text, `send` types."""

    def __init__(self, argv, env, cwd, columns=80):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child: size the terminal before the binary looks at it
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
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
        # A prompt is printed before it switches the terminal mode (which drops input typed
        # earlier): give it a moment, as a person would.
        time.sleep(0.3)
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
    def _start(*args, extra_env=None, columns=80):
        return Terminal([str(binary), *map(str, args)], {**env, "TERM": "xterm", **(extra_env or {})}, workdir, columns)

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


ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def screen_text(out: bytes) -> str:
    """What a person reads: escape sequences dropped, carriage returns as line ends."""
    return ANSI.sub(b"", out).replace(b"\r\n", b"\n").replace(b"\r", b"\n").decode(errors="replace")


@pytest.mark.parametrize("columns", [80, 160])
def test_the_target_is_said_before_the_provider_menu(terminal, certs, workdir, columns):
    t = terminal("init", "--cert", certs["current"].cert_path, "-n", "todo", columns=columns)
    t.expect("LLM provider")
    text = screen_text(t.out)
    intro = text.index("Sealing values for:")
    assert intro < text.index("LLM provider")
    for line in ("namespace   todo  ·  Secret todo-todo-chatbot-secrets", f"certificate {certs['current'].cert_path} (offline)",
                 "file        todo-secrets.sealed.yaml"):
        assert line in text, text
    t.send(b"\x03")
    t.wait()


@pytest.mark.parametrize("columns", [80, 160])
def test_accepted_values_are_confirmed_without_their_secret_parts(terminal, certs, workdir, columns):
    t = terminal("init", "--provider", "openai", "--cert", certs["current"].cert_path, columns=columns)
    t.expect("DATABASE_URL")
    t.send(b"\r")
    t.expect("DATABASE_URL is empty; type a value")
    t.send(b"postgresql://app:TYPEDpw@db.example.com:5432/todo\r")
    t.expect("DATABASE_URL ✔ (postgresql://…@db.example.com:5432/todo, password hidden)")
    t.expect("Generate a random")
    t.send(b"y")
    t.expect("BETTER_AUTH_SECRET ✔ (48 random characters, generated)")
    t.expect("OPENAI_API_KEY")
    t.send(b"sk-TYPEDkey-0123\r")
    t.expect("OPENAI_API_KEY ✔ (16 characters, hidden)")
    assert t.wait() == 0, t.out
    assert b"TYPED" not in t.out and b"app:" not in t.out


@pytest.mark.parametrize("at", ["menu", "password", "confirm"])
def test_ctrl_c_says_nothing_was_written_exactly_once(terminal, run, certs, workdir, at):
    args = ["init", "--cert", certs["current"].cert_path]
    if at == "password":
        args += ["--provider", "openai"]
    if at == "confirm":
        env = {"DATABASE_URL": "postgresql://u:p@h/db", "BETTER_AUTH_SECRET": "k9Jx2LmQ8vR4tW7yZ1bN5cF3hD6gS0aP", "OPENAI_API_KEY": "sk-a"}
        assert run("init", "--from-env", "--cert", certs["current"].cert_path, extra_env=env).code == 0
    before = sorted(p.name for p in workdir.iterdir())
    t = terminal(*args)
    t.expect({"menu": "LLM provider", "password": "DATABASE_URL", "confirm": "merge into it"}[at])
    t.send(b"\x03")
    assert t.wait() == 130, t.out
    text = screen_text(t.out)
    assert text.count("interrupted: nothing was written") == 1, text
    assert "error:" not in text
    assert sorted(p.name for p in workdir.iterdir()) == before


def test_time_spent_typing_does_not_count_against_the_deadline(terminal, certs, workdir):
    t = terminal("init", "--provider", "openai", "--timeout", "1s", "--cert", certs["current"].cert_path)
    t.expect("DATABASE_URL")
    time.sleep(2.5)  # a person thinking, longer than --timeout
    t.send(b"postgresql://u:p@db.example.com/app\r")
    t.expect("Generate a random")
    t.send(b"y")
    t.expect("OPENAI_API_KEY")
    t.send(b"sk-abc-0123456789\r")
    assert t.wait() == 0, t.out
    assert (workdir / "todo-secrets.sealed.yaml").is_file()
