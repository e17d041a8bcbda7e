"""Synthetic cohere2 GGUF (Command R7B layout) that real llama.cpp loads: models/cohere2.cpp."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402


def write_cohere2(
    path: str | Path,
    n_layer: int = 8,
    n_embd: int = 512,
    n_head: int = 8,
    n_head_kv: int = 2,
    n_ff: int = 1536,
    n_vocab: int = 1000,
    n_ctx: int = 8192,
    sliding_window: int = 512,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """Every key and tensor ``llama_model_cohere2`` requires: LayerNorm attn_norm (no bias), separate
    Q/K/V without biases, no ffn_norm (parallel block), no output.weight (token_embd duplicated)."""
    hd = n_embd // n_head
    b = _Builder(path, "cohere2", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.a("attention.head_count", n_head)
    b.a("attention.head_count_kv", n_head_kv)
    b.a("attention.layer_norm_epsilon", 1e-5)
    b.a("attention.sliding_window", sliding_window)
    b.a("logit_scale", 0.25)
    b.a("vocab_size", n_vocab)
    b.a("rope.dimension_count", hd)
    b.a("rope.freq_base", 50000.0)
    b.tensor("token_embd.weight", (n_embd, n_vocab))
    b.tensor("output_norm.weight", (n_embd,), "norm")
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.attn(p, n_embd, n_head, n_head_kv, hd)
        b.ffn(p, n_embd, n_ff)
    b.model.dims.update(
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_ff=n_ff,
        head_dim=hd,
        n_ctx=n_ctx,
        sliding_window=sliding_window,
    )
    return b.write(_FT.get(wtype))
