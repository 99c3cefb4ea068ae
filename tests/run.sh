#!/bin/sh
# The test command: sets up what the tests need (a Python virtual environment with real Helm
# v4 through helm-python-sdk, kubernetes-validate, checkov, hadolint, shellcheck), builds the
# binaries, then runs the Rust suites (unit, sandbox fidelity, end-to-end through kubectl) and
# the Python suites (chart, secrets, install). Exits non-zero if anything fails.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
# Incremental compilation caches are the largest thing in target/ and CI builds once.
export CARGO_INCREMENTAL=0

step() { printf '\n==> %s\n' "$*"; }

step "Python test environment (.venv)"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
if [ ! -x .venv/checkov-env/bin/checkov ]; then
    python3 -m venv .venv/checkov-env
    .venv/checkov-env/bin/python -m pip install --quiet --disable-pip-version-check -r tests/chart/requirements-checkov.txt
fi
ln -sf ../checkov-env/bin/checkov .venv/bin/checkov

step "GnuPG for the signed-release tests"
if ! command -v gpg >/dev/null 2>&1; then
    sudo=''
    [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && sudo='sudo -n'; }
    if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
        $sudo apt-get update -qq && $sudo apt-get install -y -qq gnupg >/dev/null ||
            echo "note: could not install gnupg with apt-get; the tests that need a signed .prov will skip"
    else
        echo "note: gpg is missing and apt-get (as root or with sudo) is not available; the tests that need a signed .prov will skip"
    fi
fi
command -v gpg >/dev/null 2>&1 && gpg --version | head -n 1

step "Format and lints (cargo fmt --check, cargo clippy -D warnings)"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Build (cargo build --workspace --bins)"
cargo build --workspace --bins --locked

step "Rust tests (unit, sandbox fidelity with kubectl and Helm, end-to-end)"
TODO_PYTHON="$root/.venv/bin/python" cargo test --workspace --locked --no-fail-fast

step "Python tests (chart, secrets, install)"
TODO_PYTHON="$root/.venv/bin/python" .venv/bin/python -m pytest -q -rs tests/chart tests/secrets tests/install tests/preflight
