"""JSON output shared by every command (no CLI framework imported here, so it loads fast)."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from typing import Any


def to_json_text(data: Any) -> str:
    """``data`` as indented JSON; objects with ``to_json()`` and dataclasses are converted."""
    return json.dumps(data, indent=2, default=_json_default)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "to_json"):
        return obj.to_json()
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)
