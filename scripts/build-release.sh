#!/bin/sh
# build-release.sh: build the release archive for this machine's platform and write the krew
# manifest with the archives' sha256 sums.
#
#   scripts/build-release.sh                  cargo build --release, then dist/todo-kube-<os>-<arch>.tar.gz
#   scripts/build-release.sh --bin-dir DIR    package prebuilt binaries from DIR instead
#   scripts/build-release.sh --out DIR        write into DIR instead of dist/
#   scripts/build-release.sh --manifest-only  only (re)write DIR/krew/todo.yaml from the archives in DIR
#
# Each archive holds kubectl-todo, kubectl-todo-verify, kubectl-todo-scale, helm-todo-secrets,
# LICENSE, plus install.sh and the Helm plugin's plugin.yaml (and its scripts/install-hook.sh)
# so that an unpacked archive installs with ./install.sh. krew uses the first three and
# LICENSE (plugins/krew/todo.yaml).
#
# Cross-compiling is not done here: the script builds the host platform only. To release all
# four platforms (linux/darwin x amd64/arm64), run it on each platform (for example a CI
# matrix), collect the archives into one dist/ folder, then run it with --manifest-only:
# dist/krew/todo.yaml then carries every sha256. A platform whose archive is missing keeps the
# placeholder sum and is reported.

set -eu

BINARIES="kubectl-todo kubectl-todo-verify kubectl-todo-scale helm-todo-secrets"
root=$(cd "$(dirname "$0")/.." && pwd -P)
out=$root/dist
bin_dir=''
manifest_only=0

die() {
    printf 'error: build-release.sh: %s\n' "$1" >&2
    exit "${2:-1}"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) [ $# -ge 2 ] || die "--bin-dir needs a directory" 2; bin_dir=$2; shift ;;
        --out) [ $# -ge 2 ] || die "--out needs a directory" 2; out=$2; shift ;;
        --manifest-only) manifest_only=1 ;;
        -h|--help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown option: $1 (see --help)" 2 ;;
    esac
    shift
done

case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "unsupported operating system: $(uname -s)" ;;
esac
case "$(uname -m)" in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "unsupported CPU architecture: $(uname -m)" ;;
esac

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    else
        shasum -a 256 "$1" | cut -d ' ' -f 1
    fi
}

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
[ -n "$version" ] || die "cannot read the workspace version from Cargo.toml"
grep -q "^  version: v$version\$" "$root/plugins/krew/todo.yaml" ||
    die "plugins/krew/todo.yaml spec.version is not v$version (the workspace version)"

mkdir -p "$out"
out=$(cd "$out" && pwd -P)

if [ "$manifest_only" = 0 ]; then
    if [ -z "$bin_dir" ]; then
        command -v cargo >/dev/null 2>&1 || die "cargo is not installed (https://rustup.rs)"
        echo "==> cargo build --release"
        pkgs=''
        for b in $BINARIES; do pkgs="$pkgs -p $b"; done
        # shellcheck disable=SC2086 # a list of words on purpose
        (cd "$root" && cargo build --release --locked $pkgs)
        target=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
            sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
        bin_dir=${target:-${CARGO_TARGET_DIR:-$root/target}}/release
    fi
    stage=$(mktemp -d "${TMPDIR:-/tmp}/todo-kube-release.XXXXXX")
    trap 'rm -rf "$stage"' EXIT
    for b in $BINARIES; do
        [ -x "$bin_dir/$b" ] || die "$bin_dir/$b is missing"
        cp "$bin_dir/$b" "$stage/$b"
        chmod 755 "$stage/$b"
    done
    cp "$root/LICENSE" "$root/install.sh" "$stage/"
    chmod 755 "$stage/install.sh"
    files="$BINARIES LICENSE install.sh"
    if [ -f "$root/plugins/helm-todo-secrets/plugin.yaml" ]; then
        cp "$root/plugins/helm-todo-secrets/plugin.yaml" "$stage/plugin.yaml"
        files="$files plugin.yaml"
        if [ -f "$root/plugins/helm-todo-secrets/scripts/install-hook.sh" ]; then
            mkdir -p "$stage/scripts"
            cp "$root/plugins/helm-todo-secrets/scripts/install-hook.sh" "$stage/scripts/"
            files="$files scripts/install-hook.sh"
        fi
    else
        echo "warning: plugins/helm-todo-secrets/plugin.yaml is missing; not in the archive" >&2
    fi
    archive=$out/todo-kube-$os-$arch.tar.gz
    echo "==> $archive"
    # gzip -n: keep the staging folder's name and time out of the gzip header.
    # shellcheck disable=SC2086 # a list of file names on purpose
    (cd "$stage" && tar -cf - $files) | gzip -n -9 >"$archive.tmp"
    mv -f "$archive.tmp" "$archive"
    sha256 "$archive" >"$archive.sha256"
    echo "    sha256 $(cat "$archive.sha256")"
fi

# The krew manifest with every sha256 whose archive is in $out.
mkdir -p "$out/krew"
cp "$root/plugins/krew/todo.yaml" "$out/krew/todo.yaml.tmp"
for p in linux-amd64 linux-arm64 darwin-amd64 darwin-arm64; do
    file=todo-kube-$p.tar.gz
    if [ ! -f "$out/$file" ]; then
        echo "note: no $file in $out; its sha256 stays a placeholder" >&2
        continue
    fi
    sum=$(sha256 "$out/$file")
    awk -v file="/$file" -v sum="$sum" '
        /^ *uri:/ { hit = index($0, file) > 0 }
        /^ *sha256:/ && hit { sub(/"[^"]*"/, "\"" sum "\""); hit = 0 }
        { print }
    ' "$out/krew/todo.yaml.tmp" >"$out/krew/todo.yaml.next"
    mv -f "$out/krew/todo.yaml.next" "$out/krew/todo.yaml.tmp"
done
mv -f "$out/krew/todo.yaml.tmp" "$out/krew/todo.yaml"
echo "==> $out/krew/todo.yaml"
