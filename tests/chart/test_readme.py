"""The chart README documents every value in values.yaml."""

from __future__ import annotations

import re

import pytest
import yaml

from chartlib import CHART_DIR

README = (CHART_DIR / "README.md").read_text()
VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
# Maps documented as one value (their content is free-form Kubernetes structure).
OPAQUE = {"podSecurityContext", "containerSecurityContext", "resources"}
DOCUMENTED = set(re.findall(r"^\| `([^`]+)` \|", README, re.MULTILINE))


def leaves(node, prefix=""):
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value and key not in OPAQUE:
            yield from leaves(value, path)
        else:
            yield path


def readme_key(path: str) -> str:
    head, _, rest = path.partition(".")
    return f"<component>.{rest}" if head in ("frontend", "backend") else path


@pytest.mark.parametrize("path", list(leaves(VALUES)))
def test_value_is_documented(path):
    assert readme_key(path) in DOCUMENTED, f"{path} is missing from the README values tables"


def test_readme_documents_no_value_that_does_not_exist():
    known = {readme_key(p) for p in leaves(VALUES)}
    value_rows = {k for k in DOCUMENTED if not k.startswith("<fullname>")}
    assert value_rows - known == set()
