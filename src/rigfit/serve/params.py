"""Query parameters of the JSON API: one table per endpoint, used to parse requests and to write
the OpenAPI document, so the two cannot drift apart.

A value a user can get wrong raises :class:`rigfit.errors.RigfitError` (→ HTTP 400 with one line).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rigfit.errors import RigfitError
from rigfit.jsonout import ERROR_SCHEMA, load_schema

#: Largest number of machines /api/compare takes (issue 15: "up to four machines side by side").
MAX_COMPARE = 4


@dataclass(frozen=True)
class Param:
    """One query parameter: ``kind`` is str, int, float or bool; ``many`` repeats (``on=a&on=b``)."""

    name: str
    kind: type
    help: str
    default: Any = None
    required: bool = False
    enum: tuple[str, ...] | None = None
    many: bool = False
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Endpoint:
    """An API route: its path, a one-line summary, its parameters and the schema it answers with."""

    path: str
    summary: str
    params: tuple[Param, ...]
    schema: str
    handler: Callable[[dict[str, Any]], Any] | None = field(default=None, compare=False)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _convert(p: Param, raw: str) -> Any:
    """One raw query value -> ``p.kind`` (RigfitError naming the parameter when it does not parse)."""
    raw = raw.strip()
    if p.kind is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise RigfitError(f"Parameter {p.name!r} must be true or false, got {raw!r}.")
    if p.kind is str:
        if p.enum is not None and raw not in p.enum:
            raise RigfitError(f"Parameter {p.name!r} must be one of {', '.join(p.enum)}; got {raw!r}.")
        return raw
    if raw == "":
        return None
    try:
        value = p.kind(raw)
    except ValueError:
        word = "a whole number" if p.kind is int else "a number"
        raise RigfitError(f"Parameter {p.name!r} must be {word}, got {raw!r}.") from None
    if value != value or value in (float("inf"), float("-inf")):  # NaN / inf
        raise RigfitError(f"Parameter {p.name!r} must be a finite number, got {raw!r}.")
    if p.minimum is not None and value < p.minimum:
        raise RigfitError(f"Parameter {p.name!r} must be ≥ {p.minimum:g}, got {raw}.")
    if p.maximum is not None and value > p.maximum:
        raise RigfitError(f"Parameter {p.name!r} must be ≤ {p.maximum:g}, got {raw}.")
    return value


def parse_query(params: Sequence[Param], items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Query items (``[(name, value), …]``) -> ``{name: value}`` with defaults filled in.

    Unknown names are refused with the closest known one (a typo must not be silently ignored).
    """
    by_name = {p.name: p for p in params}
    raw: dict[str, list[str]] = {}
    for k, v in items:
        if k not in by_name:
            close = difflib.get_close_matches(k, list(by_name), n=1)
            hint = f"Did you mean {close[0]!r}?" if close else "Known: " + ", ".join(by_name) + "."
            raise RigfitError(f"Unknown parameter {k!r}.", hint)
        raw.setdefault(k, []).append(v)
    out: dict[str, Any] = {}
    for p in params:
        values = [v for v in raw.get(p.name, []) if v.strip() or p.kind is str]
        if p.kind is str:
            values = [v for v in values if v.strip()]
        if not values:
            if p.required:
                raise RigfitError(f"Parameter {p.name!r} is required.", p.help)
            out[p.name] = [] if p.many else p.default
            continue
        if not p.many and len(values) > 1:
            raise RigfitError(f"Parameter {p.name!r} given {len(values)} times.", "Give it once.")
        conv = [_convert(p, v) for v in values]
        out[p.name] = conv if p.many else conv[0]
        if out[p.name] is None:
            out[p.name] = p.default
    return out


def openapi_parameter(p: Param) -> dict[str, Any]:
    """One parameter as an OpenAPI 3.1 ``parameters`` entry."""
    kind = {str: "string", int: "integer", float: "number", bool: "boolean"}[p.kind]
    schema: dict[str, Any] = {"type": kind}
    if p.enum:
        schema["enum"] = list(p.enum)
    if p.default is not None:
        schema["default"] = p.default
    if p.minimum is not None:
        schema["minimum"] = p.minimum
    if p.maximum is not None:
        schema["maximum"] = p.maximum
    if p.many:
        schema = {"type": "array", "items": schema, "maxItems": MAX_COMPARE}
    out: dict[str, Any] = {
        "name": p.name,
        "in": "query",
        "required": p.required,
        "description": p.help,
        "schema": schema,
    }
    if p.many:
        out["style"] = "form"
        out["explode"] = True
    return out


def openapi_document(endpoints: Sequence[Endpoint], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints`` (every path, parameter and error answer)."""
    error = {
        "description": "Bad input: one line saying what is wrong and what to try instead.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    paths: dict[str, Any] = {}
    for ep in endpoints:
        paths[ep.path] = {
            "get": {
                "summary": ep.summary,
                "operationId": ep.path.strip("/").replace("/", "_"),
                "parameters": [openapi_parameter(p) for p in ep.params],
                "responses": {
                    "200": {
                        "description": f"JSON, schema {ep.schema} (the same as the CLI's --json where "
                        "the CLI has the command).",
                        "content": {
                            "application/json": {"schema": load_schema(ep.schema) or {"type": "object"}}
                        },
                    },
                    "400": error,
                    "404": error,
                    "422": error,
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rigfit",
            "version": version,
            "description": "Which open-weight LLM fits your hardware, how fast it runs and what it "
            "costs. Sizes in bytes, times in seconds, speeds in tokens/s; every figure "
            "carries its provenance (measured, looked up, estimated with a band).",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "schema": {"const": ERROR_SCHEMA},
                        "error": {"type": "string", "description": "what is wrong (one line)"},
                        "hint": {"type": ["string", "null"], "description": "what to try instead"},
                    },
                }
            }
        },
    }


def query_items(query: Mapping[str, Any] | Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """A mapping or a multi-item list -> ``[(name, value), …]`` (Starlette's ``multi_items()``)."""
    if isinstance(query, Mapping):
        return [(k, str(v)) for k, v in query.items()]
    return [(str(k), str(v)) for k, v in query]
