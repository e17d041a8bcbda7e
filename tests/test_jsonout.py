"""JSON output shared by every command (rigfit.jsonout)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rigfit.jsonout import to_json_text


@dataclass
class _Point:
    x: int
    y: float


class _Custom:
    def to_json(self) -> dict:
        return {"kind": "custom"}


def test_objects_become_plain_json():
    data = {
        "point": _Point(1, 2.5),
        "custom": _Custom(),
        "tags": frozenset({"a"}),
        "pair": (1, 2),
        "path": Path("/x/y.gguf"),
        "n": None,
    }
    text = to_json_text(data)
    assert text.startswith("{\n  ")  # indented for people, still one JSON document
    assert json.loads(text) == {
        "point": {"x": 1, "y": 2.5},
        "custom": {"kind": "custom"},
        "tags": ["a"],
        "pair": [1, 2],
        "path": "/x/y.gguf",
        "n": None,
    }
