#!/bin/sh
# Helm install/update hook for the todo-secrets plugin: put the binary at
# $HELM_PLUGIN_DIR/bin/helm-todo-secrets. In order of preference:
#   1. $HELM_TODO_SECRETS_BINARY, a prebuilt binary to copy;
#   2. a prebuilt bin/helm-todo-secrets already in the plugin directory (release archive);
#   3. helm-todo-secrets found on PATH (installed by install.sh or cargo install);
#   4. a release build with cargo from the repository checkout the plugin lives in.
set -eu

plugin_dir=${HELM_PLUGIN_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
bin_dir="$plugin_dir/bin"
target="$bin_dir/helm-todo-secrets"

say() { printf 'todo-secrets: %s\n' "$*" >&2; }

install_from() {
    mkdir -p "$bin_dir"
    cp "$1" "$target.tmp.$$"
    chmod 0755 "$target.tmp.$$"
    mv -f "$target.tmp.$$" "$target"
    say "installed $target (from $1)"
}

if [ -n "${HELM_TODO_SECRETS_BINARY:-}" ]; then
    if [ ! -x "$HELM_TODO_SECRETS_BINARY" ]; then
        say "HELM_TODO_SECRETS_BINARY=$HELM_TODO_SECRETS_BINARY is not an executable file"
        exit 1
    fi
    install_from "$HELM_TODO_SECRETS_BINARY"
    exit 0
fi

if [ -x "$target" ] && [ "${HELM_TODO_SECRETS_REBUILD:-0}" != 1 ]; then
    say "using the prebuilt $target"
    exit 0
fi

if found=$(command -v helm-todo-secrets 2>/dev/null) && [ -n "$found" ]; then
    install_from "$found"
    exit 0
fi

if [ -f "$plugin_dir/Cargo.toml" ] && command -v cargo >/dev/null 2>&1; then
    root=$plugin_dir
    if [ -f "$plugin_dir/../../Cargo.toml" ]; then
        root=$(cd "$plugin_dir/../.." && pwd)
    fi
    target_dir=${CARGO_TARGET_DIR:-$root/target}
    say "building helm-todo-secrets with cargo (release) in $root"
    cargo build --release --locked --quiet \
        --manifest-path "$plugin_dir/Cargo.toml" --target-dir "$target_dir" \
        --bin helm-todo-secrets
    install_from "$target_dir/release/helm-todo-secrets"
    exit 0
fi

say "no prebuilt binary and no cargo to build one"
say "install Rust (https://rustup.rs) and run: helm plugin update todo-secrets,"
say "or set HELM_TODO_SECRETS_BINARY=/path/to/helm-todo-secrets and reinstall"
exit 1
