#!/bin/sh
# install.sh: install the todo-kube plugins for kubectl and Helm.
#
#   ./install.sh                      build with cargo (or use a release archive) and install
#   ./install.sh --prefix DIR         install the binaries into DIR (default ~/.local/bin)
#   ./install.sh --uninstall          remove exactly what an earlier run installed
#   ./install.sh --demo               install, then show the whole flow on a sandbox cluster
#
# Run ./install.sh --help for every option. POSIX sh; no bashisms.

set -eu

VERSION=0.1.0
BINARIES="kubectl-todo kubectl-todo-verify kubectl-todo-scale kubectl-todo-preflight helm-todo-secrets"
HELM_PLUGIN=todo-secrets
DEMO_RELEASE=todo
DEMO_NAMESPACE=todo

here=$(cd "$(dirname "$0")" && pwd -P)

usage() {
    cat <<EOF
install.sh $VERSION: install the todo-kube kubectl and Helm plugins

Usage: ./install.sh [options]

Installs kubectl-todo, kubectl-todo-verify, kubectl-todo-scale, kubectl-todo-preflight and helm-todo-secrets into
the prefix, and the Helm plugin "$HELM_PLUGIN" into Helm's plugin directory. Afterwards:
  kubectl todo verify        kubectl todo scale backend 3        helm todo-secrets init

Options:
  --prefix DIR         where the binaries go (default: ~/.local/bin)
  --helm-plugins DIR   Helm's plugin directory (default: \`helm env HELM_PLUGINS\`, or
                       Helm's default when helm is not installed)
  --no-helm-plugin     do not install the Helm plugin
  --completions        also install bash, zsh and fish completions, and the helpers
                       kubectl_complete-todo* through which kubectl 1.26+ completes
                       \`kubectl todo <TAB>\` (bash needs the bash-completion package)
  --bin-dir DIR        use prebuilt binaries from DIR instead of building
  --archive FILE       use a release archive (todo-kube-<os>-<arch>.tar.gz)
  --from-source        build with cargo even if a release archive is beside install.sh
  --uninstall          remove everything an earlier install.sh run installed
  --demo               install, then: start the todo-sandbox cluster when no cluster is
                       configured, seal demo secrets, preflight, install the chart, verify, scale
  -h, --help           show this help

Without --bin-dir/--archive, install.sh uses binaries sitting beside it (an unpacked release
archive), else todo-kube-<os>-<arch>.tar.gz beside it, else builds with cargo.
What was installed is recorded in \$XDG_DATA_HOME/todo-kube/install-manifest
(~/.local/share/todo-kube/install-manifest) so --uninstall removes exactly that.
EOF
}

# ---- output -----------------------------------------------------------------------------

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    bold=$(printf '\033[1m') red=$(printf '\033[31m') yellow=$(printf '\033[33m') reset=$(printf '\033[0m')
else
    bold='' red='' yellow='' reset=''
fi

step() { printf '%s==>%s %s\n' "$bold" "$reset" "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '%swarning%s: %s\n' "$yellow" "$reset" "$*" >&2; }

# die MESSAGE [HINT [EXIT_CODE]]
die() {
    printf '%serror%s: install.sh: %s\n' "$red" "$reset" "$1" >&2
    if [ -n "${2:-}" ]; then
        printf '%shint%s: %s\n' "$yellow" "$reset" "$2" >&2
    fi
    exit "${3:-1}"
}

have() { command -v "$1" >/dev/null 2>&1; }

# ---- options ----------------------------------------------------------------------------

prefix="${HOME:?HOME is not set}/.local/bin"
helm_plugins=''
helm_plugin=1
completions=0
bin_dir=''
archive=''
from_source=0
action=install

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || die "--prefix needs a directory" "" 2; prefix=$2; shift ;;
        --prefix=*) prefix=${1#*=} ;;
        --helm-plugins) [ $# -ge 2 ] || die "--helm-plugins needs a directory" "" 2; helm_plugins=$2; shift ;;
        --helm-plugins=*) helm_plugins=${1#*=} ;;
        --no-helm-plugin) helm_plugin=0 ;;
        --completions) completions=1 ;;
        --bin-dir) [ $# -ge 2 ] || die "--bin-dir needs a directory" "" 2; bin_dir=$2; shift ;;
        --bin-dir=*) bin_dir=${1#*=} ;;
        --archive) [ $# -ge 2 ] || die "--archive needs a file" "" 2; archive=$2; shift ;;
        --archive=*) archive=${1#*=} ;;
        --from-source) from_source=1 ;;
        --uninstall) action=uninstall ;;
        --demo) action=demo ;;
        -h|--help) usage; exit 0 ;;
        --version) echo "install.sh $VERSION"; exit 0 ;;
        *) die "unknown option: $1" "run ./install.sh --help" 2 ;;
    esac
    shift
done

case "$prefix" in
    '') die "--prefix is empty" "" 2 ;;
    /*) ;;
    *) prefix=$(pwd)/$prefix ;;
esac
case "$helm_plugins" in
    ''|/*) ;;
    *) helm_plugins=$(pwd)/$helm_plugins ;;
esac

data_home=${XDG_DATA_HOME:-$HOME/.local/share}
state_dir=$data_home/todo-kube
manifest=$state_dir/install-manifest

tmp=$(mktemp -d "${TMPDIR:-/tmp}/todo-kube-install.XXXXXX")
sandbox_pid=''
cleanup() {
    if [ -n "$sandbox_pid" ]; then
        kill "$sandbox_pid" 2>/dev/null || true
        wait "$sandbox_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the manifest -----------------------------------------------------------------------
# One line per entry: "f PATH" for a file, "d PATH" for a directory this script created.
# Entries of earlier runs are kept, so --uninstall after two installs removes both.

touch "$tmp/new-manifest"

record() { printf '%s %s\n' "$1" "$2" >>"$tmp/new-manifest"; }

# ensure_dir DIR: mkdir -p, recording every directory that did not exist before.
ensure_dir() {
    _d=$1
    _missing=''
    while [ ! -d "$_d" ] && [ ! -e "$_d" ]; do
        _missing="$_d
$_missing"
        _d=$(dirname "$_d")
    done
    mkdir -p "$1" 2>/dev/null || return 1
    printf '%s' "$_missing" | while IFS= read -r _line; do
        [ -n "$_line" ] && record d "$_line"
    done
    return 0
}

# put_file SRC DEST MODE: copy atomically (a running binary can be replaced) and record.
put_file() {
    cp "$1" "$2.tmp.$$"
    chmod "$3" "$2.tmp.$$"
    mv -f "$2.tmp.$$" "$2"
    record f "$2"
    info "installed $2"
}

write_manifest() {
    ensure_dir "$state_dir" || die "cannot create $state_dir"
    record f "$manifest"
    if [ -f "$manifest" ]; then
        cat "$manifest" "$tmp/new-manifest"
    else
        cat "$tmp/new-manifest"
    fi | awk '!seen[$0]++' >"$tmp/merged"
    mv -f "$tmp/merged" "$manifest"
}

# ---- platform ---------------------------------------------------------------------------

detect_platform() {
    case "$(uname -s)" in
        Linux) os=linux ;;
        Darwin) os=darwin ;;
        *) die "unsupported operating system: $(uname -s)" "todo-kube supports Linux and macOS" ;;
    esac
    case "$(uname -m)" in
        x86_64|amd64) arch=amd64 ;;
        aarch64|arm64) arch=arm64 ;;
        *) die "unsupported CPU architecture: $(uname -m)" "todo-kube supports amd64 and arm64" ;;
    esac
}

# ---- binaries ---------------------------------------------------------------------------

has_all_binaries() {
    for _b in $BINARIES; do
        [ -f "$1/$_b" ] && [ -x "$1/$_b" ] || return 1
    done
}

unpack_archive() {
    [ -f "$1" ] || die "no such archive: $1"
    step "Unpacking $1"
    mkdir -p "$tmp/archive"
    tar -xzf "$1" -C "$tmp/archive" || die "cannot unpack $1" "download the archive again"
    has_all_binaries "$tmp/archive" ||
        die "$1 does not hold $BINARIES" "use a todo-kube-<os>-<arch>.tar.gz release archive"
    bin_dir=$tmp/archive
    plugin_yaml_dir=$tmp/archive
}

build_with_cargo() {
    [ -f "$here/Cargo.toml" ] ||
        die "no Cargo.toml beside install.sh and no prebuilt binaries" \
            "run install.sh from a todo-kube checkout, or from an unpacked release archive"
    have cargo ||
        die "cargo is not installed, and there is no release archive to install from" \
            "install Rust from https://rustup.rs, or put todo-kube-$os-$arch.tar.gz (from the releases page) beside install.sh"
    step "Building release binaries with cargo (this takes a few minutes the first time)"
    _pkgs=''
    for _b in $BINARIES; do _pkgs="$_pkgs -p $_b"; done
    # shellcheck disable=SC2086 # _pkgs is a list of words on purpose
    (cd "$here" && cargo build --release --locked $_pkgs) ||
        die "cargo build failed" "see the compiler output above"
    _target=$(cd "$here" && cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    [ -n "$_target" ] || _target=${CARGO_TARGET_DIR:-$here/target}
    bin_dir=$_target/release
    has_all_binaries "$bin_dir" || die "cargo did not produce $BINARIES in $bin_dir"
}

find_binaries() {
    plugin_yaml_dir=''
    if [ -n "$bin_dir" ]; then
        has_all_binaries "$bin_dir" || die "$bin_dir does not hold all of: $BINARIES" \
            "build them with: cargo build --release -p kubectl-todo -p kubectl-todo-verify -p kubectl-todo-scale -p kubectl-todo-preflight -p helm-todo-secrets"
        step "Using prebuilt binaries from $bin_dir"
    elif [ -n "$archive" ]; then
        unpack_archive "$archive"
    elif [ "$from_source" = 0 ] && has_all_binaries "$here"; then
        bin_dir=$here
        plugin_yaml_dir=$here
        step "Using the binaries beside install.sh"
    elif [ "$from_source" = 0 ] && [ -f "$here/todo-kube-$os-$arch.tar.gz" ]; then
        unpack_archive "$here/todo-kube-$os-$arch.tar.gz"
    else
        build_with_cargo
    fi
}

# ---- Helm -------------------------------------------------------------------------------

find_helm_plugins_dir() {
    if [ -n "$helm_plugins" ]; then
        return
    fi
    if have helm && helm_plugins=$(helm env HELM_PLUGINS 2>/dev/null) && [ -n "$helm_plugins" ]; then
        return
    fi
    if [ -n "${HELM_PLUGINS:-}" ]; then
        helm_plugins=$HELM_PLUGINS
    elif [ "$os" = darwin ]; then
        helm_plugins=${XDG_DATA_HOME:-$HOME/Library}/helm/plugins
    else
        helm_plugins=$data_home/helm/plugins
    fi
}

find_plugin_yaml() {
    for _d in "$plugin_yaml_dir" "$here/plugins/helm-todo-secrets" "$here"; do
        if [ -n "$_d" ] && [ -f "$_d/plugin.yaml" ]; then
            echo "$_d/plugin.yaml"
            return 0
        fi
    done
    return 1
}

install_helm_plugin() {
    find_helm_plugins_dir
    if ! _yaml=$(find_plugin_yaml); then
        warn "plugin.yaml for the Helm plugin not found; skipping \`helm $HELM_PLUGIN\`"
        return
    fi
    _dir=$helm_plugins/$HELM_PLUGIN
    step "Installing the Helm plugin into $_dir"
    ensure_dir "$_dir/bin" || die "cannot create $_dir/bin" "pass another --helm-plugins DIR"
    put_file "$_yaml" "$_dir/plugin.yaml" 644
    put_file "$bin_dir/helm-todo-secrets" "$_dir/bin/helm-todo-secrets" 755
    # Helm's completion of `helm todo-secrets <TAB>` runs plugin.complete (dynamic completion).
    _complete=$(dirname "$_yaml")/plugin.complete
    [ ! -f "$_complete" ] || put_file "$_complete" "$_dir/plugin.complete" 755
    # The hook plugin.yaml names (it finds the binary already in bin/ on a rerun).
    _hook=$(dirname "$_yaml")/scripts/install-hook.sh
    if [ -f "$_hook" ]; then
        ensure_dir "$_dir/scripts" || die "cannot create $_dir/scripts"
        put_file "$_hook" "$_dir/scripts/install-hook.sh" 755
    fi
}

# ---- completions ------------------------------------------------------------------------

# completion_script BINARY SHELL: write the binary's completion script (`BINARY completion
# SHELL`) to $tmp/completion; fails when the binary has none.
completion_script() {
    case "$2" in
        bash) _marker='complete ' ;;
        zsh) _marker='#compdef' ;;
        fish) _marker='complete -c' ;;
    esac
    # No kubeconfig and no stdin: a binary that does not know the subcommand must not reach
    # a cluster or wait for input. The output must look like a completion script.
    KUBECONFIG=$tmp/no-kubeconfig "$1" completion "$2" </dev/null >"$tmp/completion" 2>/dev/null &&
        grep -q -- "$_marker" "$tmp/completion"
}

