"""Gemma family: gemma, gemma2, gemma3, gemma3n, gemma4, gemma-embedding.

Sources: llama.cpp ``src/models/gemma2.cpp``, ``gemma3.cpp``, ``gemma3n.cpp``,
``gemma-embedding.cpp``, ``gemma4.cpp`` (https://github.com/ggml-org/llama.cpp/tree/master/src/models).

Compute-graph terms (fitted on llama.cpp b11549 CPU reserves, tests/test_memory_llamacpp.py):
Gemma's post-attention norm keeps one more ``n_embd`` row per token alive with flash attention
off, and the output stage holds two ``n_embd`` rows per token (the scaled embedding input).
"""

from __future__ import annotations

from typing import TypedDict

from rigfit.archs.llama import llama_like
from rigfit.archs.registry import ArchFamily, SwaRule, register


class _GemmaTerms(TypedDict):
    """The :class:`ArchFamily` fields every Gemma family shares."""

    attn_extra_embd_fa_off: int
    output_embd_rows: int
    hf_tied_default: bool


#: compute-graph terms and the transformers default (Gemma configs tie embeddings)
_GEMMA: _GemmaTerms = {"attn_extra_embd_fa_off": 1, "output_embd_rows": 2, "hf_tied_default": True}

register(ArchFamily("gemma", hf_model_types=("gemma",), **_GEMMA))
register(
    ArchFamily(
        "gemma2",
        build_shapes=llama_like(tied=True, post_norms=True),
        swa=SwaRule(2, False, 4096, "always"),  # models/gemma2.cpp: n_swa = 4096 default, pattern 2
        hf_model_types=("gemma2",),
        **_GEMMA,
    )
)
register(
    ArchFamily(
        "gemma3",
        aliases=("gemma3_text",),
        build_shapes=llama_like(tied=True, qk_norms=True, post_norms=True),
        swa=SwaRule(6, False, 0, "if_key"),  # models/gemma3.cpp: pattern 6 if sliding_window > 0
        hf_model_types=("gemma3", "gemma3_text"),
        hf_qk_norm_default=True,
        **_GEMMA,
    )
)
register(ArchFamily("gemma3n", swa=SwaRule(5, False, 0, "always"), **_GEMMA))  # models/gemma3n.cpp
register(ArchFamily("gemma-embedding", swa=SwaRule(6, False, 0, "always"), **_GEMMA))
# models/gemma4.cpp: SWA layers only from the stored per-layer array
register(ArchFamily("gemma4", swa_mode="array_only", **_GEMMA))
register(ArchFamily("gemma4-assistant", **_GEMMA))
