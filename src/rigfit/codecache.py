"""Compiled dataclass methods, kept on disk between runs of the command line.

``@dataclass`` writes the source of each class's ``__init__``, ``__repr__``, ``__eq__`` … and
compiles it when the class is defined, at import. rigfit defines ~80 dataclasses on the way to a
``rigfit plan``: compiling their ~450 methods is a quarter of the whole process (issue 15), every
run, while the source is the same each time. Python keeps compiled modules in ``__pycache__`` but
not these; :func:`install` keeps them the same way: the code object compiled from each method's
source text, in one marshal file per bytecode version (``dataclass-code-<magic>.marshal``) in the
user cache directory (:func:`rigfit.usercache.cache_dir`, as the GPU-row cache,
:mod:`rigfit.hardware.gpurows`).

How: :mod:`dataclasses` runs each method's source through the name ``exec``; ``install`` binds that
name in the :mod:`dataclasses` module to a function that looks the source text up (the whole text is
the key) and compiles only what is missing, exactly as ``exec`` compiles it (no inherited compiler
flags; the methods' globals are bound at ``exec`` as before). The methods, their behaviour and every
output are the same. Only the command line installs it (:func:`rigfit.cli.main`), never an
``import rigfit``; an unreadable, corrupt or unwritable cache is ignored; off under pytest unless
``$RIGFIT_CACHE_DIR`` is set.
"""

from __future__ import annotations

import atexit
import builtins
import marshal
from contextlib import suppress
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import Any

from rigfit.usercache import cache_dir, enabled, write_file

#: Entries kept at most; past it a process writes back only the entries it used.
MAX_ENTRIES = 4000

_state: dict[str, Any] = {}  # "codes": {source: code}, "used": set of sources, "dirty": bool


def cache_file() -> Path:
    """The cache file (one per bytecode version: its code objects are that version's)."""
    return cache_dir() / f"dataclass-code-{MAGIC_NUMBER.hex()}.marshal"


def _exec(source: Any, globals: dict[str, Any] | None = None, locals: Any = None, /) -> None:
    """``exec`` for :mod:`dataclasses`: a source text seen before runs its kept code object."""
    if type(source) is not str:
        return builtins.exec(source, globals, locals)
    codes = _state["codes"]
    code = codes.get(source)
    if type(code) is not CodeType:
        # as exec(source) compiles it there: file "<string>", no flags from this module
        code = codes[source] = compile(source, "<string>", "exec", dont_inherit=True)
        _state["dirty"] = True
    _state["used"].add(source)
    return builtins.exec(code, globals, locals)


def install() -> bool:
    """Serve :mod:`dataclasses`' method code from the cache for the rest of this process (once;
    False when off). Call before importing the modules whose classes it should serve."""
    if _state or not enabled():
        return bool(_state)
    import dataclasses

    codes: dict[str, Any] = {}
    try:
        got = marshal.loads(cache_file().read_bytes())
        if isinstance(got, dict):
            codes = got
    except Exception:  # missing, unreadable or damaged (marshal raises several kinds): start empty
        codes = {}
    _state.update(codes=codes, used=set(), dirty=False)
    dataclasses.exec = _exec  # type: ignore[attr-defined]  # module global: found before the builtin
    atexit.register(_flush)
    return True


def _flush() -> None:
    """Write the cache back when this process compiled something new (atomically; any error
    keeps the file as it was)."""
    if not _state.get("dirty"):
        return
    codes: dict[str, Any] = _state["codes"]
    if len(codes) > MAX_ENTRIES:
        codes = {s: codes[s] for s in _state["used"]}
    with suppress(OSError, ValueError):  # an unwritable folder, an unmarshallable value: no cache
        write_file(cache_file(), marshal.dumps(codes))
