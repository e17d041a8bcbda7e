"""Synthetic llama4 GGUF that real llama.cpp loads (src/models/llama4.cpp): MoE every
``interleave_moe_layer_step``-th layer (routed experts + one shared expert of the expert width),
dense FFN on the others, chunked attention (3 chunked : 1 full)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402


def write_llama4(
    path: str | Path,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    head_dim: int = 64,
    n_ff: int = 1024,
    n_expert: int = 16,
    n_expert_used: int = 1,
    n_ff_exp: int = 256,
    step: int = 2,
    n_vocab: int = 1000,
    n_ctx: int = 16384,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    b = _Builder(path, "llama4", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.head_keys(n_head, n_head_kv, head_dim)
    b.a("rope.dimension_count", head_dim)
    b.a("rope.freq_base", 500000.0)
    b.a("expert_count", n_expert)
    b.a("expert_used_count", n_expert_used)
    b.a("expert_feed_forward_length", n_ff_exp)
    b.a("interleave_moe_layer_step", step)
    b.a("vocab_size", n_vocab)
    b.embed_out(n_embd, n_vocab)
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.attn(p, n_embd, n_head, n_head_kv, head_dim)
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        if (i + 1) % step == 0:
            b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
            b.experts(p, n_embd, n_ff_exp, n_expert)
            b.ffn(p, n_embd, n_ff_exp, "_shexp")
        else:
            b.ffn(p, n_embd, n_ff)
    b.model.dims.update(
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_ff=n_ff,
        n_expert=n_expert,
        n_ff_exp=n_ff_exp,
        step=step,
        n_ctx=n_ctx,
    )
    return b.write(_FT.get(wtype))
