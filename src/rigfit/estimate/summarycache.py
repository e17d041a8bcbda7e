"""Per-table summaries of catalog tensor tables, kept in memory and on disk between runs.

A recommend ladder plans ~2,000 catalog model × quant tables, and every plan of a table used to
walk its rows (~350,000 in all) for the same figures: the placement's runs of tensors (per layer,
expert or not: bytes, largest matmul weight, repackable bytes, file spans), the bytes and FLOPs a
token reads per layer (:class:`rigfit.estimate.speed.work.ModelWork`), the tied output head,
whether it has routed-expert tensors and whether it carries an MTP block (and, per architecture,
settings and build profile, the buffer terms of :mod:`rigfit.estimate.tablecache`). Those are pure functions
of the table, so they are worked out once per (model, quant) table and, like the tensor types
(:mod:`rigfit.estimate.typecache`), kept in one file in the user cache directory for the next
process: ``rigfit recommend`` in a fresh process reads them back instead of walking the tables.
A catalog spec (:class:`rigfit.estimate.tensors.CatalogSpec`) carries a :class:`TableRef` and
builds its table only when something reads ``tensors``; planning asks the summaries through the
reference, so a ladder whose summaries are kept builds no table at all.

Keys: a catalog table's key is its type-cache key (the architecture's ``repr``, the file type and
the quantization options, :func:`rigfit.estimate.typecache.key_of`); the file's name hashes
rigfit's version, Python's marshal format and the source of every module that computes a summary
(:data:`SUMMARY_SOURCES`), so a changed rule never reads a stale summary. The values stored are
the computed figures themselves (floats round-trip exactly), so a summary read back is the one
the walk gives. Tables are known by identity (:func:`register`): only catalog tables registered
by :mod:`rigfit.estimate.tensors` are looked up; a table read from a GGUF is summarised as before.

Safe: an unreadable, corrupt or unwritable file is ignored, and a damaged entry is recomputed.
Off under pytest unless ``$RIGFIT_CACHE_DIR`` points somewhere, and with
``RIGFIT_NO_TABLE_CACHE=1`` (as the type cache); used on disk only once a process has asked for
more than :data:`rigfit.estimate.typecache.FIRST_TABLES` tables (a ladder, not ``rigfit plan``).
"""

from __future__ import annotations

import atexit
import contextlib
import marshal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rigfit import usercache
from rigfit.catalog.arch import Architecture
from rigfit.estimate import typecache

V = TypeVar("V")

#: Packages and modules whose source decides a summary (hashed into the file name): the tensor
#: rules (:data:`rigfit.estimate.typecache.RULE_SOURCES`) and the modules that summarise a table.
SUMMARY_SOURCES = (
    *typecache.RULE_SOURCES,
    "estimate/placement.py",
    "estimate/cpu_buffers.py",
    "estimate/speed/work.py",
    "estimate/speculative.py",
    "estimate/summarycache.py",
    "estimate/memory.py",  # the per-architecture buffer terms (rigfit.estimate.tablecache)
    "estimate/tablecache.py",
    "inputs.py",
    "units.py",
)

_lock = threading.Lock()
_state: dict[str, Any] = {}  # "path", "entries", "dirty"
#: id(table) -> (table, key, architecture, file type) of the catalog tables built in this process.
_tables: dict[int, tuple[tuple, str, Architecture, str]] = {}
#: Most tables remembered by identity (a ladder has ~2,000; the oldest are forgotten first).
MAX_TABLES = 8192


class TableRef:
    """A catalog table not necessarily built yet: its key, architecture and file type, how to build
    it (the one shared tuple) and, without building it, its tensor names and weights bytes. One
    object per table, so it stands for the table in identity-keyed caches."""

    __slots__ = ("_names", "_table", "_weights", "arch", "file_type", "key")

    def __init__(
        self,
        key: str,
        arch: Architecture,
        file_type: str,
        table: Callable[[], tuple],
        names: Callable[[], tuple[str, ...]],
        weights: Callable[[], int],
    ) -> None:
        self.key, self.arch, self.file_type = key, arch, file_type
        self._table, self._names, self._weights = table, names, weights

    def table(self) -> tuple:
        """The tensor table (built on first use, then the same tuple)."""
        return self._table()

    def names(self) -> tuple[str, ...]:
        """The tensor names in table order, without building the table."""
        return self._names()

    def weights(self) -> int:
        """The table's weights bytes [B], without building the table."""
        return self._weights()


def ref_of(model: object) -> TableRef | None:
    """The :class:`TableRef` of a catalog spec whose table may be unbuilt, else None."""
    d = getattr(model, "__dict__", None)
    ref = d.get("_table_ref") if d is not None else None
    return ref if isinstance(ref, TableRef) else None


