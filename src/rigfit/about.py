"""What ``rigfit --version`` and ``rigfit version`` print: rigfit, the llama.cpp build profile, Python."""

from __future__ import annotations

import platform
from importlib import metadata

from rigfit import __version__


def version_lines() -> list[str]:
    """rigfit's version, the default llama.cpp build profile the memory model follows, the
    installed xllamacpp (llama.cpp bindings used by ``bench``) if any, and the Python running rigfit."""
    # lazy: the estimate package costs ~50 ms to import; only the version commands need it here
    from rigfit.estimate.memory import build_profile

    try:
        xllamacpp = f"xllamacpp {metadata.version('xllamacpp')}"
    except metadata.PackageNotFoundError:
        xllamacpp = "xllamacpp not installed"
    return [
        f"rigfit {__version__}",
        f"llama.cpp build profile {build_profile().name} (default; --llama-build picks another); {xllamacpp}",
        f"Python {platform.python_version()} ({platform.python_implementation()}, {platform.system()})",
    ]