install_completions() {
    step "Installing shell completions"
    _bash=$data_home/bash-completion/completions
    _zsh=$data_home/zsh/site-functions
    _fish=${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions
    for _b in $BINARIES; do
        for _sh in bash zsh fish; do
            if ! completion_script "$prefix/$_b" "$_sh"; then
                info "$_b has no $_sh completion; skipped"
                continue
            fi
            case "$_sh" in
                bash) _dest=$_bash/$_b ;;
                zsh) _dest=$_zsh/_$_b ;;
                fish) _dest=$_fish/$_b.fish ;;
            esac
            ensure_dir "$(dirname "$_dest")" || die "cannot create $(dirname "$_dest")"
            put_file "$tmp/completion" "$_dest" 644
        done
    done
    # kubectl (1.26+) completes `kubectl todo <TAB>` by running kubectl_complete-todo (and
    # `kubectl todo verify <TAB>` by kubectl_complete-todo-verify when kubectl-todo-verify is
    # on PATH itself); each asks its binary's `__complete`. The shims ship in the checkout
    # (plugins/kubectl-todo/completion) and in the release archive (beside the binaries).
    for _b in $BINARIES; do
        case "$_b" in kubectl-todo*) ;; *) continue ;; esac
        _shim=kubectl_complete-${_b#kubectl-}
        for _src in "$here/plugins/kubectl-todo/completion/$_shim" "$bin_dir/$_shim" "$here/$_shim"; do
            if [ -f "$_src" ]; then
                put_file "$_src" "$prefix/$_shim" 755
                break
            fi
        done
    done
    info "bash: kubectl's and these completions need the bash-completion package (apt install bash-completion)"
    info "zsh: add $_zsh to fpath (fpath=($_zsh \$fpath) in ~/.zshrc) before compinit"
}

