"""Ollama library names (``llama3.3``, ``deepseek-r1:32b``, ``gemma3:4b-it-qat``) -> catalog models.

Ollama names a model ``NAME[:TAG]``; the tag is a size (``8b``), optionally followed by a variant
(``instruct``, ``it``, ``text``, ``qat``) and a quantization (``q8_0``, ``q4_K_M``, ``fp16``); no tag
means ``latest``. Which checkpoint each name and size is comes from the Ollama library pages
(https://ollama.com/library/NAME/tags), transcribed below; a size that the library has but the
catalog lacks (``deepseek-r1:8b``, a Qwen3-8B distill) is refused by name rather than mapped to a
look-alike. Quantization: the tag's, else Q4_0 for QAT tags (Ollama ships Gemma 3 QAT as Q4_0:
https://ollama.com/library/gemma3/tags), else the library default Q4_K_M (MXFP4 for gpt-oss), which
is :func:`rigfit.catalog.quant.default_file_type`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rigfit.catalog.models import get_model
from rigfit.errors import UnknownNameError

#: name -> (the size ``latest`` points at, {size tag: catalog id or None when the catalog lacks it});
#: source of each row: https://ollama.com/library/<name>/tags
LIBRARY: dict[str, tuple[str, dict[str, str | None]]] = {
    "llama2": ("7b", {"7b": "llama-2-7b", "13b": "llama-2-13b", "70b": "llama-2-70b"}),
    "llama3": ("8b", {"8b": "llama-3-8b", "70b": "llama-3-70b"}),
    "llama3.1": ("8b", {"8b": "llama-3.1-8b", "70b": "llama-3.1-70b", "405b": "llama-3.1-405b"}),
    "llama3.2": ("3b", {"1b": "llama-3.2-1b", "3b": "llama-3.2-3b"}),
    "llama3.3": ("70b", {"70b": "llama-3.3-70b"}),
    "llama4": (
        "scout",
        {
            "scout": "llama-4-scout",
            "16x17b": "llama-4-scout",
            "maverick": "llama-4-maverick",
            "128x17b": "llama-4-maverick",
        },
    ),
    "gemma2": ("9b", {"2b": "gemma-2-2b", "9b": "gemma-2-9b", "27b": "gemma-2-27b"}),
    "gemma3": (
        "4b",
        {
            "270m": "gemma-3-270m",
            "1b": "gemma-3-1b",
            "4b": "gemma-3-4b",
            "12b": "gemma-3-12b",
            "27b": "gemma-3-27b",
        },
    ),
    "qwen2.5": (
        "7b",
        {
            "0.5b": "qwen2.5-0.5b",
            "1.5b": "qwen2.5-1.5b",
            "3b": "qwen2.5-3b",
            "7b": "qwen2.5-7b",
            "14b": "qwen2.5-14b",
            "32b": "qwen2.5-32b",
            "72b": "qwen2.5-72b",
        },
    ),
    "qwen2.5-coder": (
        "7b",
        {
            "0.5b": "qwen2.5-coder-0.5b",
            "1.5b": "qwen2.5-coder-1.5b",
            "3b": "qwen2.5-coder-3b",
            "7b": "qwen2.5-coder-7b",
            "14b": "qwen2.5-coder-14b",
            "32b": "qwen2.5-coder-32b",
        },
    ),
    "qwen3": (
        "8b",
        {
            "0.6b": "qwen3-0.6b",
            "1.7b": "qwen3-1.7b",
            "4b": "qwen3-4b",
            "8b": "qwen3-8b",
            "14b": "qwen3-14b",
            "30b": "qwen3-30b-a3b",
            "30b-a3b": "qwen3-30b-a3b",
            "32b": "qwen3-32b",
            "235b": "qwen3-235b-a22b",
            "235b-a22b": "qwen3-235b-a22b",
        },
    ),
    "qwen3-coder": ("30b", {"30b": "qwen3-coder-30b-a3b", "480b": "qwen3-coder-480b-a35b"}),
    "deepseek-r1": (
        "8b",
        {
            "1.5b": "deepseek-r1-distill-qwen-1.5b",
            "7b": "deepseek-r1-distill-qwen-7b",
            "8b": "deepseek-r1-0528-qwen3-8b",
            "14b": "deepseek-r1-distill-qwen-14b",
            "32b": "deepseek-r1-distill-qwen-32b",
            "70b": "deepseek-r1-distill-llama-70b",
            "671b": "deepseek-r1",
        },
    ),
    "deepseek-v3": ("671b", {"671b": "deepseek-v3"}),
    "deepseek-v3.1": ("671b", {"671b": "deepseek-v3.1"}),
    "deepseek-coder": (
        "1.3b",
        {"1.3b": "deepseek-coder-1.3b", "6.7b": "deepseek-coder-6.7b", "33b": "deepseek-coder-33b"},
    ),
    "gpt-oss": ("20b", {"20b": "gpt-oss-20b", "120b": "gpt-oss-120b"}),
    "mistral": ("7b", {"7b": "mistral-7b-v0.3"}),
    "mistral-nemo": ("12b", {"12b": "mistral-nemo-12b"}),
    "mistral-small3.1": ("24b", {"24b": "mistral-small-3.1-24b"}),
    "mistral-small3.2": ("24b", {"24b": "mistral-small-3.2-24b"}),
    "mixtral": ("8x7b", {"8x7b": "mixtral-8x7b", "8x22b": "mixtral-8x22b"}),
    "phi4": ("14b", {"14b": "phi-4"}),
    "phi4-mini": ("3.8b", {"3.8b": "phi-4-mini"}),
    "command-r7b": ("7b", {"7b": "command-r7b"}),
    "granite4": (
        "micro",
        {
            "tiny-h": "granite-4.0-h-tiny",
            "small-h": "granite-4.0-h-small",
            "1b-h": "granite-4.0-h-1b",
            "micro": None,
            "micro-h": None,
        },
    ),
    # the catalog's further models (https://ollama.com/library/<name>/tags)
    "qwen": (
        "4b",
        {
            "0.5b": "qwen1.5-0.5b",
            "1.8b": "qwen1.5-1.8b",
            "4b": "qwen1.5-4b",
            "7b": "qwen1.5-7b",
            "14b": "qwen1.5-14b",
            "32b": "qwen1.5-32b",
            "72b": "qwen1.5-72b",
            "110b": "qwen1.5-110b",
        },
    ),
    "qwen2": ("7b", {"0.5b": "qwen2-0.5b", "1.5b": "qwen2-1.5b", "7b": "qwen2-7b", "72b": "qwen2-72b"}),
    "qwen2-math": ("7b", {"1.5b": "qwen2-math-1.5b", "7b": "qwen2-math-7b", "72b": "qwen2-math-72b"}),
    "qwq": ("32b", {"32b": "qwq-32b"}),
    "gemma": ("7b", {"2b": "gemma-2b", "7b": "gemma-7b"}),
    "tinyllama": ("1.1b", {"1.1b": "tinyllama-1.1b"}),
    "smollm2": ("1.7b", {"135m": "smollm2-135m", "360m": "smollm2-360m", "1.7b": "smollm2-1.7b"}),
    "falcon3": ("7b", {"1b": "falcon3-1b", "3b": "falcon3-3b", "7b": "falcon3-7b", "10b": "falcon3-10b"}),
    "phi3": (
        "3.8b",
        {
            "3.8b": "phi-3-mini-4k",
            "mini": "phi-3-mini-4k",
            "14b": "phi-3-medium-4k",
            "medium": "phi-3-medium-4k",
        },
    ),
    "phi3.5": ("3.8b", {"3.8b": "phi-3.5-mini"}),
    "phi4-reasoning": ("14b", {"14b": "phi-4-reasoning"}),
    "phi4-mini-reasoning": ("3.8b", {"3.8b": "phi-4-mini-reasoning"}),
    "codellama": ("7b", {"7b": "codellama-7b", "13b": "codellama-13b", "34b": "codellama-34b", "70b": None}),
    "codestral": ("22b", {"22b": "codestral-22b"}),
    "mistral-large": ("123b", {"123b": "mistral-large-2411"}),
    "mathstral": ("7b", {"7b": "mathstral-7b"}),
    "hermes3": (
        "8b",
        {
            "3b": "hermes-3-llama-3.2-3b",
            "8b": "hermes-3-llama-3.1-8b",
            "70b": "hermes-3-llama-3.1-70b",
            "405b": "hermes-3-llama-3.1-405b",
        },
    ),
    "nous-hermes2-mixtral": ("8x7b", {"8x7b": "nous-hermes-2-mixtral-8x7b"}),
    "nemotron": ("70b", {"70b": "llama-3.1-nemotron-70b"}),
    "olmo2": ("7b", {"7b": "olmo-2-7b", "13b": "olmo-2-13b"}),
    "deepseek-v2": ("16b", {"16b": "deepseek-v2-lite", "236b": "deepseek-v2"}),
    "deepseek-coder-v2": ("16b", {"16b": "deepseek-coder-v2-lite", "236b": "deepseek-coder-v2"}),
    "deepseek-llm": ("7b", {"7b": "deepseek-llm-7b", "67b": "deepseek-llm-67b"}),
    "solar": ("10.7b", {"10.7b": "solar-10.7b"}),
    "zephyr": ("7b", {"7b": "zephyr-7b-beta"}),
    "openchat": ("7b", {"7b": "openchat-3.5-0106"}),
    "wizardlm2": ("7b", {"7b": None, "8x22b": "wizardlm-2-8x22b"}),
    "llama-guard3": ("8b", {"1b": "llama-guard-3-1b", "8b": "llama-guard-3-8b"}),
    "llama3-groq-tool-use": ("8b", {"8b": "llama-3-groq-8b-tool-use", "70b": "llama-3-groq-70b-tool-use"}),
    "llama3-chatqa": ("8b", {"8b": "llama3-chatqa-1.5-8b", "70b": "llama3-chatqa-1.5-70b"}),
    "granite3-dense": ("2b", {"2b": "granite-3.0-2b", "8b": "granite-3.0-8b"}),
    "granite3.1-dense": ("2b", {"2b": "granite-3.1-2b", "8b": "granite-3.1-8b"}),
    "granite3.2": ("8b", {"2b": "granite-3.2-2b", "8b": "granite-3.2-8b"}),
    "granite3.3": ("8b", {"2b": "granite-3.3-2b", "8b": "granite-3.3-8b"}),
    "gpt-oss-safeguard": ("20b", {"20b": "gpt-oss-safeguard-20b", "120b": "gpt-oss-safeguard-120b"}),
    "deepscaler": ("1.5b", {"1.5b": "deepscaler-1.5b"}),
    "cogito": (
        "8b",
        {
            "3b": "cogito-v1-preview-llama-3b",
            "8b": "cogito-v1-preview-llama-8b",
            "14b": "cogito-v1-preview-qwen-14b",
            "32b": "cogito-v1-preview-qwen-32b",
            "70b": "cogito-v1-preview-llama-70b",
        },
    ),
}
#: words a tag may carry between size and quantization that do not change the checkpoint's shape
_VARIANT_WORDS = ("instruct", "it", "text", "chat")
_QUANT_WORD = re.compile(r"^(?:i?q\d(?:_[a-z0-9]+)*|fp16|bf16|f16|fp32|f32|mxfp4)$", re.IGNORECASE)
_NAME_RE = re.compile(r"^(?:library/)?([a-z0-9][a-z0-9._-]*)(?::([A-Za-z0-9._-]+))?$")
#: a dated re-release tag Ollama lists under the same name, mapped to its own catalog entry
_DATED = {
    ("qwen3", "30b-a3b-instruct-2507"): "qwen3-30b-a3b-instruct-2507",
    ("qwen3", "235b-a22b-instruct-2507"): "qwen3-235b-a22b-instruct-2507",
}


@dataclass(frozen=True)
class OllamaName:
    """An Ollama library name resolved to a catalog id (``file_type`` None: the default)."""

    name: str
    tag: str
    catalog_id: str
    file_type: str | None


def is_library_name(ref: str) -> bool:
    """True when ``ref`` is ``NAME[:TAG]`` for a NAME in :data:`LIBRARY`."""
    m = _NAME_RE.match(ref.strip())
    return m is not None and m.group(1) in LIBRARY


def _split_tag(tag: str, sizes: dict[str, str | None]) -> tuple[str, list[str]] | None:
    """(size key, remaining words) for ``tag``: the longest size key that ends at a '-' boundary."""
    low = tag.lower()
    for size in sorted(sizes, key=len, reverse=True):
        if low == size or low.startswith(size + "-"):
            rest = low[len(size) :].strip("-")
            return size, [w for w in rest.split("-") if w]
    return None


def _repo_words(catalog_id: str) -> set[str]:
    """Lowercase '-'-separated words of the catalog checkpoint's HF repo name (``v0.3``, ``2507``)."""
    repo = get_model(catalog_id).hf_repo or ""
    return {w for w in repo.rsplit("/", 1)[-1].lower().split("-") if w}


