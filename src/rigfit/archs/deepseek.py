"""DeepSeek-2/3 family (multi-head latent attention): deepseek2 (DeepSeek V2/V3/R1, Kimi K2,
GLM-4.7-Flash).

MLA: the KV cache holds the compressed latent (kv_lora_rank + rope dims per token and layer);
the current converter writes ``attn_k_b`` [nope, kv_lora, n_head] and ``attn_v_b``
[kv_lora, v_head, n_head] (3-D) instead of the older fused ``attn_kv_b``.
Sources: llama.cpp ``src/models/deepseek2.cpp`` (https://github.com/ggml-org/llama.cpp/blob/master/src/models/deepseek2.cpp).
"""

from __future__ import annotations

from rigfit.archs.common import dense_ffn, extra, has_exp_probs_b, head, moe_ffn, n_layer_all, nextn
from rigfit.archs.registry import ArchFamily, ShapeList, register
from rigfit.catalog.arch import Architecture
from rigfit.errors import RigfitError


def _deepseek2_shapes(arch: Architecture) -> ShapeList:
    m = arch.mla
    if m is None:
        raise RigfitError(f"{arch.id}: deepseek2 architecture without MLA parameters.")
    out: ShapeList = []
    e, h, n_layer = arch.n_embd, arch.n_head, arch.n_layer
    head(out, arch)
    qk = m.qk_nope_head_dim + m.qk_rope_head_dim
    for il in range(n_layer_all(arch)):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        if m.q_lora_rank:
            out += [
                (p + "attn_q_a_norm.weight", (m.q_lora_rank,)),
                (p + "attn_q_a.weight", (e, m.q_lora_rank)),
                (p + "attn_q_b.weight", (m.q_lora_rank, h * qk)),
            ]
        else:
            out.append((p + "attn_q.weight", (e, h * qk)))
        out += [
            (p + "attn_kv_a_norm.weight", (m.kv_lora_rank,)),
            (p + "attn_kv_a_mqa.weight", (e, m.kv_lora_rank + m.qk_rope_head_dim)),
            (p + "attn_k_b.weight", (m.qk_nope_head_dim, m.kv_lora_rank, h)),
            (p + "attn_v_b.weight", (m.kv_lora_rank, m.v_head_dim, h)),
            (p + "attn_output.weight", (h * m.v_head_dim, e)),
            (p + "ffn_norm.weight", (e,)),
        ]
        if arch.is_moe_layer(il):
            moe_ffn(out, p, e, arch, probs_b=has_exp_probs_b(arch))
        else:
            dense_ffn(out, p, e, arch.ff(min(il, n_layer - 1)))
        if il >= n_layer:  # MTP block kept by the converter (GLM-4.7-Flash)
            nextn(out, p, arch)
    return out


def _v3_router_bias(arch: Architecture) -> bool:
    """V3/R1 (sigmoid routing, 256 experts) have ``exp_probs_b``; V2 has none."""
    return arch.moe is not None and arch.moe.n_expert >= 256


def _glm_lite_keeps_mtp(arch: Architecture) -> bool:
    """GLM-4.7-Flash (``Glm4MoeLite``, deepseek2 arch) keeps its MTP layer; DeepSeek-V3 skips it."""
    return str(extra(arch, "hf_architecture", default="")).startswith("Glm4MoeLite")


def _one_kv_head(arch: Architecture) -> int:
    """MLA files store n_head_kv = 1: llama-quantize's GQA ratio is n_head."""
    return 1


register(
    ArchFamily(
        "deepseek2",
        aliases=("deepseek_v3", "deepseek_v2", "deepseek3"),
        build_shapes=_deepseek2_shapes,
        kv_heads_for_gqa=_one_kv_head,
        exp_probs_b_default=_v3_router_bias,
        nextn_kept_default=_glm_lite_keeps_mtp,
        hf_model_types=("deepseek_v2", "deepseek_v3", "kimi_k2"),
        hf_head_dim=False,
    )
)
