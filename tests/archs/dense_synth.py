"""Synthetic dense-transformer GGUFs that real llama.cpp loads, one writer for the families that
share the Llama block layout with small twists (src/models/qwen2.cpp, qwen3.cpp, gemma2.cpp,
phi3.cpp, granite.cpp, smollm3.cpp, gemma.cpp): Q/K/V biases (qwen2), per-head Q/K norms
(qwen3), post-attention/FFN norms and tied embeddings with a sliding window on every other
layer (gemma2), fused QKV and a fused gate+up ``ffn_up`` of width 2·n_ff (phi3), plain Llama
blocks with tied embeddings (granite with its scale keys, smollm3, gemma)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402

#: per family: (Q/K/V biases, Q/K norms, post norms, tied, fused QKV + fused up, sliding window)
STYLES: dict[str, tuple[bool, bool, bool, bool, bool, int]] = {
    "qwen2": (True, False, False, False, False, 0),
    "qwen3": (False, True, False, False, False, 0),
    "gemma2": (False, False, True, True, False, 512),
    "phi3": (False, False, False, False, True, 0),
    "granite": (False, False, False, True, False, 0),
    "smollm3": (False, False, False, True, False, 0),
    "gemma": (False, False, False, True, False, 0),
}
#: keys a family's loader requires (models/granite.cpp reads logit_scale without a default)
_KEYS: dict[str, dict[str, float]] = {
    "granite": {
        "logit_scale": 8.0,
        "residual_scale": 0.22,
        "embedding_scale": 12.0,
        "attention_scale": 0.015625,
    },
}


def write_dense(
    path: str | Path,
    arch: str,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    n_ff: int = 768,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    tied: bool | None = None,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    bias, qk_norm, post_norms, tied_default, fused, swa = STYLES[arch]
    tied = tied_default if tied is None else tied
    hd = n_embd // n_head
    b = _Builder(path, arch, wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.a("attention.head_count", n_head)
    b.a("attention.head_count_kv", n_head_kv)
    b.a("rope.dimension_count", hd)
    b.a("rope.freq_base", 10000.0)
    if swa:
        b.a("attention.sliding_window", swa)
    for key, value in _KEYS.get(arch, {}).items():
        b.a(key, value)
    b.tensor("token_embd.weight", (n_embd, n_vocab))
    b.tensor("output_norm.weight", (n_embd,), "norm")
    if not tied:
        b.tensor("output.weight", (n_embd, n_vocab))
    q, kv = n_head * hd, n_head_kv * hd
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        if fused:
            b.tensor(p + "attn_qkv.weight", (n_embd, q + 2 * kv))
        else:
            b.tensor(p + "attn_q.weight", (n_embd, q))
            b.tensor(p + "attn_k.weight", (n_embd, kv))
            b.tensor(p + "attn_v.weight", (n_embd, kv))
        if bias:
            b.tensor(p + "attn_q.bias", (q,), "f32")
            b.tensor(p + "attn_k.bias", (kv,), "f32")
            b.tensor(p + "attn_v.bias", (kv,), "f32")
        b.tensor(p + "attn_output.weight", (q, n_embd))
        if qk_norm:
            b.qk_norm(p, hd)
        if post_norms:
            b.tensor(p + "post_attention_norm.weight", (n_embd,), "norm")
            b.tensor(p + "post_ffw_norm.weight", (n_embd,), "norm")
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        if fused:
            b.tensor(p + "ffn_up.weight", (n_embd, 2 * n_ff))
        else:
            b.tensor(p + "ffn_gate.weight", (n_embd, n_ff))
            b.tensor(p + "ffn_up.weight", (n_embd, n_ff))
        b.tensor(p + "ffn_down.weight", (n_ff, n_embd))
    b.model.dims.update(n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv, n_ctx=n_ctx)
    # a general.name containing "phi3" makes llama.cpp's vocabulary ask for <|endoftext|>
    return b.write(_FT.get(wtype), name=f"synthetic dense {arch.replace('phi3', 'phi-iii')}")
