"""JSON output shared by every command (no CLI framework imported here, so it loads fast).

Every ``--json`` document is an object whose first key is ``schema``: a name and a version such as
``rigfit.plan/1``. The JSON Schema (draft 2020-12) of each is shipped in ``rigfit/schemas/``
(:func:`schema_path`); a version goes up only when a key is removed or changes type, new keys
may appear at any time. Figures use the labelled form of :class:`rigfit.figures.Figure`:
``{"value", "unit", "provenance", "source"?, "low"?, "high"?}``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, is_dataclass
from typing import Any

#: Schema of the JSON a failed command prints on stdout in ``--json`` mode (and serve's errors).
ERROR_SCHEMA = "rigfit.error/1"

_SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")


def to_json_text(data: Any) -> str:
    """``data`` as indented JSON; objects with ``to_json()`` and dataclasses are converted."""
    return json.dumps(data, indent=2, default=_json_default)


def with_schema(schema: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``"schema": schema`` as its first key (an existing ``schema`` key is replaced)."""
    return {"schema": schema, **{k: v for k, v in data.items() if k != "schema"}}


def error_json(message: str, hint: str | None) -> dict[str, Any]:
    """A user error as JSON: ``{"schema": "rigfit.error/1", "error": message, "hint": hint}``."""
    return {"schema": ERROR_SCHEMA, "error": message, "hint": hint}


def schema_path(schema: str) -> str:
    """The JSON Schema file of ``schema`` ("rigfit.plan/1" -> ``rigfit/schemas/plan-1.schema.json``)."""
    name, _, version = schema.removeprefix("rigfit.").partition("/")
    return os.path.join(_SCHEMA_DIR, f"{name}-{version}.schema.json")


def load_schema(schema: str) -> dict[str, Any] | None:
    """The JSON Schema of ``schema`` as a dict, or None when rigfit ships none of that name."""
    try:
        with open(schema_path(schema), encoding="utf-8") as f:
            loaded: dict[str, Any] = json.load(f)
    except FileNotFoundError:
        return None
    return loaded


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "to_json"):
        return obj.to_json()
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)
