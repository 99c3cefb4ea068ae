"""Fixtures for the chart and Dockerfile tests; helpers live in chartlib.py.

Everything uses real tools: Helm's Go SDK through ``helm_python`` (render, lint, schema),
``kubernetes_validate``, checkov and hadolint. A missing tool is an error, never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import helm_python as helm
import pytest

from chartlib import CHART_DIR, NAMESPACE, RELEASE, Rendered, scenarios


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def render(chart: helm.Chart):
    """render(values, name=..., namespace=...) -> Rendered, through Helm's own engine."""

    def _render(values: dict[str, Any] | None = None, *, name: str = RELEASE, namespace: str = NAMESPACE) -> Rendered:
        return Rendered(chart.render(values=values or {}, name=name, namespace=namespace, is_install=True))

    return _render


@pytest.fixture(scope="session")
def rendered_scenarios(render) -> dict[str, Rendered]:
    return {name: render(values) for name, values in scenarios().items()}
