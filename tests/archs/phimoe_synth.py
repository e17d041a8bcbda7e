"""Synthetic phimoe GGUF (Phi-3.5-MoE layout) that real llama.cpp loads: src/models/phimoe.cpp
``load_arch_tensors`` (LayerNorms with biases, Q/K/V and output biases, routed experts whose
width is ``feed_forward_length``, output head with a bias)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402


def write_phimoe(
    path: str | Path,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    n_ff_exp: int = 384,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_vocab: int = 1000,
    n_ctx: int = 4096,
    longrope: bool = False,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """n_ctx ≤ 16384 and no LongRoPE factors by default (rigfit expects the factors above 16k)."""
    hd = n_embd // n_head
    q, kv = n_head * hd, n_head_kv * hd
    b = _Builder(path, "phimoe", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff_exp)
    b.a("expert_count", n_expert)
    b.a("expert_used_count", n_expert_used)
    b.a("attention.head_count", n_head)
    b.a("attention.head_count_kv", n_head_kv)
    b.a("rope.dimension_count", hd)
    b.a("rope.freq_base", 10000.0)
    b.tensor("token_embd.weight", (n_embd, n_vocab))
    b.tensor("output_norm.weight", (n_embd,), "norm")
    b.tensor("output_norm.bias", (n_embd,), "f32")
    b.tensor("output.weight", (n_embd, n_vocab))
    b.tensor("output.bias", (n_vocab,), "f32")
    if longrope:
        b.tensor("rope_factors_long.weight", (hd // 2,), "norm")
        b.tensor("rope_factors_short.weight", (hd // 2,), "norm")
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.tensor(p + "attn_norm.bias", (n_embd,), "f32")
        b.tensor(p + "attn_q.weight", (n_embd, q))
        b.tensor(p + "attn_k.weight", (n_embd, kv))
        b.tensor(p + "attn_v.weight", (n_embd, kv))
        b.tensor(p + "attn_q.bias", (q,), "f32")
        b.tensor(p + "attn_k.bias", (kv,), "f32")
        b.tensor(p + "attn_v.bias", (kv,), "f32")
        b.tensor(p + "attn_output.weight", (q, n_embd))
        b.tensor(p + "attn_output.bias", (n_embd,), "f32")
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        b.tensor(p + "ffn_norm.bias", (n_embd,), "f32")
        b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
        b.experts(p, n_embd, n_ff_exp, n_expert)
    b.model.dims.update(n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv, n_ctx=n_ctx)
    return b.write(_FT.get(wtype))
