"""Phi family: phi3 (Phi-3/3.5/4, fused QKV, fused gate+up FFN) and phimoe.

Sources: llama.cpp ``src/models/phi3.cpp`` ("Phi SWA is currently disabled"), ``phimoe.cpp``
(https://github.com/ggml-org/llama.cpp/tree/master/src/models).
"""

from __future__ import annotations

from rigfit.archs.common import gqa_attn, has_longrope_factors, head, moe_ffn, n_rot
from rigfit.archs.registry import ArchFamily, ShapeList, register
from rigfit.catalog.arch import Architecture


def _phi3_shapes(arch: Architecture) -> ShapeList:
    out: ShapeList = []
    e = arch.n_embd
    head(out, arch)
    _longrope(out, arch)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        gqa_attn(out, p, arch, il, bias=arch.attn_bias, fused=True)
        ff = arch.ff(il)
        out += [
            (p + "ffn_norm.weight", (e,)),
            (p + "ffn_up.weight", (e, 2 * ff)),
            (p + "ffn_down.weight", (ff, e)),
        ]
    return out


register(ArchFamily("phi3", build_shapes=_phi3_shapes, swa_mode="disabled", hf_model_types=("phi3",)))


def _longrope(out: ShapeList, arch: Architecture) -> None:
    if has_longrope_factors(arch):
        out += [
            ("rope_factors_long.weight", (n_rot(arch) // 2,)),
            ("rope_factors_short.weight", (n_rot(arch) // 2,)),
        ]


def _phimoe_shapes(arch: Architecture) -> ShapeList:
    """models/phimoe.cpp: LayerNorms with biases, output head with a bias (all required),
    optional Q/K/V biases, attention output bias, routed experts only (no shared expert)."""
    out: ShapeList = []
    e = arch.n_embd
    head(out, arch, tied=False)
    out.insert(2, ("output_norm.bias", (e,)))
    out.append(("output.bias", (arch.n_vocab,)))
    _longrope(out, arch)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out += [(p + "attn_norm.weight", (e,)), (p + "attn_norm.bias", (e,))]
        gqa_attn(out, p, arch, il, bias=arch.attn_bias, o_bias=True)
        out += [(p + "ffn_norm.weight", (e,)), (p + "ffn_norm.bias", (e,))]
        moe_ffn(out, p, e, arch, shexp=False)
    return out


register(
    ArchFamily(
        "phimoe",
        build_shapes=_phimoe_shapes,
        hf_model_types=("phimoe",),
        hf_expert_ff_is_intermediate=True,
    )
)
