"""rigfit's user cache directory, and whether a process may use it.

Shared by the caches that keep derived data between runs (:mod:`rigfit.hardware.gpurows`,
:mod:`rigfit.codecache`); light to import, as the command line imports it first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


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
