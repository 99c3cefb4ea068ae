"""The committed values vectors (tests/vectors/values-merge.json) are what real Helm v4 gives:
regenerate them with helm-python-sdk into a temporary file and compare. The Rust unit test
`preflight::values::tests::vectors_match_real_helm` checks `compute` against the same file, so
Helm and the Rust implementation cannot drift apart."""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen_values_vectors as gen  # noqa: E402


def test_committed_vectors_equal_real_helm(tmp_path):
    out = tmp_path / "values-merge.json"
    assert gen.main(["gen_values_vectors.py", str(out)]) == 0
    with open(gen.DEFAULT_OUT, encoding="utf-8") as fh:
        committed = fh.read()
    fresh = out.read_text(encoding="utf-8")
    assert json.loads(fresh) == json.loads(committed), (
        "tests/vectors/values-merge.json is stale: run "
        ".venv/bin/python tests/preflight/gen_values_vectors.py and re-run the Rust tests"
    )
    assert fresh == committed


def test_the_table_covers_what_the_brief_asks():
    vectors = json.loads(open(gen.DEFAULT_OUT, encoding="utf-8").read())
    assert len(vectors) >= 20
    stages = {v.get("stage") for v in vectors}
    assert {None, "set", "schema", "file"} <= stages
    assert any(v["files"] and v["set"] for v in vectors)
    assert any(v["set_string"] for v in vectors)
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names))
