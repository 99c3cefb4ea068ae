#!/bin/sh
# build-release.sh: build the todo-kube release artefacts into dist/.
#
#   scripts/build-release.sh                 build every platform this machine can, then finish
#   scripts/build-release.sh --package-only  only the platform archives (one CI matrix job each)
#   scripts/build-release.sh --finish        only the rest, from the archives already in --out
#
# Options: --out DIR (default dist/), --bin-dir DIR (package prebuilt host binaries instead
# of building), --base-url URL (where the release files will be downloadable; default the
# GitHub release of this version), --require-all (fail unless all four platforms are there),
# --require-signature (fail without a signing key).
#
# Artefacts:
#   todo-kube-<os>-<arch>.tar.gz   kubectl-todo, kubectl-todo-verify, kubectl-todo-scale,
#                                  kubectl-todo-preflight, helm-todo-secrets, LICENSE, install.sh, plugin.yaml,
#                                  scripts/install-hook.sh (install.sh, krew and the Helm hook)
#   todo-secrets-<v>.tgz[.prov]    the Helm plugin: plugin.yaml, hook, checksums.txt pinning
#                                  every platform archive and binary, release-url.txt; at the
#                                  archive root (Helm 3, Helm 4 over HTTP) and under
#                                  todo-secrets/ (Helm 4's local-archive installer)
#   todo-kube-release-key.gpg      the public key that signed the .prov (a binary keyring, what
#                                  `helm plugin install --keyring` reads)
#   krew/todo.yaml                 the krew manifest with every archive's sha256
#   krew-index/plugins/todo.yaml   the custom krew index (push krew-index/ as its repository)
#   SHA256SUMS                     sha256 of every file above
#
# Platforms: the host's is built natively; another linux/darwin x amd64/arm64 platform is
# cross-built when its rustup target is installed (set CARGO_TARGET_<TRIPLE>_LINKER as
# cargo needs). The rest are built by CI: one --package-only job per platform, then one
# --finish job over the collected archives.
#
# Signing: TODO_SIGNING_KEY names the key: a key id, fingerprint or user id in $GNUPGHOME
# (default ~/.gnupg), or a file holding an exported secret key (imported into a private,
# temporary GnuPG home). TODO_SIGNING_PASSPHRASE_FILE unlocks a protected key. Without
# TODO_SIGNING_KEY there is no .prov, and Helm 4.1.4+ installs the tarball only with
# --verify=false.

set -eu

BINARIES="kubectl-todo kubectl-todo-verify kubectl-todo-scale kubectl-todo-preflight helm-todo-secrets"
PLATFORMS="linux-amd64 linux-arm64 darwin-amd64 darwin-arm64"
PLUGIN=todo-secrets
root=$(cd "$(dirname "$0")/.." && pwd -P)
out=$root/dist
bin_dir=''
base_url=${TODO_RELEASE_BASE_URL:-}
mode=all
require_all=0
require_signature=0

die() {
    printf 'error: build-release.sh: %s\n' "$1" >&2
    exit "${2:-1}"
}
step() { printf '==> %s\n' "$*"; }
note() { printf 'note: %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) [ $# -ge 2 ] || die "--bin-dir needs a directory" 2; bin_dir=$2; shift ;;
        --out) [ $# -ge 2 ] || die "--out needs a directory" 2; out=$2; shift ;;
        --base-url) [ $# -ge 2 ] || die "--base-url needs a URL" 2; base_url=$2; shift ;;
        --package-only) mode=package ;;
        --finish) mode=finish ;;
        --require-all) require_all=1 ;;
        --require-signature) require_signature=1 ;;
        -h | --help) sed -n '2,36s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown option: $1 (see --help)" 2 ;;
    esac
    shift
done

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    else
        shasum -a 256 "$1" | cut -d ' ' -f 1
    fi
}

# triple PLATFORM: the rust target triple of linux-amd64 etc.
triple() {
    case "$1" in
        linux-amd64) echo x86_64-unknown-linux-gnu ;;
        linux-arm64) echo aarch64-unknown-linux-gnu ;;
        darwin-amd64) echo x86_64-apple-darwin ;;
        darwin-arm64) echo aarch64-apple-darwin ;;
    esac
}

# The same os/arch names as install.sh and the install hook (each script ships on its own).
host_platform() {
    case "$(uname -s)" in
        Linux) _os=linux ;;
        Darwin) _os=darwin ;;
        *) die "unsupported operating system: $(uname -s)" ;;
    esac
    case "$(uname -m)" in
        x86_64 | amd64) _arch=amd64 ;;
        aarch64 | arm64) _arch=arm64 ;;
        *) die "unsupported CPU architecture: $(uname -m)" ;;
    esac
    echo "$_os-$_arch"
}

