"""Cohere family: cohere2 (Command R7B, Command A) and cohere2moe.

cohere2 (``src/models/cohere2.cpp`` ``load_arch_tensors``): LayerNorm without bias, a parallel
block (attention and gated FFN read the same normed input; no ffn_norm), no Q/K/V biases (the
converter drops the all-zero ones), and an output head that always re-uses ``token_embd``
(``TENSOR_DUPLICATED``), so the GGUF has no ``output.weight``. SWA: period 4 (3 sliding : 1
global) with the window from ``sliding_window``. llama-quant.cpp has no cohere2-specific rule.
Compute graph: the attention output stays alive while the FFN runs (it is added after it), one
more ``n_embd`` row per token (measured: +1.00 MiB at n_ubatch 512, n_embd 512, FA on).
Sources: https://github.com/ggml-org/llama.cpp/blob/master/src/models/cohere2.cpp,
https://github.com/ggml-org/llama.cpp/blob/master/conversion/command_r.py (Cohere2Model:
``rope.dimension_count`` = rotary_pct · head_dim).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rigfit.archs.common import dense_ffn, gqa_attn, head
from rigfit.archs.registry import ArchFamily, ShapeList, SwaRule, register
from rigfit.catalog.arch import Architecture


def _cohere2_shapes(arch: Architecture) -> ShapeList:
    out: ShapeList = []
    e = arch.n_embd
    head(out, arch, tied=True)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        gqa_attn(out, p, arch, il, bias=False)
        dense_ffn(out, p, e, arch.ff(il))
    return out


def _hf_cohere2(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """convert_hf_to_gguf.py Cohere2Model: rotary dims from ``rotary_pct``."""
    pct, n_embd, n_head = g("rotary_pct"), g("hidden_size"), g("num_attention_heads")
    if pct is not None and n_embd and n_head:
        put("rope.dimension_count", int(pct * (n_embd // n_head)))


register(
    ArchFamily(
        "cohere2",
        build_shapes=_cohere2_shapes,
        swa=SwaRule(4, False, 0, "always"),
        ffn_extra_embd=1,
        hf_model_types=("cohere2",),
        hf_metadata=_hf_cohere2,
        hf_tied_default=True,
    )
)
register(ArchFamily("cohere2moe", swa=SwaRule(4, True, 0, "always")))  # dense first
