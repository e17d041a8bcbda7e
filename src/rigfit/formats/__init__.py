"""Model files: fast GGUF header reading, Hugging Face configs/safetensors, local model stores.

Entry points (also importable from ``rigfit.formats`` directly, lazily):

* :func:`~rigfit.formats.source.load_model_source` — file, folder, store name or catalog id -> ModelSpec
* :func:`~rigfit.formats.gguf.read_gguf` — GGUF header (metadata + tensor table), split files included
* :func:`~rigfit.formats.gguf_arch.model_from_gguf` — GGUF -> ModelSpec (exact tensor bytes);
  :func:`~rigfit.formats.gguf_arch.architecture_from_gguf` — Architecture as llama.cpp reads it
* :func:`~rigfit.formats.hf.model_from_hf` — HF folder / config.json -> ModelSpec
* :func:`~rigfit.formats.stores.find_local_models` — models in Ollama / HF cache / LM Studio / folders
* :func:`~rigfit.formats.bundled.bundled_gemma_path` — the bundled Gemma 3 270M test model
* :func:`~rigfit.formats.inspect.inspect_source` — the data behind ``rigfit inspect``
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "load_model_source": "source",
    "read_gguf": "gguf",
    "model_from_gguf": "gguf_arch",
    "architecture_from_gguf": "gguf_arch",
    "model_from_hf": "hf",
    "find_local_models": "stores",
    "bundled_gemma_path": "bundled",
    "inspect_source": "inspect",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"rigfit.formats.{_LAZY[name]}"), name)
    raise AttributeError(name)
