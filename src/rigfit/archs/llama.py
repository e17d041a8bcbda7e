"""Llama family: llama (Llama 1–3, Mistral, Mixtral), mistral3, llama4, and the MoE models that
reuse Llama's block layout (dots1, hunyuan-moe), and the dense families whose tensors are
Llama's (granite: scalar embedding/residual/logit scales only; smollm3: no RoPE on every 4th
layer, no tensor of its own).

Sources: llama.cpp ``src/models/llama.cpp``, ``llama4.cpp``, ``dots1.cpp``, ``hunyuan-moe.cpp``,
``granite.cpp``, ``smollm3.cpp``
(https://github.com/ggml-org/llama.cpp/tree/master/src/models) and ``src/llama-quant.cpp``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rigfit.archs.common import (
    dense_ffn,
    extra,
    gqa_attn,
    has_exp_probs_b,
    has_rope_freqs,
    head,
    moe_ffn,
    n_rot,
    qk_norm,
)
from rigfit.archs.registry import ArchFamily, ShapeList, SwaRule, register
from rigfit.catalog.arch import Architecture


def llama_like(
    *,
    tied: bool | None = None,
    rope_freqs: bool = False,
    bias: bool = False,
    qk_norms: bool = False,
    post_norms: bool = False,
) -> Callable[[Architecture], ShapeList]:
    """Shape builder of a Llama-layout model (pre-norm attention + gated FFN or MoE).

    tied: force tied embeddings (Gemma). rope_freqs: may carry ``rope_freqs.weight`` (Llama 3.1+).
    bias: Q/K/V biases by default (Qwen2). qk_norms: Q/K norms by default (Qwen3, Gemma 3).
    post_norms: post-attention and post-FFN norms (Gemma 2/3).
    """

    def build(arch: Architecture) -> ShapeList:
        out: ShapeList = []
        e = arch.n_embd
        head(out, arch, tied=tied)
        if rope_freqs and has_rope_freqs(arch):
            out.append(("rope_freqs.weight", (n_rot(arch) // 2,)))
        for il in range(arch.n_layer):
            p = f"blk.{il}."
            out.append((p + "attn_norm.weight", (e,)))
            gqa_attn(out, p, arch, il, bias=arch.attn_bias or bias)
            if arch.qk_norm or qk_norms:
                qk_norm(out, p, arch)
            out.append((p + "ffn_norm.weight", (e,)))
            if post_norms:
                out += [(p + "post_attention_norm.weight", (e,)), (p + "post_ffw_norm.weight", (e,))]
            if arch.is_moe_layer(il):
                moe_ffn(out, p, e, arch)
            else:
                dense_ffn(out, p, e, arch.ff(il))
        return out

    return build


def _llama4_moe_layer(arch: Architecture, il: int) -> bool:
    step = int(extra(arch, "interleave_moe_layer_step", "n_moe_layer_step", default=1) or 0)
    return arch.moe is not None and step > 0 and (il + 1) % step == 0


def moe_llama(
    *, rope_freqs: bool = False, qk_norms: bool = False, interleaved: bool = False
) -> Callable[[Architecture], ShapeList]:
    """Shape builder of Llama-4-style MoE models (llama4, dots1, hunyuan-moe).

    interleaved: only every ``interleave_moe_layer_step``-th layer is MoE (Llama 4).
    """

    def build(arch: Architecture) -> ShapeList:
        out: ShapeList = []
        e = arch.n_embd
        head(out, arch)
        if rope_freqs and has_rope_freqs(arch):
            out.append(("rope_freqs.weight", (n_rot(arch) // 2,)))
        for il in range(arch.n_layer):
            p = f"blk.{il}."
            out.append((p + "attn_norm.weight", (e,)))
            gqa_attn(out, p, arch, il, bias=arch.attn_bias)
            if arch.qk_norm or qk_norms:
                qk_norm(out, p, arch)
            out.append((p + "ffn_norm.weight", (e,)))
            moe_layer = _llama4_moe_layer(arch, il) if interleaved else arch.is_moe_layer(il)
            if moe_layer:
                moe_ffn(out, p, e, arch, probs_b=has_exp_probs_b(arch))
            else:
                dense_ffn(out, p, e, arch.ff(il))
        return out

    return build


def _llama_70b(arch: Architecture) -> bool:
    """LLM_TYPE_70B for llama: 80 layers, GQA, not an 8-expert MoE (llama-model.cpp)."""
    n_exp = arch.moe.n_expert if arch.moe else 0
    return arch.n_layer == 80 and n_exp != 8 and arch.n_head != arch.head_kv(0)


def _llama3_vocab(arch: Architecture) -> bool:
    """A dense llama-arch model with the Llama-3 vocabulary (128256) is Llama 3.1 or later."""
    return arch.n_vocab == 128256 and arch.moe is None


def _always(arch: Architecture) -> bool:
    return True


def _llama4_moe_stage(arch: Architecture) -> int:
    """f32 values per token live in a Llama 4 MoE layer [elements]: the shared expert runs after
    the routed ones (never live together): ``3·n_ff_exp·n_used + 4·n_embd + 512``.

    Fitted on llama.cpp b11549 CPU reserves of synthetic llama4 GGUFs with one routed expert per
    token (as Scout and Maverick): n_embd 256/512, n_ff_exp 256–1024, 16/32 experts, n_ubatch
    128–1024, within 0.12 MiB (tests/archs/test_llama4.py). The 512 is a fitted constant (no
    shape varied it). With 2 experts per token this overestimates by ~1 MiB at n_ubatch 512.
    """
    m = arch.moe
    assert m is not None
    return 3 * m.expert_ff * m.n_expert_used + 4 * arch.n_embd + 512


def _hf_llama4(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """convert_hf_to_gguf.py Llama4Model: ``interleave_moe_layer_step`` for MoE configs."""
    if g("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"):
        put("interleave_moe_layer_step", g("interleave_moe_layer_step", default=1))


_LLAMA_SHAPES = llama_like(rope_freqs=True)

register(
    ArchFamily(
        "llama",
        aliases=("mistral", "mixtral", "llama3"),
        build_shapes=_LLAMA_SHAPES,
        is_70b=_llama_70b,
        rope_freqs_default=_llama3_vocab,
        hf_model_types=("llama", "mistral", "mixtral"),
        hf_sliding_window=False,
        hf_expert_ff_is_intermediate=True,
    )
)
register(
    ArchFamily(
        "mistral3",
        tensor_arch="llama",
        build_shapes=_LLAMA_SHAPES,
        is_70b=_llama_70b,
        rope_freqs_default=_llama3_vocab,
        hf_model_types=("mistral3",),
        hf_outer_model_types=("mistral3",),
    )
)
register(
    ArchFamily(
        "llama4",
        build_shapes=moe_llama(rope_freqs=True, interleaved=True),
        rope_freqs_default=_always,
        # models/llama4.cpp: chunked attention of 8192 tokens, 3 chunked : 1 full
        swa=SwaRule(4, False, 8192, "unless_zero", forced_swa=True, swa_type="chunked"),
        implicit_shared_experts=1,  # models/llama4.cpp: ffn_*_shexp of width n_ff_exp on every MoE layer
        moe_stage_per_token=_llama4_moe_stage,
        hf_model_types=("llama4", "llama4_text"),
        hf_expert_ff_is_intermediate=True,
        hf_metadata=_hf_llama4,
    )
)
register(
    ArchFamily(
        "dots1", build_shapes=moe_llama(qk_norms=True), exp_probs_b_default=_always, hf_model_types=("dots1",)
    )
)
register(
    ArchFamily(
        "hunyuan-moe",
        aliases=("hunyuan_moe",),
        build_shapes=moe_llama(qk_norms=True),
        hf_model_types=("hunyuan_v1_moe",),
    )
)
# models/granite.cpp: Llama tensors (output optional: tied when absent, rope_freqs optional);
register(ArchFamily("granite", build_shapes=llama_like(rope_freqs=True), hf_model_types=("granite",)))
# models/smollm3.cpp: Llama tensors, output optional (tied when absent)
register(ArchFamily("smollm3", build_shapes=llama_like(), hf_model_types=("smollm3",)))


def _minimax_m2_shapes(arch: Architecture) -> ShapeList:
    """models/minimax-m2.cpp (llama-model.cpp LLM_ARCH_MINIMAX_M2): Llama-style GQA without biases,
    Q/K RMS norms over the whole projection (``attn_q_norm`` [n_head·head_dim], ``attn_k_norm``
    [n_head_kv·head_dim]) and on every layer routed experts with a score-correction bias, no shared
    expert, no dense layers."""
    out: ShapeList = []
    e, hd = arch.n_embd, arch.n_embd_head_k
    head(out, arch)
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        gqa_attn(out, p, arch, il, bias=False)
        out += [
            (p + "attn_q_norm.weight", (arch.n_head * hd,)),
            (p + "attn_k_norm.weight", (arch.head_kv(il) * hd,)),
            (p + "ffn_norm.weight", (e,)),
        ]
        moe_ffn(out, p, e, arch, shexp=False, probs_b=True)
    return out


def _hf_minimax_m2(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """convert_hf_to_gguf.py MiniMaxM2Model: ``intermediate_size`` is the expert width, written as
    both ``feed_forward_length`` (llama.cpp sizes the expert tensors from it) and
    ``expert_feed_forward_length``; ``rotary_dim`` of each head is rotated."""
    put("feed_forward_length", g("intermediate_size"))
    put("rope.dimension_count", g("rotary_dim"))


def _minimax_m2_stage_extra(arch: Architecture, stage: str, fa: bool, kv_rot: bool = False) -> int:
    """f32 values per token minimax-m2's attention stage differs from the common rule by, with
    flash attention on: llama.cpp holds ``2·q + 5·n_embd`` there (no K/V term), the common rule
    ``3·q + (k + v) + n_embd``. Fitted on llama.cpp b11549 CPU reserves of five synthetic
    minimax-m2 GGUFs (tests/archs/moe_synth.py ``write_minimax_m2``: n_embd 256/512, q 512/1024,
    K/V heads 2/4, expert width 128/256) at n_ubatch 128/512/1024: exact to 0.01 MiB where the
    attention stage is the peak. FA off: the KQ matrix sets the peak (measured: no change)."""
    if stage != "attention" or not fa:
        return 0
    q = arch.n_head * arch.n_embd_head_k
    kv = arch.head_kv(0) * (arch.n_embd_head_k + arch.n_embd_head_v)
    return 4 * arch.n_embd - q - kv


# MiniMax M2 / M2.1 / M2.5 (MiniMaxM2ForCausalLM)
register(
    ArchFamily(
        "minimax-m2",
        aliases=("minimax_m2",),
        build_shapes=_minimax_m2_shapes,
        stage_extra_per_token=_minimax_m2_stage_extra,
        exp_probs_b_default=_always,
        hf_model_types=("minimax_m2",),
        hf_expert_ff_is_intermediate=True,
        hf_qk_norm_default=True,
        hf_metadata=_hf_minimax_m2,
    )
)
