#!/usr/bin/env python3
"""Write tests/vectors/values-merge.json: what real Helm v4 (helm-python-sdk) makes `.Values`
for a table of `-f` files and `--set` / `--set-string` arguments on charts/todo-chatbot.

Each case renders a copy of the chart whose only template is `{{ .Values | toJson }}` in a
ConfigMap, so the tree is what templates see after Helm coalesced the user's values with the
chart's defaults and validated them against values.schema.json.

The user's values are composed as Helm's `MergeValues` (pkg/cli/values) does: each file in
order is parsed by Helm (`values_from_yaml`) and merged (`MergeMaps`: maps recursively, anything
else replaces); then every `--set` is parsed by Helm's strvals, then every `--set-string`. The
SDK has no `ParseInto` (parse into the existing map), so the `--set` arguments are joined with
`,` and parsed once (the same as Helm parsing them one after the other into one map) and the
result merged with `MergeMaps`; likewise `--set-string`. That equals Helm exactly as long as no
`--set` path goes through a list or a scalar that a file (or, for `--set-string`, a `--set`)
put there: the table below has no such case (the Rust unit tests cover those by hand).

Files apply in the order of their names (sorted), which is how the Rust test reads the
`files` object.

Output: a JSON list of
  {name, files: {name: text}, set: [...], set_string: [...],
   values: <.Values>}                                   when Helm renders, or
  {..., error: true, stage: "set" | "schema" | "file",
   schema_paths: [instance paths Helm's schema errors name, as `a.b[0]`] (stage schema),
   coalesced: <the coalesced values Helm validated> (stage schema)}

Usage: gen_values_vectors.py [OUT]   (default: tests/vectors/values-merge.json)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from typing import Any

import helm_python as helm
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHART = os.path.join(ROOT, "charts", "todo-chatbot")
DEFAULT_OUT = os.path.join(ROOT, "tests", "vectors", "values-merge.json")
DIGEST = "sha256:" + "ab" * 32

TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: values
data:
  values: {{ .Values | toJson | quote }}
"""


def case(name: str, files: dict[str, str] | None = None, set: list[str] | None = None,
         set_string: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "files": files or {}, "set": set or [], "set_string": set_string or []}


