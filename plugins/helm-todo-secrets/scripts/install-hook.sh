#!/bin/sh
# Helm install/update hook for the todo-secrets plugin: put the binary for this platform at
# $HELM_PLUGIN_DIR/bin/helm-todo-secrets. Helm runs it as `sh -c` with HELM_PLUGIN_DIR set
# (for `helm plugin install DIR` that is a symlink to DIR, so every path below is resolved
# with `cd -P` first). Sources, first match wins:
#
#   1. $HELM_TODO_SECRETS_BINARY, a binary you name (copied as it is);
#   2. inside a todo-kube checkout (plugins/helm-todo-secrets of a cargo workspace), a release
#      build with cargo when cargo is installed;
#   3. a bin/helm-todo-secrets already there that reports the plugin's version;
#   4. a release plugin (checksums.txt beside plugin.yaml): helm-todo-secrets on PATH when its
#      sha256 is this release's, else the release archive for this platform
#      ($HELM_TODO_SECRETS_ARCHIVE, or downloaded from $HELM_TODO_SECRETS_BASE_URL or
#      release-url.txt), checked against checksums.txt before anything is unpacked;
#   5. outside a release, helm-todo-secrets on PATH that reports the plugin's version.
#
# A user's machine never needs cargo: a release plugin always takes path 4.
set -eu

say() { printf 'todo-secrets: %s\n' "$*" >&2; }
fail() {
    say "error: $1"
    [ -z "${2:-}" ] || say "hint: $2"
    exit 1
}

plugin_dir=${HELM_PLUGIN_DIR:-$(dirname "$0")/..}
plugin_dir=$(cd -P "$plugin_dir" 2>/dev/null && pwd -P) ||
    fail "cannot enter the plugin directory ${HELM_PLUGIN_DIR:-}"
bin_dir=$plugin_dir/bin
target=$bin_dir/helm-todo-secrets
plugin_name=todo-secrets

[ -f "$plugin_dir/plugin.yaml" ] || fail "no plugin.yaml in $plugin_dir"
version=$(sed -n 's/^version:[[:space:]]*"\{0,1\}\([0-9A-Za-z.+-]*\)"\{0,1\}[[:space:]]*$/\1/p' \
    "$plugin_dir/plugin.yaml" | head -n 1)
[ -n "$version" ] || fail "plugin.yaml in $plugin_dir has no version"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/todo-secrets-hook.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    else
        shasum -a 256 "$1" | cut -d ' ' -f 1
    fi
}

# reports_version BINARY: does BINARY --version end in this plugin's version?
reports_version() {
    _out=$("$1" --version 2>/dev/null </dev/null) || return 1
    [ "${_out##* }" = "$version" ]
}

install_from() {
    mkdir -p "$bin_dir"
    cp "$1" "$target.tmp.$$"
    chmod 0755 "$target.tmp.$$"
    mv -f "$target.tmp.$$" "$target"
    say "installed $target ($2)"
}

# The release tarball carries the plugin twice (at its root for Helm 3 and Helm 4 over HTTP,
# under todo-secrets/ for Helm 4's local-archive installer); drop the copy Helm did not use.
tidy() {
    if [ -f "$plugin_dir/$plugin_name/plugin.yaml" ] && [ -f "$plugin_dir/checksums.txt" ]; then
        rm -rf "${plugin_dir:?}/$plugin_name"
    fi
}

# The same os/arch names as install.sh and build-release.sh (each script ships on its own).
detect_platform() {
    case "$(uname -s)" in
        Linux) os=linux ;;
        Darwin) os=darwin ;;
        *) fail "unsupported operating system $(uname -s)" "todo-kube ships Linux and macOS binaries" ;;
    esac
    case "$(uname -m)" in
        x86_64 | amd64) arch=amd64 ;;
        aarch64 | arm64) arch=arm64 ;;
        *) fail "unsupported CPU architecture $(uname -m)" "todo-kube ships amd64 and arm64 binaries" ;;
    esac
}

# checkout_root: the cargo workspace this plugin directory belongs to, if any.
checkout_root() {
    [ "$(basename "$plugin_dir")" = helm-todo-secrets ] || return 1
    _parent=$(dirname "$plugin_dir")
    [ "$(basename "$_parent")" = plugins ] || return 1
    _root=$(dirname "$_parent")
    [ -f "$_root/Cargo.toml" ] && grep -q '^\[workspace\]' "$_root/Cargo.toml" || return 1
    echo "$_root"
}

