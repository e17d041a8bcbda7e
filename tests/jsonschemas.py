"""Check a ``--json`` document against the JSON Schema rigfit ships for it (``rigfit/schemas/``).

With the ``jsonschema`` package (test extra) the whole document is validated (draft 2020-12); without
it only the envelope is checked: an object, a known ``schema`` name with its shipped file, and the
top-level keys that file requires.
"""

from __future__ import annotations

import json
import os
from typing import Any

from rigfit.jsonout import load_schema, schema_path

try:
    import jsonschema
except ImportError:  # the shared development venv may lack it; CI installs rigfit[test]
    jsonschema = None


def schema_errors(data: Any) -> list[str]:
    """Why ``data`` does not match the schema it names (empty when it does)."""
    if not isinstance(data, dict) or not isinstance(data.get("schema"), str):
        return [f"not an object with a 'schema' name: {str(data)[:200]}"]
    schema = load_schema(data["schema"])
    if schema is None:
        return [f"no schema file {os.path.basename(schema_path(data['schema']))} for {data['schema']}"]
    if jsonschema is None:
        return [f"missing key {k!r}" for k in schema.get("required", []) if k not in data]
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}"
        for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]


def checked_json(text: str, schema: str | None = None) -> dict[str, Any]:
    """``text`` parsed and validated against its schema (and named ``schema`` when given)."""
    data = json.loads(text)
    errors = schema_errors(data)
    assert not errors, "\n".join(errors[:20])
    if schema is not None:
        assert data["schema"] == schema, data["schema"]
    return data
