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

The file (:func:`encode_file`) is an index, {entry key: (offset, length)}, then the entries, each one
marshalled value: a process reads the index and then only the entries its plans ask for
(:class:`_Entries`), ~8 MB of a ~20 MB file for a ladder, instead of reading and unmarshalling the
whole file (~45 ms CPU and ~60 MB of memory per ``rigfit recommend``, issue 15). An entry is
written with its equal immutable parts made one object (:func:`shared`), so marshal writes each
once: a ladder's entries read back in about half the time (the file ~7 MB instead of ~11 MB).

Safe: an unreadable, corrupt or unwritable file is ignored, and a damaged entry is recomputed;
the file is replaced by renaming a new one over it, never rewritten in place, so a process reading
it while another writes it reads the one it opened. Past :data:`MAX_FILE_BYTES` a process writes
back only the entries it used or added.
Off under pytest unless ``$RIGFIT_CACHE_DIR`` points somewhere, and with
``RIGFIT_NO_TABLE_CACHE=1`` (as the type cache); used on disk only once a process has asked for
more than :data:`rigfit.estimate.typecache.FIRST_TABLES` tables (a ladder, not ``rigfit plan``).
"""

from __future__ import annotations

import atexit
import contextlib
import marshal
import os
import sys
import threading
from collections.abc import Callable, Iterator
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
    return typecache.on() and int(typecache._state.get("asked", 0)) > typecache.FIRST_TABLES


#: The file's first bytes (its layout, version 1): then the index's length (8 bytes, little
#: endian), the index (marshal: {entry key: (offset, length) in the entries' bytes}) and the
#: entries' bytes (one marshalled value each, back to back).
MAGIC = b"rigfit-summaries-1\n"
_HEAD = len(MAGIC) + 8
#: Past this many bytes of entries, a process writes back only the entries it used or added, so a
#: file that has seen many machines (their context-buffer terms) does not grow without end [B].
MAX_FILE_BYTES = 96 * 2**20
#: The largest index or entry read [B] (a damaged length asks no more).
_MAX_ENTRY = 2**30


def _path() -> Path | None:
    if "path" not in _state:
        try:
            fp = typecache._code_fingerprint(SUMMARY_SOURCES)
            fmt = f"i1-m{marshal.version}-py{sys.version_info[0]}{sys.version_info[1]}"
            _state["path"] = typecache._cache_dir() / f"table-summaries-{fp}-{fmt}.marshal"
        except Exception:  # no home directory, unreadable source: no cache
            _state["path"] = None
    p = _state["path"]
    return p if isinstance(p, Path) else None


class _Entries:
    """The summaries kept on disk and those added in this process, {kind + NUL + key: the value,
    marshalled}: the file's index is read when the process first asks (a few hundred kB for
    ~10⁴ entries), and an entry's bytes only when a plan asks for it (one ``pread``), so a ladder
    reads the ~40 % of a ~20 MB file it uses, not all of it and not into ~10⁴ objects at once.

    The file stays open: a writer replaces it by renaming a new one over it
    (:func:`rigfit.usercache.write_file`), so this process goes on reading the file it opened,
    whole and unchanged. Where the system has no ``pread`` (Windows) the file is read whole once.
    A damaged index entry or a short read (a damaged file) is a missing entry."""

    def __init__(
        self,
        read: Callable[[int, int], bytes] | None,
        index: dict[str, Any],
        base: int,
        fd: int | None = None,
    ) -> None:
        self._read, self._index, self._base, self._fd = read, index, base, fd
        self.added: dict[str, bytes] = {}
        self.used: set[str] = set()

    @classmethod
    def open(cls, path: Path | None) -> _Entries:
        """The entries of the file at ``path``; none when it is missing, unreadable or damaged."""
        none = cls(None, {}, 0)
        if path is None:
            return none
        fd = None
        try:
            if hasattr(os, "pread"):
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                opened = fd

                def read(n: int, offset: int) -> bytes:
                    return os.pread(opened, n, offset)
            else:
                data = path.read_bytes()

                def read(n: int, offset: int) -> bytes:
                    return data[offset : offset + n]

            head = read(_HEAD, 0)
            if len(head) == _HEAD and head.startswith(MAGIC):
                n = int.from_bytes(head[len(MAGIC) :], "little")
                raw = read(n, _HEAD) if n <= _MAX_ENTRY else b""
                index = marshal.loads(raw) if raw and len(raw) == n else None
                if isinstance(index, dict):
                    return cls(read, index, _HEAD + n, fd)
        except (OSError, ValueError, EOFError, TypeError, OverflowError):
            pass
        if fd is not None:
            os.close(fd)
        return none

    def _span(self, key: str) -> tuple[int, int] | None:
        """(offset, length) of ``key``'s bytes in the file, or None (not there, or damaged)."""
        where = self._index.get(key)
        if type(where) is not tuple or len(where) != 2:
            return None
        off, n = where
        if type(off) is not int or type(n) is not int or off < 0 or not 0 <= n <= _MAX_ENTRY:
            return None
        return off, n

    def get(self, key: str) -> bytes | None:
        """The marshalled value kept under ``key`` (added here, else read from the file), or None."""
        got = self.added.get(key)
        if got is not None:
            return got
        data = self._from_file(key)
        if data is not None:
            self.used.add(key)
        return data

    def _from_file(self, key: str) -> bytes | None:
        span = self._span(key) if self._read is not None else None
        if span is None or self._read is None:
            return None
        try:
            data = self._read(span[1], self._base + span[0])
        except (OSError, ValueError, OverflowError):
            return None
        return data if len(data) == span[1] else None

    def __setitem__(self, key: str, value: bytes) -> None:
        self.added[key] = value

    def __len__(self) -> int:
        return len(self._index.keys() | self.added.keys())

    def __iter__(self) -> Iterator[str]:
        return iter(list(dict.fromkeys([*self._index, *self.added])))

    def __bool__(self) -> bool:
        return bool(self._index or self.added)

    def values(self) -> list[bytes | None]:
        return [self.get(k) for k in self]

    def to_write(self) -> dict[str, bytes]:
        """Every entry to write back: those read from the file and those added (the added ones
        win); past :data:`MAX_FILE_BYTES` of the file's, only those this process used or added."""
        spans = {k: span for k in self._index if (span := self._span(k)) is not None}
        size = sum(n for _, n in spans.values())
        keys = list(spans) if size + self._base <= MAX_FILE_BYTES else sorted(self.used)
        out: dict[str, bytes] = {}
        for k in keys:
            data = self._from_file(k)
            if data is not None:
                out[k] = data
        out.update(self.added)
        return out

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
            self._read = None


