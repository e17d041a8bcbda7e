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
    b.a("attention.head_count", n_head)
    b.a("attention.head_count_kv", n_head_kv)
    b.a("attention.key_length", head_dim)
    b.a("attention.value_length", head_dim)
    b.a("rope.dimension_count", head_dim)
    b.a("rope.freq_base", 10000.0)
    b.a("vocab_size", n_vocab)
    b.a("ssm.conv_kernel", d_conv)
    b.a("ssm.inner_size", d_inner)
    b.a("ssm.state_size", d_state)
    b.a("ssm.time_step_rank", dt_rank)
    b.a("ssm.group_count", n_group)
    b.tensor("token_embd.weight", (n_embd, n_vocab))
    b.tensor("output_norm.weight", (n_embd,), "norm")
    b.tensor("output.weight", (n_embd, n_vocab))
    conv_dim = d_inner + 2 * n_group * d_state
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.tensor(p + "attn_q.weight", (n_embd, n_head * head_dim))
        b.tensor(p + "attn_k.weight", (n_embd, n_head_kv * head_dim))
        b.tensor(p + "attn_v.weight", (n_embd, n_head_kv * head_dim))
        b.tensor(p + "attn_output.weight", (n_head * head_dim, n_embd))
        b.tensor(p + "ssm_in.weight", (n_embd, d_inner + conv_dim + dt_rank))
        b.tensor(p + "ssm_conv1d.weight", (d_conv, conv_dim), "f32")
        b.tensor(p + "ssm_conv1d.bias", (conv_dim,), "f32")
        b.tensor(p + "ssm_dt.bias", (dt_rank,), "f32")
        b.tensor(p + "ssm_a", (1, dt_rank), "f32", value=-1.0)
        b.tensor(p + "ssm_d", (1, dt_rank), "f32", value=1.0)
        b.tensor(p + "ssm_norm.weight", (d_inner // n_group, n_group), "norm")
        b.tensor(p + "ssm_out.weight", (d_inner, n_embd))
        b.tensor(p + "ffn_norm", (n_embd,), "norm")
        b.tensor(p + "ffn_gate.weight", (n_embd, n_ff))
        b.tensor(p + "ffn_up.weight", (n_embd, n_ff))
        b.tensor(p + "ffn_down.weight", (n_ff, n_embd))
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
