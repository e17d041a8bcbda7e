"""Gemma family: gemma, gemma2, gemma3, gemma3n, gemma4, gemma-embedding.

Sources: llama.cpp ``src/models/gemma2.cpp``, ``gemma3.cpp``, ``gemma3n.cpp``,
``gemma-embedding.cpp``, ``gemma4.cpp`` (https://github.com/ggml-org/llama.cpp/tree/master/src/models).

Compute-graph terms (fitted on llama.cpp b11549 CPU reserves, tests/test_memory_llamacpp.py):
Gemma's post-attention norm keeps one more ``n_embd`` row per token alive with flash attention
off, and the output stage holds two ``n_embd`` rows per token (the scaled embedding input).
"""

from __future__ import annotations

from typing import TypedDict

from rigfit.archs.common import extra
from rigfit.archs.llama import llama_like
from rigfit.archs.registry import ArchFamily, SwaRule, register
from rigfit.catalog.arch import Architecture


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
#: models/gemma3n.cpp: layers from 20 on reuse the caches of earlier layers (hard-coded
#: ``hparams.n_layer_kv_from_start = 20``), and the per-layer-embedding width (llama-hparams.h
#: ``n_embd_altup = 256``; GGUF ``embedding_length_per_layer_input``)
GEMMA3N_KV_LAYERS = 20
GEMMA3N_PLE_WIDTH = 256


def _gemma3n_kv_from_start(arch: Architecture) -> int:
    return GEMMA3N_KV_LAYERS


def _gemma3n_stage_extra(arch: Architecture, stage: str, fa: bool) -> int:
    """f32 values per token gemma3n adds to each graph stage [elements] (A = per-layer-embedding
    width, L = n_layer, E = n_embd):

    * input (the per-layer inputs: get_rows, projection, norm, sum, before layer 0):
      ``4·A·L + 5·E``, + ``2·A`` with flash attention off;
    * attention: ``A·L + 7·E`` (the per-layer inputs and the four AltUp streams stay alive);
    * FFN: ``2·A·L``, with flash attention off ``2·A`` in place of the attention output.

    Fitted on llama.cpp b11549 CPU reserves of synthetic gemma3n GGUFs (tests/archs/
    gemma3n_synth.py: n_embd 256/512, 12–26 layers, n_ff 512–16384, n_ctx 512/4096, n_ubatch
    128–1024) to within 0.01 MiB where the stage is the peak.
    """
    a = int(extra(arch, "embedding_length_per_layer_input", default=GEMMA3N_PLE_WIDTH))
    n_layer, e = arch.n_layer, arch.n_embd
    if stage == "input":
        return 4 * a * n_layer + 5 * e + (0 if fa else 2 * a)
    if stage == "attention":
        return a * n_layer + 7 * e
    return 2 * a * n_layer + (0 if fa else 2 * a - arch.n_head * arch.n_embd_head_v)


def _gemma4_kv_from_start(arch: Architecture) -> int | None:
    """models/gemma4.cpp: ``n_layer_kv_from_start = n_layer_all − shared_kv_layers``."""
    shared = extra(arch, "attention_shared_kv_layers")
    n_all = arch.n_layer + int(extra(arch, "n_nextn_layers", default=0) or 0)  # GGUF block_count
    return None if not shared else n_all - int(shared)


register(
    ArchFamily(
        "gemma3n",
        swa=SwaRule(5, False, 0, "always"),
        n_layer_kv_from_start=_gemma3n_kv_from_start,
        stage_extra_per_token=_gemma3n_stage_extra,
        gguf_extra_keys=("embedding_length_per_layer_input",),
        **_GEMMA,
    )
)
register(ArchFamily("gemma-embedding", swa=SwaRule(6, False, 0, "always"), **_GEMMA))


# models/gemma4.cpp: SWA layers only from the stored per-layer array
def _gemma4_stage_extra(arch: Architecture, stage: str, fa: bool) -> int:
    """f32 values per token gemma4 adds to each graph stage [elements], with A =
    ``embedding_length_per_layer_input`` (0: no per-layer embeddings), L = n_layer, E = n_embd:
    the per-layer inputs (A·L) stay alive through every layer; the input stage that projects
    them holds ``3·A·L + 5·E``; with flash attention off the attention stage holds
    ``2·A·L − 3·E`` (without per-layer embeddings 3 rows of E fewer than the Gemma rule).

    Fitted on llama.cpp b11549 CPU reserves of three synthetic gemma4 GGUFs
    (tests/archs/gemma3n_synth.py ``write_gemma4``: A 0/64/256, 6–8 layers, E 256 only, so the
    E terms are not separated from constants), 16 settings each.
    """
    a = int(extra(arch, "embedding_length_per_layer_input", default=0) or 0)
    persistent = a * arch.n_layer
    if stage == "input":
        return 3 * persistent + 5 * arch.n_embd if a else 0
    if stage == "attention" and not fa:
        return 2 * persistent - 3 * arch.n_embd
    return persistent


register(
    ArchFamily(
        "gemma4",
        swa_mode="array_only",
        n_layer_kv_from_start=_gemma4_kv_from_start,
        stage_extra_per_token=_gemma4_stage_extra,
        gguf_extra_keys=("attention.shared_kv_layers", "embedding_length_per_layer_input"),
        **_GEMMA,
    )
)
register(ArchFamily("gemma4-assistant", **_GEMMA))
