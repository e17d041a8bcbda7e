"""rigfit's user cache directory, and whether a process may use it.

Shared by the caches that keep derived data between runs (:mod:`rigfit.hardware.gpurows`,
:mod:`rigfit.codecache`, :mod:`rigfit.estimate.typecache`, :mod:`rigfit.estimate.summarycache`);
light to import, as the command line imports it first.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

#: Another version's cache file unused this long is removed when this one is written [s].
STALE_AFTER_S = 7 * 86400


def enabled() -> bool:
    """Whether the disk caches are used in this process: always, except under pytest without
    ``$RIGFIT_CACHE_DIR`` (tests never read or write the user's cache)."""
    if "PYTEST_CURRENT_TEST" in os.environ or "pytest" in sys.modules:
        return bool(os.environ.get("RIGFIT_CACHE_DIR"))
    return True


def cache_dir() -> Path:
    """rigfit's user cache directory: ``$RIGFIT_CACHE_DIR``, else the platform's (on Linux by
    platformdirs' rule, ``$XDG_CACHE_HOME/rigfit`` else ``~/.cache/rigfit``, without importing it),
    used by every disk cache (:mod:`rigfit.estimate.typecache`, :mod:`rigfit.estimate.summarycache`)."""
    env = os.environ.get("RIGFIT_CACHE_DIR")
    if env:
        return Path(env)
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
        return Path(base) / "rigfit"
    from rigfit.formats.bundled import cache_dir as platform_cache_dir  # lazy: platformdirs

    return platform_cache_dir()


def write_file(path: Path, data: bytes, *, prune: str | None = None) -> None:
    """Write a cache file atomically: ``data`` to a temporary file beside ``path``, then renamed over
    it, so a reader sees the old file or the new one, never half of one. With ``prune`` (a glob in
    the same folder), other versions' files matching it and unused for :data:`STALE_AFTER_S` are
    removed. Raises ``OSError``; the callers treat any failure as "no cache"."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    if prune:
        for old in path.parent.glob(prune):
            if old != path and old.stat().st_mtime < time.time() - STALE_AFTER_S:
                old.unlink()