# tar_gz DIR OUT ENTRY...: a gzip'd ustar archive of the entries (in this order, no
# recursion: list directories before their files), owned by root, without the builder's
# names or the staging folder's time in the headers.
tar_gz() {
    _dir=$1 _dest=$2
    shift 2
    if tar --version 2>/dev/null | grep -q 'GNU tar'; then
        set -- --owner=0 --group=0 --numeric-owner "$@"
    else
        set -- --uid 0 --gid 0 "$@"
    fi
    (cd "$_dir" && COPYFILE_DISABLE=1 tar --format=ustar --no-recursion -cf - "$@") |
        gzip -n -9 >"$_dest.tmp"
    mv -f "$_dest.tmp" "$_dest"
}

# ---- versions ---------------------------------------------------------------------------

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
[ -n "$version" ] || die "cannot read the workspace version from Cargo.toml"
grep -q "^  version: v$version\$" "$root/plugins/krew/todo.yaml" ||
    die "plugins/krew/todo.yaml spec.version is not v$version (the workspace version)"
grep -q "^version: \"$version\"\$" "$root/plugins/helm-todo-secrets/plugin.yaml" ||
    die "plugins/helm-todo-secrets/plugin.yaml version is not \"$version\" (the workspace version)"
repository=$(sed -n 's/^repository = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
[ -n "$base_url" ] || base_url=$repository/releases/download/v$version
base_url=${base_url%/}
case "$base_url" in
    https://* | http://*) ;;
    *) die "--base-url must be an http(s) URL, not $base_url" 2 ;;
esac