build_with_cargo() {
    say "building helm-todo-secrets $version with cargo (release) in $1"
    (cd "$1" && cargo build --release --locked --quiet -p helm-todo-secrets) ||
        fail "cargo build failed" "see the compiler output above"
    _target_dir=$(cd "$1" && cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    install_from "${_target_dir:-${CARGO_TARGET_DIR:-$1/target}}/release/helm-todo-secrets" "built with cargo"
}

# pinned NAME: the sha256 checksums.txt gives for NAME, or nothing.
pinned() {
    awk -v name="$1" '$2 == name && $1 ~ /^[0-9a-f]+$/ && length($1) == 64 { print $1; exit }' \
        "$plugin_dir/checksums.txt"
}

base_url() {
    _url=${HELM_TODO_SECRETS_BASE_URL:-}
    if [ -z "$_url" ] && [ -f "$plugin_dir/release-url.txt" ]; then
        _url=$(head -n 1 "$plugin_dir/release-url.txt")
    fi
    case "$_url" in
        https://* | http://*) ;;
        *) fail "no release URL (release-url.txt is missing or not an http(s) URL)" \
            "set HELM_TODO_SECRETS_ARCHIVE=/path/to/todo-kube-$os-$arch.tar.gz" ;;
    esac
    # Only URL characters: the value came from a file.
    printf '%s' "$_url" | grep -q '^[A-Za-z0-9:/._~%+@-]*$' || fail "release URL has unexpected characters"
    printf '%s' "${_url%/}"
}

download() {
    say "downloading $1"
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --proto '=https,http' --max-time 600 -o "$2" "$1" || return 1
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1" || return 1
    else
        fail "neither curl nor wget is installed to download $1" \
            "install curl, or set HELM_TODO_SECRETS_ARCHIVE to a downloaded archive"
    fi
}

install_release_archive() {
    _name=todo-kube-$os-$arch.tar.gz
    _want=$(pinned "$_name")
    [ -n "$_want" ] || fail "this release has no $_name (checksums.txt lists none)" \
        "build it with scripts/build-release.sh on $os/$arch and set HELM_TODO_SECRETS_BINARY"
    if [ -n "${HELM_TODO_SECRETS_ARCHIVE:-}" ]; then
        [ -f "$HELM_TODO_SECRETS_ARCHIVE" ] || fail "HELM_TODO_SECRETS_ARCHIVE=$HELM_TODO_SECRETS_ARCHIVE is not a file"
        cp "$HELM_TODO_SECRETS_ARCHIVE" "$tmp/$_name"
        _from=$HELM_TODO_SECRETS_ARCHIVE
    else
        _from=$(base_url)/$_name
        download "$_from" "$tmp/$_name" || fail "cannot download $_from" \
            "download it yourself and set HELM_TODO_SECRETS_ARCHIVE=/path/to/$_name"
    fi
    _got=$(sha256 "$tmp/$_name")
    [ "$_got" = "$_want" ] || fail "sha256 of $_from is $_got, this release pins $_want" \
        "the download is damaged or not this release's; nothing was installed"
    mkdir -p "$tmp/unpacked"
    tar -xzf "$tmp/$_name" -C "$tmp/unpacked" helm-todo-secrets ||
        fail "$_name holds no helm-todo-secrets"
    [ -f "$tmp/unpacked/helm-todo-secrets" ] && [ ! -L "$tmp/unpacked/helm-todo-secrets" ] ||
        fail "helm-todo-secrets in $_name is not a regular file"
    install_from "$tmp/unpacked/helm-todo-secrets" "$_name, sha256 verified"
}

# 1. A binary the user names.
if [ -n "${HELM_TODO_SECRETS_BINARY:-}" ]; then
    [ -f "$HELM_TODO_SECRETS_BINARY" ] && [ -x "$HELM_TODO_SECRETS_BINARY" ] ||
        fail "HELM_TODO_SECRETS_BINARY=$HELM_TODO_SECRETS_BINARY is not an executable file"
    install_from "$HELM_TODO_SECRETS_BINARY" "HELM_TODO_SECRETS_BINARY"
    tidy
    exit 0
fi

# 2. A checkout builds its own code.
if root=$(checkout_root) && command -v cargo >/dev/null 2>&1; then
    build_with_cargo "$root"
    exit 0
fi

# 3. Already in place (a reinstall, or the hook run twice).
if [ -x "$target" ] && [ "${HELM_TODO_SECRETS_REBUILD:-0}" != 1 ] && reports_version "$target"; then
    say "using the prebuilt $target ($version)"
    tidy
    exit 0
fi

found=$(command -v helm-todo-secrets 2>/dev/null || true)

# 4. A release plugin: only this release's bytes.
if [ -f "$plugin_dir/checksums.txt" ]; then
    detect_platform
    if [ -n "$found" ] && [ "$(sha256 "$found")" = "$(pinned "$os-$arch/helm-todo-secrets")" ]; then
        install_from "$found" "on PATH, sha256 verified"
    else
        install_release_archive
    fi
    tidy
    exit 0
fi

# 5. Outside a release: a binary on PATH of the same version.
if [ -n "$found" ] && reports_version "$found"; then
    install_from "$found" "on PATH"
    exit 0
fi

if root=$(checkout_root); then
    fail "cargo is not installed to build helm-todo-secrets in $root" \
        "install Rust (https://rustup.rs) and reinstall the plugin, or set HELM_TODO_SECRETS_BINARY=/path/to/helm-todo-secrets"
fi
fail "no helm-todo-secrets $version for this plugin directory" \
    "install the release plugin (todo-secrets-$version.tgz), build with Rust (https://rustup.rs) in a checkout, or set HELM_TODO_SECRETS_BINARY=/path/to/helm-todo-secrets and reinstall"
