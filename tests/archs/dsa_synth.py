"""Synthetic GGUFs of the DeepSeek sparse-attention (DSA) architectures that real llama.cpp loads:
deepseek32 (DeepSeek-V3.2, src/models/deepseek32.cpp) and glm-dsa (GLM-5, src/models/glm-dsa.cpp).

Both are the deepseek2 MLA + MoE layout (tests/synth.py ``write_deepseek2_mla``) plus, on every
layer, the lightning indexer: ``indexer.attn_q_b`` [q_lora, n_idx_head·idx_dim],
``indexer.attn_k`` [n_embd, idx_dim], ``indexer.k_norm`` weight and bias [idx_dim] and
``indexer.proj`` [n_embd, n_idx_head], with the keys ``attention.indexer.head_count``,
``.key_length`` and ``.top_k`` (https://github.com/ggml-org/llama.cpp/blob/master/src/models/glm-dsa.cpp).
The routed experts carry a score-correction bias (``exp_probs_b``), and ``n_nextn`` MTP blocks
can follow the decoder layers (``nextn_predict_layers``; llama.cpp skips their tensors).
"""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402


def write_dsa(
    path: str | Path,
    arch: str = "deepseek32",
    n_layer: int = 4,
    n_embd: int = 256,
    n_head: int = 8,
    q_lora_rank: int = 128,
    kv_lora_rank: int = 128,
    qk_nope: int = 32,
    qk_rope: int = 32,
    v_head: int = 32,
    n_idx_head: int = 4,
    idx_dim: int = 64,
    idx_top_k: int = 256,
    n_dense_lead: int = 1,
    n_ff: int = 512,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_expert_shared: int = 1,
    n_ff_exp: int = 128,
    n_nextn: int = 0,
    indexer_types: list[int] | None = None,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """DeepSeek-V3.2 (``arch`` "deepseek32") or GLM-5 ("glm-dsa") in the current GGUF layout:
    split ``attn_k_b``/``attn_v_b``, key_length = kv_lora + rope, value_length = kv_lora,
    head_count_kv = 1, key/value_length_mla = the decompressed head sizes. ``indexer_types``
    (GLM-5.2, ``attention.indexer.types``): 1 = a layer with its own indexer, 0 = a "shared" layer
    that reuses the previous full layer's top-k and has no indexer tensors."""
    b = _Builder(path, arch, wtype, seed)
    n_all = n_layer + n_nextn
    _common(b, n_all, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", n_ff)
    b.mla_keys(n_head, q_lora_rank, kv_lora_rank, qk_nope, qk_rope, v_head)
    b.a("attention.indexer.head_count", n_idx_head)
    b.a("attention.indexer.key_length", idx_dim)
    b.a("attention.indexer.top_k", idx_top_k)
    b.deepseek_moe_keys(qk_rope, n_dense_lead, n_expert, n_expert_used, n_expert_shared, n_ff_exp, 2.5)
    b.w.add_bool(f"{arch}.expert_weights_norm", True)
    b.a("expert_gating_func", 2)  # sigmoid
    if n_nextn:
        b.a("nextn_predict_layers", n_nextn)
    if indexer_types is not None:
        b.a("attention.indexer.types", list(indexer_types))
    b.embed_out(n_embd, n_vocab, tied=False)
    for i in range(n_all):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.mla_attn(p, n_embd, n_head, q_lora_rank, kv_lora_rank, qk_nope, qk_rope, v_head)
        if indexer_types is None or i >= n_layer or indexer_types[i]:
            b.tensor(p + "indexer.k_norm.weight", (idx_dim,), "norm")
            b.tensor(p + "indexer.k_norm.bias", (idx_dim,), "f32")
            b.tensor(p + "indexer.proj.weight", (n_embd, n_idx_head))
            b.tensor(p + "indexer.attn_k.weight", (n_embd, idx_dim))
            b.tensor(p + "indexer.attn_q_b.weight", (q_lora_rank, n_idx_head * idx_dim))
        dense = i < n_dense_lead
        b.deepseek_ffn(p, n_embd, dense, n_ff, n_expert, n_ff_exp, n_expert_shared, probs_bias=True)
        if i >= n_layer:  # MTP block (convert_hf_to_gguf keeps it)
            b.tensor(p + "nextn.eh_proj.weight", (2 * n_embd, n_embd))
            b.tensor(p + "nextn.enorm.weight", (n_embd,), "norm")
            b.tensor(p + "nextn.hnorm.weight", (n_embd,), "norm")
            b.tensor(p + "nextn.embed_tokens.weight", (n_embd, n_vocab))
            b.tensor(p + "nextn.shared_head_head.weight", (n_embd, n_vocab))
            b.tensor(p + "nextn.shared_head_norm.weight", (n_embd,), "norm")
    b.model.dims.update(n_layer=n_layer, n_nextn=n_nextn, n_idx_head=n_idx_head, idx_dim=idx_dim)
    return b.write(_FT.get(wtype))
