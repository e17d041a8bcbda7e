"""Building blocks the family modules share: catalog ``extra`` look-ups and GGUF tensor groups.

Tensor names come from llama.cpp ``src/llama-arch.cpp`` and shapes from ``load_arch_tensors`` of
``src/models/<arch>.cpp`` (GGUF order: row length ``ne0`` first); see
:mod:`rigfit.estimate.tensors` for how the tables are checked against real files.
"""

from __future__ import annotations

from typing import Any

from rigfit.archs.registry import ShapeList, tensor_family
from rigfit.catalog.arch import Architecture

# ---------------------------------------------------------------------------------------------
# Architecture extras (catalog ``extra`` keys, with per-family defaults)
# ---------------------------------------------------------------------------------------------


def extra(arch: Architecture, *keys: str, default: Any = None) -> Any:
    """First of ``keys`` present (and not None) in the catalog ``extra`` of ``arch``."""
    ex = arch.extra or {}
    for k in keys:
        if k in ex and ex[k] is not None:
            return ex[k]
    return default


def rope_type(arch: Architecture) -> str | None:
    """RoPE scaling type from the catalog ``extra`` ("llama3", "longrope", "yarn" …); "none" when
    the record says there is no scaling, None when it does not say."""
    ex = arch.extra or {}
    rt = ex.get("rope_type")
    if rt is None and "rope_scaling" in ex:
        rs = ex["rope_scaling"]
        rt = (rs.get("rope_type") or rs.get("type") or "none") if isinstance(rs, dict) else "none"
    return str(rt).lower() if rt else None


def has_rope_freqs(arch: Architecture) -> bool:
    """Llama 3.1+ "llama3" RoPE scaling: the converter writes ``rope_freqs.weight`` [head_dim/2].

    Catalog ``extra``: ``rope_freqs`` (bool) or ``rope_type``/``rope_scaling``. Without either,
    the family decides (``ArchFamily.rope_freqs_default``: Llama 3.1+ vocabulary, Llama 4).
    """
    v = extra(arch, "rope_freqs")
    if v is not None:
        return bool(v)
    rt = rope_type(arch)
    if rt is not None:
        return rt == "llama3"
    return tensor_family(arch).rope_freqs_default(arch)


def has_longrope_factors(arch: Architecture) -> bool:
    """Phi-3 "longrope": ``rope_factors_long``/``rope_factors_short`` [n_rot/2] (F32)."""
    v = extra(arch, "rope_factors", "longrope")
    if v is not None:
        return bool(v)
    rt = rope_type(arch)
    if rt is not None:
        return rt in ("longrope", "su")
    return arch.n_ctx_train > 16384


def n_rot(arch: Architecture) -> int:
    """Rotary dimensions per head (``rope.dimension_count``)."""
    v = extra(arch, "n_rot", "rope_dim")
    if v is not None:
        return int(v)
    prf = extra(arch, "partial_rotary_factor", default=1.0)
    return int(arch.n_embd_head_k * float(prf))


def n_nextn_layers(arch: Architecture) -> int:
    """MTP layers the converter keeps as extra blocks ``blk.{n_layer}…`` (GGUF ``nextn_predict_layers``).

    Catalog ``extra``: ``n_nextn_layers`` and ``nextn_in_gguf``; otherwise the family decides
    (GLM-4.5 and GLM-4.7-Flash keep them; DeepSeek-V3/R1 skip them).
    """
    fam = tensor_family(arch)
    n = int(
        extra(
            arch,
            "n_nextn_layers",
            "n_nextn_layer",
            "nextn_predict_layers",
            "num_nextn_predict_layers",
            default=0,
        )
        or 0
    )
    keep = extra(arch, "nextn_in_gguf")
    if keep is None:
        keep = fam.nextn_kept_default(arch)
        n = max(n, fam.nextn_min_layers) if n == 0 else n
    return n if keep else 0


def has_exp_probs_b(arch: Architecture) -> bool:
    """Expert-score correction bias (DeepSeek-V3 ``e_score_correction_bias``, GLM-4.5)."""
    v = extra(arch, "exp_probs_b")
    if v is not None:
        return bool(v)
    return tensor_family(arch).exp_probs_b_default(arch)


def n_layer_all(arch: Architecture) -> int:
    """GGUF ``block_count``: decoder layers plus kept MTP layers (llama.cpp ``n_layer_all``)."""
    return arch.n_layer + n_nextn_layers(arch)


def kv_heads_for_gqa(arch: Architecture) -> int:
    """KV heads llama-quantize's GQA rules see (``n_head_kv`` of layer 0; 1 for MLA files)."""
    f = tensor_family(arch).kv_heads_for_gqa
    return f(arch) if f is not None else arch.head_kv(0)


# ---------------------------------------------------------------------------------------------
# Tensor groups
# ---------------------------------------------------------------------------------------------


def attn_qkv(
    out: ShapeList,
    p: str,
    e: int,
    q: int,
    k: int,
    v: int,
    *,
    bias: bool,
    o_in: int,
    fused: bool = False,
    o_bias: bool = False,
) -> None:
    """Q/K/V (or fused QKV) and output projections of one attention block."""
    if fused:
        out.append((p + "attn_qkv.weight", (e, q + k + v)))
        if bias:
            out.append((p + "attn_qkv.bias", (q + k + v,)))
    else:
        out += [(p + "attn_q.weight", (e, q)), (p + "attn_k.weight", (e, k)), (p + "attn_v.weight", (e, v))]
        if bias:
            out += [(p + "attn_q.bias", (q,)), (p + "attn_k.bias", (k,)), (p + "attn_v.bias", (v,))]
    out.append((p + "attn_output.weight", (o_in, e)))
    if o_bias:
        out.append((p + "attn_output.bias", (e,)))