def encode_file(entries: dict[str, bytes]) -> bytes:
    """The file's bytes for ``entries`` ({key: marshalled value}): :data:`MAGIC`, the index's
    length, the index, the values."""
    index: dict[str, tuple[int, int]] = {}
    off = 0
    for k, v in entries.items():
        index[k] = (off, len(v))
        off += len(v)
    head = marshal.dumps(index)
    return b"".join((MAGIC, len(head).to_bytes(8, "little"), head, *entries.values()))


def _entries() -> _Entries:
    """The entries kept on disk and added in this process (the file's index read once)."""
    got = _state.get("entries")
    if isinstance(got, _Entries):
        return got
    entries = _Entries.open(_path())
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
    stored = marshal.dumps(shared(encode(value)))  # each entry its own bytes: read back only when asked
    with _lock:
        _entries()[k] = stored
        if not _state.get("dirty"):
            _state["dirty"] = True
            atexit.register(flush)
    return value


#: Plain immutable values :func:`shared` makes one object of (bools go with them: marshal types them).
_SHARED_LEAVES = frozenset({int, float, str, bytes, bool, type(None)})


def shared(value: V) -> V:
    """``value`` (ints, floats, strings, tuples, lists, dicts of them) with its equal immutable
    parts (numbers, strings, tuples of them) made one object each, so that ``marshal`` writes each
    once and then a reference to it: a model's layers repeat the same shapes and sums, and reading
    back a reference costs nothing where a number or tuple is a new object (issue 15: the
    summaries a ladder reads, ~7 instead of ~11 MB in all, unmarshal in half the time).

    Exact: parts are the same only when ``marshal`` writes them alike (1, 1.0 and True differ,
    and 0.0 and -0.0), so the value read back is equal to ``value`` and typed alike; lists and
    dicts are never shared (their contents are). Anything else is left as it is."""
    return _share(value, {})[0]  # type: ignore[no-any-return]


def _share(v: Any, seen: dict[bytes, Any]) -> tuple[Any, bool]:
    """(``v`` with its parts shared, whether ``v`` is immutable all through)."""
    t = type(v)
    if t is tuple:
        parts = [_share(x, seen) for x in v]
        v = tuple(x for x, _ in parts)
        if not all(ok for _, ok in parts):
            return v, False
    elif t is list:
        return [_share(x, seen)[0] for x in v], False
    elif t is dict:
        return {_share(k, seen)[0]: _share(x, seen)[0] for k, x in v.items()}, False
    elif t not in _SHARED_LEAVES:
        return v, False
    try:
        return seen.setdefault(marshal.dumps(v), v), True
    except ValueError:  # (not written by marshal either: left as it is)
        return v, False


def flush() -> None:
    """Write the summaries to disk if any were added (atomically; errors leave the file as it was)."""
    with _lock:
        if not _state.get("dirty"):
            return
        _state["dirty"] = False
        p = _path()
        if p is None:
            return
        entries = _entries().to_write()
    with contextlib.suppress(OSError, ValueError):
        usercache.write_file(p, encode_file(entries), prune="table-summaries-*.marshal")


def reset() -> None:
    """Forget what this process read or added (tests; a changed ``$RIGFIT_CACHE_DIR``)."""
    with _lock:
        got = _state.get("entries")
        if isinstance(got, _Entries):
            got.close()
        _state.clear()
        _tables.clear()
    typecache._state.pop("on", None)  # whether the caches are on: decided again (typecache.on)
