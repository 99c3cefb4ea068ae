#!/usr/bin/env python3
"""A small `helm` CLI over real Helm v4 (the helm-python-sdk library), for machines without
the helm binary: tests, CI and `install.sh --demo`.

Supports: install, upgrade [--install], uninstall, status, list, test, template, lint,
get values, version, env, and plugins (`helm <plugin> ...` runs a plugin from HELM_PLUGINS
with Helm's plugin environment, as Helm does). Global flags: -n/--namespace, --kube-context,
--kubeconfig, --debug.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

import helm_python as helm

VERSION = "v4.0.0+helm-python-sdk"


def plugins_dir():
    if os.environ.get("HELM_PLUGINS"):
        return os.environ["HELM_PLUGINS"]
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "helm", "plugins")


def deep_merge(a, b):
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def load_values(args):
    values = {}
    for f in args.values or []:
        with open(f) as fh:
            text = fh.read()
        loaded = helm.values_from_yaml(text) if text.strip() else {}
        values = deep_merge(values, loaded or {})
    for s in args.set or []:
        values = deep_merge(values, helm.parse_set_string(s))
    for s in args.set_string or []:
        values = deep_merge(values, helm.parse_set_string_values(s) if hasattr(helm, "parse_set_string_values") else helm.parse_set_string(s))
    return values


def timeout_seconds(text):
    if not text:
        return None
    total, num = 0, ""
    units = {"s": 1, "m": 60, "h": 3600}
    for ch in text:
        if ch.isdigit() or ch == ".":
            num += ch
        elif ch in units and num:
            total += float(num) * units[ch]
            num = ""
    if num:
        total += float(num)
    return int(total)


def config(args):
    return helm.Config(
        kubeconfig_path=args.kubeconfig or None,
        kube_context=args.kube_context or None,
        namespace=args.namespace or "default",
    )


def add_globals(p):
    p.add_argument("-n", "--namespace", default=os.environ.get("HELM_NAMESPACE", ""))
    p.add_argument("--kube-context", default=os.environ.get("HELM_KUBECONTEXT", ""))
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""))
    p.add_argument("--debug", action="store_true")


def add_values(p):
    p.add_argument("-f", "--values", action="append")
    p.add_argument("--set", action="append")
    p.add_argument("--set-string", action="append")


def print_release(rel, output):
    if output == "json":
        print(json.dumps(rel))
        return
    print(f"NAME: {rel.get('name')}")
    print(f"NAMESPACE: {rel.get('namespace')}")
    print(f"STATUS: {rel.get('status')}")
    print(f"REVISION: {rel.get('revision')}")
    notes = rel.get("notes") or (rel.get("info") or {}).get("notes")
    if notes:
        print("NOTES:")
        print(notes)


def run_plugin(name, rest):
    root = plugins_dir()
    for entry in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        pdir = os.path.join(root, entry)
        manifest = os.path.join(pdir, "plugin.yaml")
        if not os.path.isfile(manifest):
            continue
        with open(manifest) as fh:
            meta = yaml.safe_load(fh) if yaml else {}
        if meta.get("name") != name:
            continue
        # Helm consumes its global flags and passes them through the environment.
        g = argparse.ArgumentParser(add_help=False)
        add_globals(g)
        known, passthrough = g.parse_known_args(rest)
        env = dict(os.environ)
        env.update({
            "HELM_PLUGIN_NAME": name,
            "HELM_PLUGIN_DIR": pdir,
            "HELM_PLUGINS": root,
            "HELM_BIN": os.path.abspath(sys.argv[0]),
            "HELM_NAMESPACE": known.namespace or "default",
            "HELM_KUBECONTEXT": known.kube_context or "",
            "HELM_DEBUG": "true" if known.debug else "false",
        })
        if known.kubeconfig:
            env["KUBECONFIG"] = known.kubeconfig
        command = meta.get("command") or ""
        platform = meta.get("platformCommand") or []
        for pc in platform:
            if pc.get("os") in (None, sys.platform if sys.platform != "darwin" else "darwin", "linux"):
                command = pc.get("command", command)
                break
        argv = [os.path.expandvars(a) for a in shlex.split(command.replace("$HELM_PLUGIN_DIR", pdir))]
        return subprocess.call(argv + passthrough, env=env)
    print(f'Error: unknown command "{name}" for "helm"', file=sys.stderr)
    return 1


def main(argv):
    commands = {"install", "upgrade", "uninstall", "status", "list", "ls", "test", "template", "lint", "get", "version", "env"}
    # The first word that is not a global flag or a global flag's value is the command.
    first, skip = None, False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a in ("-n", "--namespace", "--kube-context", "--kubeconfig"):
            skip = True
            continue
        if a.startswith("-"):
            continue
        first = (i, a)
        break
    if first and first[1] not in commands:
        idx, name = first
        return run_plugin(name, argv[:idx] + argv[idx + 1:])
    if first:
        # Global flags may come before the command, as with the real helm.
        idx = first[0]
        argv = argv[idx:idx + 1] + argv[:idx] + argv[idx + 1:]

    parser = argparse.ArgumentParser(prog="helm")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ["install", "upgrade", "template"]:
        p = sub.add_parser(name)
        add_globals(p)
        add_values(p)
        p.add_argument("release")
        p.add_argument("chart")
        p.add_argument("--create-namespace", action="store_true")
        p.add_argument("--wait", action="store_true")
        p.add_argument("--timeout", default="")
        p.add_argument("--install", action="store_true")
        p.add_argument("--reuse-values", action="store_true")
        p.add_argument("--reset-values", action="store_true")
        p.add_argument("-o", "--output", default="")
    p = sub.add_parser("uninstall")
    add_globals(p)
    p.add_argument("release")
    p.add_argument("--wait", action="store_true")
    p.add_argument("--timeout", default="")
    for name in ["status", "test"]:
        p = sub.add_parser(name)
        add_globals(p)
        p.add_argument("release")
        p.add_argument("-o", "--output", default="")
        p.add_argument("--timeout", default="")
        p.add_argument("--logs", action="store_true")
    for name in ["list", "ls"]:
        p = sub.add_parser(name)
        add_globals(p)
        p.add_argument("-o", "--output", default="")
        p.add_argument("-A", "--all-namespaces", action="store_true")
    p = sub.add_parser("lint")
    add_globals(p)
    add_values(p)
    p.add_argument("chart")
    p = sub.add_parser("get")
    add_globals(p)
    p.add_argument("what", choices=["values", "manifest", "all"])
    p.add_argument("release")
    p.add_argument("-o", "--output", default="")
    p.add_argument("-a", "--all", action="store_true")
    p = sub.add_parser("version")
    add_globals(p)
    p.add_argument("--short", action="store_true")
    p = sub.add_parser("env")
    add_globals(p)
    p.add_argument("name", nargs="?")
    args = parser.parse_args(argv)

    try:
        if args.cmd == "version":
            print(VERSION if args.short else f'version.BuildInfo{{Version:"{VERSION}"}}')
            return 0
        if args.cmd == "env":
            env = {"HELM_PLUGINS": plugins_dir(), "HELM_BIN": os.path.abspath(sys.argv[0])}
            if args.name:
                print(env.get(args.name, ""))
            else:
                for k, v in env.items():
                    print(f'{k}="{v}"')
            return 0
        if args.cmd == "lint":
            result = helm.lint(args.chart, values=load_values(args))
            print(json.dumps(result, indent=2) if not isinstance(result, str) else result)
            return 0
        if args.cmd == "template":
            chart = helm.Chart.load(args.chart)
            out = chart.render(values=load_values(args), name=args.release, namespace=args.namespace or "default", is_install=True)
            if isinstance(out, dict):
                for name, text in sorted(out.items()):
                    if text.strip() and not name.endswith("NOTES.txt"):
                        print(f"---\n# Source: {name}\n{text}")
            else:
                print(out)
            return 0
        cfg = config(args)
        timeout = timeout_seconds(getattr(args, "timeout", "")) or 300
        wait = "watcher" if getattr(args, "wait", False) else None
        if args.cmd == "install" or (args.cmd == "upgrade" and args.install and not any(r.get("name") == args.release for r in cfg.list())):
            rel = cfg.install(args.chart, args.release, load_values(args), namespace=args.namespace or None,
                              timeout=timeout, wait=wait, create_namespace=args.create_namespace)
            print_release(rel, args.output)
        elif args.cmd == "upgrade":
            rel = cfg.upgrade(args.chart, args.release, load_values(args), namespace=args.namespace or None,
                              timeout=timeout, wait=wait, reuse_values=args.reuse_values, reset_values=args.reset_values)
            print_release(rel, args.output)
        elif args.cmd == "uninstall":
            cfg.uninstall(args.release, timeout=timeout, wait=wait)
            print(f'release "{args.release}" uninstalled')
        elif args.cmd == "status":
            print_release(cfg.status(args.release), args.output)
        elif args.cmd in ("list", "ls"):
            rels = cfg.list()
            if args.output == "json":
                print(json.dumps(rels))
            else:
                print("NAME\tNAMESPACE\tREVISION\tSTATUS\tCHART\tAPP VERSION")
                for r in rels:
                    print(f"{r['name']}\t{r['namespace']}\t{r['revision']}\t{r['status']}\t{r['chart_name']}-{r['chart_version']}\t{r.get('app_version', '')}")
        elif args.cmd == "test":
            result = cfg.test(args.release, timeout=timeout)
            print(json.dumps(result) if args.output == "json" else result)
        elif args.cmd == "get":
            if args.what == "values":
                vals = cfg.get_values(args.release, all_values=args.all)
                print(json.dumps(vals) if args.output == "json" else (yaml.safe_dump(vals) if yaml else json.dumps(vals)))
            else:
                print(cfg.status(args.release).get("manifest", ""))
        return 0
    except helm.HelmError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
