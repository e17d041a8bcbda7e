"""Synthetic MoE GGUFs that real llama.cpp loads: gpt-oss (src/models/openai-moe.cpp: attention
sinks, biased routed experts stored in MXFP4 whatever the other weights are, SWA every other
layer) and glm4moe (glm4-moe.cpp: leading dense layers, routed experts with a score-correction
bias and shared experts, Q/K/V biases, post-attention norm as the FFN's pre-norm)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402


def write_gpt_oss(
    path: str | Path,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    head_dim: int = 64,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_ff_exp: int = 256,
    sliding_window: int = 128,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    b = _Builder(path, "gpt-oss", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff_exp)
    b.head_keys(n_head, n_head_kv, head_dim)
    b.a("rope.dimension_count", head_dim)
    b.a("rope.freq_base", 150000.0)
    b.a("attention.sliding_window", sliding_window)
    b.a("expert_count", n_expert)
    b.a("expert_used_count", n_expert_used)
    b.a("expert_feed_forward_length", n_ff_exp)
    b.embed_out(n_embd, n_vocab)
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.tensor(p + "post_attention_norm.weight", (n_embd,), "norm")
        b.attn(p, n_embd, n_head, n_head_kv, head_dim, bias=True)
        b.tensor(p + "attn_output.bias", (n_embd,), "f32")
        b.tensor(p + "attn_sinks.weight", (n_head,), "f32")
        b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
        b.tensor(p + "ffn_gate_inp.bias", (n_expert,), "f32")
        b.experts(p, n_embd, n_ff_exp, n_expert, "MXFP4")
        b.tensor(p + "ffn_gate_exps.bias", (n_ff_exp, n_expert), "f32")
        b.tensor(p + "ffn_up_exps.bias", (n_ff_exp, n_expert), "f32")
        b.tensor(p + "ffn_down_exps.bias", (n_embd, n_expert), "f32")
    return b.write(_FT.get(wtype))


def write_glm4moe(
    path: str | Path,
    n_layer: int = 4,
    n_dense_lead: int = 1,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    head_dim: int = 64,
    n_ff: int = 768,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_expert_shared: int = 1,
    n_ff_exp: int = 128,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    b = _Builder(path, "glm4moe", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.head_keys(n_head, n_head_kv, head_dim)
    b.a("rope.dimension_count", head_dim // 2)
    b.a("rope.freq_base", 1000000.0)
    b.a("expert_count", n_expert)
    b.a("expert_used_count", n_expert_used)
    b.a("expert_feed_forward_length", n_ff_exp)
    b.a("expert_shared_count", n_expert_shared)
    b.a("leading_dense_block_count", n_dense_lead)
    b.a("expert_weights_scale", 1.0)
    b.embed_out(n_embd, n_vocab)
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.attn(p, n_embd, n_head, n_head_kv, head_dim, bias=True)
        b.tensor(p + "post_attention_norm.weight", (n_embd,), "norm")
        if i < n_dense_lead:
            b.ffn(p, n_embd, n_ff)
            continue
        b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
        b.tensor(p + "exp_probs_b.bias", (n_expert,), "f32")
        b.experts(p, n_embd, n_ff_exp, n_expert)
        sh = n_ff_exp * n_expert_shared
        b.ffn(p, n_embd, sh, "_shexp")
    return b.write(_FT.get(wtype))


def write_minimax_m2(
    path: str | Path,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    head_dim: int = 64,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_ff_exp: int = 128,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """minimax-m2 (src/models/minimax-m2.cpp): GQA with whole-projection Q/K norms, every layer
    routed experts with a score-correction bias, no shared expert."""
    b = _Builder(path, "minimax-m2", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff_exp)  # convert writes intermediate_size (the expert width) here
    b.a("attention.head_count", n_head)
    b.a("attention.head_count_kv", n_head_kv)
    b.a("attention.key_length", head_dim)
    b.a("attention.value_length", head_dim)
    b.a("rope.dimension_count", head_dim // 2)
    b.a("rope.freq_base", 5000000.0)
    b.a("expert_count", n_expert)
    b.a("expert_used_count", n_expert_used)
    b.a("expert_feed_forward_length", n_ff_exp)
    b.a("expert_gating_func", 2)  # sigmoid
    b.tensor("token_embd.weight", (n_embd, n_vocab))
    b.tensor("output_norm.weight", (n_embd,), "norm")
    b.tensor("output.weight", (n_embd, n_vocab))
    q, kv = n_head * head_dim, n_head_kv * head_dim
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.tensor(p + "attn_q.weight", (n_embd, q))
        b.tensor(p + "attn_k.weight", (n_embd, kv))
        b.tensor(p + "attn_v.weight", (n_embd, kv))
        b.tensor(p + "attn_output.weight", (q, n_embd))
        b.tensor(p + "attn_q_norm.weight", (q,), "norm")
        b.tensor(p + "attn_k_norm.weight", (kv,), "norm")
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
        b.tensor(p + "exp_probs_b.bias", (n_expert,), "f32")
        b.experts(p, n_embd, n_ff_exp, n_expert, wtype)
    return b.write(_FT.get(wtype))
