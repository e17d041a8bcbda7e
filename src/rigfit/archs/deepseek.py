"""DeepSeek-2/3 family (multi-head latent attention): deepseek2 (DeepSeek V2/V3/R1, Kimi K2,
GLM-4.7-Flash, Mistral Large 3), and the DeepSeek sparse-attention (DSA) architectures deepseek32
(DeepSeek-V3.2) and glm-dsa (GLM-5).

Mistral Large 3 (Mistral-format ``params.json``) converts to ``deepseek2``: convert_hf_to_gguf's
``MistralMoeModel(DeepseekV2Model)`` maps its MoE/MLA keys onto DeepSeek's
(https://github.com/ggml-org/llama.cpp/blob/master/conversion/mistral.py), so this family plans it.

MLA: the KV cache holds the compressed latent (kv_lora_rank + rope dims per token and layer);
the current converter writes ``attn_k_b`` [nope, kv_lora, n_head] and ``attn_v_b``
[kv_lora, v_head, n_head] (3-D) instead of the older fused ``attn_kv_b``.
Sources: llama.cpp ``src/models/deepseek2.cpp`` (https://github.com/ggml-org/llama.cpp/blob/master/src/models/deepseek2.cpp).

DSA (``src/models/deepseek32.cpp``, ``src/models/glm-dsa.cpp``,
https://github.com/ggml-org/llama.cpp/blob/master/src/models/glm-dsa.cpp): the deepseek2 layout
plus a lightning indexer on every layer (GLM-5.2: on the "full" layers of
``attention.indexer.types`` only), ``indexer.attn_q_b`` [q_lora, n_idx_head·idx_dim],
``indexer.attn_k`` [n_embd, idx_dim], ``indexer.k_norm`` weight and bias [idx_dim] and
``indexer.proj`` [n_embd, n_idx_head] (GGUF keys ``attention.indexer.head_count``,
``.key_length``, ``.top_k``). llama.cpp caches the indexer's keys beside the MLA latent
(``llama_kv_cache_dsa``, src/llama-kv-cache-dsa.cpp: a second K-only cache of one head of
``idx_dim`` values per token and layer, in the ``-ctk`` type, same cells as the main cache).
convert_hf_to_gguf keeps the MTP block (``DeepseekV32Model`` / ``GlmMoeDsaModel`` with
``skip_mtp = False``, ``nextn_predict_layers``; conversion/deepseek.py and conversion/glm.py,
https://github.com/ggml-org/llama.cpp/tree/master/conversion); llama.cpp skips its tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rigfit.archs.common import dense_ffn, extra, has_exp_probs_b, head, moe_ffn, n_layer_all, nextn
from rigfit.archs.registry import ArchFamily, ShapeList, is_expert_tensor, register
from rigfit.catalog.arch import Architecture
from rigfit.errors import RigfitError


def _deepseek2_shapes(arch: Architecture) -> ShapeList:
    m = arch.mla
    if m is None:
        raise RigfitError(f"{arch.id}: deepseek2 architecture without MLA parameters.")
    out: ShapeList = []
    e, h, n_layer = arch.n_embd, arch.n_head, arch.n_layer
    head(out, arch)
    qk = m.qk_nope_head_dim + m.qk_rope_head_dim
    for il in range(n_layer_all(arch)):
        p = f"blk.{il}."
        out.append((p + "attn_norm.weight", (e,)))
        if m.q_lora_rank:
            out += [
                (p + "attn_q_a_norm.weight", (m.q_lora_rank,)),
                (p + "attn_q_a.weight", (e, m.q_lora_rank)),
                (p + "attn_q_b.weight", (m.q_lora_rank, h * qk)),
            ]
        else:
            out.append((p + "attn_q.weight", (e, h * qk)))
        out += [
            (p + "attn_kv_a_norm.weight", (m.kv_lora_rank,)),
            (p + "attn_kv_a_mqa.weight", (e, m.kv_lora_rank + m.qk_rope_head_dim)),
            (p + "attn_k_b.weight", (m.qk_nope_head_dim, m.kv_lora_rank, h)),
            (p + "attn_v_b.weight", (m.kv_lora_rank, m.v_head_dim, h)),
            (p + "attn_output.weight", (h * m.v_head_dim, e)),
            (p + "ffn_norm.weight", (e,)),
        ]
        if arch.is_moe_layer(il):
            moe_ffn(out, p, e, arch, probs_b=has_exp_probs_b(arch))
        else:
            dense_ffn(out, p, e, arch.ff(min(il, n_layer - 1)))
        if il >= n_layer:  # MTP block kept by the converter (GLM-4.7-Flash)
            nextn(out, p, arch)
    return out


#: GGUF keys of the lightning indexer, copied into the catalog ``extra`` as
#: ``attention_indexer_head_count`` … (rigfit.formats.gguf_arch, ArchFamily.gguf_extra_keys)
INDEXER_KEYS = (
    "attention.indexer.head_count",
    "attention.indexer.key_length",
    "attention.indexer.top_k",
    "attention.indexer.types",
)
#: GLM-5.2's indexer layout when a GGUF stores no ``attention.indexer.types`` (glm-dsa.cpp
#: GLM_5_2_DEFAULT_INDEXER_TYPES, applied when n_ctx_train >= 1048576): layers 0–2 and every
#: fourth from 6 have their own indexer, the others share the previous one's top-k
#: (https://github.com/ggml-org/llama.cpp/blob/master/src/models/glm-dsa.cpp)
GLM52_CTX = 1048576


def layer_indexer(arch: Architecture, il: int) -> tuple[int, int, int]:
    """(indexer heads, head size, top-k) of layer ``il`` (``ArchFamily.indexer``); heads and size
    0 on a layer that shares the previous indexer's top-k (:func:`indexer_full`)."""
    n_idx, d_idx, top_k = indexer_dims(arch)
    return (n_idx, d_idx, top_k) if indexer_full(arch, il) else (0, 0, top_k)


