"""Synthetic qwen3next GGUF that real llama.cpp loads (src/models/qwen3next.cpp): Gated-DeltaNet
(linear attention) layers with one gated full-attention layer every ``full_attention_interval``
layers, and a MoE FFN (routed experts + a gated shared expert) on every layer. Recurrent sizes:
head_k_dim = head_v_dim = ``ssm.state_size``, n_k_heads = ``ssm.group_count``, n_v_heads =
``ssm.time_step_rank``, value_dim = ``ssm.inner_size``.

``arch`` "qwen35" / "qwen35moe" (src/models/qwen35.cpp, qwen35moe.cpp, Qwen3.5): the linear
layers split the input projection into ``attn_qkv`` + ``attn_gate`` and ``ssm_beta`` +
``ssm_alpha``, the RoPE sections are required, and qwen35 has a dense FFN."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402


def write_qwen3next(
    path: str | Path,
    arch: str = "qwen3next",
    n_layer: int = 4,
    interval: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    head_dim: int = 64,
    head_k: int = 64,
    n_k_heads: int = 2,
    n_v_heads: int = 4,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_ff_exp: int = 128,
    n_ff_shexp: int = 256,
    n_ff: int = 768,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    key_dim, value_dim = head_k * n_k_heads, head_k * n_v_heads
    split, moe = arch != "qwen3next", arch != "qwen35"
    b = _Builder(path, arch, wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff_shexp if moe else n_ff)
    if split:
        b.a("rope.dimension_sections", [head_dim // 8, head_dim // 16 * 3 // 2, head_dim // 16 * 3 // 2, 0])
    b.head_keys(n_head, n_head_kv, head_dim)
    b.a("rope.dimension_count", head_dim // 4)
    b.a("rope.freq_base", 10000000.0)
    if moe:
        b.a("expert_count", n_expert)
        b.a("expert_used_count", n_expert_used)
        b.a("expert_feed_forward_length", n_ff_exp)
        b.a("expert_shared_feed_forward_length", n_ff_shexp)
    b.ssm_keys(4, value_dim, head_k, n_v_heads, n_k_heads)
    b.a("full_attention_interval", interval)
    b.embed_out(n_embd, n_vocab)
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.tensor(p + "post_attention_norm.weight", (n_embd,), "norm")
        if (i + 1) % interval == 0:
            b.tensor(p + "attn_q.weight", (n_embd, 2 * n_head * head_dim))
            b.tensor(p + "attn_k.weight", (n_embd, n_head_kv * head_dim))
            b.tensor(p + "attn_v.weight", (n_embd, n_head_kv * head_dim))
            b.tensor(p + "attn_output.weight", (n_head * head_dim, n_embd))
            b.qk_norm(p, head_dim)
        else:
            if split:
                b.tensor(p + "attn_qkv.weight", (n_embd, 2 * key_dim + value_dim))
                b.tensor(p + "attn_gate.weight", (n_embd, value_dim))
            else:
                b.tensor(p + "ssm_in.weight", (n_embd, 2 * key_dim + 2 * value_dim))
            b.tensor(p + "ssm_conv1d.weight", (4, 2 * key_dim + value_dim), "f32")
            b.tensor(p + "ssm_dt.bias", (n_v_heads,), "f32")
            b.tensor(p + "ssm_a", (n_v_heads,), "f32", value=-1.0)
            if split:
                b.tensor(p + "ssm_beta.weight", (n_embd, n_v_heads))
                b.tensor(p + "ssm_alpha.weight", (n_embd, n_v_heads))
            else:
                b.tensor(p + "ssm_ba.weight", (n_embd, 2 * n_v_heads))
            b.tensor(p + "ssm_norm.weight", (head_k,), "norm")
            b.tensor(p + "ssm_out.weight", (value_dim, n_embd))
        if not moe:
            b.ffn(p, n_embd, n_ff)
            continue
        b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
        b.experts(p, n_embd, n_ff_exp, n_expert)
        b.tensor(p + "ffn_gate_inp_shexp.weight", (n_embd,), "f32")
        b.ffn(p, n_embd, n_ff_shexp, "_shexp")
    return b.write(_FT.get(wtype))