def table_ident(model: object) -> object | None:
    """What identity-keyed caches key a spec's table by: its :class:`TableRef` (the table need not
    be built), else the tensor tuple, else None (a mutable list: not kept)."""
    ref = ref_of(model)
    if ref is not None:
        return ref
    tensors = getattr(model, "tensors", None)
    return tensors if isinstance(tensors, tuple) else None


def register(table: tuple, key: str, arch: Architecture, file_type: str) -> None:
    """Remember that ``table`` is the catalog table of ``arch`` at ``file_type`` kept under ``key``."""
    with _lock:
        _tables[id(table)] = (table, key, arch, file_type)
        if len(_tables) > MAX_TABLES:
            del _tables[next(iter(_tables))]


def register_derived(table: tuple, base: tuple, suffix: str) -> None:
    """Register ``table``, a pure function of the registered table ``base`` (its MTP-less trunk),
    under ``base``'s key and ``suffix``; nothing when ``base`` is not registered."""
    hit = _tables.get(id(base))
    if hit is not None and hit[0] is base:
        register(table, f"{hit[1]}:{suffix}", hit[2], hit[3])


def table_key(table: object, arch: Architecture | None = None, file_type: str | None = None) -> str | None:
    """The key of a registered catalog table, or None (not registered, or registered for another
    architecture or file type than the ones given)."""
    hit = _tables.get(id(table))
    if hit is None or hit[0] is not table:
        return None
    _, key, a, ft = hit
    if arch is not None and arch is not a:
        try:
            if arch != a:
                return None
        except Exception:  # an architecture that cannot be compared: not the registered one
            return None
    if file_type is not None and file_type != ft:
        return None
    return key


def _in_use() -> bool:
    """Whether to read and keep summaries on disk now: enabled, and past the first tables."""
    return typecache.enabled() and int(typecache._state.get("asked", 0)) > typecache.FIRST_TABLES


def _path() -> Path | None:
    if "path" not in _state:
        try:
            fp = typecache._code_fingerprint(SUMMARY_SOURCES)
            fmt = f"m{marshal.version}-py{sys.version_info[0]}{sys.version_info[1]}"
            _state["path"] = typecache._cache_dir() / f"table-summaries-{fp}-{fmt}.marshal"
        except Exception:  # no home directory, unreadable source: no cache
            _state["path"] = None
    p = _state["path"]
    return p if isinstance(p, Path) else None


def _entries() -> dict[str, Any]:
    """The entries read from disk (once), {kind + NUL + key: the stored value, marshalled}: the
    file holds one bytes object per entry, so reading it creates ~10⁴ objects, not the ~10⁶ of
    every table's figures; an entry is unmarshalled when a plan asks for it."""
    got = _state.get("entries")
    if isinstance(got, dict):
        return got
    entries: dict[str, Any] = {}
    p = _path()
    if p is not None:
        try:
            data = marshal.loads(p.read_bytes())
            if isinstance(data, dict):
                entries = data
        except (OSError, ValueError, EOFError, TypeError):
            entries = {}
    _state["entries"] = entries
    return entries


def get(
    kind: str,
    key: str,
    build: Callable[[], V],
    encode: Callable[[V], Any],
    decode: Callable[[Any], V],
) -> V:
    """The summary ``kind`` of the table kept under ``key``: read back from disk when kept there
    (``decode`` of the stored value), else ``build()`` and kept (``encode``: marshal-able values).
    A stored value ``decode`` rejects (any exception) is built afresh."""
    if not _in_use():
        return build()
    k = f"{kind}\0{key}"
    with _lock:
        raw = _entries().get(k)
    if isinstance(raw, bytes):
        try:
            return decode(marshal.loads(raw))
        except Exception:  # a damaged entry: computed afresh
            pass
    value = build()
    stored = marshal.dumps(encode(value))  # each entry its own bytes: read back only when asked
    with _lock:
        _entries()[k] = stored
        if not _state.get("dirty"):
            _state["dirty"] = True
            atexit.register(flush)
    return value


def flush() -> None:
    """Write the summaries to disk if any were added (atomically; errors leave the file as it was)."""
    with _lock:
        if not _state.get("dirty"):
            return
        _state["dirty"] = False
        p = _path()
        if p is None:
            return
        entries = dict(_entries())
    with contextlib.suppress(OSError, ValueError):
        usercache.write_file(p, marshal.dumps(entries), prune="table-summaries-*.marshal")


def reset() -> None:
    """Forget what this process read or added (tests; a changed ``$RIGFIT_CACHE_DIR``)."""
    with _lock:
        _state.clear()
        _tables.clear()
