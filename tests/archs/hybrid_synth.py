"""Synthetic hybrid GGUFs that real llama.cpp loads: granitehybrid (Mamba-2 + attention layers,
each with a gated FFN: src/models/granite-hybrid.cpp), nemotron_h / nemotron_h_moe (separate
Mamba-2, attention and FFN/MoE layers: nemotron-h.cpp) and lfm2 (short-convolution + attention
layers with QK norms: lfm2.cpp). Layer kinds come from per-layer ``head_count_kv`` /
``feed_forward_length`` arrays, as the converters write them."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402


def write_granitehybrid(
    path: str | Path,
    layers: str = "MMAM",
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    n_ff: int = 512,
    d_state: int = 64,
    n_group: int = 1,
    moe: bool = False,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_ff_shexp: int = 256,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """layers: one letter per layer, M = Mamba-2, A = attention; d_inner = 2·n_embd (asserted by
    llama.cpp), 64-wide SSM heads. ``moe`` (Granite 4.0-H Tiny/Small): every FFN is routed
    experts of width ``n_ff`` plus a shared expert of ``n_ff_shexp``."""
    d_inner, hd = 2 * n_embd, n_embd // n_head
    dt_rank = d_inner // 64
    b = _Builder(path, "granitehybrid", wtype, seed)
    _common(b, len(layers), n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.a("attention.head_count", n_head)
    b.a("attention.head_count_kv", [n_head_kv if c == "A" else 0 for c in layers])
    b.a("rope.freq_base", 10000.0)
    b.ssm_keys(4, d_inner, d_state, dt_rank, n_group)
    if moe:
        b.a("expert_count", n_expert)
        b.a("expert_used_count", n_expert_used)
        b.a("expert_shared_feed_forward_length", n_ff_shexp)
    b.embed_out(n_embd, n_vocab)
    for i, c in enumerate(layers):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        if c == "M":
            b.ssm(p, n_embd, d_inner, d_state, dt_rank, n_group)
        else:
            b.attn(p, n_embd, n_head, n_head_kv, hd)
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        if moe:
            b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
            b.experts(p, n_embd, n_ff, n_expert)
            b.ffn(p, n_embd, n_ff_shexp, "_shexp")
            continue
        b.ffn(p, n_embd, n_ff)
    return b.write(_FT.get(wtype))


def write_nemotron_h(
    path: str | Path,
    layers: str = "MFAMFM",
    moe: bool = False,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    n_ff: int = 768,
    d_inner: int = 512,
    d_state: int = 64,
    n_group: int = 2,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_ff_exp: int = 256,
    n_ff_shexp: int = 512,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """layers: M = Mamba-2, A = attention, F = FFN (ReLU² up/down; routed + shared experts with
    ``moe``, arch ``nemotron_h_moe``)."""
    hd, dt_rank = n_embd // n_head, d_inner // 64
    arch = "nemotron_h_moe" if moe else "nemotron_h"
    b = _Builder(path, arch, wtype, seed)
    _common(b, len(layers), n_embd, n_ctx, n_vocab)
    b.a("attention.layer_norm_epsilon", 1e-5)
    b.a("feed_forward_length", [n_ff if c == "F" else 0 for c in layers])
    b.a("attention.head_count", n_head)
    b.a("attention.head_count_kv", [n_head_kv if c == "A" else 0 for c in layers])
    b.a("attention.key_length", hd)
    b.a("attention.value_length", hd)
    b.a("rope.freq_base", 10000.0)
    b.ssm_keys(4, d_inner, d_state, dt_rank, n_group)
    if moe:
        b.a("expert_count", n_expert)
        b.a("expert_used_count", n_expert_used)
        b.a("expert_feed_forward_length", n_ff_exp)
        b.a("expert_shared_feed_forward_length", n_ff_shexp)
        b.a("expert_shared_count", 1)
        b.a("expert_weights_scale", 1.0)
    b.embed_out(n_embd, n_vocab)
    for i, c in enumerate(layers):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        if c == "M":
            b.ssm(p, n_embd, d_inner, d_state, dt_rank, n_group)
        elif c == "A":
            b.attn(p, n_embd, n_head, n_head_kv, hd)
        elif moe:
            b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
            b.tensor(p + "exp_probs_b.bias", (n_expert,), "f32")
            b.tensor(p + "ffn_down_exps.weight", (n_ff_exp, n_embd, n_expert))
            b.tensor(p + "ffn_up_exps.weight", (n_embd, n_ff_exp, n_expert))
            b.tensor(p + "ffn_down_shexp.weight", (n_ff_shexp, n_embd))
            b.tensor(p + "ffn_up_shexp.weight", (n_embd, n_ff_shexp))
        else:
            b.tensor(p + "ffn_down.weight", (n_ff, n_embd))
            b.tensor(p + "ffn_up.weight", (n_embd, n_ff))
    return b.write(_FT.get(wtype))


def write_lfm2(
    path: str | Path,
    layers: str = "CCACCA",
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    n_ff: int = 768,
    l_cache: int = 3,
    sliding_window: int = 0,
    moe: bool = False,
    n_dense_lead: int = 2,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_ff_exp: int = 128,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """layers: C = short convolution, A = attention (QK norms). ``moe``: arch lfm2moe
    (src/models/lfm2moe.cpp), routed experts with a score bias from layer ``n_dense_lead`` on."""
    hd = n_embd // n_head
    b = _Builder(path, "lfm2moe" if moe else "lfm2", wtype, seed)
    _common(b, len(layers), n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.a("attention.head_count", n_head)
    b.a("attention.head_count_kv", [n_head_kv if c == "A" else 0 for c in layers])
    b.a("rope.freq_base", 1000000.0)
    b.a("shortconv.l_cache", l_cache)
    if sliding_window:
        b.a("attention.sliding_window", sliding_window)
    if moe:
        b.a("expert_count", n_expert)
        b.a("expert_used_count", n_expert_used)
        b.a("expert_feed_forward_length", n_ff_exp)
        b.a("leading_dense_block_count", n_dense_lead)
        b.a("expert_gating_func", 2)  # sigmoid
    b.embed_out(n_embd, n_vocab, norm="token_embd_norm.weight")
    for i, c in enumerate(layers):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        if c == "A":
            b.qk_norm(p, hd)
            b.attn(p, n_embd, n_head, n_head_kv, hd)
        else:
            b.tensor(p + "shortconv.conv.weight", (l_cache, n_embd), "f32")
            b.tensor(p + "shortconv.in_proj.weight", (n_embd, 3 * n_embd))
            b.tensor(p + "shortconv.out_proj.weight", (n_embd, n_embd))
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        if moe and i >= n_dense_lead:
            b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
            b.experts(p, n_embd, n_ff_exp, n_expert)
            b.tensor(p + "exp_probs_b.bias", (n_expert,), "f32")
            continue
        b.ffn(p, n_embd, n_ff)
    return b.write(_FT.get(wtype))