CASES: list[dict[str, Any]] = [
    case("chart defaults only"),
    case("one file overrides nested keys",
         files={"1.yaml": "backend:\n  replicaCount: 3\nconfig:\n  logLevel: debug\n"}),
    case("two files: maps merge, the later file wins",
         files={"1-base.yaml": "backend:\n  replicaCount: 2\nfrontend:\n  image:\n    tag: v1.0.0\n",
                "2-over.yaml": "backend:\n  replicaCount: 4\n  image:\n    tag: v2.0.0\n"}),
    case("a later file's list replaces the earlier list",
         files={"1.yaml": "imagePullSecrets:\n  - name: a\n  - name: b\n",
                "2.yaml": "imagePullSecrets:\n  - name: c\n"}),
    case("empty and comment-only files are {}",
         files={"1-empty.yaml": "", "2-comment.yaml": "# nothing here\n"}),
    case("YAML 1.1 scalars in a file (yes, octal, 1.0)",
         files={"1.yaml": "networkPolicy:\n  enabled: yes\n  dns:\n    port: 0065\nbackend:\n  replicaCount: 2.0\n"}),
    case("a file's null deletes a default map",
         files={"1.yaml": "tests: null\n"}),
    case("a repeated key in a file: the last wins",
         files={"1.yaml": "backend:\n  replicaCount: 2\n  replicaCount: 3\n"}),
    case("--set nested keys",
         set=["backend.replicaCount=3,frontend.image.tag=v1.2.3"]),
    case("--set list items by index",
         set=["imagePullSecrets[0].name=regcred,imagePullSecrets[1].name=other"]),
    case("--set a list in braces",
         set=["networkPolicy.database.cidrs={10.0.0.0/8,192.168.0.0/16}"]),
    case("--set a map inside a list",
         set=["backend.extraEnv[0].name=FEATURE_X", "backend.extraEnv[0].value=on"]),
    case("--set null deletes a default",
         set=["commonLabels=null,backend.probes.startup=null"]),
    case("--set null deletes a whole default map",
         set=["tests=null"]),
    case("--set integers, --set-string keeps strings",
         set=["config.extra.PORT=8080,config.extra.ZERO=0"],
         set_string=["config.extra.PORT_TEXT=8080,backend.image.tag=1.0"]),
    case("--set booleans in any case",
         set=["networkPolicy.enabled=TRUE,tests.enabled=False"]),
    case("--set escapes in keys and values",
         set=["commonLabels.app\\.kubernetes\\.io/team=web", "config.extra.GREETING=hello\\, world"]),
    case("--set later wins",
         set=["backend.replicaCount=2", "backend.replicaCount=5"]),
    case("--set-string after --set wins",
         set=["backend.image.tag=v1"], set_string=["backend.image.tag=v2"]),
    case("--set over files",
         files={"1.yaml": "backend:\n  replicaCount: 2\n  image:\n    tag: from-file\n"},
         set=["backend.replicaCount=6"]),
    case("--set name= is the empty string",
         set=["fullnameOverride=,secrets.name="]),
    case("secrets.mode existingSecret",
         set=["secrets.mode=existingSecret,secrets.existingSecret=todo-secrets"]),
    case("secrets.mode inline with values",
         files={"1-secrets.yaml": "secrets:\n  mode: inline\n  inline:\n"
                "    DATABASE_URL: postgresql://u:p@db.example/todo\n"
                "    BETTER_AUTH_SECRET: 0123456789abcdef0123456789abcdef\n"
                "    OPENAI_API_KEY: sk-test\n"}),
    case("image tags and digests",
         set=[f"backend.image.digest={DIGEST},backend.image.tag=1.2.3,frontend.image.repository=ghcr.io/acme/frontend"]),
    case("replicaCount as a string is rejected by the schema",
         set_string=["backend.replicaCount=3"]),
    case("a float stays a string and is rejected",
         set=["frontend.replicaCount=1.5"]),
    case("an image tag that parses as an integer stays an integer",
         set=["frontend.image.tag=123"]),
    case("--set-string makes the same tag a string",
         set_string=["frontend.image.tag=123"]),
    case("unknown keys are rejected",
         set=["foo=bar,backend.replicaCountt=2"]),
    case("secrets.mode outside the enum is rejected",
         set=["secrets.mode=plain"]),
    case("a negative replica minimum is rejected",
         set=["frontend.autoscaling.minReplicas=-1"]),
    case("a user map over a default scalar is kept (and rejected)",
         files={"1.yaml": "frontend:\n  pdb:\n    maxUnavailable:\n      x: 1\n"}),
    case("a user scalar over a default map is kept (and rejected)",
         set=["backend.affinity=none"]),
    case("a null for a key without a default is kept (and rejected)",
         set=["backend.nodeSelector.disk=null"]),
    case("deleting a required default is rejected",
         set=["backend.image=null"]),
    case("an index gap leaves null in the list",
         set=["networkPolicy.database.cidrs[1]=10.0.0.0/8"]),
    case("an empty key sets nothing (Helm accepts =1)",
         set=["=1", "backend.replicaCount=2"]),
    case("a multi-document file: only the first document counts",
         files={"1.yaml": "backend:\n  replicaCount: 2\n---\nbackend:\n  replicaCount: 9\n"}),
    case("file numbers are float64 in Helm",
         files={"1.yaml": "global:\n  big: 12345678901234567890\n  exp: 1e3\n  hex: 0x1F\n"
                "  under: 1_000\n  half: .5\n  date: 2001-01-01\n  neg: -0\n"}),
    case("file keys are typed, then written as strings",
         files={"1.yaml": "global:\n  yes: 1\n  'n': 2\n  Off: 3\n  0x10: 4\n  010: 5\n"
                "  1.5: 6\n  1e6: 7\n  3.14159265358979: 8\n  1.0: 9\n"}),
    case("--set typing under global (free-form)",
         set=["global.zero=0,global.oct=007,global.neg=-5,global.plus=+5,global.exp=1e3,"
              "global.flt=0.5,global.big=9223372036854775808,global.t=tRuE,global.n=nULL,global.e="]),
    case("--set parses into what earlier parts set",
         set=["global.l={1,2,3}", "global.l[1]=b,global.m.a=1", "global.m.b=2,global.l[3]=d"]),
    case("--set nested lists and maps in lists",
         set=["global.a[0][1]=x,global.b[1].c=d,global.b[1].e=f,global.c={}"]),
    case("--set-string keeps lists of strings",
         set_string=["global.l={1,true,null},global.s=0"]),
    case("--set empty keys and a dangling index set nothing",
         set=[".x=1", "global.d[0]"]),
    case("--set a dangling dot sets nothing",
         set=["global.e."]),
    case("--set an unterminated index sets nothing",
         set=["global.f[1"]),
    case("a key without a value is a --set error",
         set=["backend.replicaCount"]),
    case("a non-integer index is a --set error",
         set=["imagePullSecrets[x].name=a"]),
    case("an index above 65536 is a --set error",
         set=["imagePullSecrets[65537].name=a"]),
    case("an unterminated list is a --set error",
         set=["networkPolicy.database.cidrs={10.0.0.0/8"]),
    case("a file that is a list is an error",
         files={"1.yaml": "- a\n- b\n"}),
]