# ---- install ----------------------------------------------------------------------------

# check_prefix: fail early (before building) when the prefix cannot be written; creates
# nothing, so a failed run leaves no trace.
check_prefix() {
    _d=$prefix
    while [ ! -e "$_d" ]; do
        _d=$(dirname "$_d")
    done
    if [ ! -d "$_d" ]; then
        die "cannot create the prefix $prefix: $_d is not a directory" \
            "choose a directory you can write to with --prefix (default ~/.local/bin)"
    fi
    _probe=$_d/.todo-kube-write-test.$$
    if ! [ -w "$_d" ] || ! (: >"$_probe") 2>/dev/null; then
        die "the prefix $prefix is not writable ($_d is not)" \
            "choose a directory you can write to with --prefix (default ~/.local/bin), or run with sudo"
    fi
    rm -f "$_probe"
}

path_hint() {
    case ":$PATH:" in
        *":$prefix:"*) info "$prefix is on your PATH" ; return ;;
    esac
    step "Put $prefix on your PATH"
    case "${SHELL:-}" in
        */fish) info "fish_add_path $prefix" ;;
        */zsh) info "echo 'export PATH=\"$prefix:\$PATH\"' >> ~/.zshrc && exec zsh" ;;
        */bash) info "echo 'export PATH=\"$prefix:\$PATH\"' >> ~/.bashrc && exec bash" ;;
        *) info "echo 'export PATH=\"$prefix:\$PATH\"' >> ~/.profile  (then log in again)" ;;
    esac
}

