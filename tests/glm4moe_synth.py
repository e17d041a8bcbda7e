"""Synthetic glm4moe GGUF with an MTP (NextN) block that real llama.cpp loads (models/glm4-moe.cpp,
MTP since ggml-org/llama.cpp#26534): one dense lead layer, MoE layers with a shared expert and a
router bias, Q/K/V biases, partial RoPE, and ``nextn_predict_layers`` blocks after the trunk."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402


def write_glm4moe(
    path: str | Path,
    n_layer: int = 3,
    n_embd: int = 256,
    n_head: int = 4,
    n_head_kv: int = 2,
    head_dim: int = 64,
    n_ff: int = 512,
    n_expert: int = 8,
    n_used: int = 2,
    n_ff_exp: int = 128,
    n_vocab: int = 1000,
    n_ctx: int = 4096,
    nextn: int = 1,
    wtype: str = "F16",
) -> SynthModel:
    """``n_layer`` trunk layers (the first dense) plus ``nextn`` MTP blocks (MoE + NextN tensors)."""
    b = _Builder(path, "glm4moe", wtype, 0)
    n_all = n_layer + nextn
    _common(b, n_all, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.head_keys(n_head, n_head_kv, head_dim)
    b.a("rope.dimension_count", head_dim // 2)
    b.a("rope.freq_base", 1000000.0)
    b.a("expert_count", n_expert)
    b.a("expert_used_count", n_used)
    b.a("expert_shared_count", 1)
    b.a("expert_feed_forward_length", n_ff_exp)
    b.a("leading_dense_block_count", 1)
    b.a("expert_weights_scale", 1.0)
    b.w.add_bool("glm4moe.expert_weights_norm", True)
    b.a("expert_gating_func", 2)  # sigmoid
    b.a("nextn_predict_layers", nextn)
    b.embed_out(n_embd, n_vocab)
    q, kv = n_head * head_dim, n_head_kv * head_dim
    for i in range(n_all):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        for name, width in (("q", q), ("k", kv), ("v", kv)):
            b.tensor(p + f"attn_{name}.weight", (n_embd, width))
            b.tensor(p + f"attn_{name}.bias", (width,), "f32")
        b.tensor(p + "attn_output.weight", (q, n_embd))
        b.tensor(p + "post_attention_norm.weight", (n_embd,), "norm")
        if i == 0:
            b.ffn(p, n_embd, n_ff)
        else:
            b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
            b.tensor(p + "exp_probs_b.bias", (n_expert,), "f32")
            b.experts(p, n_embd, n_ff_exp, n_expert)
            b.ffn(p, n_embd, n_ff_exp, "_shexp")
        if i >= n_layer:
            b.tensor(p + "nextn.eh_proj.weight", (2 * n_embd, n_embd))
            b.tensor(p + "nextn.embed_tokens.weight", (n_embd, n_vocab))
            b.tensor(p + "nextn.enorm.weight", (n_embd,), "norm")
            b.tensor(p + "nextn.hnorm.weight", (n_embd,), "norm")
            b.tensor(p + "nextn.shared_head_head.weight", (n_embd, n_vocab))
            b.tensor(p + "nextn.shared_head_norm.weight", (n_embd,), "norm")
    b.model.dims.update(n_layer=n_layer, n_embd=n_embd, n_head=n_head, nextn=nextn)
    return b.write(_FT.get(wtype))
