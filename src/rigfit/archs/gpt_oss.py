"""gpt-oss (LLM_ARCH_OPENAI_MOE): attention sinks, biased MoE, MXFP4 experts, SWA every other layer.

The converter stores the experts in MXFP4 as shipped, so "F16"/"BF16" means the converter's file
(experts MXFP4) and llama-quantize keeps them unless ``--allow-requantize``.
Source: llama.cpp ``src/models/openai-moe.cpp`` (https://github.com/ggml-org/llama.cpp/blob/master/src/models/openai-moe.cpp).
"""

from __future__ import annotations

from rigfit.archs.common import gqa_attn, head, moe_ffn
from rigfit.archs.registry import ArchFamily, ShapeList, SwaRule, register
from rigfit.catalog.arch import Architecture


def _gpt_oss_shapes(arch: Architecture) -> ShapeList:
    out: ShapeList = []
    e = arch.n_embd
    head(out, arch, tied=False)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out += [(p + "attn_norm.weight", (e,)), (p + "post_attention_norm.weight", (e,))]
        gqa_attn(out, p, arch, il, bias=True, o_bias=True)
        out.append((p + "attn_sinks.weight", (arch.n_head,)))
        moe_ffn(out, p, e, arch, shexp=False, biases=True)
    return out


def _mxfp4_experts(name: str) -> str | None:
    """Converted from the MXFP4 checkpoint as stored: routed-expert weights are MXFP4."""
    return "MXFP4" if "_exps.weight" in name else None


register(
    ArchFamily(
        "gpt-oss",
        aliases=("gpt_oss", "gptoss", "openai-moe"),
        build_shapes=_gpt_oss_shapes,
        source_type=_mxfp4_experts,
        gguf_aliases=("openai-moe",),
        swa=SwaRule(2, False, 0, "always", required=True),  # n_swa from the key (128)
        hf_model_types=("gpt_oss",),
        hf_expert_ff_is_intermediate=True,
    )
)