do_install() {
    detect_platform
    check_prefix
    find_binaries
    step "Installing the kubectl plugins and helm-todo-secrets into $prefix"
    ensure_dir "$prefix" || die "cannot create the prefix $prefix"
    for _b in $BINARIES; do
        put_file "$bin_dir/$_b" "$prefix/$_b" 755
    done
    if [ "$helm_plugin" = 1 ]; then
        install_helm_plugin
    fi
    if [ "$completions" = 1 ]; then
        install_completions
    fi
    write_manifest
    step "Recorded what was installed in $manifest (remove it all with ./install.sh --uninstall)"
    path_hint
    step "Done. Try: kubectl todo --help"
}

# ---- uninstall --------------------------------------------------------------------------

do_uninstall() {
    if [ ! -f "$manifest" ]; then
        step "Nothing to uninstall: no $manifest"
        return
    fi
    step "Removing what install.sh installed (from $manifest)"
    cp "$manifest" "$tmp/old-manifest"
    # Files first, then directories deepest first, each only if now empty.
    while IFS= read -r _line; do
        case "$_line" in
            "f "*)
                _f=${_line#f }
                if [ -e "$_f" ] || [ -L "$_f" ]; then
                    rm -f "$_f" && info "removed $_f"
                fi
                ;;
        esac
    done <"$tmp/old-manifest"
    sed -n 's/^d //p' "$tmp/old-manifest" | sort -r | while IFS= read -r _d; do
        if [ -d "$_d" ] && rmdir "$_d" 2>/dev/null; then
            info "removed $_d/"
        fi
    done
    rm -f "$manifest"
    rmdir "$state_dir" 2>/dev/null || true
    step "Uninstalled"
}