mkdir -p "$out"
out=$(cd "$out" && pwd -P)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/todo-kube-release.XXXXXX")
gnupg_tmp=''
cleanup() {
    if [ -n "$gnupg_tmp" ]; then
        GNUPGHOME=$gnupg_tmp gpgconf --kill gpg-agent 2>/dev/null || true
        rm -rf "$gnupg_tmp"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- platform archives ------------------------------------------------------------------

# package PLATFORM BIN_DIR: write todo-kube-PLATFORM.tar.gz from the binaries in BIN_DIR.
package() {
    _stage=$tmp/stage-$1
    mkdir -p "$_stage/scripts"
    for _b in $BINARIES; do
        [ -f "$2/$_b" ] && [ -x "$2/$_b" ] || die "$2/$_b is missing"
        cp "$2/$_b" "$_stage/$_b"
        chmod 755 "$_stage/$_b"
    done
    cp "$root/LICENSE" "$root/plugins/helm-todo-secrets/plugin.yaml" \
        "$root/plugins/helm-todo-secrets/plugin.complete" "$_stage/"
    cp "$root/install.sh" "$_stage/install.sh"
    cp "$root/plugins/helm-todo-secrets/scripts/install-hook.sh" "$_stage/scripts/"
    # kubectl's completion helpers (kubectl_complete-todo*), beside the binaries.
    _shims=$(cd "$root/plugins/kubectl-todo/completion" && ls kubectl_complete-*)
    for _s in $_shims; do
        cp "$root/plugins/kubectl-todo/completion/$_s" "$_stage/$_s"
        chmod 755 "$_stage/$_s"
    done
    chmod 755 "$_stage/install.sh" "$_stage/scripts/install-hook.sh" "$_stage/plugin.complete"
    chmod 644 "$_stage/LICENSE" "$_stage/plugin.yaml"
    _archive=$out/todo-kube-$1.tar.gz
    # shellcheck disable=SC2086 # lists of file names on purpose
    tar_gz "$_stage" "$_archive" $BINARIES $_shims LICENSE install.sh plugin.yaml plugin.complete scripts scripts/install-hook.sh
    sha256 "$_archive" >"$_archive.sha256"
    step "$_archive (sha256 $(cat "$_archive.sha256"))"
}

cargo_build() {
    command -v cargo >/dev/null 2>&1 || die "cargo is not installed (https://rustup.rs)"
    _pkgs=''
    for _b in $BINARIES; do _pkgs="$_pkgs -p $_b"; done
    step "cargo build --release $*"
    # shellcheck disable=SC2086 # a list of words on purpose
    (cd "$root" && cargo build --release --locked $_pkgs "$@")
}

target_dir() {
    _t=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    echo "${_t:-${CARGO_TARGET_DIR:-$root/target}}"
}

build_platforms() {
    _host=$(host_platform)
    if [ -n "$bin_dir" ]; then
        package "$_host" "$bin_dir"
    else
        cargo_build
        package "$_host" "$(target_dir)/release"
    fi
    _installed=$(rustup target list --installed 2>/dev/null || true)
    for _p in $PLATFORMS; do
        [ "$_p" != "$_host" ] || continue
        _t=$(triple "$_p")
        if [ -z "$bin_dir" ] && printf '%s\n' "$_installed" | grep -qx "$_t"; then
            cargo_build --target "$_t"
            package "$_p" "$(target_dir)/$_t/release"
        else
            note "$_p is built by CI (no $_t target installed here): scripts/build-release.sh --package-only on $_p"
        fi
    done
}

# ---- the Helm plugin tarball ------------------------------------------------------------

present_platforms() {
    for _p in $PLATFORMS; do
        [ ! -f "$out/todo-kube-$_p.tar.gz" ] || echo "$_p"
    done
}

# checksums: sha256sum lines for every platform archive and the helm-todo-secrets it holds.
checksums() {
    for _p in $(present_platforms); do
        printf '%s  todo-kube-%s.tar.gz\n' "$(sha256 "$out/todo-kube-$_p.tar.gz")" "$_p"
        rm -rf "$tmp/bin-$_p"
        mkdir -p "$tmp/bin-$_p"
        tar -xzf "$out/todo-kube-$_p.tar.gz" -C "$tmp/bin-$_p" helm-todo-secrets ||
            die "todo-kube-$_p.tar.gz holds no helm-todo-secrets"
        printf '%s  %s/helm-todo-secrets\n' "$(sha256 "$tmp/bin-$_p/helm-todo-secrets")" "$_p"
    done
}

helm_plugin_tarball() {
    _stage=$tmp/plugin
    _files="plugin.yaml plugin.complete scripts scripts/install-hook.sh checksums.txt release-url.txt LICENSE README.md"
    for _d in "$_stage" "$_stage/$PLUGIN"; do
        mkdir -p "$_d/scripts"
        cp "$root/plugins/helm-todo-secrets/plugin.yaml" "$root/plugins/helm-todo-secrets/README.md" \
            "$root/LICENSE" "$_d/"
        cp "$root/plugins/helm-todo-secrets/plugin.complete" "$_d/"
        cp "$root/plugins/helm-todo-secrets/scripts/install-hook.sh" "$_d/scripts/"
        checksums >"$_d/checksums.txt"
        echo "$base_url" >"$_d/release-url.txt"
        chmod 644 "$_d/plugin.yaml" "$_d/README.md" "$_d/LICENSE" "$_d/checksums.txt" "$_d/release-url.txt"
        chmod 755 "$_d/scripts/install-hook.sh" "$_d/plugin.complete"
    done
    _list=$(for _f in $_files; do echo "$_f"; done; echo "$PLUGIN"; for _f in $_files; do echo "$PLUGIN/$_f"; done)
    tgz=$out/$PLUGIN-$version.tgz
    # shellcheck disable=SC2086 # a list of file names on purpose
    tar_gz "$_stage" "$tgz" $_list
    rm -f "$tgz.prov"
    step "$tgz"
}

# ---- provenance -------------------------------------------------------------------------

# find_signing_key: set signing_key from TODO_SIGNING_KEY (importing a key file into a
# private GnuPG home, which GNUPGHOME then names).
find_signing_key() {
    if [ -f "$TODO_SIGNING_KEY" ]; then
        command -v gpg >/dev/null 2>&1 || die "gpg is not installed (GnuPG: apt-get install gnupg)"
        gnupg_tmp=$(mktemp -d "${TMPDIR:-/tmp}/todo-kube-gnupg.XXXXXX")
        chmod 700 "$gnupg_tmp"
        GNUPGHOME=$gnupg_tmp
        export GNUPGHOME
        gpg --batch --quiet --import "$TODO_SIGNING_KEY" 2>/dev/null ||
            die "cannot import the signing key from TODO_SIGNING_KEY=$TODO_SIGNING_KEY"
        signing_key=$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')
    else
        signing_key=$TODO_SIGNING_KEY
    fi
}

# Helm's provenance: a clearsigned message block, the plugin's metadata (the scalar fields
# Helm's yaml.Marshal of plugin.Metadata writes; Helm reads only the checksums back), then
# "..." and `files:` with the tarball's sha256 under its file name.
provenance() {
    if [ -z "${TODO_SIGNING_KEY:-}" ]; then
        [ "$require_signature" = 0 ] || die "--require-signature: TODO_SIGNING_KEY is not set"
        note "TODO_SIGNING_KEY is not set: no $(basename "$tgz").prov (Helm 4.1.4+ then needs --verify=false)"
        return
    fi
    command -v gpg >/dev/null 2>&1 || die "gpg is not installed (GnuPG: apt-get install gnupg)"
    find_signing_key
    _key=$signing_key
    [ -n "$_key" ] || die "TODO_SIGNING_KEY=$TODO_SIGNING_KEY holds no secret key"
    _name=$(basename "$tgz")
    {
        printf 'APIVersion: legacy\nName: %s\nRuntime: subprocess\nSourceURL: ""\nType: cli/v1\nVersion: %s\n' \
            "$PLUGIN" "$version"
        printf '\n...\nfiles:\n  %s: sha256:%s\n' "$_name" "$(sha256 "$tgz")"
    } >"$tmp/message"
    set -- --batch --yes --quiet --pinentry-mode loopback --local-user "$_key" --digest-algo SHA512
    if [ -n "${TODO_SIGNING_PASSPHRASE_FILE:-}" ]; then
        set -- "$@" --passphrase-file "$TODO_SIGNING_PASSPHRASE_FILE"
    fi
    gpg "$@" --clearsign --output "$tgz.prov.tmp" "$tmp/message" ||
        die "gpg could not sign with TODO_SIGNING_KEY=$TODO_SIGNING_KEY"
    mv -f "$tgz.prov.tmp" "$tgz.prov"
    gpg --batch --export "$_key" >"$out/todo-kube-release-key.gpg"
    step "$tgz.prov (signed by $_key; public key in $out/todo-kube-release-key.gpg)"
}

# ---- krew -------------------------------------------------------------------------------

krew_manifest() {
    mkdir -p "$out/krew"
    cp "$root/plugins/krew/todo.yaml" "$tmp/krew.yaml"
    for _p in $PLATFORMS; do
        _file=todo-kube-$_p.tar.gz
        if [ ! -f "$out/$_file" ]; then
            note "no $_file in $out; its sha256 in krew/todo.yaml stays a placeholder"
            _sum=''
        else
            _sum=$(sha256 "$out/$_file")
        fi
        awk -v file="/$_file" -v uri="$base_url/$_file" -v sum="$_sum" '
            /^ *uri:/ { hit = index($0, file) > 0; if (hit) sub(/uri: .*/, "uri: " uri) }
            /^ *sha256:/ && hit { if (sum != "") sub(/"[^"]*"/, "\"" sum "\""); hit = 0 }
            { print }
        ' "$tmp/krew.yaml" >"$tmp/krew.next"
        mv -f "$tmp/krew.next" "$tmp/krew.yaml"
    done
    mv -f "$tmp/krew.yaml" "$out/krew/todo.yaml"
    step "$out/krew/todo.yaml"
    mkdir -p "$out/krew-index/plugins"
    cp "$out/krew/todo.yaml" "$out/krew-index/plugins/todo.yaml"
    cat >"$out/krew-index/README.md" <<EOF
# todo-kube krew index

A custom [krew](https://krew.sigs.k8s.io) index holding the \`todo\` plugin
(\`kubectl todo verify\`, \`kubectl todo scale\`), version v$version.

    kubectl krew index add todo-kube $repository-krew-index.git
    kubectl krew install todo-kube/todo
EOF
    step "$out/krew-index/ (the custom krew index repository)"
}

finish() {
    _present=$(present_platforms)
    [ -n "$_present" ] || die "no todo-kube-<os>-<arch>.tar.gz in $out (run with --package-only first)"
    for _p in $PLATFORMS; do
        if ! printf '%s\n' "$_present" | grep -qx "$_p"; then
            [ "$require_all" = 0 ] || die "--require-all: todo-kube-$_p.tar.gz is missing from $out"
            note "todo-kube-$_p.tar.gz is missing: the release then has no $_p binaries"
        fi
    done
    helm_plugin_tarball
    provenance
    krew_manifest
    (cd "$out" && for _f in todo-kube-*.tar.gz "$PLUGIN-$version.tgz" "$PLUGIN-$version.tgz.prov" \
        todo-kube-release-key.gpg krew/todo.yaml; do
        [ ! -f "$_f" ] || printf '%s  %s\n' "$(sha256 "$_f")" "$_f"
    done) >"$out/SHA256SUMS"
    step "$out/SHA256SUMS"
}

case "$mode" in
    package) build_platforms ;;
    finish) finish ;;
    all) build_platforms && finish ;;
esac
