"""Qwen family: qwen2, qwen2moe, qwen3, qwen3moe, and the hybrid Gated-DeltaNet models
(qwen3next, qwen35, qwen35moe, qwen4exp) whose tensor table rigfit does not predict yet.

Sources: llama.cpp ``src/models/qwen2.cpp``, ``qwen3.cpp``, ``qwen3moe.cpp``, ``qwen3next.cpp``
(https://github.com/ggml-org/llama.cpp/tree/master/src/models).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rigfit.archs.common import dense_ffn, head, moe_ffn, qk_norm
from rigfit.archs.llama import llama_like
from rigfit.archs.registry import ArchFamily, ShapeList, register
from rigfit.catalog.arch import Architecture
from rigfit.errors import RigfitError


def _qwen2_70b(arch: Architecture) -> bool:
    """LLM_TYPE_70B for qwen2 (Qwen2/2.5 72B): 80 layers."""
    return arch.n_layer == 80


def _hf_qwen3next(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """convert_hf_to_gguf.py Qwen3NextModel: Gated-DeltaNet sizes as ``ssm.*`` keys."""
    put("ssm.conv_kernel", g("linear_conv_kernel_dim", default=4))
    put("ssm.inner_size", g("linear_num_value_heads", default=32) * g("linear_value_head_dim", default=128))
    put("ssm.state_size", g("linear_key_head_dim", default=128))
    put("ssm.time_step_rank", g("linear_num_value_heads", default=32))
    put("ssm.group_count", g("linear_num_key_heads", default=16))
    put("full_attention_interval", g("full_attention_interval", default=4))


register(
    ArchFamily(
        "qwen2",
        build_shapes=llama_like(bias=True),
        is_70b=_qwen2_70b,
        hf_model_types=("qwen2",),
        hf_sliding_window=False,
        hf_attn_bias_default=True,
    )
)
register(ArchFamily("qwen2moe", hf_model_types=("qwen2_moe",), hf_sliding_window=False))
register(
    ArchFamily(
        "qwen3",
        build_shapes=llama_like(qk_norms=True),
        hf_model_types=("qwen3",),
        hf_sliding_window=False,
        hf_qk_norm_default=True,
    )
)
register(
    ArchFamily(
        "qwen3moe",
        aliases=("qwen3_moe",),
        build_shapes=llama_like(qk_norms=True),
        hf_model_types=("qwen3_moe",),
        hf_sliding_window=False,
        hf_qk_norm_default=True,
    )
)


def _gdn_shapes(split: bool, moe: bool) -> Callable[[Architecture], ShapeList]:
    """Shape builder of the Gated-DeltaNet hybrids (models/qwen3next.cpp, qwen35.cpp,
    qwen35moe.cpp): gated attention every ``full_attention_interval``-th layer (Q projection
    2·q wide: query and gate; QK norms), linear-attention layers otherwise (fused ``ssm_in`` +
    ``ssm_ba`` in qwen3next; ``attn_qkv`` + ``attn_gate`` + ``ssm_beta`` + ``ssm_alpha`` in
    Qwen3.5), and a MoE FFN with a gated shared expert (qwen3next, qwen35moe) or a dense FFN."""

    def build(arch: Architecture) -> ShapeList:
        if arch.ssm is None:
            raise RigfitError(f"{arch.id}: {arch.arch} architecture without linear-attention sizes.")
        s = arch.ssm
        e, hd = arch.n_embd, arch.n_embd_head_k
        key_dim, value_dim, n_v = s.d_state * s.n_group, s.d_inner, s.n_head
        out: ShapeList = []
        head(out, arch)
        for il in range(arch.n_layer):
            p = f"blk.{il}."
            out += [(p + "attn_norm.weight", (e,)), (p + "post_attention_norm.weight", (e,))]
            if not arch.is_recurrent(il):
                hkv = arch.head_kv(il)
                out += [
                    (p + "attn_q.weight", (e, 2 * arch.n_head * hd)),
                    (p + "attn_k.weight", (e, hkv * hd)),
                    (p + "attn_v.weight", (e, hkv * arch.n_embd_head_v)),
                    (p + "attn_output.weight", (arch.n_head * arch.n_embd_head_v, e)),
                ]
                qk_norm(out, p, arch)
            else:
                if split:
                    out += [
                        (p + "attn_qkv.weight", (e, 2 * key_dim + value_dim)),
                        (p + "attn_gate.weight", (e, value_dim)),
                        (p + "ssm_beta.weight", (e, n_v)),
                        (p + "ssm_alpha.weight", (e, n_v)),
                    ]
                else:
                    out += [
                        (p + "ssm_in.weight", (e, 2 * key_dim + 2 * value_dim)),
                        (p + "ssm_ba.weight", (e, 2 * n_v)),
                    ]
                out += [
                    (p + "ssm_conv1d.weight", (s.d_conv, 2 * key_dim + value_dim)),
                    (p + "ssm_dt.bias", (n_v,)),
                    (p + "ssm_a", (n_v,)),
                    (p + "ssm_norm.weight", (s.d_state,)),
                    (p + "ssm_out.weight", (value_dim, e)),
                ]
            if moe and arch.moe is not None:
                moe_ffn(out, p, e, arch)
                out.append((p + "ffn_gate_inp_shexp.weight", (e,)))
            else:
                dense_ffn(out, p, e, arch.ff(il))
        return out

    return build


def _gdn_dims(arch: Architecture) -> tuple[int, int, int, int]:
    """(D = value_dim, G = n_k_heads·head_k_dim, H = n_v_heads, E = n_embd) of a Gated-DeltaNet
    layer (GGUF ``ssm.inner_size``, ``ssm.group_count``·``ssm.state_size``, ``ssm.time_step_rank``)."""
    s = arch.ssm
    assert s is not None
    return s.d_inner, s.n_group * s.d_state, s.n_head, arch.n_embd


def _qwen3next_gdn_stage(arch: Architecture) -> int:
    """f32 values per token live in a qwen3next Gated-DeltaNet layer [elements] (fused ``ssm_in``
    q/k/v/z projection): ``6·D + 5.5·G + 5·E + 16·H − 59``.

    Fitted on llama.cpp b11549 CPU reserves of 8 synthetic qwen3next GGUFs
    (tests/archs/qwen3next_synth.py: D 256–1024, G 128–512, E 256/512, H 4–16) at n_ubatch 512:
    within −0.0…+0.45 MiB (the constant is fitted).
    """
    d, g, h, e = _gdn_dims(arch)
    return 6 * d + 11 * g // 2 + 5 * e + 16 * h - 59


def _qwen35_gdn_stage(arch: Architecture) -> int:
    """f32 values per token live in a Qwen3.5 Gated-DeltaNet layer [elements] (split
    ``attn_qkv`` / ``attn_gate`` projections): ``2·D + 4·G + 6.75·E − 452``.

    Fitted like :func:`_qwen3next_gdn_stage` on 4 synthetic qwen35moe GGUFs where that stage is
    the peak (D 512/1024, G 256/512, E 256/512): within 0.03 MiB at n_ubatch 512; the n_embd
    coefficient and the constant rest on two n_embd values.
    """
    d, g, _, e = _gdn_dims(arch)
    return 2 * d + 4 * g + 27 * e // 4 - 452


def _gated_attention(arch: Architecture, stage: str, fa: bool, kv_rot: bool = False) -> int:
    """Gated attention (qwen3next, qwen35): the Q projection also yields a sigmoid gate of the
    query width q: ``q + 1.5·n_embd + 7·head_dim`` more values per token in the attention stage
    [elements]. Fitted on 8 synthetic qwen35moe/qwen3next GGUFs whose attention is the peak
    (q 256–2048, n_embd 256/512, head_dim 64, FA on): within ±200 values per token (±0.4 MiB at
    n_ubatch 512) where q ≥ 3·n_embd (released Qwen3-Next / Qwen3.5 models: q ≥ 2·n_embd);
    at q ≤ 2·n_embd llama.cpp needs only ~760 more, so this overestimates by up to 0.6·q. The
    head_dim term is a fitted constant (head_dim was not varied).
    """
    if stage != "attention" or not fa:  # FA off: the n_kv-wide KQ matrix hides it (measured)
        return 0
    return arch.n_head * arch.n_embd_head_k + 3 * arch.n_embd // 2 + 7 * arch.n_embd_head_k


# models/qwen3next.cpp: recurrent layers from the stored array or full_attention_interval
register(
    ArchFamily(
        "qwen3next",
        aliases=("qwen3_next",),
        build_shapes=_gdn_shapes(split=False, moe=True),
        recurrent="interval",
        recurrent_stage_per_token=_qwen3next_gdn_stage,
        stage_extra_per_token=_gated_attention,
        hf_model_types=("qwen3_next",),
        hf_metadata=_hf_qwen3next,
        hf_qk_norm_default=True,
    )
)
# models/qwen35.cpp, qwen35moe.cpp: the same layer pattern, split GDN projections
for _name in ("qwen35", "qwen35moe"):
    register(
        ArchFamily(
            _name,
            build_shapes=_gdn_shapes(split=True, moe=_name == "qwen35moe"),
            recurrent="interval",
            recurrent_stage_per_token=_qwen35_gdn_stage,
            stage_extra_per_token=_gated_attention,
        )
    )
register(ArchFamily("qwen4exp", recurrent="interval"))