# ---- demo -------------------------------------------------------------------------------

find_sandbox() {
    if have todo-sandbox; then
        command -v todo-sandbox
        return
    fi
    _target=${CARGO_TARGET_DIR:-$here/target}
    for _p in "$_target/release/todo-sandbox" "$_target/debug/todo-sandbox"; do
        if [ -x "$_p" ]; then
            echo "$_p"
            return
        fi
    done
    have cargo || die "todo-sandbox is not built and cargo is missing" "install Rust from https://rustup.rs"
    step "Building the todo-sandbox cluster simulator with cargo" >&2
    (cd "$here" && cargo build --release --locked -p todo-sandbox >&2) ||
        die "cannot build todo-sandbox" "see the compiler output above"
    echo "$_target/release/todo-sandbox"
}

start_sandbox() {
    _sandbox=$(find_sandbox)
    step "No cluster configured: starting the sandbox ($_sandbox up)"
    "$_sandbox" up >"$tmp/sandbox.out" 2>"$tmp/sandbox.err" &
    sandbox_pid=$!
    _i=0
    while [ ! -s "$tmp/sandbox.out" ]; do
        if ! kill -0 "$sandbox_pid" 2>/dev/null; then
            sandbox_pid=''
            cat "$tmp/sandbox.err" >&2
            die "the sandbox exited before it was ready"
        fi
        _i=$((_i + 1))
        [ "$_i" -le 300 ] || die "the sandbox did not print its kubeconfig within 30 s"
        sleep 0.1
    done
    KUBECONFIG=$(head -n 1 "$tmp/sandbox.out")
    export KUBECONFIG
    info "sandbox running (pid $sandbox_pid), KUBECONFIG=$KUBECONFIG"
}

# helm ARGS: the real helm on PATH, else the repository's shim (real Helm v4 through
# helm-python-sdk in .venv, which tests/run.sh creates).
run_helm() {
    step "helm $*"
    if have helm; then
        helm "$@"
    elif [ -f "$here/tests/tools/helm" ]; then
        ensure_helm_sdk
        sh "$here/tests/tools/helm" "$@"
    else
        die "helm is not installed" "install Helm from https://helm.sh/docs/intro/install/"
    fi
}

# Without a helm binary the demo uses real Helm v4 as a library (PyPI helm-python-sdk),
# installed once into the repository's .venv.
ensure_helm_sdk() {
    if [ -x "$here/.venv/bin/python" ] && "$here/.venv/bin/python" -c 'import helm_python, yaml' 2>/dev/null; then
        return
    fi
    have python3 || die "neither helm nor python3 is installed" "install Helm from https://helm.sh/docs/intro/install/"
    step "No helm binary: installing Helm v4 as a library (helm-python-sdk) into $here/.venv"
    [ -x "$here/.venv/bin/python" ] || python3 -m venv "$here/.venv" || die "cannot create $here/.venv"
    "$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check helm-python-sdk pyyaml ||
        die "cannot install helm-python-sdk" "install Helm from https://helm.sh/docs/intro/install/"
}