def gqa_attn(
    out: ShapeList,
    p: str,
    arch: Architecture,
    il: int,
    *,
    bias: bool,
    fused: bool = False,
    o_bias: bool = False,
) -> None:
    """:func:`attn_qkv` with the head counts of layer ``il``."""
    e, hd_k, hd_v, h = arch.n_embd, arch.n_embd_head_k, arch.n_embd_head_v, arch.n_head
    hkv = arch.head_kv(il)
    attn_qkv(
        out, p, e, h * hd_k, hkv * hd_k, hkv * hd_v, bias=bias, o_in=h * hd_v, fused=fused, o_bias=o_bias
    )


def qk_norm(out: ShapeList, p: str, arch: Architecture) -> None:
    """Per-head Q and K RMS norms."""
    hd = arch.n_embd_head_k
    out += [(p + "attn_q_norm.weight", (hd,)), (p + "attn_k_norm.weight", (hd,))]


def dense_ffn(out: ShapeList, p: str, e: int, ff: int, *, bias: bool = False) -> None:
    """Gated (SwiGLU/GeGLU) FFN: gate, up, down."""
    out += [
        (p + "ffn_gate.weight", (e, ff)),
        (p + "ffn_up.weight", (e, ff)),
        (p + "ffn_down.weight", (ff, e)),
    ]
    if bias:
        out += [(p + "ffn_gate.bias", (ff,)), (p + "ffn_up.bias", (ff,)), (p + "ffn_down.bias", (e,))]


def moe_ffn(
    out: ShapeList,
    p: str,
    e: int,
    arch: Architecture,
    *,
    shexp: bool = True,
    probs_b: bool = False,
    biases: bool = False,
) -> None:
    """Router, 3-D routed-expert tensors [.., n_expert] and the shared expert(s)."""
    m = arch.moe
    assert m is not None
    ne, ff = m.n_expert, m.expert_ff
    out += [
        (p + "ffn_gate_inp.weight", (e, ne)),
        (p + "ffn_gate_exps.weight", (e, ff, ne)),
        (p + "ffn_up_exps.weight", (e, ff, ne)),
        (p + "ffn_down_exps.weight", (ff, e, ne)),
    ]
    if biases:
        out += [
            (p + "ffn_gate_inp.bias", (ne,)),
            (p + "ffn_gate_exps.bias", (ff, ne)),
            (p + "ffn_up_exps.bias", (ff, ne)),
            (p + "ffn_down_exps.bias", (e, ne)),
        ]
    if probs_b:
        out.append((p + "exp_probs_b.bias", (ne,)))
    sff = m.shared_ff_total
    if shexp and sff:
        out += [
            (p + "ffn_gate_shexp.weight", (e, sff)),
            (p + "ffn_up_shexp.weight", (e, sff)),
            (p + "ffn_down_shexp.weight", (sff, e)),
        ]


def head(out: ShapeList, arch: Architecture, *, tied: bool | None = None) -> None:
    """token_embd, output_norm and (untied) output."""
    e, v = arch.n_embd, arch.n_vocab
    out += [("token_embd.weight", (e, v)), ("output_norm.weight", (e,))]
    if not (arch.tied_embeddings if tied is None else tied):
        out.append(("output.weight", (e, v)))


def ssm_block(out: ShapeList, p: str, arch: Architecture, *, in_proj: int, conv_bias: bool = True) -> None:
    """Mamba-2 block: in_proj, conv1d, dt bias, A, D, group norm, out_proj."""
    s = arch.ssm
    assert s is not None
    nh = s.n_head or 1
    conv_dim = s.d_inner + 2 * s.n_group * s.d_state
    out += [(p + "ssm_in.weight", (arch.n_embd, in_proj)), (p + "ssm_conv1d.weight", (s.d_conv, conv_dim))]
    if conv_bias:
        out.append((p + "ssm_conv1d.bias", (conv_dim,)))
    out += [
        (p + "ssm_dt.bias", (nh,)),
        (p + "ssm_a", (1, nh)),
        (p + "ssm_d", (1, nh)),
        (p + "ssm_norm.weight", (s.d_inner // s.n_group, s.n_group)),
        (p + "ssm_out.weight", (s.d_inner, arch.n_embd)),
    ]


def mamba2_in_proj(arch: Architecture) -> int:
    """Rows of Mamba-2 ``ssm_in``: z, x, B, C and dt: 2·d_inner + 2·n_group·d_state + n_head."""
    s = arch.ssm
    assert s is not None
    return 2 * s.d_inner + 2 * s.n_group * s.d_state + (s.n_head or 1)


def nextn(out: ShapeList, p: str, arch: Architecture) -> None:
    """Extra tensors of an MTP block (``src/models/glm4-moe.cpp``, ``deepseek2.cpp``)."""
    e = arch.n_embd
    out += [
        (p + "nextn.eh_proj.weight", (2 * e, e)),
        (p + "nextn.enorm.weight", (e,)),
        (p + "nextn.hnorm.weight", (e,)),
        (p + "nextn.embed_tokens.weight", (e, arch.n_vocab)),
        (p + "nextn.shared_head_head.weight", (e, arch.n_vocab)),
        (p + "nextn.shared_head_norm.weight", (e,)),
    ]