def indexer_dims(arch: Architecture) -> tuple[int, int, int]:
    """(indexer heads, indexer head size, top-k) of a DSA model; zeros when the record has none."""
    return (
        int(extra(arch, "attention_indexer_head_count", default=0) or 0),
        int(extra(arch, "attention_indexer_key_length", default=0) or 0),
        int(extra(arch, "attention_indexer_top_k", default=0) or 0),
    )


def indexer_full(arch: Architecture, il: int) -> bool:
    """Whether layer ``il`` has its own lightning indexer (tensors, K cache, scores): the stored
    ``attention.indexer.types`` (1 full, 0 shared), else every layer, except GLM-5.2's default
    layout for glm-dsa files of a 1M-token context (``GLM52_CTX``). MTP blocks have one."""
    types = extra(arch, "attention_indexer_types")
    if il >= arch.n_layer:
        return True
    if isinstance(types, (list, tuple)) and il < len(types):
        return bool(types[il])
    if arch.arch == "glm-dsa" and arch.n_ctx_train >= GLM52_CTX:
        return il < 3 or (il - 2) % 4 == 0
    return True


def _dsa_shapes(arch: Architecture) -> ShapeList:
    """deepseek2's tensors plus the indexer of every block (MTP blocks included)."""
    m = arch.mla
    n_idx, d_idx, _ = indexer_dims(arch)
    if m is None or not n_idx or not d_idx:
        raise RigfitError(f"{arch.id}: sparse-attention (DSA) architecture without MLA or indexer sizes.")
    base = _deepseek2_shapes(arch)
    out: ShapeList = []
    e = arch.n_embd
    for name, shape in base:
        out.append((name, shape))
        if name.endswith(".attn_output.weight") and indexer_full(arch, int(name.split(".")[1])):
            p = name[: -len("attn_output.weight")]
            out += [
                (p + "indexer.k_norm.weight", (d_idx,)),
                (p + "indexer.k_norm.bias", (d_idx,)),
                (p + "indexer.proj.weight", (e, n_idx)),
                (p + "indexer.attn_k.weight", (e, d_idx)),
                (p + "indexer.attn_q_b.weight", (m.q_lora_rank or 0, n_idx * d_idx)),
            ]
    return out


def _mtp_span_tensor(name: str) -> bool:
    """MTP-block tensors that count in the CPU_Mapped span without MTP: all but the routed and
    shared experts and the ``nextn.*`` head. Measured with xllamacpp 2026.10.11549 on synthetic
    deepseek32 GGUFs with 1 and 2 MTP blocks (tests/archs/dsa_synth.py): the span ends at the
    last block's ``exp_probs_b`` (9.90 and 13.43 MiB logged, 9.27 MiB without MTP blocks)."""
    return not (is_expert_tensor(name) or "_shexp." in name or ".nextn." in name)


def _hf_dsa(g: Callable[..., Any], put: Callable[[str, Any], None], m: dict[str, Any]) -> None:
    """convert_hf_to_gguf.py (DeepseekV32 / GlmMoeDsa): the indexer sizes, and the MTP block
    written as an extra block (``nextn_predict_layers``)."""
    put("attention.indexer.head_count", g("index_n_heads"))
    put("attention.indexer.key_length", g("index_head_dim"))
    put("attention.indexer.top_k", g("index_topk"))
    types = g("indexer_types")  # GLM-5.2: "full" / "shared" per layer
    if isinstance(types, list) and types:
        put("attention.indexer.types", [1 if t == "full" else 0 for t in types])
    n = g("num_nextn_predict_layers")
    if n:
        put("nextn_predict_layers", n)
        put("block_count", g("num_hidden_layers", "n_layer", "num_layers") + n)


def _v3_router_bias(arch: Architecture) -> bool:
    """V3/R1 (sigmoid routing, 256 experts) have ``exp_probs_b``; V2 has none."""
    return arch.moe is not None and arch.moe.n_expert >= 256


def _glm_lite_keeps_mtp(arch: Architecture) -> bool:
    """GLM-4.7-Flash (``Glm4MoeLite``, deepseek2 arch) keeps its MTP layer; DeepSeek-V3 skips it."""
    return str(extra(arch, "hf_architecture", default="")).startswith("Glm4MoeLite")


def _one_kv_head(arch: Architecture) -> int:
    """MLA files store n_head_kv = 1: llama-quantize's GQA ratio is n_head."""
    return 1


register(
    ArchFamily(
        "deepseek2",
        aliases=("deepseek_v3", "deepseek_v2", "deepseek3"),
        build_shapes=_deepseek2_shapes,
        kv_heads_for_gqa=_one_kv_head,
        exp_probs_b_default=_v3_router_bias,
        nextn_kept_default=_glm_lite_keeps_mtp,
        hf_model_types=("deepseek_v2", "deepseek_v3", "kimi_k2"),
        hf_head_dim=False,
    )
)


def _always(arch: Architecture) -> bool:
    return True


for _name, _hf in (("deepseek32", ("deepseek_v32",)), ("glm-dsa", ("glm_moe_dsa",))):
    register(
        ArchFamily(
            _name,
            build_shapes=_dsa_shapes,
            kv_heads_for_gqa=_one_kv_head,
            exp_probs_b_default=_always,
            nextn_kept_default=_always,
            hf_model_types=_hf,
            hf_head_dim=False,
            hf_metadata=_hf_dsa,
            gguf_extra_keys=INDEXER_KEYS,
            indexer=layer_indexer,
            mtp_span_tensor=_mtp_span_tensor,
        )
    )
