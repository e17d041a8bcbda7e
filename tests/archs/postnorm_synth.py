"""Synthetic olmo2, seed_oss and exaone4 GGUFs that real llama.cpp loads (src/models/olmo2.cpp,
seed-oss.cpp, exaone4.cpp ``load_arch_tensors``): output-side norms instead of (olmo2, exaone4)
or besides (seed_oss) the input norms."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402

ARCHS = ("olmo2", "seed_oss", "exaone4")


def write_postnorm(
    path: str | Path,
    arch: str,
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    n_ff: int = 768,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    sliding_window: int = 0,
    bias: bool = False,
    tied: bool = False,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """Every tensor ``llama_model_<arch>`` creates; sliding_window > 0 stores the key (olmo2:
    OLMo 3 layout, 3 SWA layers : 1 full). bias: Q/K/V biases (seed_oss)."""
    assert arch in ARCHS, arch
    hd = n_embd // n_head
    q, kv = n_head * hd, n_head_kv * hd
    b = _Builder(path, arch, wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.a("attention.head_count", n_head)
    b.a("attention.head_count_kv", n_head_kv)
    b.a("rope.dimension_count", hd)
    b.a("rope.freq_base", 10000.0)
    if sliding_window:
        b.a("attention.sliding_window", sliding_window)
    b.tensor("token_embd.weight", (n_embd, n_vocab))
    b.tensor("output_norm.weight", (n_embd,), "norm")
    if not tied:
        b.tensor("output.weight", (n_embd, n_vocab))
    for i in range(n_layer):
        p = f"blk.{i}."
        if arch == "seed_oss":
            b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.attn(p, n_embd, n_head, n_head_kv, hd, bias=bias)
        if arch == "olmo2":
            b.tensor(p + "attn_q_norm.weight", (q,), "norm")
            b.tensor(p + "attn_k_norm.weight", (kv,), "norm")
        elif arch == "exaone4":
            b.qk_norm(p, hd)
        b.tensor(p + "post_attention_norm.weight", (n_embd,), "norm")
        b.ffn(p, n_embd, n_ff)
        if arch != "seed_oss":
            b.tensor(p + "post_ffw_norm.weight", (n_embd,), "norm")
    b.model.dims.update(n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv, n_ctx=n_ctx)
    return b.write(_FT.get(wtype))
