"""GLM-4.5 family: glm4moe (QKV bias, MoE with router bias, MTP layer kept in the GGUF).

Source: llama.cpp ``src/models/glm4-moe.cpp`` (https://github.com/ggml-org/llama.cpp/blob/master/src/models/glm4-moe.cpp).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rigfit.archs.common import (
    dense_ffn,
    extra,
    gqa_attn,
    has_exp_probs_b,
    head,
    moe_ffn,
    n_layer_all,
    nextn,
    qk_norm,
)
from rigfit.archs.registry import ArchFamily, ShapeList, register
from rigfit.catalog.arch import Architecture


def _glm4moe_shapes(arch: Architecture) -> ShapeList:
    out: ShapeList = []
    e, n_layer = arch.n_embd, arch.n_layer
    head(out, arch)
    for il in range(n_layer_all(arch)):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        bias = arch.attn_bias or bool(extra(arch, "qkv_bias", default=True))  # GLM-4.5: bias
        gqa_attn(out, p, arch, min(il, n_layer - 1), bias=bias)
        if arch.qk_norm:
            qk_norm(out, p, arch)
        out.append((p + "post_attention_norm.weight", (e,)))
        if arch.is_moe_layer(il):
            moe_ffn(out, p, e, arch, probs_b=has_exp_probs_b(arch))
        else:
            dense_ffn(out, p, e, arch.ff(min(il, n_layer - 1)))
        if il >= n_layer:  # MTP block (converter keeps it; llama.cpp loads it for speculative decoding)
            nextn(out, p, arch)
    return out


def _always(arch: Architecture) -> bool:
    return True


def _hf_glm4moe(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """convert_hf_to_gguf.py Glm4MoeModel: the MTP layers are written as extra blocks."""
    n = g("num_nextn_predict_layers")
    if n:
        put("nextn_predict_layers", n)
        put("block_count", g("num_hidden_layers", "n_layer", "num_layers") + n)


register(
    ArchFamily(
        "glm4moe",
        aliases=("glm4_moe",),
        build_shapes=_glm4moe_shapes,
        exp_probs_b_default=_always,
        nextn_kept_default=_always,
        nextn_min_layers=1,
        hf_model_types=("glm4_moe",),
        hf_metadata=_hf_glm4moe,
    )
)
