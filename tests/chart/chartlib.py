"""Helpers shared by the chart and Dockerfile tests: paths, value sets, rendered output."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "charts" / "todo-chatbot"
DOCKER_DIR = REPO / "docker"
RELEASE = "todo"
NAMESPACE = "todo"
FULLNAME = "todo-todo-chatbot"

#: Stand-in ciphertexts (valid base64) for sealed mode; the chart never decrypts them.
SEALED_DATA = {
    "DATABASE_URL": "QWdBbGxPZlRoaXNJc0NpcGhlcnRleHQ=",
    "BETTER_AUTH_SECRET": "QWdCb3RoZXJDaXBoZXJ0ZXh0Rm9yQXV0aA==",
    "OPENAI_API_KEY": "QWdDVGhpcmRDaXBoZXJ0ZXh0Rm9yTExN",
}

#: Sentinel plaintexts for inline mode; tests assert they never reach the ConfigMap.
INLINE_DATA = {
    "DATABASE_URL": "postgresql://sentinel-user:sentinel-pass@db.example.com/todo?sslmode=require",
    "BETTER_AUTH_SECRET": "sentinel-auth-secret-0123456789abcdef0123456789",
    "OPENAI_API_KEY": "sk-sentinel-openai-key",
}


def deep_merge(base: dict[str, Any], *overlays: dict[str, Any]) -> dict[str, Any]:
    """Merge values like repeated `helm -f`: later maps win, nested maps merge."""
    result = copy.deepcopy(base)
    for overlay in overlays:
        for key, value in overlay.items():
            if isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = deep_merge(result[key], value)
            else:
                result[key] = copy.deepcopy(value)
    return result


def values_file(name: str) -> dict[str, Any]:
    """A values file shipped in the chart directory, parsed."""
    loaded = yaml.safe_load((CHART_DIR / name).read_text())
    assert isinstance(loaded, dict), f"{name} is not a mapping"
    return loaded


def sealed(**extra: Any) -> dict[str, Any]:
    """Values that satisfy sealed mode (what `helm todo-secrets init` would add)."""
    return deep_merge({"secrets": {"mode": "sealed", "sealed": {"encryptedData": SEALED_DATA}}}, extra)


def inline() -> dict[str, Any]:
    return {"secrets": {"mode": "inline", "inline": dict(INLINE_DATA)}}


def existing(name: str = "my-app-secrets") -> dict[str, Any]:
    return {"secrets": {"mode": "existingSecret", "existingSecret": name}}


ALL_OPTIONAL_ON = {
    "frontend": {"autoscaling": {"enabled": True}, "pdb": {"enabled": True}},
    "backend": {"autoscaling": {"enabled": True}, "pdb": {"enabled": True}},
    "networkPolicy": {"enabled": True},
}


def scenarios() -> dict[str, dict[str, Any]]:
    """The value sets every validator runs over: defaults, dev, prod, each secrets mode,
    the optional objects on and off, each LLM provider and each Service type."""
    return {
        "default-sealed": sealed(),
        "dev": values_file("values-dev.yaml"),
        "prod": deep_merge(values_file("values-prod.yaml"), sealed()),
        "inline": inline(),
        "existing-secret": existing(),
        "optional-on": deep_merge(sealed(), ALL_OPTIONAL_ON),
        "clusterip": deep_merge(
            existing(),
            {"frontend": {"service": {"type": "ClusterIP"}}, "backend": {"service": {"type": "ClusterIP"}}},
        ),
        "openrouter-inline": deep_merge(
            {"llm": {"provider": "openrouter"}},
            {
                "secrets": {
                    "mode": "inline",
                    "inline": {
                        "DATABASE_URL": INLINE_DATA["DATABASE_URL"],
                        "BETTER_AUTH_SECRET": INLINE_DATA["BETTER_AUTH_SECRET"],
                        "OPENROUTER_API_KEY": "sk-or-sentinel",
                    },
                }
            },
        ),
        "cohere-namespace-wide": {
            "llm": {"provider": "cohere"},
            "secrets": {
                "mode": "sealed",
                "sealed": {
                    "scope": "namespace-wide",
                    "encryptedData": {
                        "DATABASE_URL": SEALED_DATA["DATABASE_URL"],
                        "BETTER_AUTH_SECRET": SEALED_DATA["BETTER_AUTH_SECRET"],
                        "COHERE_API_KEY": "QWdDb2hlcmVDaXBoZXJ0ZXh0",
                    },
                },
            },
        },
    }


class Rendered:
    """The output of one offline `helm template`: manifests by kind/name, plus NOTES."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.notes = next((v for k, v in files.items() if k.endswith("NOTES.txt")), "")
        self.docs: list[dict[str, Any]] = []
        for path, text in sorted(files.items()):
            if path.endswith("NOTES.txt"):
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    doc.setdefault("__source__", path)
                    self.docs.append(doc)

    def manifests(self) -> list[dict[str, Any]]:
        """The documents without the test helper key."""
        return [{k: v for k, v in d.items() if k != "__source__"} for d in self.docs]

    def kinds(self) -> list[str]:
        return sorted(f"{d['kind']}/{d['metadata']['name']}" for d in self.docs)

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for doc in self.docs:
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc
        raise AssertionError(f"{kind}/{name} not rendered; got {self.kinds()}")

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def has(self, kind: str, name: str | None = None) -> bool:
        return any(d["kind"] == kind and (name is None or d["metadata"]["name"] == name) for d in self.docs)
