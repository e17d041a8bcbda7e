"""Synthetic gemma3n GGUF that real llama.cpp loads (src/models/gemma3n.cpp): Gemma 3 attention
(QK norms, post norms, SWA 4:1) plus AltUp (``n_altup`` = 4 streams), LAuReL (rank 64) and
per-layer embeddings (``n_embd_altup`` = 256 values per layer and token); llama.cpp hard-codes
these three sizes and ``n_layer_kv_from_start = 20`` (layers from 20 on reuse earlier caches)."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from synth import _FT, SynthModel, _Builder, _common  # noqa: E402

N_ALTUP, LAUREL_RANK, N_EMBD_ALTUP = 4, 64, 256


def write_gemma3n(
    path: str | Path,
    n_layer: int = 22,
    n_embd: int = 256,
    n_head: int = 4,
    n_head_kv: int = 2,
    head_dim: int = 64,
    n_ff: int = 512,
    n_vocab: int = 512,
    n_ctx: int = 32768,
    sliding_window: int = 512,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    b = _Builder(path, "gemma3n", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    b.a("feed_forward_length", [n_ff] * n_layer)
    b.head_keys(n_head, n_head_kv, head_dim)
    b.a("attention.sliding_window", sliding_window)
    b.a("rope.freq_base", 1000000.0)
    b.a("embedding_length_per_layer_input", N_EMBD_ALTUP)
    b.tensor("token_embd.weight", (n_embd, n_vocab))
    b.tensor("altup_proj.weight", (n_embd, n_embd, N_ALTUP - 1))
    b.tensor("altup_unembd_proj.weight", (n_embd, n_embd, N_ALTUP - 1))
    b.tensor("per_layer_token_embd.weight", (N_EMBD_ALTUP * n_layer, n_vocab))
    b.tensor("per_layer_model_proj.weight", (n_embd, N_EMBD_ALTUP * n_layer))
    b.tensor("per_layer_proj_norm.weight", (N_EMBD_ALTUP,), "norm")
    b.tensor("output_norm.weight", (n_embd,), "norm")
    for i in range(n_layer):
        p = f"blk.{i}."
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.attn(p, n_embd, n_head, n_head_kv, head_dim)
        b.qk_norm(p, head_dim)
        b.tensor(p + "post_attention_norm.weight", (n_embd,), "norm")
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        b.ffn(p, n_embd, n_ff)
        b.tensor(p + "post_ffw_norm.weight", (n_embd,), "norm")
        b.tensor(p + "inp_gate.weight", (n_embd, N_EMBD_ALTUP))
        b.tensor(p + "proj.weight", (N_EMBD_ALTUP, n_embd))
        b.tensor(p + "post_norm.weight", (n_embd,), "norm")
        b.tensor(p + "altup_correct_coef.weight", (N_ALTUP, N_ALTUP), "f32")
        b.tensor(p + "altup_correct_scale.weight", (n_embd,), "norm")
        b.tensor(p + "altup_predict_coef.weight", (N_ALTUP, N_ALTUP * N_ALTUP), "f32")
        b.tensor(p + "altup_router.weight", (n_embd, N_ALTUP))
        b.tensor(p + "altup_router_norm.weight", (n_embd,), "norm")
        b.tensor(p + "laurel_l.weight", (n_embd, LAUREL_RANK))
        b.tensor(p + "laurel_r.weight", (LAUREL_RANK, n_embd))
        b.tensor(p + "laurel_post_norm.weight", (n_embd,), "norm")
    b.model.dims.update(n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv, n_ctx=n_ctx)
    return b.write(_FT.get(wtype))


def write_gemma4(
    path: str | Path,
    n_layer: int = 6,
    n_embd: int = 256,
    n_head: int = 4,
    n_head_kv: int = 2,
    head_dim: int = 128,
    head_dim_swa: int = 64,
    n_ff: int = 512,
    ple: int = 0,
    shared_kv_layers: int = 0,
    n_vocab: int = 1000,
    n_ctx: int = 32768,
    sliding_window: int = 512,
    moe: bool = False,
    n_expert: int = 8,
    n_expert_used: int = 2,
    n_ff_exp: int = 128,
    swa_period: int = 6,
    n_head_kv_global: int | None = None,
    k_eq_v: bool = False,
    double_wide_mlp: bool = False,
    wtype: str = "F16",
    seed: int = 0,
) -> SynthModel:
    """A gemma4 GGUF as llama.cpp's converter writes one (convert_hf_to_gguf.py ``Gemma4Model``,
    https://github.com/ggml-org/llama.cpp/blob/master/convert_hf_to_gguf.py) and
    src/models/gemma4.cpp loads it:

    * SWA layers from the stored bool pattern (``swa_period`` − 1 sliding : 1 global; E2B 4:1,
      the others 5:1) with their own head size (``key_length_swa``; ``key_length`` is the
      global layers' ``global_head_dim``), one ``rope_freqs`` for the global layers;
    * ``n_head_kv_global`` (``num_global_key_value_heads``, 26B-A4B / 31B): ``head_count_kv``
      becomes a per-layer array; ``k_eq_v`` (``attention_k_eq_v``): global layers have no V
      projection (V = K, ``attn_v`` absent);
    * the last ``shared_kv_layers`` layers (``num_kv_shared_layers``) reuse earlier caches and
      carry no K/V projection or K norm (Gemma4TextAttention creates none for them);
      ``double_wide_mlp`` (E2B): those layers' FFN is twice as wide (a per-layer
      ``feed_forward_length`` array);
    * optional per-layer embeddings (``ple`` values per layer), every layer's
      ``layer_output_scale`` (HF ``layer_scalar``), and with ``moe`` (26B-A4B) routed experts
      next to every layer's dense FFN."""
    b = _Builder(path, "gemma4", wtype, seed)
    _common(b, n_layer, n_embd, n_ctx, n_vocab)
    swa = [(i + 1) % swa_period != 0 for i in range(n_layer)]
    first_shared = n_layer - shared_kv_layers
    ffs = [n_ff * (2 if double_wide_mlp and i >= first_shared else 1) for i in range(n_layer)]
    hkvs = [n_head_kv if s or n_head_kv_global is None else n_head_kv_global for s in swa]
    b.a("feed_forward_length", ffs if double_wide_mlp else n_ff)
    b.head_keys(n_head, hkvs if n_head_kv_global is not None else n_head_kv, head_dim)
    b.a("attention.key_length_swa", head_dim_swa)
    b.a("attention.value_length_swa", head_dim_swa)
    b.a("rope.dimension_count", head_dim)
    b.a("rope.dimension_count_swa", head_dim_swa)
    b.a("attention.sliding_window", sliding_window)
    b.arr("gemma4.attention.sliding_window_pattern", swa)
    b.a("embedding_length_per_layer_input", ple)
    if shared_kv_layers:
        b.a("attention.shared_kv_layers", shared_kv_layers)
    if moe:
        b.a("expert_count", n_expert)
        b.a("expert_used_count", n_expert_used)
        b.a("expert_feed_forward_length", n_ff_exp)
    b.a("rope.freq_base", 1000000.0)
    b.tensor("token_embd.weight", (n_embd, n_vocab))
    if ple:
        b.tensor("per_layer_token_embd.weight", (ple * n_layer, n_vocab))
        b.tensor("per_layer_model_proj.weight", (n_embd, ple * n_layer))
        b.tensor("per_layer_proj_norm.weight", (ple,), "norm")
    b.tensor("output_norm.weight", (n_embd,), "norm")
    rope_done = False
    for i in range(n_layer):
        p = f"blk.{i}."
        hd = head_dim_swa if swa[i] else head_dim
        kv = hkvs[i] * hd
        b.tensor(p + "attn_norm.weight", (n_embd,), "norm")
        b.tensor(p + "attn_q.weight", (n_embd, n_head * hd))
        if i < first_shared:
            b.tensor(p + "attn_k.weight", (n_embd, kv))
            if swa[i] or not k_eq_v:
                b.tensor(p + "attn_v.weight", (n_embd, kv))
        b.tensor(p + "attn_output.weight", (n_head * hd, n_embd))
        b.tensor(p + "attn_q_norm.weight", (hd,), "norm")
        if i < first_shared:
            b.tensor(p + "attn_k_norm.weight", (hd,), "norm")
        b.tensor(p + "post_attention_norm.weight", (n_embd,), "norm")
        if not swa[i] and not rope_done:
            b.tensor("rope_freqs.weight", (hd // 2,), "norm")
            rope_done = True
        b.tensor(p + "ffn_norm.weight", (n_embd,), "norm")
        b.ffn(p, n_embd, ffs[i])
        b.tensor(p + "post_ffw_norm.weight", (n_embd,), "norm")
        if moe:
            b.tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), "f32")
            b.tensor(p + "ffn_gate_inp.scale", (n_embd,), "norm")
            b.tensor(p + "pre_ffw_norm_2.weight", (n_embd,), "norm")
            b.tensor(p + "post_ffw_norm_1.weight", (n_embd,), "norm")
            b.tensor(p + "post_ffw_norm_2.weight", (n_embd,), "norm")
            b.experts(p, n_embd, n_ff_exp, n_expert)
        if ple:
            b.tensor(p + "inp_gate.weight", (n_embd, ple))
            b.tensor(p + "proj.weight", (ple, n_embd))
            b.tensor(p + "post_norm.weight", (n_embd,), "norm")
        b.tensor(p + "layer_output_scale.weight", (1,), "norm")
    return b.write(_FT.get(wtype))
