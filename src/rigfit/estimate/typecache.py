"""The predicted tensor types of catalog models, kept on disk between runs.

``rigfit recommend`` predicts the GGUF tensor table of every catalog model × quant it considers
(~2,000 tables, ~10⁶ tensors, each typed by llama-quantize's rules in
:mod:`rigfit.estimate.tensors`): most of a cold run's time. The types of a table are a pure
function of the architecture, the file type, the quantization options and rigfit's code, so they
are kept in one JSON file in the user cache directory (``$RIGFIT_CACHE_DIR``, else the platform's,
as :func:`rigfit.formats.bundled.cache_dir`) and read back by the next process.

Content-keyed: an entry's key hashes the architecture (its ``repr``, every field), the file type
and the options; the file's name hashes rigfit's version and the source of every module the rules
live in (:data:`RULE_SOURCES`), so a changed rule or catalog entry never reads a stale answer.
Safe: an unreadable, corrupt or unwritable cache is ignored (the types are computed as without
it). Under pytest it is off unless ``$RIGFIT_CACHE_DIR`` points somewhere (a test's tmp dir);
``RIGFIT_NO_TABLE_CACHE=1`` turns it off.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import rigfit
from rigfit import usercache

#: Packages and modules whose source decides a table's types (hashed into the file name).
RULE_SOURCES = ("archs", "catalog", "estimate/tensors.py")
#: Another version's cache file unused this long is removed when this one is written [s].
STALE_AFTER_S = usercache.STALE_AFTER_S
#: Types are stored as one character each, offset from this code point (printable, JSON-safe).
_BASE = 0x30

#: Tables a process computes before it turns to the disk: reading the file and hashing the rules'
#: source (~10 ms) pays only for a ladder, not for ``rigfit plan``'s one or two tables.
FIRST_TABLES = 8

_lock = threading.Lock()
_state: dict[str, Any] = {}  # "path", "entries", "dirty", "asked"


def _in_use() -> bool:
    """Whether to read and keep entries now: enabled, and past the process's first tables."""
    if not on():
        return False
    asked = int(_state.get("asked", 0)) + 1  # (a race only moves the threshold by a table)
    _state["asked"] = asked
    return asked > FIRST_TABLES


def on() -> bool:
    """:func:`enabled`, decided once per process (until :func:`reset`), as the cache's folder is
    (:func:`_path`): a ladder asks ~6,000 times, and the environment look-ups cost ~2.5 µs each
    time (issue 15). Off stays off and on reads and writes only the folder decided with it, so
    tests still never touch the user's cache; change ``$RIGFIT_NO_TABLE_CACHE`` or
    ``$RIGFIT_CACHE_DIR`` in a process, then :func:`reset`."""
    got = _state.get("on")
    if got is None:
        got = _state["on"] = enabled()
    return bool(got)


def enabled() -> bool:
    """Whether the disk cache is used in this process (:func:`rigfit.usercache.enabled`, and not
    turned off by ``$RIGFIT_NO_TABLE_CACHE``)."""
    if os.environ.get("RIGFIT_NO_TABLE_CACHE"):
        return False
    return usercache.enabled()


def _code_fingerprint(sources: tuple[str, ...] = RULE_SOURCES) -> str:
    """sha256 of rigfit's version and the source of ``sources`` (packages or modules under
    ``src/rigfit``; sorted paths and contents)."""
    root = Path(rigfit.__file__).resolve().parent
    h = hashlib.sha256(rigfit.__version__.encode())
    for rel in sources:
        p = root / rel
        files = sorted(p.rglob("*.py")) if p.is_dir() else [p]
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:24]


def _cache_dir() -> Path:
    """The user cache directory (:func:`rigfit.usercache.cache_dir`)."""
    return usercache.cache_dir()


def _path() -> Path | None:
    if "path" not in _state:
        try:
            _state["path"] = _cache_dir() / f"tensor-types-{_code_fingerprint()}.json"
        except (OSError, RuntimeError):  # unreadable source, no home directory (Path.home): no cache
            _state["path"] = None
    p = _state["path"]
    return p if isinstance(p, Path) else None


def _entries() -> dict[str, list]:
    """The entries read from disk (once), {key: [weights bytes, vocabulary, types]}."""
    got = _state.get("entries")
    if isinstance(got, dict):
        return got
    entries: dict[str, list] = {}
    p = _path()
    if p is not None:
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("entries"), dict):
                entries = data["entries"]
        except (OSError, ValueError):
            entries = {}
    _state["entries"] = entries
    return entries


def key_of(arch_repr: str, file_type: str, options: tuple[bool, ...]) -> str:
    """An entry's key: sha256 of the architecture's ``repr``, the file type and the options."""
    return hashlib.sha256(f"{arch_repr}\0{file_type}\0{options}".encode()).hexdigest()[:32]


def key_hash(arch_repr: str) -> Any:
    """The sha256 of :func:`key_of`'s first part, to finish with :func:`key_from` for each file
    type and options of one architecture (hashing its ``repr`` once)."""
    return hashlib.sha256(f"{arch_repr}\0".encode())


def key_from(arch_hash: Any, file_type: str, options: tuple[bool, ...]) -> str:
    """``key_of(arch_repr, file_type, options)`` from ``key_hash(arch_repr)`` (left unchanged)."""
    h = arch_hash.copy()
    h.update(f"{file_type}\0{options}".encode())
    return str(h.hexdigest()[:32])


def weights(key: str) -> int | None:
    """The weights bytes of the table kept under ``key``, or None."""
    if not _in_use():
        return None
    with _lock:
        e = _entries().get(key)
    if not (isinstance(e, list) and len(e) == 3 and isinstance(e[0], int) and isinstance(e[2], str)):
        return None  # none, or a damaged entry: computed afresh
    return e[0]


def types(key: str) -> tuple[str, ...] | None:
    """The type of every tensor, in table order, of the table kept under ``key``, or None."""
    if not _in_use():
        return None
    with _lock:
        e = _entries().get(key)
    try:
        if e is None:
            return None
        _, vocab, chars = e
        return tuple(vocab[ord(c) - _BASE] for c in chars)
    except (TypeError, ValueError, IndexError):  # a damaged entry: computed afresh
        return None


def put(key: str, weights_bytes: int, table_types: tuple[str, ...]) -> None:
    """Keep ``table_types`` (and their weights bytes) under ``key``; written to disk at exit."""
    if not on() or int(_state.get("asked", 0)) <= FIRST_TABLES:
        return
    vocab = sorted(set(table_types))
    index = {t: chr(_BASE + i) for i, t in enumerate(vocab)}
    with _lock:
        _entries()[key] = [int(weights_bytes), vocab, "".join(index[t] for t in table_types)]
        if not _state.get("dirty"):
            _state["dirty"] = True
            atexit.register(flush)


def flush() -> None:
    """Write the entries to disk if any were added (atomically; any error leaves the cache as it
    was)."""
    with _lock:
        if not _state.get("dirty"):
            return
        _state["dirty"] = False
        p = _path()
        if p is None:
            return
        entries = dict(_entries())
    try:
        data = json.dumps({"entries": entries}, separators=(",", ":")).encode("utf-8")
        usercache.write_file(p, data, prune="tensor-types-*.json")
    except OSError:
        pass


def reset() -> None:
    """Forget what this process read or added (tests; a changed ``$RIGFIT_CACHE_DIR``)."""
    with _lock:
        _state.clear()
