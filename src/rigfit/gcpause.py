"""Python's cyclic garbage collector paused around a recommend ladder (issue 15).

A ladder builds ~10⁵–10⁶ long-lived objects (tensor tables, placements, kept device rows) and
frees the rest by reference counting; the collector's passes over the survivors cost a quarter to
a third of a warm ladder (``benchmarks/serve_speed.py``). The pause is counted and locked so that
ladders running at once in ``rigfit serve`` (a thread pool) share one pause: the first to enter
turns the collector off, the last to leave turns it back on if it was on.

On leaving, the survivors are frozen (``gc.freeze``: left out of later passes), or the first pass
after resuming would walk them all (~0.2 s). The next ladder unfreezes them into the oldest
generation, where the collector's full passes reach them again: a cycle among them is freed later,
not never. A process that never runs another ladder keeps them frozen; they are the catalog's
tables, kept for the process's life anyway.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off while the block runs (shared by concurrent blocks; see the module)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
            if _resume:
                gc.unfreeze()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.freeze()
                gc.enable()
