"""Which engines rigfit knows: the built-ins (llama.cpp, vLLM) and those packages register.

A package adds an engine through the ``rigfit.engines`` entry-point group (see
:mod:`rigfit.engines.base`); the entry point names the engine class (or instance). The built-ins
are known as entry points of the same form even when rigfit runs from a source tree whose
package metadata is not installed, and a package cannot replace them: an entry point whose name
(or an alias) is a built-in's is ignored, and an engine that fails to load only fails when it is
asked for.

Engines are loaded when first asked for (an entry point is a "module:attribute" string), so
listing or planning with llama.cpp never imports a third-party package.
"""

from __future__ import annotations

import importlib
import sys
from functools import reduce
from typing import TYPE_CHECKING, Any, NamedTuple

from rigfit.engines.base import Engine
from rigfit.errors import RigfitError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

#: The entry-point group a package registers its engines in.
GROUP = "rigfit.engines"


class BuiltinEntryPoint(NamedTuple):
    """A built-in engine as an entry point: name, ``module:attribute`` value, group and ``load()``
    as :class:`importlib.metadata.EntryPoint` has them (without importing importlib.metadata,
    ~10 ms of every command's start-up: only listing the installed packages' engines needs it)."""

    name: str
    value: str
    group: str

    def load(self) -> Any:
        module, _, attrs = self.value.partition(":")
        return reduce(getattr, attrs.split(".") if attrs else [], importlib.import_module(module))


#: The built-in engines, as entry points (also registered in rigfit's pyproject.toml).
BUILTIN: tuple[BuiltinEntryPoint, ...] = (
    BuiltinEntryPoint("llama.cpp", "rigfit.engines.llamacpp:LlamaCppEngine", GROUP),
    BuiltinEntryPoint("vllm", "rigfit.engines.vllm:VllmEngine", GROUP),
)
#: Other spellings of the built-ins' names.
BUILTIN_ALIASES = {"llamacpp": "llama.cpp", "llama-cpp": "llama.cpp"}

_loaded: dict[tuple[str, str], Engine] = {}
_discovered: dict[tuple[str, ...], dict[str, EntryPoint]] = {}


def _builtin_names() -> set[str]:
    return {ep.name for ep in BUILTIN} | set(BUILTIN_ALIASES)


def entry_points(group: str) -> Any:
    """The installed packages' entry points of ``group`` (:func:`importlib.metadata.entry_points`)."""
    from importlib.metadata import entry_points as installed  # lazy: see BuiltinEntryPoint

    return installed(group=group)


def discovered() -> dict[str, EntryPoint]:
    """{name: entry point} of the engines installed packages register (built-in names left out),
    cached per ``sys.path``."""
    key = tuple(sys.path)
    if key not in _discovered:
        taken = _builtin_names()
        found: dict[str, EntryPoint] = {}
        for ep in entry_points(group=GROUP):
            if ep.name not in taken and ep.name not in found:
                found[ep.name] = ep
        _discovered[key] = found
    return _discovered[key]


def engine_names() -> list[str]:
    """Names of every known engine: the built-ins first, then the registered ones (sorted)."""
    return [ep.name for ep in BUILTIN] + sorted(discovered())


def _entry_point(name: str) -> EntryPoint | BuiltinEntryPoint | None:
    key = BUILTIN_ALIASES.get(name, name)
    for ep in BUILTIN:
        if ep.name == key:
            return ep
    return discovered().get(name)


def get_engine(name: str, *, flag: str = "runtime") -> Engine:
    """The engine called ``name`` (or a built-in's alias), loaded once. ``flag``: how the error
    message names the setting (the CLI says "--runtime").

    Raises :class:`RigfitError` naming the known engines when there is none by that name, or
    saying which package's engine failed to load."""
    ep = _entry_point(name)
    if ep is None:
        raise RigfitError(f"Unknown {flag} {name!r}; the engines are: {', '.join(engine_names())}.")
    cache_key = (ep.name, ep.value)
    if cache_key not in _loaded:
        _loaded[cache_key] = _load(ep)
    return _loaded[cache_key]


def _load(ep: EntryPoint | BuiltinEntryPoint) -> Engine:
    try:
        obj = ep.load()
        engine = obj() if isinstance(obj, type) else obj
    except Exception as exc:  # a broken package must not take rigfit down: say which one
        raise RigfitError(
            f"The engine {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}",
            "Reinstall or remove the package that registers it.",
        ) from exc
    if not isinstance(engine, Engine):
        raise RigfitError(
            f"The engine {ep.name!r} ({ep.value}) does not implement rigfit's Engine interface.",
            "See rigfit.engines.base.BaseEngine.",
        )
    return engine
