"""`helm lint` through Helm's SDK: no errors with any shipped values set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import helm_python as helm
import pytest

from chartlib import CHART_DIR, scenarios

ERROR = 3


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_lint_reports_no_error_or_warning(name):
    report = helm.lint(CHART_DIR, scenarios()[name], strict=True, namespace="todo", kube_version="v1.33.0")
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == [], problems


def test_lint_with_bad_values_reports_the_schema_error():
    report = helm.lint(CHART_DIR, {"secrets": {"mode": "plain"}}, namespace="todo")
    messages = [m["error"] for m in report["messages"] if m["severity"] == ERROR] + report["errors"]
    assert any("/secrets/mode" in m for m in messages), report


def test_chart_metadata_matches_the_contract(chart):
    meta = chart.metadata
    assert meta["name"] == "todo-chatbot"
    assert meta["appVersion"] == "1.0.0"
    assert meta["apiVersion"] == "v2"


def test_values_files_pass_yamllint():
    yamllint = Path(sys.executable).with_name("yamllint")
    assert yamllint.exists(), "yamllint is not installed (pip install yamllint)"
    config = ("{extends: default, rules: {line-length: {max: 120}, document-start: disable, "
              "comments: {min-spaces-from-content: 1}}}")
    files = [str(p) for p in sorted(CHART_DIR.glob("values*.yaml"))] + [str(CHART_DIR / "Chart.yaml")]
    proc = subprocess.run([str(yamllint), "-f", "parsable", "-d", config, *files],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