def _file_type(words: list[str], ref: str, catalog_id: str) -> str | None:
    """The quantization a tag's words name (None: the default); UnknownNameError on words that
    may name another checkpoint (a version or date the catalog checkpoint's repo name lacks)."""
    ft: str | None = None
    qat = False
    same = _repo_words(catalog_id)
    for i, w in enumerate(words):
        if w in _VARIANT_WORDS or (ft is None and w in same):
            continue
        if w == "qat":
            qat = True
        elif _QUANT_WORD.match(w) or (i + 1 < len(words) and _QUANT_WORD.match(f"{w}_{words[i + 1]}")):
            ft = w
        elif ft is not None and re.fullmatch(r"[a-z0-9]{1,2}", w):
            continue  # the K_M of q4-K-M written with '-'
        else:
            raise UnknownNameError(
                "model",
                ref,
                [],
                hint=(
                    f"The Ollama tag word {w!r} is not one rigfit maps to a catalog checkpoint; "
                    "give the catalog id instead ('rigfit models')."
                ),
            )
    if ft is not None:
        return {"fp16": "F16", "fp32": "F32"}.get(ft, ft.upper())
    return "Q4_0" if qat else None


def resolve_ollama_library(ref: str) -> OllamaName | None:
    """The catalog model an Ollama library name means, or None when NAME is not in :data:`LIBRARY`.

    Raises UnknownNameError (one line) for a size the library has but the catalog lacks, an
    unknown size, or tag words that could change the checkpoint (e.g. a dated re-release).
    """
    m = _NAME_RE.match(ref.strip())
    if m is None or m.group(1) not in LIBRARY:
        return None
    name, tag = m.group(1), m.group(2) or "latest"
    latest, sizes = LIBRARY[name]
    sizes = {**sizes, **{t: cid for (n, t), cid in _DATED.items() if n == name}}
    split = _split_tag(latest if tag == "latest" else tag, sizes)
    if split is None:
        known = ", ".join(f"{name}:{s}" for s, cid in sizes.items() if cid)
        raise UnknownNameError("model", ref, [], hint=f"Ollama sizes rigfit knows: {known}.")
    size, words = split
    cid = sizes[size]
    if cid is None:
        known = ", ".join(f"{name}:{s}" for s, c in sizes.items() if c)
        what = f"{name}:{size}" + (f" ('{name}' alone means {name}:{latest})" if tag == "latest" else "")
        raise UnknownNameError(
            "model",
            ref,
            [],
            hint=(
                f"{what} is not in rigfit's catalog; sizes it has: {known}. "
                "A GGUF file or hf:ORG/NAME of that checkpoint works too."
            ),
        )
    return OllamaName(name, tag, cid, _file_type(words, ref, cid))
