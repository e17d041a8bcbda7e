"""Tensor tables of catalog models: names, shapes and per-tensor quantization types.

Two models of llama.cpp behaviour, both exact re-statements of its source (llama.cpp 2026,
vendored in llama-cpp-python 0.3.36), not fits:

1. :func:`tensor_shapes` — the GGUF tensors ``convert_hf_to_gguf.py`` writes for an architecture
   (names from ``src/llama-arch.cpp``, shapes as ``src/models/<arch>.cpp`` ``load_arch_tensors``
   creates them; GGUF order: row length ``ne0`` first). Listed in the order ``llama-quantize``
   writes them: non-block tensors first, then block by block, names sorted inside each group
   (``llama_model_loader::weights_map`` with ``weight_name_comparer``). That order matters: the
   quantizer's layer counters (``i_attention_wv``, ``i_ffn_down``) advance in it.
2. :func:`tensor_types` / :func:`catalog_model_spec` — ``llama_tensor_get_type`` of
   ``src/llama-quant.cpp`` for a file type: base type, the sensitive-tensor upgrades
   (``use_more_bits`` layers, output/embedding rules, GQA and expert-count conditions, the
   70B rule), what is never quantized (1-D tensors, norms, routers, ssm_conv1d, non-``weight``
   tensors) and the fallbacks when a row length is not a multiple of the block size. Bytes
   come from :func:`rigfit.catalog.quant.tensor_nbytes`.

Result: the predicted tensor data of a GGUF file, tensor by tensor (not params × average bpw).
Checked (``tests/test_tensors.py``) against: the real Gemma 3 270M Q4_K_M file (identical tensor
by tensor); real ``llama-quantize --dry-run`` output for 13 catalog models × 33 file types
(identical types; ``benchmarks/quant_rules_oracle.py``); published Llama/Qwen file sizes for 15
file types (within 0.32 %); synthetic GGUFs that real llama.cpp loads (identical tables).

Source-version notes
* DeepSeek-2/3 (MLA): the current converter writes ``attn_k_b`` [nope, kv_lora, n_head] and
  ``attn_v_b`` [kv_lora, v_head, n_head] (3-D) instead of the older fused ``attn_kv_b``; the MTP
  (next-token-prediction) layer is skipped. GLM-4.5 keeps its MTP layer (``blk.N.nextn.*``).
* In this llama.cpp version a fused ``attn_qkv`` (Phi-3) is treated like ``attn_v`` (older
  builds gave it its own rule: Q4_K_M → Q5_K, Q5_K_M → Q6_K); ``legacy_qkv=True`` restores that.
  Published Phi-4 Q5_K_M files (10.60 GB) were made the old way: legacy 10.60, current 10.50.
* gpt-oss: the converter stores the experts in MXFP4 as shipped, so "F16"/"BF16" here means the
  converter's file (experts MXFP4, 13.8 GB for 20B), and K-quants keep MXFP4 experts because
  llama-quantize refuses to requantize them (``allow_requantize=True`` re-types them).
* The quantizer needs an importance matrix for IQ1/IQ2/IQ3_XXS and Q2_K_S. ``imatrix`` changes
  a few choices (IQ3_XXS attn_v/ffn_down, IQ4_XS/IQ4_NL first ffn_down layers, Q4_0/Q5_0 first
  ffn_down layers): default True, as the widely downloaded uploads (bartowski, unsloth) use one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from rigfit.catalog.arch import Architecture, ModelSpec, TensorInfo
from rigfit.catalog.quant import FileType, ggml_type, resolve_file_type, tensor_nbytes
from rigfit.errors import RigfitError

Shape = tuple[int, ...]

# llama.cpp general.architecture names, and spellings people (or HF configs) use for them.
_ARCH_ALIASES: dict[str, str] = {
    "llama": "llama", "mistral": "llama", "mixtral": "llama", "llama3": "llama",
    "qwen2": "qwen2", "qwen3": "qwen3", "qwen3moe": "qwen3moe", "qwen3_moe": "qwen3moe",
    "gemma2": "gemma2", "gemma3": "gemma3", "gemma3_text": "gemma3",
    "phi3": "phi3", "deepseek2": "deepseek2", "deepseek_v3": "deepseek2", "deepseek_v2": "deepseek2",
    "deepseek3": "deepseek2",
    "gpt-oss": "gpt-oss", "gpt_oss": "gpt-oss", "gptoss": "gpt-oss", "openai-moe": "gpt-oss",
    "glm4moe": "glm4moe", "glm4_moe": "glm4moe",
    "mamba2": "mamba2", "granitehybrid": "granitehybrid", "granite_hybrid": "granitehybrid",
    "mistral3": "llama", "llama4": "llama4", "dots1": "dots1", "hunyuan-moe": "hunyuan-moe",
    "hunyuan_moe": "hunyuan-moe",
}
_NOT_YET = {"qwen3next", "qwen3_next", "qwen35", "qwen35moe", "nemotron_h", "falcon-h1", "jamba",
            "lfm2", "kimi-linear"}

SUPPORTED_ARCHS: tuple[str, ...] = ("llama", "mistral3", "llama4", "qwen2", "qwen3", "qwen3moe", "gemma2",
                                    "gemma3", "phi3", "deepseek2", "gpt-oss", "glm4moe", "dots1",
                                    "hunyuan-moe", "mamba2", "granitehybrid")


class UnsupportedArchitectureError(RigfitError):
    """No tensor-table model for this architecture (yet): the user should read a GGUF instead."""

    def __init__(self, arch: str, model_id: str = "") -> None:
        who = f"{model_id} ({arch})" if model_id else arch
        super().__init__(
            f"Predicting GGUF tensors for architecture {who!r} is not supported yet.",
            "Point rigfit at a real GGUF file of the model instead (its header gives exact sizes); "
            f"catalog prediction covers: {', '.join(SUPPORTED_ARCHS)}.")


def canonical_arch(arch: Architecture | str) -> str:
    """llama.cpp architecture name for a catalog Architecture (or an architecture string)."""
    name = arch if isinstance(arch, str) else arch.arch
    key = name.strip().lower()
    if key in _ARCH_ALIASES:
        return _ARCH_ALIASES[key]
    if not isinstance(arch, str):
        for alias in (arch.extra or {}).get("gguf_arch_aliases", []) or []:
            if str(alias).lower() in _ARCH_ALIASES:
                return _ARCH_ALIASES[str(alias).lower()]
    raise UnsupportedArchitectureError(name, "" if isinstance(arch, str) else arch.id)


# ---------------------------------------------------------------------------------------------
# Architecture extras (catalog ``extra`` keys, with per-family defaults)
# ---------------------------------------------------------------------------------------------


def _extra(arch: Architecture, *keys: str, default=None):
    ex = arch.extra or {}
    for k in keys:
        if k in ex and ex[k] is not None:
            return ex[k]
    return default


def _rope_type(arch: Architecture) -> str | None:
    """RoPE scaling type from the catalog ``extra`` ("llama3", "longrope", "yarn" …); "none" when
    the record says there is no scaling, None when it does not say."""
    ex = arch.extra or {}
    rt = ex.get("rope_type")
    if rt is None and "rope_scaling" in ex:
        rs = ex["rope_scaling"]
        rt = (rs.get("rope_type") or rs.get("type") or "none") if isinstance(rs, dict) else "none"
    return str(rt).lower() if rt else None


def has_rope_freqs(arch: Architecture) -> bool:
    """Llama 3.1+ "llama3" RoPE scaling: the converter writes ``rope_freqs.weight`` [head_dim/2].

    Catalog ``extra``: ``rope_freqs`` (bool) or ``rope_type``/``rope_scaling``. Without either,
    a llama-arch model with the Llama-3 vocabulary (128256) is assumed to be Llama 3.1 or later,
    and Llama 4 (Scout: llama3-type scaling, factor 16) to have it.
    """
    v = _extra(arch, "rope_freqs")
    if v is not None:
        return bool(v)
    rt = _rope_type(arch)
    if rt is not None:
        return rt == "llama3"
    a = canonical_arch(arch)
    return a == "llama4" or (a == "llama" and arch.n_vocab == 128256 and arch.moe is None)


def has_longrope_factors(arch: Architecture) -> bool:
    """Phi-3 "longrope": ``rope_factors_long``/``rope_factors_short`` [n_rot/2] (F32)."""
    v = _extra(arch, "rope_factors", "longrope")
    if v is not None:
        return bool(v)
    rt = _rope_type(arch)
    if rt is not None:
        return rt in ("longrope", "su")
    return arch.n_ctx_train > 16384


def n_rot(arch: Architecture) -> int:
    """Rotary dimensions per head (``rope.dimension_count``)."""
    v = _extra(arch, "n_rot", "rope_dim")
    if v is not None:
        return int(v)
    prf = _extra(arch, "partial_rotary_factor", default=1.0)
    return int(arch.n_embd_head_k * float(prf))


def n_nextn_layers(arch: Architecture) -> int:
    """MTP layers the converter keeps as extra blocks ``blk.{n_layer}…`` (GGUF ``nextn_predict_layers``).

    Catalog ``extra``: ``n_nextn_layers`` and ``nextn_in_gguf``. Converter behaviour: GLM-4.5
    (glm4moe) and GLM-4.7-Flash (deepseek2 arch) keep them; DeepSeek-V3/R1 skip them.
    """
    a = canonical_arch(arch)
    n = int(_extra(arch, "n_nextn_layers", "n_nextn_layer", "nextn_predict_layers",
                   "num_nextn_predict_layers", default=0) or 0)
    keep = _extra(arch, "nextn_in_gguf")
    if keep is None:
        hf = str(_extra(arch, "hf_architecture", default=""))
        keep = a == "glm4moe" or hf.startswith("Glm4MoeLite")
        if a == "glm4moe" and n == 0:
            n = 1
    return n if keep else 0


def has_exp_probs_b(arch: Architecture) -> bool:
    """Expert-score correction bias (DeepSeek-V3 ``e_score_correction_bias``, GLM-4.5)."""
    v = _extra(arch, "exp_probs_b")
    if v is not None:
        return bool(v)
    a = canonical_arch(arch)
    if a in ("glm4moe", "dots1"):
        return True
    if a == "deepseek2" and arch.moe is not None:
        return arch.moe.n_expert >= 256    # V3/R1 (sigmoid routing); V2 has none
    return False


def n_layer_all(arch: Architecture) -> int:
    """GGUF ``block_count``: decoder layers plus kept MTP layers (llama.cpp ``n_layer_all``)."""
    return arch.n_layer + n_nextn_layers(arch)


# ---------------------------------------------------------------------------------------------
# Tensor shapes per architecture
# ---------------------------------------------------------------------------------------------


def _sort_key(name: str) -> tuple[int, str]:
    m = re.match(r"blk\.(\d+)\.", name)
    return (int(m.group(1)) if m else -1, name)


def _attn_qkv(out: list, p: str, e: int, q: int, k: int, v: int, *, bias: bool, o_in: int,
              fused: bool = False, o_bias: bool = False) -> None:
    if fused:
        out.append((p + "attn_qkv.weight", (e, q + k + v)))
        if bias:
            out.append((p + "attn_qkv.bias", (q + k + v,)))
    else:
        out += [(p + "attn_q.weight", (e, q)), (p + "attn_k.weight", (e, k)), (p + "attn_v.weight", (e, v))]
        if bias:
            out += [(p + "attn_q.bias", (q,)), (p + "attn_k.bias", (k,)), (p + "attn_v.bias", (v,))]
    out.append((p + "attn_output.weight", (o_in, e)))
    if o_bias:
        out.append((p + "attn_output.bias", (e,)))


def _dense_ffn(out: list, p: str, e: int, ff: int, *, bias: bool = False) -> None:
    out += [(p + "ffn_gate.weight", (e, ff)), (p + "ffn_up.weight", (e, ff)),
            (p + "ffn_down.weight", (ff, e))]
    if bias:
        out += [(p + "ffn_gate.bias", (ff,)), (p + "ffn_up.bias", (ff,)), (p + "ffn_down.bias", (e,))]


def _moe_ffn(out: list, p: str, e: int, arch: Architecture, *, shexp: bool = True,
             probs_b: bool = False, biases: bool = False) -> None:
    m = arch.moe
    assert m is not None
    ne, ff = m.n_expert, m.expert_ff
    out += [(p + "ffn_gate_inp.weight", (e, ne)),
            (p + "ffn_gate_exps.weight", (e, ff, ne)),
            (p + "ffn_up_exps.weight", (e, ff, ne)),
            (p + "ffn_down_exps.weight", (ff, e, ne))]
    if biases:
        out += [(p + "ffn_gate_inp.bias", (ne,)), (p + "ffn_gate_exps.bias", (ff, ne)),
                (p + "ffn_up_exps.bias", (ff, ne)), (p + "ffn_down_exps.bias", (e, ne))]
    if probs_b:
        out.append((p + "exp_probs_b.bias", (ne,)))
    sff = m.shared_ff_total
    if shexp and sff:
        out += [(p + "ffn_gate_shexp.weight", (e, sff)), (p + "ffn_up_shexp.weight", (e, sff)),
                (p + "ffn_down_shexp.weight", (sff, e))]


def _head(out: list, arch: Architecture, *, tied: bool | None = None) -> None:
    e, v = arch.n_embd, arch.n_vocab
    out += [("token_embd.weight", (e, v)), ("output_norm.weight", (e,))]
    if not (arch.tied_embeddings if tied is None else tied):
        out.append(("output.weight", (e, v)))


def _ssm_block(out: list, p: str, arch: Architecture, *, in_proj: int, conv_bias: bool = True) -> None:
    s = arch.ssm
    assert s is not None
    nh = s.n_head or 1
    conv_dim = s.d_inner + 2 * s.n_group * s.d_state
    out += [(p + "ssm_in.weight", (arch.n_embd, in_proj)),
            (p + "ssm_conv1d.weight", (s.d_conv, conv_dim))]
    if conv_bias:
        out.append((p + "ssm_conv1d.bias", (conv_dim,)))
    out += [(p + "ssm_dt.bias", (nh,)), (p + "ssm_a", (1, nh)), (p + "ssm_d", (1, nh)),
            (p + "ssm_norm.weight", (s.d_inner // s.n_group, s.n_group)),
            (p + "ssm_out.weight", (s.d_inner, arch.n_embd))]


def _nextn(out: list, p: str, arch: Architecture) -> None:
    """Extra tensors of an MTP block (``src/models/glm4-moe.cpp``, ``deepseek2.cpp``)."""
    e = arch.n_embd
    out += [(p + "nextn.eh_proj.weight", (2 * e, e)), (p + "nextn.enorm.weight", (e,)),
            (p + "nextn.hnorm.weight", (e,)),
            (p + "nextn.embed_tokens.weight", (e, arch.n_vocab)),
            (p + "nextn.shared_head_head.weight", (e, arch.n_vocab)),
            (p + "nextn.shared_head_norm.weight", (e,))]


def _llama4_moe_layer(arch: Architecture, il: int) -> bool:
    step = int(_extra(arch, "interleave_moe_layer_step", "n_moe_layer_step", default=1) or 0)
    return arch.moe is not None and step > 0 and (il + 1) % step == 0


def tensor_shapes(arch: Architecture) -> list[tuple[str, Shape]]:
    """Names and GGUF shapes (``ne0`` first) of the tensors llama.cpp's converter writes.

    In ``llama-quantize`` output order (non-block tensors, then blocks; sorted by name inside).
    Raises :class:`UnsupportedArchitectureError` for architectures not modelled yet.
    """
    try:
        return list(_tensor_shapes_cached(arch, _extra_key(arch)))
    except TypeError:   # an Architecture holding unhashable values (lists): build uncached
        return _build_shapes(arch)


def _extra_key(arch: Architecture) -> str:
    return repr(sorted((k, repr(v)) for k, v in (arch.extra or {}).items()))


@lru_cache(maxsize=256)
def _tensor_shapes_cached(arch: Architecture, extra_key: str) -> tuple[tuple[str, Shape], ...]:
    return tuple(_build_shapes(arch))


def _build_shapes(arch: Architecture) -> list[tuple[str, Shape]]:
    a = canonical_arch(arch)
    e, hd_k, hd_v, H = arch.n_embd, arch.n_embd_head_k, arch.n_embd_head_v, arch.n_head
    out: list[tuple[str, Shape]] = []
    L = arch.n_layer

    if a in ("llama", "qwen2", "qwen3", "qwen3moe", "gemma2", "gemma3"):
        gemma = a in ("gemma2", "gemma3")
        _head(out, arch, tied=True if gemma else None)
        if a == "llama" and has_rope_freqs(arch):
            out.append(("rope_freqs.weight", (n_rot(arch) // 2,)))
        bias = arch.attn_bias or a == "qwen2"
        qk_norm = arch.qk_norm or a in ("qwen3", "qwen3moe", "gemma3")
        for il in range(L):
            p = f"blk.{il}."
            hkv = arch.head_kv(il)
            out.append((p + "attn_norm.weight", (e,)))
            _attn_qkv(out, p, e, H * hd_k, hkv * hd_k, hkv * hd_v, bias=bias, o_in=H * hd_v)
            if qk_norm:
                out += [(p + "attn_q_norm.weight", (hd_k,)), (p + "attn_k_norm.weight", (hd_k,))]
            out.append((p + "ffn_norm.weight", (e,)))
            if gemma:
                out += [(p + "post_attention_norm.weight", (e,)), (p + "post_ffw_norm.weight", (e,))]
            if arch.is_moe_layer(il):
                _moe_ffn(out, p, e, arch)
            else:
                _dense_ffn(out, p, e, arch.ff(il))

    elif a == "phi3":
        _head(out, arch)
        if has_longrope_factors(arch):
            out += [("rope_factors_long.weight", (n_rot(arch) // 2,)),
                    ("rope_factors_short.weight", (n_rot(arch) // 2,))]
        for il in range(L):
            p = f"blk.{il}."
            hkv = arch.head_kv(il)
            out.append((p + "attn_norm.weight", (e,)))
            _attn_qkv(out, p, e, H * hd_k, hkv * hd_k, hkv * hd_v, bias=arch.attn_bias, o_in=H * hd_v,
                      fused=True)
            ff = arch.ff(il)
            out += [(p + "ffn_norm.weight", (e,)), (p + "ffn_up.weight", (e, 2 * ff)),
                    (p + "ffn_down.weight", (ff, e))]

    elif a == "deepseek2":
        m = arch.mla
        if m is None:
            raise RigfitError(f"{arch.id}: deepseek2 architecture without MLA parameters.")
        _head(out, arch)
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        for il in range(n_layer_all(arch)):
            p = f"blk.{il}."
            out.append((p + "attn_norm.weight", (e,)))
            if m.q_lora_rank:
                out += [(p + "attn_q_a_norm.weight", (m.q_lora_rank,)),
                        (p + "attn_q_a.weight", (e, m.q_lora_rank)),
                        (p + "attn_q_b.weight", (m.q_lora_rank, H * qk))]
            else:
                out.append((p + "attn_q.weight", (e, H * qk)))
            out += [(p + "attn_kv_a_norm.weight", (m.kv_lora_rank,)),
                    (p + "attn_kv_a_mqa.weight", (e, m.kv_lora_rank + m.qk_rope_head_dim)),
                    (p + "attn_k_b.weight", (m.qk_nope_head_dim, m.kv_lora_rank, H)),
                    (p + "attn_v_b.weight", (m.kv_lora_rank, m.v_head_dim, H)),
                    (p + "attn_output.weight", (H * m.v_head_dim, e)),
                    (p + "ffn_norm.weight", (e,))]
            if arch.is_moe_layer(il):
                _moe_ffn(out, p, e, arch, probs_b=has_exp_probs_b(arch))
            else:
                _dense_ffn(out, p, e, arch.ff(min(il, L - 1)))
            if il >= L:   # MTP block kept by the converter (GLM-4.7-Flash)
                _nextn(out, p, arch)

    elif a == "glm4moe":
        _head(out, arch)
        for il in range(n_layer_all(arch)):
            p = f"blk.{il}."
            hkv = arch.head_kv(min(il, L - 1))
            out.append((p + "attn_norm.weight", (e,)))
            bias = arch.attn_bias or bool(_extra(arch, "qkv_bias", default=True))   # GLM-4.5: bias
            _attn_qkv(out, p, e, H * hd_k, hkv * hd_k, hkv * hd_v, bias=bias, o_in=H * hd_v)
            if arch.qk_norm:
                out += [(p + "attn_q_norm.weight", (hd_k,)), (p + "attn_k_norm.weight", (hd_k,))]
            out.append((p + "post_attention_norm.weight", (e,)))
            if arch.is_moe_layer(il):
                _moe_ffn(out, p, e, arch, probs_b=has_exp_probs_b(arch))
            else:
                _dense_ffn(out, p, e, arch.ff(min(il, L - 1)))
            if il >= L:   # MTP block (converter keeps it; llama.cpp loads it for speculative decoding)
                _nextn(out, p, arch)

    elif a in ("llama4", "dots1", "hunyuan-moe"):
        _head(out, arch)
        if a == "llama4" and has_rope_freqs(arch):
            out.append(("rope_freqs.weight", (n_rot(arch) // 2,)))
        qk_norm = arch.qk_norm or a in ("dots1", "hunyuan-moe")
        for il in range(L):
            p = f"blk.{il}."
            hkv = arch.head_kv(il)
            out.append((p + "attn_norm.weight", (e,)))
            _attn_qkv(out, p, e, H * hd_k, hkv * hd_k, hkv * hd_v, bias=arch.attn_bias, o_in=H * hd_v)
            if qk_norm:
                out += [(p + "attn_q_norm.weight", (hd_k,)), (p + "attn_k_norm.weight", (hd_k,))]
            out.append((p + "ffn_norm.weight", (e,)))
            moe_layer = _llama4_moe_layer(arch, il) if a == "llama4" else arch.is_moe_layer(il)
            if moe_layer:
                _moe_ffn(out, p, e, arch, probs_b=has_exp_probs_b(arch))
            else:
                _dense_ffn(out, p, e, arch.ff(il))

    elif a == "gpt-oss":
        _head(out, arch, tied=False)
        for il in range(L):
            p = f"blk.{il}."
            hkv = arch.head_kv(il)
            out += [(p + "attn_norm.weight", (e,)), (p + "post_attention_norm.weight", (e,))]
            _attn_qkv(out, p, e, H * hd_k, hkv * hd_k, hkv * hd_v, bias=True, o_in=H * hd_v, o_bias=True)
            out.append((p + "attn_sinks.weight", (H,)))
            _moe_ffn(out, p, e, arch, shexp=False, biases=True)

    elif a == "mamba2":
        s = arch.ssm
        if s is None:
            raise RigfitError(f"{arch.id}: mamba2 architecture without SSM parameters.")
        _head(out, arch)
        in_proj = 2 * s.d_inner + 2 * s.n_group * s.d_state + (s.n_head or 1)
        for il in range(L):
            p = f"blk.{il}."
            out.append((p + "attn_norm.weight", (e,)))
            _ssm_block(out, p, arch, in_proj=in_proj)

    elif a == "granitehybrid":
        s = arch.ssm
        if s is None:
            raise RigfitError(f"{arch.id}: granitehybrid architecture without SSM parameters.")
        _head(out, arch)
        in_proj = 2 * s.d_inner + 2 * s.n_group * s.d_state + (s.n_head or 1)
        for il in range(L):
            p = f"blk.{il}."
            out.append((p + "attn_norm.weight", (e,)))
            if arch.is_recurrent(il):
                _ssm_block(out, p, arch, in_proj=in_proj)
            else:
                hkv = arch.head_kv(il)
                _attn_qkv(out, p, e, H * hd_k, hkv * hd_k, hkv * hd_v, bias=arch.attn_bias, o_in=H * hd_v)
            out.append((p + "ffn_norm.weight", (e,)))
            if arch.is_moe_layer(il):
                _moe_ffn(out, p, e, arch)
            elif arch.ff(il):
                _dense_ffn(out, p, e, arch.ff(il))
    else:  # pragma: no cover - canonical_arch only returns the names handled above
        raise UnsupportedArchitectureError(a, arch.id)

    out.sort(key=lambda t: _sort_key(t[0]))
    return out


# ---------------------------------------------------------------------------------------------
# llama_tensor_get_type (src/llama-quant.cpp)
# ---------------------------------------------------------------------------------------------

_IQ_LOW = {"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"}
_OUT_Q5K = {"IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"}
_ATTN_OUT_8X = {"Q2_K", "IQ3_XS", "IQ3_XXS", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S", "Q4_K_M",
                "IQ3_S", "IQ3_M", "IQ4_XS"}


def _category(name: str) -> str:
    """tensor_get_category: broad role of a tensor for the quantization rules."""
    if name == "output.weight":
        return "output"
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return "token_embd"
    for key, cat in (("attn_qkv.weight", "attn_qkv"), ("attn_kv_b.weight", "attn_kv_b"),
                     ("attn_v.weight", "attn_v"), ("attn_k.weight", "attn_k"),
                     ("attn_q.weight", "attn_q"), ("attn_output.weight", "attn_output"),
                     ("ffn_up", "ffn_up"), ("ffn_gate", "ffn_gate"), ("ffn_down", "ffn_down")):
        if key in name:
            return cat
    return "other"


def _n_dims(shape: Shape) -> int:
    """ggml_n_dims: dimensions up to the last one larger than 1 (at least 1)."""
    n = len(shape)
    while n > 1 and shape[n - 1] == 1:
        n -= 1
    return n


def allows_quantization(name: str, shape: Shape) -> bool:
    """tensor_allows_quantization: 2-D/3-D ``*weight`` tensors except norms, routers, conv1d …"""
    if _n_dims(shape) < 2 or not name.endswith("weight"):
        return False
    blocked = ("_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
               "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
               "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight",
               "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight",
               "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
               "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight",
               "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
               ".position_embd", ".patch_embd")
    if any(b in name for b in blocked):
        return False
    return name not in ("position_embd.weight", "token_types.weight")


def _use_more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _fallback(name: str, ncols: int, target: str) -> str:
    """tensor_type_fallback: a compatible type when ``ncols`` is not a multiple of the block."""
    t = ggml_type(target)
    if ncols % t.block_size == 0:
        return target
    if target in ("IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ4_XS"):
        ret = "IQ4_NL"
    elif target in ("Q2_0", "Q2_K", "Q3_K", "TQ1_0", "TQ2_0"):
        ret = "Q4_0"    # older builds used IQ4_NL here: same 18 B / 32 weights
    elif target == "Q4_K":
        ret = "Q5_0"
    elif target == "Q5_K":
        ret = "Q5_1"
    elif target == "Q6_K":
        ret = "Q8_0"
    elif t.block_size <= 32:
        ret = target
    else:
        raise RigfitError(f"llama-quantize has no fallback for {name} (row length {ncols}) in {target}.",
                          "Choose another quantization type for this model.")
    if ncols % ggml_type(ret).block_size:
        ret = "F16"
    return ret


@dataclass
class _QuantState:
    """quantize_state_impl: counters the rules consult while walking the tensors in order."""

    ftype: str
    arch: str
    n_gqa: int
    n_expert: int
    is_70b: bool
    has_imatrix: bool
    tied: bool
    n_attention_wv: int
    n_layer_all: int
    legacy_qkv: bool = False
    i_attention_wv: int = 0
    i_ffn_down: int = 0
    i_ffn_gate: int = 0
    i_ffn_up: int = 0
    n_fallback: int = 0
    fallbacks: list[str] = field(default_factory=list)


def _layer_info(qs: _QuantState, counter: int, name: str) -> tuple[int, int]:
    if max(1, qs.n_expert) > 1:
        m = re.match(r"blk\.(\d+)\.", name)
        if not m:
            raise RigfitError(f"cannot determine the layer of tensor {name}")
        return int(m.group(1)), qs.n_layer_all
    return counter, qs.n_layer_all


def _get_type_impl(qs: _QuantState, new_type: str, name: str, shape: Shape, cat: str) -> str:
    """llama_tensor_get_type_impl, line by line."""
    ft = qs.ftype
    attn_v_like = cat in ("attn_v", "attn_kv_b") or (cat == "attn_qkv" and not qs.legacy_qkv)

    if cat == "output" or (qs.tied and cat == "token_embd"):
        nx = shape[0]
        if ft == "MXFP4_MOE":
            return "Q8_0"
        if nx % ggml_type(new_type).block_size != 0:
            return "Q8_0"
        if ft in _OUT_Q5K:
            return "Q5_K"
        if new_type != "Q8_0":
            return "Q6_K"
        return new_type
    if ft == "MXFP4_MOE":
        return "MXFP4" if len(shape) > 2 and shape[2] > 1 else "Q8_0"
    if cat == "token_embd":
        if ft in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
            return "Q2_K"
        if ft in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
            return "IQ3_S"
        if ft in ("TQ1_0", "TQ2_0", "Q2_0"):
            return "Q4_K"
        return new_type
    if ft in _IQ_LOW:
        if attn_v_like:
            if qs.n_gqa >= 4 or qs.n_expert >= 4:
                new_type = "Q4_K"
            else:
                new_type = "IQ3_S" if ft in ("IQ2_S", "IQ2_M") else "Q2_K"
            qs.i_attention_wv += 1
        elif qs.n_expert == 8 and cat == "attn_k":
            new_type = "Q4_K"
        elif cat == "ffn_down":
            if qs.i_ffn_down < qs.n_layer_all // 8:
                new_type = "IQ3_S" if ft in ("IQ2_S", "IQ2_M") else "Q2_K"
            qs.i_ffn_down += 1
        elif cat == "attn_output":
            if qs.n_expert == 8:
                new_type = "Q5_K"
            elif ft in ("IQ1_S", "IQ1_M"):
                new_type = "IQ2_XXS"
            elif ft in ("IQ2_S", "IQ2_M"):
                new_type = "IQ3_S"
        return new_type
    if attn_v_like:
        gqa = qs.n_gqa
        if ft == "Q2_K":
            new_type = "Q4_K" if gqa >= 4 else "Q3_K"
        elif ft == "Q2_K_S" and gqa >= 4:
            new_type = "Q4_K"
        elif ft == "IQ3_XXS":
            new_type = "Q4_K" if gqa >= 4 else ("IQ3_S" if not qs.has_imatrix else "IQ3_XXS")
        elif ft in ("IQ3_XS", "IQ3_S") and gqa >= 4:  # noqa: SIM114 (kept as in llama-quant.cpp)
            new_type = "Q4_K"
        elif ft == "IQ3_M":
            new_type = "Q4_K"
        elif ft == "Q3_K_M":
            new_type = "Q5_K" if qs.i_attention_wv < 2 else "Q4_K"
        elif ft == "Q3_K_L":  # noqa: SIM114
            new_type = "Q5_K"
        elif ft in ("IQ4_NL", "IQ4_XS") and gqa >= 4:
            new_type = "Q5_K"
        elif ft in ("Q4_K_M", "Q5_K_M") and _use_more_bits(qs.i_attention_wv, qs.n_attention_wv):
            new_type = "Q6_K"
        elif ft == "Q4_K_S" and qs.i_attention_wv < 4:
            new_type = "Q5_K"
        if qs.is_70b and new_type in ("Q3_K", "Q4_K"):
            new_type = "Q5_K"
        if qs.n_expert == 8:
            new_type = "Q8_0"
        qs.i_attention_wv += 1
        return new_type
    if cat == "attn_k":
        if qs.n_expert == 8:
            return "Q8_0"
        if ft == "IQ3_XS":
            return "IQ3_XXS"
        if ft == "IQ3_XXS":
            return "IQ2_S"
        return new_type
    if cat == "attn_q":
        if ft == "IQ3_XS":
            return "IQ3_XXS"
        if ft == "IQ3_XXS":
            return "IQ2_S"
        return new_type
    if cat == "ffn_down":
        i, n = _layer_info(qs, qs.i_ffn_down, name)
        falcon = qs.arch == "falcon"
        if ft == "Q2_K":
            new_type = "Q3_K"
        elif ft == "Q2_K_S":
            if i < n // 8:
                new_type = "Q4_K"
        elif ft == "IQ3_XXS" and not qs.has_imatrix:
            new_type = "Q4_K" if i < n // 8 else "Q3_K"
        elif ft == "Q3_K_M":
            new_type = ("Q5_K" if i < n // 16 else
                        "Q4_K" if (not falcon or _use_more_bits(i, n)) else "Q3_K")
        elif ft == "IQ3_M" and (i < n // 8 or (qs.n_expert == 8 and _use_more_bits(i, n))):
            new_type = "Q4_K"
        elif ft == "Q3_K_L":
            new_type = "Q4_K" if falcon else "Q5_K"
        elif ft == "Q4_K_M":
            if falcon:
                new_type = "Q6_K" if i < n // 16 else ("Q5_K" if _use_more_bits(i, n) else "Q4_K")
            elif _use_more_bits(i, n):
                new_type = "Q6_K"
        elif i < n // 8 and ft in ("IQ4_NL", "IQ4_XS") and not qs.has_imatrix:
            new_type = "Q5_K"
        elif ft == "Q5_K_M" and _use_more_bits(i, n):
            new_type = "Q6_K"
        elif ft == "Q4_K_S" and not falcon and i < n // 8:
            new_type = "Q5_K"
        elif ft in ("Q4_0", "Q5_0") and qs.has_imatrix and i < n // 8:
            new_type = "Q4_1" if ft == "Q4_0" else "Q5_1"
        qs.i_ffn_down += 1
        return new_type
    if cat == "attn_output":
        if qs.arch != "falcon":
            if qs.n_expert == 8:
                if ft in _ATTN_OUT_8X:
                    new_type = "Q5_K"
            else:
                new_type = {"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K",
                            "IQ3_M": "Q4_K"}.get(ft, new_type)
        elif ft == "Q3_K_L":
            new_type = "Q4_K"
        return new_type
    if cat == "attn_qkv":   # reached only with legacy_qkv (older llama.cpp)
        if ft in ("Q3_K_M", "Q3_K_L", "IQ3_M"):
            return "Q4_K"
        if ft == "Q4_K_M":
            return "Q5_K"
        if ft == "Q5_K_M":
            return "Q6_K"
        return new_type
    if cat in ("ffn_gate", "ffn_up"):
        counter = qs.i_ffn_gate if cat == "ffn_gate" else qs.i_ffn_up
        i, n = _layer_info(qs, counter, name)
        if ft == "IQ3_XS" and n // 8 <= i < 7 * n // 8:
            new_type = "IQ3_XXS"
        if cat == "ffn_gate":
            qs.i_ffn_gate += 1
        else:
            qs.i_ffn_up += 1
        return new_type
    return new_type


def _is_70b(arch: Architecture, a: str) -> bool:
    """llama.cpp LLM_TYPE_70B (only this model type changes quantization choices)."""
    if arch.n_layer != 80:
        return False
    if a == "llama":
        n_exp = arch.moe.n_expert if arch.moe else 0
        return n_exp != 8 and arch.n_head != arch.head_kv(0)
    return a == "qwen2"


def _source_type(name: str, shape: Shape, ftype: FileType, a: str) -> str:
    """Type a tensor has in the converter's output (what llama-quantize keeps if it may not
    quantize it): F32 for 1-D tensors, norms, routers, conv1d and non-``weight`` tensors."""
    if _n_dims(shape) <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight"):
        return "F32"
    if any(k in name for k in ("ffn_gate_inp.", "ssm_conv1d", "position_embd", "token_types")):
        return "F32"
    if a == "gpt-oss" and "_exps.weight" in name:
        return "MXFP4"      # converted from the MXFP4 checkpoint as stored
    return {"F32": "F32", "BF16": "BF16"}.get(ftype.name, "F16")


def _suffix(name: str) -> str:
    """Tensor name without its ``blk.N.`` prefix (the rules below never depend on N)."""
    return name.split(".", 2)[2] if name.startswith("blk.") else name


@lru_cache(maxsize=1024)
def _static_info(suffix: str, n_dims: int, ftype: str, a: str) -> tuple[bool, str, str]:
    """(may quantize, category, converter type) of a tensor, from its layer-free name."""
    shape = (2,) * n_dims           # only the number of dimensions matters here
    ft = resolve_file_type(ftype)
    return allows_quantization(suffix, shape), _category(suffix), _source_type(suffix, shape, ft, a)


def tensor_types(arch: Architecture, file_type: str | FileType, *, imatrix: bool = True,
                 legacy_qkv: bool = False, allow_requantize: bool = False) -> list[tuple[str, Shape, str]]:
    """(name, shape, GGML type) of every tensor of ``arch`` as ``llama-quantize <file_type>``
    writes it (F32/F16/BF16: as ``convert_hf_to_gguf.py --outtype`` writes it).

    imatrix: whether an importance matrix was used (changes a few choices; see module doc).
    legacy_qkv: pre-2026 treatment of fused ``attn_qkv`` (Q4_K_M → Q5_K instead of attn_v rules).
    allow_requantize: llama-quantize ``--allow-requantize``: re-type tensors the converter already
        stored quantized (gpt-oss MXFP4 experts); by default they are kept as they are.
    """
    ft = resolve_file_type(file_type)
    a = canonical_arch(arch)
    if ft.via == "convert" and ft.name not in ("F32", "F16", "BF16"):
        raise RigfitError(f"{ft.name} files are written by the converter from {ft.name} checkpoints; "
                          "their tensor mix cannot be predicted from the architecture.",
                          "Read the GGUF file instead.")
    shapes = tensor_shapes(arch)
    default = ft.base_type
    names = [n for n, _ in shapes]
    tied = "output.weight" not in names
    hkv0 = 1 if a == "deepseek2" else arch.head_kv(0)
    qs = _QuantState(
        ftype=ft.name, arch=a,
        n_gqa=(arch.n_head // hkv0) if hkv0 else 0,
        n_expert=arch.moe.n_expert if arch.moe else 0,
        is_70b=_is_70b(arch, a), has_imatrix=imatrix, tied=tied,
        n_attention_wv=sum(1 for n in names if _category(n) in ("attn_v", "attn_qkv", "attn_kv_b")),
        n_layer_all=n_layer_all(arch), legacy_qkv=legacy_qkv)
    quantized = ggml_type(default).quantized
    out: list[tuple[str, Shape, str]] = []
    for name, shape in shapes:
        allowed, cat, src = _static_info(_suffix(name), _n_dims(shape), ft.name, a)
        if not allowed:
            out.append((name, shape, src))
            continue
        if not quantized:
            # F32/F16/BF16: the converter's choice (gpt-oss keeps its MXFP4 experts)
            out.append((name, shape, src if src == "MXFP4" else default))
            continue
        new = _get_type_impl(qs, default, name, shape, cat)
        new2 = _fallback(name, shape[0], new)
        if ggml_type(src).quantized and not allow_requantize:
            # llama-quantize refuses to requantize an already quantized tensor (gpt-oss MXFP4
            # experts) unless --allow-requantize; published gpt-oss K-quants keep them MXFP4.
            new2 = src
        if new2 != new:
            qs.n_fallback += 1
            qs.fallbacks.append(name)
        out.append((name, shape, new2))
    return out


def catalog_model_spec(arch: Architecture, file_type: str | FileType, *, imatrix: bool = True,
                       legacy_qkv: bool = False, allow_requantize: bool = False) -> ModelSpec:
    """Predicted tensor table of ``arch`` quantized to ``file_type``: a :class:`ModelSpec`
    with origin "catalog" and ``tensors_exact=False`` (shapes and types follow llama.cpp's rules
    exactly; the file the user downloads may come from another converter version or a custom mix).
    """
    ft = resolve_file_type(file_type)
    tensors = tuple(TensorInfo(name, shape, t, tensor_nbytes(t, shape))
                    for name, shape, t in tensor_types(arch, ft, imatrix=imatrix, legacy_qkv=legacy_qkv,
                                                         allow_requantize=allow_requantize))
    return ModelSpec(arch=arch, tensors=tensors, file_type=ft.name, origin="catalog", tensors_exact=False)


def type_counts(spec: ModelSpec) -> dict[str, int]:
    """Number of tensors per GGML type ("Q4_K": 193, …), as llama.cpp's loader logs them."""
    return dict(Counter(t.ggml_type for t in spec.tensors))


def bits_per_weight(spec: ModelSpec) -> float:
    """Average stored bits per weight of the tensor data [bit]."""
    n = sum(t.n_elements for t in spec.tensors)
    return spec.weights_bytes * 8 / n if n else 0.0


__all__ = [
    "SUPPORTED_ARCHS", "UnsupportedArchitectureError", "allows_quantization",
    "bits_per_weight", "canonical_arch", "catalog_model_spec", "n_layer_all", "tensor_shapes",
    "tensor_types", "type_counts",
]