def merge_maps(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Helm's loader.MergeMaps."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_maps(out[k], v)
        else:
            out[k] = v
    return out


SCHEMA_LINE = re.compile(r"^\s*- at '([^']*)': (.*)$")


def pointer_to_path(pointer: str) -> str:
    if pointer == "":
        return "(root)"
    out = ""
    for seg in pointer.lstrip("/").split("/"):
        seg = seg.replace("~1", "/").replace("~0", "~")
        if seg.isdigit():
            out += f"[{seg}]"
        else:
            out += ("." if out else "") + seg
    return out


def schema_paths(message: str) -> list[str]:
    """The instance paths of Helm's leaf schema errors (not the 'validation failed' groups)."""
    paths = set()
    for line in message.splitlines():
        m = SCHEMA_LINE.match(line)
        if m and m.group(2).strip() != "validation failed":
            paths.add(pointer_to_path(m.group(1)))
    return sorted(paths)


def run_case(chart: helm.Chart, c: dict[str, Any]) -> dict[str, Any]:
    out = dict(c)
    names = list(c["files"])
    assert names == sorted(names), f"{c['name']}: name files so that they sort in order"
    user: dict[str, Any] = {}
    try:
        for name in names:
            text = c["files"][name]
            user = merge_maps(user, helm.values_from_yaml(text) if text.strip() else {})
    except helm.HelmError:
        out.update(error=True, stage="file")
        return out
    for flag in ("set", "set_string"):
        for arg in c[flag][:-1]:
            # Joining is Helm's sequence of ParseInto only when each argument but the last
            # ends where a new key may start (one ending in `a[0]` or `\\` would eat the next).
            try:
                probe = helm.parse_set_string(arg + ",zzzprobe=1")
            except helm.HelmError:
                probe = {}
            assert "zzzprobe" in probe, f"{c['name']}: --{flag} {arg!r} must end cleanly"
    try:
        if c["set"]:
            user = merge_maps(user, helm.parse_set_string(",".join(c["set"])))
        if c["set_string"]:
            user = merge_maps(user, helm.parse_set_string_values(",".join(c["set_string"])))
    except helm.HelmError:
        out.update(error=True, stage="set")
        return out
    try:
        rendered = chart.render(values=user, name="vectors", namespace="default", is_install=True)
    except helm.HelmError as e:
        text = str(e)
        assert "schema" in text, f"{c['name']}: unexpected Helm error: {text}"
        out.update(error=True, stage="schema", schema_paths=schema_paths(text),
                   coalesced=chart.merge_values(user))
        return out
    (manifest,) = rendered.values()
    values = json.loads(yaml.safe_load(manifest)["data"]["values"])
    # merge_values is what `coalesced` records for schema failures: check it agrees.
    assert chart.merge_values(user) == values, f"{c['name']}: merge_values differs from render"
    out["values"] = values
    return out


def generate() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        chart_dir = os.path.join(tmp, "todo-chatbot")
        shutil.copytree(CHART, chart_dir, ignore=shutil.ignore_patterns("templates"))
        os.makedirs(os.path.join(chart_dir, "templates"))
        with open(os.path.join(chart_dir, "templates", "values.yaml"), "w") as fh:
            fh.write(TEMPLATE)
        with helm.Chart.load(chart_dir) as chart:
            return [run_case(chart, c) for c in CASES]


def dump(vectors: list[dict[str, Any]]) -> str:
    return json.dumps(vectors, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    out = argv[1] if len(argv) > 1 else DEFAULT_OUT
    vectors = generate()
    with open(out, "w") as fh:
        fh.write(dump(vectors))
    errors = sum(1 for v in vectors if v.get("error"))
    print(f"{out}: {len(vectors)} vectors ({errors} refused by Helm)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
