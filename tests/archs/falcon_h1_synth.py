"""Synthetic falcon-h1 GGUF that real llama.cpp loads (src/models/falcon-h1.cpp): every layer has
attention, a Mamba-2 mixer and a gated FFN."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402


def write_falcon_h1(
    path: str | Path,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    head_dim: int = 64,
    n_ff: int = 768,
    d_inner: int = 512,
    d_state: int = 64,
    d_conv: int = 4,
    n_group: int = 1,
    ssm_head_dim: int = 64,
    n_vocab: int = 1000,
    n_ctx: int = 8192,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """llama.cpp asks for ``blk.N.ffn_norm`` without the ``.weight`` suffix (models/falcon-h1.cpp
    ``tn(LLM_TENSOR_FFN_NORM, i)``); a file with the suffix fails to load."""
    dt_rank = d_inner // ssm_head_dim
    b = _Builder(path, "falcon-h1", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.head_keys(n_head, n_head_kv, head_dim)
    b.a("rope.dimension_count", head_dim)
    b.a("rope.freq_base", 10000.0)
    b.a("vocab_size", n_vocab)
    b.ssm_keys(d_conv, d_inner, d_state, dt_rank, n_group)
    b.embed_out(n_embd, n_vocab)
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.attn(p, n_embd, n_head, n_head_kv, head_dim)
        b.ssm(p, n_embd, d_inner, d_state, dt_rank, n_group, d_conv)
        b.tensor(p + "ffn_norm", (n_embd,), "norm")
        b.ffn(p, n_embd, n_ff)
    b.model.dims.update(
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        n_ff=n_ff,
        d_inner=d_inner,
        d_state=d_state,
        n_ctx=n_ctx,
    )
    return b.write(_FT.get(wtype))
