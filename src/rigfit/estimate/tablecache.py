"""Figures derived from one immutable tensor table or architecture, computed once and reused.

A recommend ladder plans every model × quant of the catalog, and each plan places the same tensor
table on the devices many times (the ``-ngl`` and ``--n-cpu-moe`` binary searches, the context
search). What does not depend on the placement (which tensors are experts, which would be
repacked, the per-layer KV bytes at one context) is worked out once per table here.

Entries are keyed by the *identity* of the object they derive from (tensor tables are tuples of
frozen rows and architectures are frozen dataclasses, so they never change), plus a hashable key
for the other inputs. The object itself is kept in the entry, so its ``id`` cannot be reused by
another object while the entry lives. A bounded least-recently-used table with a lock: the web
server plans from several threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """``build(obj)`` per (object identity, key), at most ``maxsize`` entries (least recently used
    dropped first)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, Hashable], tuple[object, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, obj: object, key: Hashable, build: Callable[[], V]) -> V:
        """The value built for ``obj`` and ``key``; ``build()`` runs on a miss (outside the lock)."""
        k = (id(obj), key)
        with self._lock:
            hit = self._entries.get(k)
            if hit is not None and hit[0] is obj:
                self._entries.move_to_end(k)
                return hit[1]
        value = build()
        with self._lock:
            self._entries[k] = (obj, value)
            self._entries.move_to_end(k)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
