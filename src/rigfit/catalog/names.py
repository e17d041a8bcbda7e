"""Names people write for a model, resolved to the catalog (no files, no network).

Accepts what users paste from Hugging Face, Ollama, LM Studio and benchmark tables:

* HF repo ids old and new (``meta-llama/Meta-Llama-3.1-8B-Instruct``), with ``hf:`` or a URL;
* GGUF repos and files, incl. a quant selector (``unsloth/Qwen3-30B-A3B-GGUF:UD-Q4_K_XL``), a
  file inside a repo (``bartowski/…-GGUF/…-Q4_K_M.gguf``), Unsloth dynamic quants (``UD-Q4_K_XL``)
  and split files (``-00001-of-00003``);
* Ollama library tags (``llama3.1:8b``, ``deepseek-r1:32b``, ``ollama:qwen3``), through the library
  table of :mod:`rigfit.catalog.ollama_names`;
* LM Studio names (``lmstudio-community/…-GGUF``, ``qwen/qwen3-30b-a3b``, ``…-MLX-4bit``);
* loose names (``Llama 3.1 8B``, ``qwen3 coder 30b``, ``tinyllama-1.1b``).

A name that fits several catalog models raises :class:`~rigfit.errors.AmbiguousNameError` listing
them; one that fits none raises :class:`~rigfit.errors.UnknownNameError` with close ids.
"""

from __future__ import annotations

import re

from rigfit.catalog.arch import Architecture
from rigfit.catalog.models import get_model, resolve_model
from rigfit.catalog.ollama_names import is_library_name, resolve_ollama_library
from rigfit.errors import AmbiguousNameError, UnknownNameError

_PREFIX_RE = re.compile(r"(?i)^(?:hf|huggingface|lmstudio|lms)[:/]+")
#: ``org/repo:SELECTOR`` (a quant or file picked from a repo, gguf-parser / llama.cpp -hf style)
_REPO_SELECTOR_RE = re.compile(r"^([^/:\s]+/[^/:\s]+):[^/\s]+$")


def resolve_name(text: str) -> Architecture:
    """The catalog model ``text`` names (see the module docstring for the forms accepted)."""
    s = text.strip()
    if s.lower().startswith("ollama:"):
        found = resolve_ollama_library(s[len("ollama:") :])
        if found is not None:
            return get_model(found.catalog_id)
        s = s[len("ollama:") :]
    s = _PREFIX_RE.sub("", s)
    m = _REPO_SELECTOR_RE.match(s)
    if m:
        s = m.group(1)
    if is_library_name(s):
        if ":" in s:
            found = resolve_ollama_library(s)
            assert found is not None  # is_library_name checked the name
            return get_model(found.catalog_id)
        try:
            return resolve_model(s)  # the catalog's own meaning of a bare name wins
        except (UnknownNameError, AmbiguousNameError):
            found = resolve_ollama_library(s)
            assert found is not None
            return get_model(found.catalog_id)
    return resolve_model(s)
