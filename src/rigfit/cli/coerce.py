"""Option values without pydantic: a fast path in front of Typer's own coercion.

Typer (0.29) turns every command-line value into its annotated type through a pydantic
``TypeAdapter``, built per option on first use. For ``rigfit plan`` that is ~40 adapters plus the
pydantic import: about a third of the command's start-up, spent turning ``"8192"`` into 8192.

:func:`speed_up` wraps each option's ``process_value`` (Click's public per-parameter hook) with a
converter for the plain cases, ``str``, ``int``, ``float`` and ``list[str]`` values in their
canonical spelling, and hands everything else to Typer's own method unchanged: unusual spellings
("1e3", "0x10", " 7"), values that fail to convert, missing required options, files, paths and
choices. Errors therefore read exactly as Typer words them, and a value converted here equals the
one Typer would give (tests/cli/test_fast_coercion.py checks both against Typer's adapters). Where a
Typer release drops the attribute this reads (``type_descriptor.annotation``), nothing is wrapped
and Typer does all the work, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

#: Canonical integers (no sign on zero, no leading zeros, no underscores or spaces) short enough
#: for every converter to agree; anything else goes to Typer.
_INT = re.compile(r"-?[1-9][0-9]{0,17}|0")
#: Canonical decimals: an integer part as above, optionally a fraction; no exponent, inf or nan.
_FLOAT = re.compile(r"-?(?:[1-9][0-9]{0,14}|0)(?:\.[0-9]{1,15})?")

#: Marker: the fast path cannot say; Typer decides.
_DEFER = object()


def _utf8(text: str) -> bool:
    """Whether ``text`` is valid Unicode text (argv undecodable bytes arrive as lone surrogates,
    which pydantic refuses with its own message)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scalar(annotation: Any, value: Any) -> Any:
    """``value`` as ``annotation`` (str, int or float), or :data:`_DEFER`."""
    if annotation is str:
        return value if type(value) is str and _utf8(value) else _DEFER
    if annotation is int:
        if type(value) is int:
            return value
        if type(value) is str and _INT.fullmatch(value):
            return int(value)
        return _DEFER
    if annotation is float:
        if type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        if type(value) is str and _FLOAT.fullmatch(value) and value != "-0":
            return float(value)
        return _DEFER
    return _DEFER


def convert(annotation: Any, value: Any, multi: bool) -> Any:
    """What Typer's coercion returns for ``value``, or :data:`_DEFER` where this cannot be sure.

    annotation: the option's type as Typer resolved it (``int`` for ``int | None``).
    multi: the option takes several values (``multiple=True`` or ``nargs=-1``).
    """
    if value is None:
        return () if multi else None
    if multi:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            return _DEFER
        args = getattr(annotation, "__args__", None)
        if getattr(annotation, "__origin__", None) is not list or not args or len(args) != 1:
            return _DEFER
        out = [_scalar(args[0], v) for v in value]
        return _DEFER if any(v is _DEFER for v in out) else out
    return _scalar(annotation, value)


def _fast_process_value(param: Any, annotation: Any, typer_process: Callable[[Any, Any], Any]) -> Callable:
    multi = bool(param.multiple or param.nargs == -1)

    def process_value(ctx: Any, value: Any) -> Any:
        # Typer skips coercion of bool flags that are already bools; so does this
        got = value if annotation is bool and isinstance(value, bool) else convert(annotation, value, multi)
        if got is _DEFER or (param.required and param.value_is_missing(got)):
            return typer_process(ctx, value)  # Typer's coercion, errors and messages
        if param.callback is not None:
            got = param.callback(ctx, param, got)
        return got

    return process_value


def speed_up_params(params: list[Any]) -> list[Any]:
    """Put the fast path in front of each Typer option and argument in ``params`` (once each)."""
    for param in params:
        if getattr(param, "_rigfit_fast", False):
            continue
        descriptor = getattr(param, "type_descriptor", None)
        annotation = getattr(descriptor, "annotation", None)
        if annotation is None or _custom(getattr(descriptor, "parameter_info", None)):
            continue
        param.process_value = _fast_process_value(param, annotation, param.process_value)
        param._rigfit_fast = True
    return params


def speed_up(command: Any) -> Any:
    """Give ``command`` the fast path for all its parameters, the ``--help`` option Click adds
    on each parse included; returns the command."""
    if getattr(command, "_rigfit_fast", False):
        return command
    get_params = command.get_params
    command.get_params = lambda ctx: speed_up_params(get_params(ctx))
    command._rigfit_fast = True
    return command


def _custom(info: Any) -> bool:
    """Whether the option has its own parser or bounds (then Typer must apply them), or its
    settings cannot be read."""
    if info is None:
        return True
    return any(getattr(info, k, None) is not None for k in ("parser", "min", "max", "click_type"))