run_shown() {
    step "$*"
    "$@"
}

# wait_for_sealing_controller: the sealed-secrets controller serves its certificate only once
# its key exists (a fresh controller generates a 4096-bit key first); wait up to 120 s.
wait_for_sealing_controller() {
    _cert=/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:/proxy/v1/cert.pem
    kubectl get service sealed-secrets-controller -n kube-system >/dev/null 2>&1 || return 0
    step "Waiting for the sealed-secrets controller to serve its certificate"
    _i=0
    until kubectl get --raw "$_cert" >/dev/null 2>&1; do
        _i=$((_i + 1))
        [ "$_i" -lt 120 ] || die "the sealed-secrets controller did not serve its certificate within 120s" \
            "kubectl -n kube-system get pods,svc -l name=sealed-secrets-controller"
        sleep 1
    done
}

do_demo() {
    do_install
    PATH=$prefix:$PATH
    export PATH
    have kubectl || die "kubectl is not installed" "install kubectl: https://kubernetes.io/docs/tasks/tools/"
    step "Checking for a cluster: kubectl config current-context"
    if _ctx=$(kubectl config current-context 2>/dev/null) && [ -n "$_ctx" ]; then
        info "using the configured cluster, context $_ctx"
    else
        start_sandbox
    fi
    wait_for_sealing_controller
    _values=$tmp/secrets.sealed.yaml
    step "Sealing demo secrets: helm todo-secrets init --from-env (demo values, nothing real)"
    (
        DATABASE_URL="postgresql://demo:demo-password@ep-demo-123456.us-east-2.aws.neon.tech/todo?sslmode=require"
        BETTER_AUTH_SECRET=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
        OPENAI_API_KEY="sk-demo-not-a-real-key-0000000000000000"
        HELM_NAMESPACE=$DEMO_NAMESPACE
        export DATABASE_URL BETTER_AUTH_SECRET OPENAI_API_KEY HELM_NAMESPACE
        if have helm && helm plugin list 2>/dev/null | grep -q "^${HELM_PLUGIN}[[:space:]]"; then
            helm todo-secrets init --from-env --release "$DEMO_RELEASE" -n "$DEMO_NAMESPACE" --file "$_values"
        else
            # The same binary with the environment Helm gives its plugins.
            HELM_PLUGIN_NAME=$HELM_PLUGIN HELM_PLUGIN_DIR=${helm_plugins:-}/$HELM_PLUGIN \
                helm-todo-secrets init --from-env --release "$DEMO_RELEASE" --file "$_values"
        fi
    ) || die "sealing the demo secrets failed"
    run_shown kubectl todo preflight -n "$DEMO_NAMESPACE" --release "$DEMO_RELEASE" \
        --chart "$here/charts/todo-chatbot" --create-namespace -f "$_values" ||
        die "preflight found what would fail; fix it before installing"
    run_helm upgrade --install "$DEMO_RELEASE" "$here/charts/todo-chatbot" \
        -n "$DEMO_NAMESPACE" --create-namespace -f "$_values" --wait --timeout 5m ||
        die "helm could not install the chart"
    run_shown kubectl todo verify -n "$DEMO_NAMESPACE" || die "verify reported a problem"
    run_shown kubectl todo scale backend 3 -n "$DEMO_NAMESPACE" || die "scale failed"
    run_shown kubectl todo verify -n "$DEMO_NAMESPACE" || die "verify reported a problem"
    if [ -n "$sandbox_pid" ]; then
        step "Stopping the sandbox"
        kill "$sandbox_pid" 2>/dev/null || true
        wait "$sandbox_pid" 2>/dev/null || true
        sandbox_pid=''
    fi
    step "Demo done. On your own cluster: helm todo-secrets init, kubectl todo preflight, helm install, kubectl todo verify --wait"
}

case "$action" in
    install) do_install ;;
    uninstall) do_uninstall ;;
    demo) do_demo ;;
esac
