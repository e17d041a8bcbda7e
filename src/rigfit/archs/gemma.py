"""Gemma family: gemma (``src/models/gemma.cpp``), gemma2, gemma3, gemma3n, gemma4, gemma-embedding.

Sources: llama.cpp ``src/models/gemma2.cpp``, ``gemma3.cpp``, ``gemma3n.cpp``,
``gemma-embedding.cpp``, ``gemma4.cpp`` (https://github.com/ggml-org/llama.cpp/tree/master/src/models).

Compute-graph terms (fitted on llama.cpp b11549 CPU reserves, tests/test_memory_llamacpp.py):
Gemma's post-attention norm keeps one more ``n_embd`` row per token alive with flash attention
off, and the output stage holds two ``n_embd`` rows per token (the scaled embedding input).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from rigfit.archs.common import attn_qkv, dense_ffn, extra
from rigfit.archs.llama import llama_like
from rigfit.archs.registry import ArchFamily, ShapeList, SwaRule, register
from rigfit.catalog.arch import Architecture


class _GemmaTerms(TypedDict):
    """The :class:`ArchFamily` fields every Gemma family shares."""

    attn_extra_embd_fa_off: int
    output_embd_rows: int
    hf_tied_default: bool


#: compute-graph terms and the transformers default (Gemma configs tie embeddings)
_GEMMA: _GemmaTerms = {"attn_extra_embd_fa_off": 1, "output_embd_rows": 2, "hf_tied_default": True}

# models/gemma.cpp: Llama block layout, output head = token_embd (duplicated), no SWA, and no
# post-attention norm, so no extra n_embd row with FA off (tests/archs/test_sweep.py: 75.26 MiB
# measured, 75.77 with the gemma2/3 term)
register(
    ArchFamily(
        "gemma",
        build_shapes=llama_like(tied=True),
        hf_model_types=("gemma",),
        attn_extra_embd_fa_off=0,
        output_embd_rows=_GEMMA["output_embd_rows"],
        hf_tied_default=_GEMMA["hf_tied_default"],
    )
)
register(
    ArchFamily(
        "gemma2",
        build_shapes=llama_like(tied=True, post_norms=True),
        swa=SwaRule(2, False, 4096, "always"),  # models/gemma2.cpp: n_swa = 4096 default, pattern 2
        hf_model_types=("gemma2",),
        **_GEMMA,
    )
)
register(
    ArchFamily(
        "gemma3",
        aliases=("gemma3_text",),
        build_shapes=llama_like(tied=True, qk_norms=True, post_norms=True),
        swa=SwaRule(6, False, 0, "if_key"),  # models/gemma3.cpp: pattern 6 if sliding_window > 0
        hf_model_types=("gemma3", "gemma3_text"),
        hf_qk_norm_default=True,
        **_GEMMA,
    )
)
#: https://github.com/ggml-org/llama.cpp/blob/master/src/models/gemma3n.cpp: layers from 20 on
#: reuse the caches of earlier layers (hard-coded ``hparams.n_layer_kv_from_start = 20``), and
#: the per-layer-embedding width (``n_embd_altup = 256`` in
#: https://github.com/ggml-org/llama.cpp/blob/master/src/llama-hparams.h; GGUF
#: ``embedding_length_per_layer_input``)
GEMMA3N_KV_LAYERS = 20
GEMMA3N_PLE_WIDTH = 256


#: AltUp streams and LAuReL rank (``n_altup``, ``laurel_rank`` in
#: https://github.com/ggml-org/llama.cpp/blob/master/src/llama-hparams.h)
GEMMA3N_ALTUP, GEMMA3N_LAUREL_RANK = 4, 64


def _ple_head(out: ShapeList, arch: Architecture, a: int) -> None:
    """token_embd, the per-layer-embedding tensors (``a`` values per layer and token) and the
    output norm; the output head is tied (``TENSOR_DUPLICATED``)."""
    e, n = arch.n_embd, arch.n_layer
    out.append(("token_embd.weight", (e, arch.n_vocab)))
    if a:
        out += [
            ("per_layer_token_embd.weight", (a * n, arch.n_vocab)),
            ("per_layer_model_proj.weight", (e, a * n)),
            ("per_layer_proj_norm.weight", (a,)),
        ]
    out.append(("output_norm.weight", (e,)))


def _gemma_block(out: ShapeList, p: str, arch: Architecture, il: int, hd: int, a: int) -> None:
    """One Gemma 3n/4 block: attention with QK and post norms, gated FFN with post norm, and the
    per-layer-input gate/projection when ``a`` > 0."""
    e, hkv = arch.n_embd, arch.head_kv(il)
    out.append((p + "attn_norm.weight", (e,)))
    attn_qkv(out, p, e, arch.n_head * hd, hkv * hd, hkv * hd, bias=False, o_in=arch.n_head * hd)
    out += [
        (p + "attn_q_norm.weight", (hd,)),
        (p + "attn_k_norm.weight", (hd,)),
        (p + "post_attention_norm.weight", (e,)),
        (p + "ffn_norm.weight", (e,)),
        (p + "post_ffw_norm.weight", (e,)),
    ]
    dense_ffn(out, p, e, arch.ff(il))
    if a:
        out += [(p + "inp_gate.weight", (e, a)), (p + "proj.weight", (a, e)), (p + "post_norm.weight", (e,))]


def _gemma3n_shapes(arch: Architecture) -> ShapeList:
    """models/gemma3n.cpp: Gemma 3 blocks plus AltUp (4 streams), LAuReL (rank 64) and
    per-layer embeddings (256 values per layer)."""
    out: ShapeList = []
    e, n_alt = arch.n_embd, GEMMA3N_ALTUP
    a = int(extra(arch, "embedding_length_per_layer_input", default=GEMMA3N_PLE_WIDTH))
    _ple_head(out, arch, a)
    out += [("altup_proj.weight", (e, e, n_alt - 1)), ("altup_unembd_proj.weight", (e, e, n_alt - 1))]
    for il in range(arch.n_layer):
        p = f"blk.{il}."
        _gemma_block(out, p, arch, il, arch.n_embd_head_k, a)
        out += [
            (p + "altup_correct_coef.weight", (n_alt, n_alt)),
            (p + "altup_correct_scale.weight", (e,)),
            (p + "altup_predict_coef.weight", (n_alt, n_alt * n_alt)),
            (p + "altup_router.weight", (e, n_alt)),
            (p + "altup_router_norm.weight", (e,)),
            (p + "laurel_l.weight", (e, GEMMA3N_LAUREL_RANK)),
            (p + "laurel_r.weight", (GEMMA3N_LAUREL_RANK, e)),
            (p + "laurel_post_norm.weight", (e,)),
        ]
    return out


def gemma4_k_eq_v(arch: Architecture) -> bool:
    """Whether the global (full-attention) layers have no V projection (V = K).

    Hugging Face ``attention_k_eq_v`` (26B-A4B, 31B; transformers' Gemma4TextAttention drops
    ``v_proj`` on full-attention layers, and llama.cpp's gemma4.cpp then uses K as V). A GGUF
    stores no key for it; there the converter's ``head_count_kv`` array stands for it
    (convert_hf_to_gguf.py ``Gemma4Model`` writes the array only from
    ``num_global_key_value_heads``, which the released configs set exactly where
    ``attention_k_eq_v`` is true:
    https://github.com/ggml-org/llama.cpp/blob/master/convert_hf_to_gguf.py)."""
    flag = (arch.extra or {}).get("attention_k_eq_v")
    if flag is not None:
        return bool(flag)
    return isinstance(arch.n_head_kv, tuple) and len(set(arch.n_head_kv)) > 1


def _gemma4_shapes(arch: Architecture) -> ShapeList:
    """models/gemma4.cpp as the converter writes it: SWA layers with their own head size
    (``key_length_swa``), per-layer KV heads (``head_count_kv`` array), no ``attn_v`` on global
    layers with K = V (:func:`gemma4_k_eq_v`), no K/V projection or K norm on the layers that
    reuse earlier caches (``shared_kv_layers``), one ``rope_freqs`` for the global layers, a
    ``layer_output_scale`` per layer, optional per-layer embeddings and routed experts."""
    out: ShapeList = []
    a = int(extra(arch, "embedding_length_per_layer_input", default=0) or 0)
    hd_swa = int(extra(arch, "n_embd_head_k_swa", default=arch.n_embd_head_k))
    kv_from = _gemma4_kv_from_start(arch)
    k_eq_v = gemma4_k_eq_v(arch)
    _ple_head(out, arch, a)
    e = arch.n_embd
    rope_done = False
    for il in range(arch.n_layer):
        swa = arch.is_swa(il)
        hd = hd_swa if swa else arch.n_embd_head_k
        kv = arch.head_kv(il) * hd
        has_kv = kv_from is None or il < kv_from
        p = f"blk.{il}."
        out += [(p + "attn_norm.weight", (e,)), (p + "attn_q.weight", (e, arch.n_head * hd))]
        if has_kv:
            out.append((p + "attn_k.weight", (e, kv)))
            if swa or not k_eq_v:
                out.append((p + "attn_v.weight", (e, kv)))
        out += [(p + "attn_output.weight", (arch.n_head * hd, e)), (p + "attn_q_norm.weight", (hd,))]
        if has_kv:
            out.append((p + "attn_k_norm.weight", (hd,)))
        out += [
            (p + "post_attention_norm.weight", (e,)),
            (p + "ffn_norm.weight", (e,)),
            (p + "post_ffw_norm.weight", (e,)),
        ]
        dense_ffn(out, p, e, arch.ff(il))
        if a:
            out += [
                (p + "inp_gate.weight", (e, a)),
                (p + "proj.weight", (a, e)),
                (p + "post_norm.weight", (e,)),
            ]
        if arch.moe is not None:  # 26B-A4B: routed experts next to the dense FFN
            ne, ff = arch.moe.n_expert, arch.moe.expert_ff
            out += [
                (p + "ffn_gate_inp.weight", (e, ne)),
                (p + "ffn_gate_inp.scale", (e,)),
                (p + "pre_ffw_norm_2.weight", (e,)),
                (p + "post_ffw_norm_1.weight", (e,)),
                (p + "post_ffw_norm_2.weight", (e,)),
                (p + "ffn_gate_exps.weight", (e, ff, ne)),
                (p + "ffn_up_exps.weight", (e, ff, ne)),
                (p + "ffn_down_exps.weight", (ff, e, ne)),
            ]
        out.append((p + "layer_output_scale.weight", (1,)))
        if not swa and not rope_done:
            out.append(("rope_freqs.weight", (hd // 2,)))
            rope_done = True
    return out


def _gemma3n_kv_from_start(arch: Architecture) -> int:
    return GEMMA3N_KV_LAYERS


def _gemma3n_stage_extra(arch: Architecture, stage: str, fa: bool, kv_rot: bool = False) -> int:
    """f32 values per token gemma3n adds to each graph stage [elements] (A = per-layer-embedding
    width, L = n_layer, E = n_embd):

    * input (the per-layer inputs: get_rows, projection, norm, sum, before layer 0):
      ``4·A·L + 5·E``, + ``2·A`` with flash attention off;
    * attention: ``A·L + 7·E`` (the per-layer inputs and the four AltUp streams stay alive);
    * FFN: ``2·A·L``, with flash attention off ``2·A`` in place of the attention output.

    Fitted on llama.cpp b11549 CPU reserves of synthetic gemma3n GGUFs (tests/archs/
    gemma3n_synth.py: n_embd 256/512, 12–26 layers, n_ff 512–16384, n_ctx 512/4096, n_ubatch
    128–1024) to within 0.01 MiB where the stage is the peak.
    """
    a = int(extra(arch, "embedding_length_per_layer_input", default=GEMMA3N_PLE_WIDTH))
    n_layer, e = arch.n_layer, arch.n_embd
    if stage == "input":
        return 4 * a * n_layer + 5 * e + (0 if fa else 2 * a)
    if stage == "attention":
        return a * n_layer + 7 * e
    return 2 * a * n_layer + (0 if fa else 2 * a - arch.n_head * arch.n_embd_head_v)


def _gemma4_kv_from_start(arch: Architecture) -> int | None:
    """models/gemma4.cpp: ``n_layer_kv_from_start = n_layer_all − shared_kv_layers``."""
    shared = extra(arch, "attention_shared_kv_layers")
    n_all = arch.n_layer + int(extra(arch, "n_nextn_layers", default=0) or 0)  # GGUF block_count
    return None if not shared else n_all - int(shared)


register(
    ArchFamily(
        "gemma3n",
        build_shapes=_gemma3n_shapes,
        swa=SwaRule(5, False, 0, "always"),
        n_layer_kv_from_start=_gemma3n_kv_from_start,
        stage_extra_per_token=_gemma3n_stage_extra,
        gguf_extra_keys=("embedding_length_per_layer_input",),
        **_GEMMA,
    )
)
register(ArchFamily("gemma-embedding", swa=SwaRule(6, False, 0, "always"), **_GEMMA))


def _hf_gemma4(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """convert_hf_to_gguf.py ``Gemma4Model.set_gguf_parameters``
    (https://github.com/ggml-org/llama.cpp/blob/master/convert_hf_to_gguf.py): the global
    layers' head size (``global_head_dim``) as ``key_length``, the sliding layers' (``head_dim``)
    as ``key_length_swa``; the SWA pattern from ``layer_types``; ``num_kv_shared_layers``,
    ``hidden_size_per_layer_input``; a per-layer FFN array when ``use_double_wide_mlp`` (shared-KV
    layers twice as wide) and a per-layer KV-head array when ``num_global_key_value_heads`` is
    set; the router's ``top_k_experts``."""
    types = g("layer_types")
    n_layer = g("num_hidden_layers")
    if not isinstance(types, list) or len(types) != n_layer:
        return
    swa = tuple(t == "sliding_attention" for t in types)
    put("attention.sliding_window_pattern", swa)
    full, local = g("global_head_dim"), g("head_dim")
    if full:
        for k in ("attention.key_length", "attention.value_length", "rope.dimension_count"):
            put(k, full)
    if local:
        for k in ("attention.key_length_swa", "attention.value_length_swa", "rope.dimension_count_swa"):
            put(k, local)
    shared = int(g("num_kv_shared_layers", default=0) or 0)
    if shared:
        put("attention.shared_kv_layers", shared)
    put("embedding_length_per_layer_input", int(g("hidden_size_per_layer_input", default=0) or 0))
    ff = g("intermediate_size")
    if g("use_double_wide_mlp") and ff and shared:
        put("feed_forward_length", tuple(ff * (2 if il >= n_layer - shared else 1) for il in range(n_layer)))
    kv_full, kv_swa = g("num_global_key_value_heads"), g("num_key_value_heads")
    if kv_full is not None and kv_swa is not None:
        put("attention.head_count_kv", tuple(kv_swa if s else kv_full for s in swa))
    if m.get("gemma4.expert_count"):
        put("expert_used_count", g("top_k_experts", "num_experts_per_tok"))
    put("final_logit_softcapping", g("final_logit_softcapping"))


#: per-layer-input rows (A·L values per token) alive in the FFN stage: 2, as in gemma3n (measured
#: on a synthetic gemma4 GGUF with E2B's sizes, E 1536, A 256, 10 layers: the rule with 1 was
#: 5 MiB short at ubatch 512), but see :func:`gemma4_ffn_ple_rows`
FFN_PLE_ROWS = 2


def gemma4_ffn_ple_rows(arch: Architecture, kv_rot: bool = False) -> int:
    """Per-layer-input rows (A·L values per token) the FFN stage holds: :data:`FFN_PLE_ROWS`
    where the widest FFN is wider than the block ``A·L + 2·E`` (with a rotated, quantized KV
    cache ``A·L + 2·E − q``, q = n_head·head_dim), else 1.

    The input stage frees a block of about ``A·L + 2·E`` values per token (the per-layer
    projection and its E-wide neighbours); ggml-alloc places an FFN intermediate (n_ff wide) in
    it when it fits, and the second row is no longer a new block. Measured on llama.cpp b11549
    CPU reserves of synthetic gemma4 GGUFs (tests/archs/gemma3n_synth.py ``write_gemma4``, E 256,
    10 layers, A·L 320/640/1280, n_ff 256–3072, n_ctx 512, FA on): 2 rows from n_ff 1024 / 1280
    / 2048 on, 1 row from 512 / 768 / 768 up to 768 / 1024 / 1536 (the n_ff 256 points are
    the input stage's); E2B's sizes keep 2 (E 1536, A 256: A·L + 2·E = 5632 at 10 layers, 12032 at
    its 35, below its shared layers' n_ff of 12288). With a quantized KV cache the rotated Q
    (``kv_rot``: :func:`rigfit.estimate.memory.attn_rotation`) takes q of that block: q8_0 KV at
    n_ctx 4096 kept 2 rows at A·L 640, n_ff 1024, q 512 and 1 row at n_ff 512.
    E4B's sizes take 1 row (A·L 10752 + 2·E 5120 > n_ff 10240): a synthetic gemma4 with E 2560,
    n_ff 10240, 8 heads of 512 / 256, 2 KV heads and A·L 10752 (6 layers of A 1792, Q4_0) reserved
    112.03 MiB at n_ctx 4096 against 111.02 by this rule (132.02 with 2 rows).
    """
    a = int(extra(arch, "embedding_length_per_layer_input", default=0) or 0)
    widest = max(arch.ff(il) for il in range(arch.n_layer))
    block = a * arch.n_layer + 2 * arch.n_embd - (arch.n_head * arch.n_embd_head_k if kv_rot else 0)
    return FFN_PLE_ROWS if widest > block else 1


def gemma4_ffn_ple_values(arch: Architecture, kv_rot: bool = False) -> int:
    """Per-layer-input values per token the FFN stage adds [elements]: ``rows·A·L`` by
    :func:`gemma4_ffn_ple_rows`, except where the widest FFN comes after narrower layers (E2B's
    ``use_double_wide_mlp``: the shared-KV layers twice as wide as layer 0) and fits the block the
    input stage frees: there ``2·A·L − max(w, A·L)`` (w = the widest FFN), i.e. the block holds
    one n_ff-wide FFN intermediate of the wide layers, or one per-layer-input row, whichever is
    wider, and the stage is ``3·w + 5·E + 2·A·L − max(w, A·L)``.

    The graph: https://github.com/ggml-org/llama.cpp/blob/master/src/models/gemma4.cpp (the
    per-layer inputs are projected once before layer 0 and stay alive through every layer);
    the allocator that places later intermediates in freed blocks:
    https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-alloc.c. Measured on llama.cpp
    b11549 CPU reserves (xllamacpp 2026.10.11549) of synthetic double-wide gemma4 GGUFs
    (tests/archs/gemma3n_synth.py ``write_gemma4``: E 256, 10 layers, 5 shared, 4:1 SWA, n_ctx
    512, FA on): A·L 320 / 640 / 1280 with w 384–832 / 768–1152 / 1536–1792 took ``w`` out of the
    two rows, to 0.01 MiB (the ``rows·A·L`` rule was 0.25–1.0 MiB high at ubatch 512, 1.48 MiB at
    1024: sweep.FAMILIES["gemma4-e2b"], issue 12); w 512 at A·L 640 and w 768 at A·L 1280 kept
    one row (``max``). One point is 0.5 MiB low at ubatch 512 (A·L 320, w 512: 3200 values per
    token measured, 2944 predicted). Layers of one width keep :func:`gemma4_ffn_ple_rows`.
    """
    a = int(extra(arch, "embedding_length_per_layer_input", default=0) or 0)
    persistent = a * arch.n_layer
    rows = gemma4_ffn_ple_rows(arch, kv_rot)
    widest = max(arch.ff(il) for il in range(arch.n_layer))
    if rows == 1 and widest > arch.ff(0):
        return 2 * persistent - max(widest, persistent)
    return rows * persistent


def _global_before_sliding(arch: Architecture) -> bool:
    """Whether a global (full-attention) layer comes before another layer, where the FA-off
    attention stage of a gemma4 without per-layer embeddings holds 3 more rows of E than where
    the only global layer is the last one.

    Measured on llama.cpp b11549 CPU reserves of synthetic gemma4 GGUFs (write_gemma4: E 256, 4
    heads of 128 / 64, 2 KV heads, 5:1 SWA, n_ctx 512 and 4096, FA off; predicted − measured
    with the 3 rows left out): 6 layers (global last) −1 row of E, 7, 8 and 12 layers −3 rows
    (with 1 global layer before sliding ones), 18 layers −4; the 31B shape (8 heads, 4 / 1 KV
    heads, K = V, 12 layers: sweep.FAMILIES["gemma4-31b"]) and 8 heads at E 512 −3 rows.
    The deduction shrinks with width (global layer last, 2 KV heads, 1 global with K = V, n_ctx
    4096: 2 rows at E 512, 1 at E 1024) and is gone at the released widths (12B's: 224.52 MiB
    with and without a sliding layer after the global one; 26B-A4B's: 214.52 without one, the
    MoE row of :func:`_released_width_rows` aside), where the rule is 22.5 / 16.5 MiB low; every
    released Gemma 4 has global layers before sliding ones, so only synthetic shapes meet it.
    """
    return any(not arch.is_swa(il) for il in range(arch.n_layer - 1))


def _released_width_rows(arch: Architecture) -> int:
    """f32 values per token the FA-off attention stage of a gemma4 without per-layer embeddings
    holds beyond the generic ``3·q + (k + v) + 4·E`` [elements]: ``E − (k + v)`` where a global
    layer's K/V rows (k + v) are narrower than one row of E (the stage holds ``3·q + 5·E``), and
    one more row of E for routed experts where a global layer precedes other layers.

    The attention graph: https://github.com/ggml-org/llama.cpp/blob/master/src/models/gemma4.cpp
    (``build_attn`` without flash attention, KQ in f32); the measured peak is ggml-alloc's
    (https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-alloc.c). Measured on
    llama.cpp b11549 CPU reserves (xllamacpp 2026.10.11549) of synthetic gemma4 GGUFs at the
    released widths with 2–3 layers (sliding, global[, sliding]), Q4_0, n_ctx 4096 FA off:
    12B's (E 3840, 16 heads of 256 / 512, 8 / 1 KV heads, K = V,
    https://huggingface.co/google/gemma-4-12B-it/blob/main/config.json) 224.52 MiB for 1 and
    2 global KV heads and n_ff 8192–21504 (the rule without this term 5.5 / 3.5 MiB low); 31B's
    (E 5376, 32 heads, 16 / 4 KV heads,
    https://huggingface.co/google/gemma-4-31B-it/blob/main/config.json) 415.52 (2.5 MiB low);
    26B-A4B's (E 2816, 16 heads, 8 / 2 KV heads, 16 of its 128 experts,
    https://huggingface.co/google/gemma-4-26B-A4B-it/blob/main/config.json) 220.02 (7.0 MiB
    low; without the experts 214.52, 1.5 low; with the global layer last 214.52). At E 256 (the
    sweep's shapes, K/V rows ≥ E) the term is 0; at E 512–1024 with 128-wide heads and K/V rows
    of 256 the stage held only ``3·q + 4·E`` (this rule 1 MiB high at n_ubatch 512, not a
    released shape).
    """
    glb = [il for il in range(arch.n_layer) if not arch.is_swa(il)]
    if not glb:
        return 0
    kv = min(arch.head_kv(il) for il in glb) * (arch.n_embd_head_k + arch.n_embd_head_v)
    moe = arch.n_embd if arch.moe is not None and _global_before_sliding(arch) else 0
    return max(0, arch.n_embd - kv) + moe


# models/gemma4.cpp: SWA layers only from the stored per-layer array
def _gemma4_stage_extra(arch: Architecture, stage: str, fa: bool, kv_rot: bool = False) -> int:
    """f32 values per token gemma4 adds to each graph stage [elements], with A =
    ``embedding_length_per_layer_input`` (0: no per-layer embeddings), L = n_layer, E = n_embd:
    the per-layer inputs (A·L) stay alive through every layer, once or twice in the FFN stage
    (:func:`gemma4_ffn_ple_values`); the input stage that projects them holds ``3·A·L + 5·E``; with flash
    attention off the attention stage holds ``2·A·L − 3·E`` (without per-layer embeddings 3 rows
    of E fewer than the Gemma rule, none fewer where a global layer comes before other layers:
    :func:`_global_before_sliding`; at the released widths the K/V rows are narrower than E:
    :func:`_released_width_rows`); an MoE layer's FFN stage is in the branch below.

    Fitted on llama.cpp b11549 CPU reserves of synthetic gemma4 GGUFs (tests/archs/sweep.py:
    A 0/64/256, 6–12 layers at E 256, 16 settings each, and E2B's / 26B-A4B's own layer sizes,
    ``LARGE_FAMILIES``). Flash attention on: within 0.01 MiB at the released sizes. Flash
    attention off: 26B-A4B's sizes (7 layers, a global layer before a sliding one) within 0.01
    MiB at all 16 settings; E2B's sizes (10 layers) 2–4 MiB high (107.02 vs 103.02 MiB at n_ctx
    512, 115.02 vs 111.02 at 4096, 617.02 vs 615.02 at 32768: an open gap). There the FFN stage
    holds less of the attention output than the generic ``n_head·head_dim`` (E 1536, 10 layers,
    FFN 12288, n_ctx 4096: 2048 of 4096 values with 8 heads of 512 and 1 KV head, with or
    without per-layer inputs and shared KV; 1024 of 2048 with heads of 256; all 4096 with 2 KV
    heads and 2048 with 4 heads of 512 and 1 KV head), while 12B's widths hold all 8192.
    """
    a = int(extra(arch, "embedding_length_per_layer_input", default=0) or 0)
    persistent = a * arch.n_layer
    if stage == "input":
        return 3 * persistent + 5 * arch.n_embd if a else 0
    if stage == "attention" and not fa:
        if a:
            return 2 * persistent - 3 * arch.n_embd
        return _released_width_rows(arch) - (0 if _global_before_sliding(arch) else 3 * arch.n_embd)
    if stage == "ffn" and arch.moe is not None:
        # 26B-A4B: a dense FFN runs next to the routed experts. The peak is the dense FFN's
        # 3·n_ff + 5·E where it is the wider one (synthetic gemma4-moe), else the experts' stage
        # plus their n_expert_used down-projection outputs of E each (26B-A4B's attention and
        # expert sizes, 16 experts, E 2816: within 0.01 MiB of llama.cpp, where the generic MoE
        # rule alone was 44 MiB short at ubatch 512)
        m = arch.moe
        routed = m.expert_ff * m.n_expert_used + m.shared_ff_total
        return gemma4_ffn_ple_rows(arch, kv_rot) * persistent + max(
            3 * (arch.ff(0) - routed), m.n_expert_used * arch.n_embd
        )
    if stage == "ffn":
        return gemma4_ffn_ple_values(arch, kv_rot)
    return gemma4_ffn_ple_rows(arch, kv_rot) * persistent


register(
    ArchFamily(
        "gemma4",
        build_shapes=_gemma4_shapes,
        swa_mode="array_only",
        n_layer_kv_from_start=_gemma4_kv_from_start,
        stage_extra_per_token=_gemma4_stage_extra,
        # models/gemma4.cpp projects, norms and ropes Q before K and V: with FA on the peak is Q's three
        # rows plus the layer input (measured: the global layers' K/V width does not move the
        # reserve, 1 vs 4 KV heads, tests/archs/sweep.py gemma4-31b)
        attn_kv_rows_live=False,
        moe_dense_ffn=True,
        gguf_extra_keys=("attention.shared_kv_layers", "embedding_length_per_layer_input"),
        # Gemma 4 12B ("unified": no vision/audio tower) has the gemma4 language model; llama.cpp
        # converts it as gemma4 (conversion/gemma.py Gemma4UnifiedModel(Gemma4Model),
        # https://github.com/ggml-org/llama.cpp/tree/master/conversion)
        hf_model_types=("gemma4", "gemma4_text", "gemma4_unified", "gemma4_unified_text"),
        hf_metadata=_hf_gemma4,
        hf_qk_norm_default=True,
        **_GEMMA,
    )
)
register(ArchFamily("gemma4-assistant", **_GEMMA))
