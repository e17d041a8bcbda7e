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

import marshal
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rigfit.archs import UnsupportedArchitectureError, canonical_arch, supported_archs, tensor_family
from rigfit.archs.common import (
    has_exp_probs_b,
    has_longrope_factors,
    has_rope_freqs,
    kv_heads_for_gqa,
    n_layer_all,
    n_nextn_layers,
    n_rot,
)
from rigfit.catalog.arch import Architecture, ModelSpec, TensorInfo, block_index
from rigfit.catalog.quant import FileType, ggml_type, resolve_file_type, tensor_nbytes
from rigfit.errors import RigfitError
from rigfit.estimate import summarycache, typecache
from rigfit.estimate.summarycache import TableRef
from rigfit.estimate.tablecache import IdentityCache, arch_key

Shape = tuple[int, ...]

#: llama.cpp architectures whose tensor table is predicted (the registry's families with shapes).
SUPPORTED_ARCHS: tuple[str, ...] = supported_archs()

#: Tables kept by :func:`_catalog_tensors_cached`: every model × quant a recommend ladder plans
#: (~2,000 in the catalog) stays one table, so its summaries (rigfit.estimate.summarycache) and the
#: caches keyed by its identity stay warm across ladders.
CATALOG_TABLES_KEPT = 4096


# ---------------------------------------------------------------------------------------------
# Tensor shapes (built by the architecture's family, rigfit.archs)
# ---------------------------------------------------------------------------------------------


def _sort_key(name: str) -> tuple[int, str]:
    """(block N of ``blk.N.…``, else -1; the name): what ``re.match(r"blk\\.(\\d+)\\.", name)``
    finds, without a regular expression per tensor (``isdecimal`` is ``\\d``)."""
    if name.startswith("blk."):
        parts = name.split(".", 2)
        if len(parts) == 3 and parts[1].isdecimal():
            return (int(parts[1]), name)
    return (-1, name)


def tensor_shapes(arch: Architecture) -> list[tuple[str, Shape]]:
    """Names and GGUF shapes (``ne0`` first) of the tensors llama.cpp's converter writes.

    In ``llama-quantize`` output order (non-block tensors, then blocks; sorted by name inside).
    Raises :class:`UnsupportedArchitectureError` for architectures not modelled yet.
    """
    try:
        return list(_tensor_shapes_cached(arch, _extra_key(arch)))
    except TypeError:  # an Architecture holding unhashable values (lists): build uncached
        return _build_shapes(arch)


#: Where :func:`_extra_key` keeps its answer in an architecture's ``__dict__`` (not a field:
#: equality, ``replace`` and ``asdict`` ignore it): (``marshal.dumps(arch.extra)``, the key, then
#: once asked the architecture's ``repr`` and the sha256 of it and a NUL, else None).
_MEMO = "_extra_key_memo"


def _extra_key(arch: Architecture) -> str:
    """What stands for ``arch.extra`` in the table caches' keys (Architecture's hash and equality
    leave it out): its items sorted, values by ``repr``.

    A ladder asks it ~2,500 times for ~300 architectures, ~8 µs each (issue 15), so the key is kept
    per instance with the dict's ``marshal`` bytes, and used again only while ``marshal`` writes
    the same bytes: those are exact in every type and value (1, 1.0 and True differ; a subclass,
    such as an enum, is refused), so a changed dict, even changed in place, gets its key worked out
    afresh. A dict ``marshal`` refuses is keyed afresh every time."""
    memo = _memo(arch)
    return memo[1] if memo is not None else _extra_repr(arch.extra or {})


def _memo(arch: Architecture) -> tuple[bytes, str, str | None, Any] | None:
    """The memo of ``arch`` (:data:`_MEMO`) valid for its ``extra`` now (made or renewed), or None
    (``extra`` not marshal-able)."""
    extra = arch.extra
    try:
        raw = marshal.dumps(extra)
    except ValueError:  # a value marshal cannot write: no memo
        return None
    d = arch.__dict__
    memo = d.get(_MEMO)
    if memo is None or memo[0] != raw:
        memo = d[_MEMO] = (raw, _extra_repr(extra or {}), None, None)
    return memo


def _extra_repr(extra: dict) -> str:
    return repr(sorted((k, repr(v)) for k, v in extra.items()))


def _full_memo(arch: Architecture) -> tuple[bytes, str, str, Any] | None:
    """:func:`_memo` with the architecture's ``repr`` and its :func:`typecache.key_hash` (worked
    out on first use, and kept only if ``extra`` did not change meanwhile), or None."""
    memo = _memo(arch)
    if memo is None:
        return None
    if memo[2] is None or memo[3] is None:
        r = repr(arch)
        try:
            same = marshal.dumps(arch.extra) == memo[0]
        except ValueError:
            same = False
        if not same:  # changed while this ran (another thread): not kept
            return None
        memo = arch.__dict__[_MEMO] = (memo[0], memo[1], r, typecache.key_hash(r))
    return memo  # type: ignore[return-value]


def _arch_repr(arch: Architecture) -> str:
    """``repr(arch)``, kept in :func:`_extra_key`'s memo (~8 µs a call; a ladder asks it once per
    table): the other fields are frozen, so it changes only with ``extra``, which the memo watches."""
    memo = _full_memo(arch)
    return repr(arch) if memo is None else memo[2]


def _arch_key_of(arch: Architecture, file_type: str, options: tuple[bool, ...]) -> str:
    """``typecache.key_of(repr(arch), file_type, options)``, with the sha256 of the architecture's
    part worked out once per architecture (kept in the memo) and copied for each table."""
    memo = _full_memo(arch)
    if memo is None:
        return typecache.key_of(repr(arch), file_type, options)
    return typecache.key_from(memo[3], file_type, options)


@lru_cache(maxsize=256)
def _tensor_shapes_cached(arch: Architecture, extra_key: str) -> tuple[tuple[str, Shape], ...]:
    return tuple(_build_shapes(arch))


def _build_shapes(arch: Architecture) -> list[tuple[str, Shape]]:
    build = tensor_family(arch).build_shapes
    assert build is not None  # tensor_family raises for families without shapes
    out = build(arch)
    out.sort(key=lambda t: _sort_key(t[0]))
    return out


# ---------------------------------------------------------------------------------------------
# llama_tensor_get_type (src/llama-quant.cpp)
# ---------------------------------------------------------------------------------------------

_IQ_LOW = {"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"}
_OUT_Q5K = {"IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"}
_ATTN_OUT_8X = {
    "Q2_K",
    "IQ3_XS",
    "IQ3_XXS",
    "Q3_K_S",
    "Q3_K_M",
    "IQ4_NL",
    "Q4_K_S",
    "Q4_K_M",
    "IQ3_S",
    "IQ3_M",
    "IQ4_XS",
}


@lru_cache(maxsize=16384)  # pure in the name; asked for every tensor of every (model, quant)
def _category(name: str) -> str:
    """tensor_get_category: broad role of a tensor for the quantization rules."""
    if name == "output.weight":
        return "output"
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return "token_embd"
    for key, cat in (
        ("attn_qkv.weight", "attn_qkv"),
        ("attn_kv_b.weight", "attn_kv_b"),
        ("attn_v.weight", "attn_v"),
        ("attn_k.weight", "attn_k"),
        ("attn_q.weight", "attn_q"),
        ("attn_output.weight", "attn_output"),
        ("ffn_up", "ffn_up"),
        ("ffn_gate", "ffn_gate"),
        ("ffn_down", "ffn_down"),
    ):
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
    blocked = (
        "_norm.weight",
        "ffn_gate_inp.weight",
        "ffn_gate_tid2eid.weight",
        "altup",
        "laurel",
        "per_layer_model_proj",
        "ssm_conv1d",
        "shortconv.conv.weight",
        "indexer.k_proj.weight",
        "indexer.q_proj.weight",
        "time_mix_first.weight",
        "time_mix_w0.weight",
        "time_mix_w1.weight",
        "time_mix_w2.weight",
        "time_mix_v0.weight",
        "time_mix_v1.weight",
        "time_mix_v2.weight",
        "time_mix_a0.weight",
        "time_mix_a1.weight",
        "time_mix_a2.weight",
        "time_mix_g1.weight",
        "time_mix_g2.weight",
        "time_mix_decay_w1.weight",
        "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight",
        "attn_rel_b.weight",
        ".position_embd",
        ".patch_embd",
    )
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
        ret = "Q4_0"  # older builds used IQ4_NL here: same 18 B / 32 weights
    elif target == "Q4_K":
        ret = "Q5_0"
    elif target == "Q5_K":
        ret = "Q5_1"
    elif target == "Q6_K":
        ret = "Q8_0"
    elif t.block_size <= 32:
        ret = target
    else:
        raise RigfitError(
            f"llama-quantize has no fallback for {name} (row length {ncols}) in {target}.",
            "Choose another quantization type for this model.",
        )
    if ncols % ggml_type(ret).block_size:
        ret = "F16"
    return ret


@dataclass
class _QuantState:
    """quantize_state_impl: counters the rules consult while walking the tensors in order.

    falcon: the architecture's family uses llama.cpp's LLM_ARCH_FALCON exceptions.
    """

    ftype: str
    falcon: bool
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


def _type_output(qs: _QuantState, new_type: str, shape: Shape) -> str:
    """Output head (and a tied token_embd): Q6_K, Q5_K for the lowest IQ types, Q8_0 fallbacks."""
    ft = qs.ftype
    if ft == "MXFP4_MOE" or shape[0] % ggml_type(new_type).block_size != 0:
        return "Q8_0"
    if ft in _OUT_Q5K:
        return "Q5_K"
    if new_type != "Q8_0":
        return "Q6_K"
    return new_type


def _type_token_embd(qs: _QuantState, new_type: str) -> str:
    ft = qs.ftype
    if ft in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
        return "Q2_K"
    if ft in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
        return "IQ3_S"
    if ft in ("TQ1_0", "TQ2_0", "Q2_0"):
        return "Q4_K"
    return new_type


def _type_iq_low(qs: _QuantState, new_type: str, cat: str, attn_v_like: bool) -> str:
    """The IQ1/IQ2 file types: their own attn_v, attn_k, ffn_down and attn_output rules."""
    ft = qs.ftype
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


def _type_attn_v(qs: _QuantState, new_type: str) -> str:
    """attn_v (and attn_kv_b, current-style attn_qkv): more bits for GQA and sensitive layers."""
    ft, gqa = qs.ftype, qs.n_gqa
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


def _type_attn_kq(qs: _QuantState, new_type: str, cat: str) -> str:
    """attn_k / attn_q: IQ3 file types step down; 8-expert models keep attn_k in Q8_0."""
    ft = qs.ftype
    if cat == "attn_k" and qs.n_expert == 8:
        return "Q8_0"
    if ft == "IQ3_XS":
        return "IQ3_XXS"
    if ft == "IQ3_XXS":
        return "IQ2_S"
    return new_type


#: File types whose ffn_down rule :func:`_ffn_down_low_bits` holds (the rest: ``_ffn_down_high_bits``).
_FFN_DOWN_LOW = ("Q2_K", "Q2_K_S", "IQ3_XXS", "Q3_K_M", "IQ3_M", "Q3_K_L")


def _ffn_down_low_bits(qs: _QuantState, new_type: str, i: int, n: int) -> str:
    """ffn_down for the 2- and 3-bit file types (llama.cpp's branches, in its order)."""
    ft, falcon = qs.ftype, qs.falcon
    if ft == "Q2_K":
        new_type = "Q3_K"
    elif ft == "Q2_K_S":
        if i < n // 8:
            new_type = "Q4_K"
    elif ft == "IQ3_XXS" and not qs.has_imatrix:
        new_type = "Q4_K" if i < n // 8 else "Q3_K"
    elif ft == "Q3_K_M":
        new_type = "Q5_K" if i < n // 16 else "Q4_K" if (not falcon or _use_more_bits(i, n)) else "Q3_K"
    elif ft == "IQ3_M" and (i < n // 8 or (qs.n_expert == 8 and _use_more_bits(i, n))):
        new_type = "Q4_K"
    elif ft == "Q3_K_L":
        new_type = "Q4_K" if falcon else "Q5_K"
    return new_type


def _ffn_down_high_bits(qs: _QuantState, new_type: str, i: int, n: int) -> str:
    """ffn_down for the 4- and 5-bit file types (llama.cpp's branches, in its order)."""
    ft, falcon = qs.ftype, qs.falcon
    if ft == "Q4_K_M":
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
    return new_type


def _type_ffn_down(qs: _QuantState, new_type: str, name: str) -> str:
    """ffn_down: more bits in the first and ``use_more_bits`` layers (per expert layer for MoE).

    llama.cpp's ``llama_tensor_get_type`` tests the file type in one if/else chain; every branch
    names its own file types, so the chain splits by file type without changing which applies."""
    i, n = _layer_info(qs, qs.i_ffn_down, name)
    rule = _ffn_down_low_bits if qs.ftype in _FFN_DOWN_LOW else _ffn_down_high_bits
    new_type = rule(qs, new_type, i, n)
    qs.i_ffn_down += 1
    return new_type


def _type_attn_output(qs: _QuantState, new_type: str) -> str:
    ft = qs.ftype
    if qs.falcon:
        return "Q4_K" if ft == "Q3_K_L" else new_type
    if qs.n_expert == 8:
        return "Q5_K" if ft in _ATTN_OUT_8X else new_type
    return {"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K", "IQ3_M": "Q4_K"}.get(
        ft, new_type
    )


def _type_legacy_qkv(qs: _QuantState, new_type: str) -> str:
    """Fused attn_qkv of older llama.cpp builds (reached only with legacy_qkv)."""
    return {"Q3_K_M": "Q4_K", "Q3_K_L": "Q4_K", "IQ3_M": "Q4_K", "Q4_K_M": "Q5_K", "Q5_K_M": "Q6_K"}.get(
        qs.ftype, new_type
    )


def _type_ffn_gate_up(qs: _QuantState, new_type: str, name: str, cat: str) -> str:
    counter = qs.i_ffn_gate if cat == "ffn_gate" else qs.i_ffn_up
    i, n = _layer_info(qs, counter, name)
    if qs.ftype == "IQ3_XS" and n // 8 <= i < 7 * n // 8:
        new_type = "IQ3_XXS"
    if cat == "ffn_gate":
        qs.i_ffn_gate += 1
    else:
        qs.i_ffn_up += 1
    return new_type


def _get_type_impl(qs: _QuantState, new_type: str, name: str, shape: Shape, cat: str) -> str:
    """llama_tensor_get_type_impl, in its order: output/tied embedding, MXFP4_MOE, token_embd,
    the IQ1/IQ2 types, then one rule per tensor category."""
    ft = qs.ftype
    attn_v_like = cat in ("attn_v", "attn_kv_b") or (cat == "attn_qkv" and not qs.legacy_qkv)
    if cat == "output" or (qs.tied and cat == "token_embd"):
        return _type_output(qs, new_type, shape)
    if ft == "MXFP4_MOE":
        return "MXFP4" if len(shape) > 2 and shape[2] > 1 else "Q8_0"
    if cat == "token_embd":
        return _type_token_embd(qs, new_type)
    if ft in _IQ_LOW:
        return _type_iq_low(qs, new_type, cat, attn_v_like)
    if attn_v_like:
        return _type_attn_v(qs, new_type)
    if cat in ("attn_k", "attn_q"):
        return _type_attn_kq(qs, new_type, cat)
    if cat == "ffn_down":
        return _type_ffn_down(qs, new_type, name)
    if cat == "attn_output":
        return _type_attn_output(qs, new_type)
    if cat == "attn_qkv":
        return _type_legacy_qkv(qs, new_type)
    if cat in ("ffn_gate", "ffn_up"):
        return _type_ffn_gate_up(qs, new_type, name, cat)
    return new_type


def _source_type(name: str, shape: Shape, ftype: FileType, a: str) -> str:
    """Type a tensor has in the converter's output (what llama-quantize keeps if it may not
    quantize it): F32 for 1-D tensors, norms, routers, conv1d and non-``weight`` tensors; the
    family may keep a stored type (gpt-oss MXFP4 experts)."""
    if _n_dims(shape) <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight"):
        return "F32"
    if any(k in name for k in ("ffn_gate_inp.", "ssm_conv1d", "position_embd", "token_types")):
        return "F32"
    stored = tensor_family(a).source_type(name)
    if stored is not None:
        return stored
    return {"F32": "F32", "BF16": "BF16"}.get(ftype.name, "F16")


@lru_cache(maxsize=16384)
def _suffix(name: str) -> str:
    """Tensor name without its ``blk.N.`` prefix (the rules below never depend on N)."""
    return name.split(".", 2)[2] if name.startswith("blk.") else name


@lru_cache(maxsize=1024)
def _static_info(suffix: str, n_dims: int, ftype: str, a: str) -> tuple[bool, str, str]:
    """(may quantize, category, converter type) of a tensor, from its layer-free name."""
    shape = (2,) * n_dims  # only the number of dimensions matters here
    ft = resolve_file_type(ftype)
    return allows_quantization(suffix, shape), _category(suffix), _source_type(suffix, shape, ft, a)


def tensor_types(
    arch: Architecture,
    file_type: str | FileType,
    *,
    imatrix: bool = True,
    legacy_qkv: bool = False,
    allow_requantize: bool = False,
) -> list[tuple[str, Shape, str]]:
    """(name, shape, GGML type) of every tensor of ``arch`` as ``llama-quantize <file_type>``
    writes it (F32/F16/BF16: as ``convert_hf_to_gguf.py --outtype`` writes it).

    imatrix: whether an importance matrix was used (changes a few choices; see module doc).
    legacy_qkv: pre-2026 treatment of fused ``attn_qkv`` (Q4_K_M → Q5_K instead of attn_v rules).
    allow_requantize: llama-quantize ``--allow-requantize``: re-type tensors the converter already
        stored quantized (gpt-oss MXFP4 experts); by default they are kept as they are.

    Cached per (architecture, file type, options): the list returned is a fresh copy of an
    immutable table, so callers may change it freely.
    """
    ft = resolve_file_type(file_type)
    try:
        return list(_tensor_types_cached(arch, _extra_key(arch), ft, imatrix, legacy_qkv, allow_requantize))
    except TypeError:  # an Architecture holding unhashable values (lists): build uncached
        return _tensor_types(
            arch, ft, imatrix=imatrix, legacy_qkv=legacy_qkv, allow_requantize=allow_requantize
        )


@lru_cache(maxsize=512)
def _tensor_types_cached(
    arch: Architecture, extra_key: str, ft: FileType, imatrix: bool, legacy_qkv: bool, allow_requantize: bool
) -> tuple[tuple[str, Shape, str], ...]:
    """:func:`tensor_types` as an immutable tuple; ``extra_key`` stands for ``arch.extra`` (not hashed).
    Kept on disk between runs (:mod:`rigfit.estimate.typecache`, content-keyed)."""
    key = _disk_key(arch, extra_key, ft, (imatrix, legacy_qkv, allow_requantize))
    kept = typecache.types(key)
    if kept is not None:
        shapes = _SHAPES.get(arch, extra_key, lambda: tuple(tensor_shapes(arch)))
        if len(shapes) == len(kept):
            return tuple((name, shape, t) for (name, shape), t in zip(shapes, kept, strict=True))
    out = tuple(
        _tensor_types(arch, ft, imatrix=imatrix, legacy_qkv=legacy_qkv, allow_requantize=allow_requantize)
    )
    typecache.put(key, _types_bytes(out), tuple(t for _, _, t in out))
    return out


@lru_cache(maxsize=4096)
def _disk_key(arch: Architecture, extra_key: str, ft: FileType, options: tuple[bool, ...]) -> str:
    """The disk cache's key of a table: the architecture's ``repr`` (every field, ``extra`` too),
    the file type and the options."""
    return _arch_key_of(arch, _ft_repr(ft), options)


@lru_cache(maxsize=256)
def _ft_repr(ft: FileType) -> str:
    """``repr(ft)`` (a frozen row of plain values), once per file type."""
    return repr(ft)


def _types_bytes(types: tuple[tuple[str, Shape, str], ...]) -> int:
    """Weights bytes of a (name, shape, type) table [B]."""
    return sum(_nbytes(t, tuple(shape)) for _, shape, t in types)


def _tensor_types(
    arch: Architecture, ft: FileType, *, imatrix: bool, legacy_qkv: bool, allow_requantize: bool
) -> list[tuple[str, Shape, str]]:
    """Uncached :func:`tensor_types` for a resolved file type."""
    a = canonical_arch(arch)
    if ft.via == "convert" and ft.name not in ("F32", "F16", "BF16"):
        raise RigfitError(
            f"{ft.name} files are written by the converter from {ft.name} checkpoints; "
            "their tensor mix cannot be predicted from the architecture.",
            "Read the GGUF file instead.",
        )
    shapes = _SHAPES.get(arch, _extra_key(arch), lambda: tuple(tensor_shapes(arch)))  # same for every quant
    default = ft.base_type
    names = [n for n, _ in shapes]
    tied = "output.weight" not in names
    fam = tensor_family(arch)
    hkv0 = kv_heads_for_gqa(arch)
    qs = _QuantState(
        ftype=ft.name,
        falcon=fam.quant_falcon,
        n_gqa=(arch.n_head // hkv0) if hkv0 else 0,
        n_expert=arch.moe.n_expert if arch.moe else 0,
        is_70b=fam.is_70b(arch),
        has_imatrix=imatrix,
        tied=tied,
        n_attention_wv=sum(1 for n in names if _category(n) in ("attn_v", "attn_qkv", "attn_kv_b")),
        n_layer_all=n_layer_all(arch),
        legacy_qkv=legacy_qkv,
    )
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


#: :func:`tensor_shapes` per architecture identity (rigfit.estimate.tablecache): every quant of a
#: model has the same shapes.
_SHAPES: IdentityCache[tuple[tuple[str, Shape], ...]] = IdentityCache(1024)


def catalog_model_spec(
    arch: Architecture,
    file_type: str | FileType,
    *,
    imatrix: bool = True,
    legacy_qkv: bool = False,
    allow_requantize: bool = False,
) -> ModelSpec:
    """Predicted tensor table of ``arch`` quantized to ``file_type``: a :class:`ModelSpec`
    with origin "catalog" and ``tensors_exact=False`` (shapes and types follow llama.cpp's rules
    exactly; the file the user downloads may come from another converter version or a custom mix).
    """
    ft = resolve_file_type(file_type)
    opts = {"imatrix": imatrix, "legacy_qkv": legacy_qkv, "allow_requantize": allow_requantize}
    try:
        ref = _table_ref(arch, _extra_key(arch), ft, imatrix, legacy_qkv, allow_requantize)
    except TypeError:  # an Architecture holding unhashable values (lists): build uncached
        tensors = _catalog_tensors(tensor_types(arch, ft, **opts))
        return ModelSpec(arch=arch, tensors=tensors, file_type=ft.name, origin="catalog", tensors_exact=False)
    ref.weights()  # the types, or their kept sum: raises now for a table that cannot be predicted
    spec = CatalogSpec(arch=arch, tensors=None, file_type=ft.name, origin="catalog", tensors_exact=False)  # type: ignore[arg-type]
    spec.__dict__["_table_ref"] = ref
    return spec


class _LazyTensors:
    """``CatalogSpec.tensors``: the table, built from its :class:`TableRef` when first read."""

    def __get__(self, obj: ModelSpec | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        t = d.get("_tensors")
        if t is None:
            t = d["_table_ref"].table()
            d["_tensors"] = t
        return t

    def __set__(self, obj: ModelSpec, value: object) -> None:
        obj.__dict__["_tensors"] = value


class CatalogSpec(ModelSpec):
    """A catalog :class:`ModelSpec` whose tensor table is built when something first reads
    ``tensors``: planning asks the table's summaries (rigfit.estimate.summarycache: placement runs,
    model work, the tied head, experts, an MTP block) through its :class:`TableRef`, so a recommend
    ladder builds no table whose summaries are kept. Equal in every field to the eager spec."""

    tensors = _LazyTensors()  # type: ignore[assignment]

    @property
    def weights_bytes(self) -> int:
        """:attr:`ModelSpec.weights_bytes`, from the table's types without building it [B]."""
        ref = self.__dict__.get("_table_ref")
        if isinstance(ref, TableRef):
            return ref.weights()
        return sum(t.n_bytes for t in self.tensors)


@lru_cache(maxsize=CATALOG_TABLES_KEPT)
def _table_ref(
    arch: Architecture, extra_key: str, ft: FileType, imatrix: bool, legacy_qkv: bool, allow_requantize: bool
) -> TableRef:
    """The one :class:`TableRef` of a catalog table (so caches keyed by it are shared)."""
    args = (arch, extra_key, ft, imatrix, legacy_qkv, allow_requantize)
    kept: dict[str, int] = {}

    def weights() -> int:
        if "w" not in kept:
            kept["w"] = _weights_cached(*args)  # (catalog_weights_bytes with this table's key)
        return kept["w"]

    def names() -> tuple[str, ...]:
        return _NAMES.get(arch, extra_key, lambda: _kept_names(arch))

    key = _disk_key(arch, extra_key, ft, (imatrix, legacy_qkv, allow_requantize))
    return TableRef(key, arch, ft.name, lambda: _catalog_tensors_cached(*args), names, weights)


#: The tensor names of an architecture's tables, in table order (per architecture identity).
_NAMES: IdentityCache[tuple[str, ...]] = IdentityCache(1024)


def _kept_names(arch: Architecture) -> tuple[str, ...]:
    """The tensor names of ``arch`` in table order; in a ladder kept on disk with the table
    summaries (rigfit.estimate.summarycache), so a fresh process works out no shapes for them."""
    return summarycache.get(
        "names",
        arch_key(arch),
        lambda: tuple(n for n, _ in tensor_shapes(arch)),
        lambda names: names,
        _names_read_back,
    )


def _names_read_back(raw: object) -> tuple[str, ...]:
    if not (isinstance(raw, tuple) and set(map(type, raw)) <= {str}):  # (~60,000 names a ladder)
        raise ValueError("not a names summary")
    return raw


def catalog_weights_bytes(
    arch: Architecture,
    file_type: str | FileType,
    *,
    imatrix: bool = True,
    legacy_qkv: bool = False,
    allow_requantize: bool = False,
) -> int:
    """``catalog_model_spec(...).weights_bytes`` without building the table's rows [B]: recommend
    rejects a third of the catalog's model × quant candidates on this sum alone."""
    ft = resolve_file_type(file_type)
    opts = {"imatrix": imatrix, "legacy_qkv": legacy_qkv, "allow_requantize": allow_requantize}
    try:
        return _weights_cached(arch, _extra_key(arch), ft, imatrix, legacy_qkv, allow_requantize)
    except TypeError:  # an Architecture holding unhashable values (lists): build uncached
        types = tuple(tensor_types(arch, ft, **opts))
    return _types_bytes(types)


@lru_cache(maxsize=8192)
def _weights_cached(
    arch: Architecture, extra_key: str, ft: FileType, imatrix: bool, legacy_qkv: bool, allow_requantize: bool
) -> int:
    """:func:`catalog_weights_bytes` of a hashable architecture, once per process per table: kept on
    disk (rigfit.estimate.typecache), else summed over the table's types [B]. A ladder asks it
    twice per candidate (the screen on weights, then the spec), and the disk key and its look-up
    cost more than the answer (issue 15)."""
    kept = typecache.weights(_disk_key(arch, extra_key, ft, (imatrix, legacy_qkv, allow_requantize)))
    if kept is not None:
        return kept
    return _types_bytes(_tensor_types_cached(arch, extra_key, ft, imatrix, legacy_qkv, allow_requantize))


def _catalog_tensors(
    types: list[tuple[str, Shape, str]] | tuple[tuple[str, Shape, str], ...],
) -> tuple[TensorInfo, ...]:
    """Tensor table (frozen :class:`TensorInfo` rows with exact bytes) from (name, shape, type); each
    row's ``layer`` worked out now (every plan of the table asks it).

    A row's ``__dict__`` is filled directly, in the order ``TensorInfo(name, shape, type, n_bytes)``
    and then ``layer`` would fill it: the same row, without the frozen dataclass's per-field
    ``object.__setattr__`` (a third of a cold recommend's table building; issue 15)."""
    new = object.__new__
    out = []
    for name, shape, t in types:
        row = new(TensorInfo)
        row.__dict__.update(
            name=name,
            shape=shape,
            ggml_type=t,
            n_bytes=_nbytes(t, tuple(shape)),
            offset=None,
            layer=block_index(name),  # what TensorInfo.layer keeps on first use
        )
        out.append(row)
    return tuple(out)


@lru_cache(maxsize=16384)  # layers repeat the same (type, shape) many times
def _nbytes(ggml_type_name: str, shape: Shape) -> int:
    """:func:`rigfit.catalog.quant.tensor_nbytes`, memoized [B]."""
    return tensor_nbytes(ggml_type_name, shape)


@lru_cache(maxsize=CATALOG_TABLES_KEPT)
def _catalog_tensors_cached(
    arch: Architecture, extra_key: str, ft: FileType, imatrix: bool, legacy_qkv: bool, allow_requantize: bool
) -> tuple[TensorInfo, ...]:
    """Tensor table of :func:`catalog_model_spec`, shared between calls (an immutable tuple of frozen
    rows; the spec around it is built afresh so each caller gets its own ``arch``). Registered
    with its disk key, so its summaries can be read back (rigfit.estimate.summarycache)."""
    types = _tensor_types_cached(arch, extra_key, ft, imatrix, legacy_qkv, allow_requantize)
    rows = _ROWS.get(arch, extra_key, dict)
    if len(rows) > _ROWS_PER_ARCH:  # (an architecture asked for very many file types)
        rows.clear()
    table = _shared_rows(types, rows)
    key = _disk_key(arch, extra_key, ft, (imatrix, legacy_qkv, allow_requantize))
    summarycache.register(table, key, arch, ft.name)
    return table


#: Rows of an architecture's catalog tables, per (position in the table, type): a tensor stored
#: in the same type in two file types (norms, F32 biases, the layers a mix leaves alone) is one
#: frozen row shared by both tables (rigfit.estimate.tablecache, per architecture identity).
_ROWS: IdentityCache[dict[tuple[int, str], TensorInfo]] = IdentityCache(1024)
#: Rows kept per architecture before its row table starts afresh (~20 file types of ~2,000 rows).
_ROWS_PER_ARCH = 1 << 16


def _shared_rows(
    types: tuple[tuple[str, Shape, str], ...], rows: dict[tuple[int, str], TensorInfo]
) -> tuple[TensorInfo, ...]:
    """:func:`_catalog_tensors` of ``types``, reusing the rows ``rows`` has for the same position
    and type (the same name, shape, type and bytes: an equal, immutable row)."""
    get = rows.get
    new = object.__new__
    out = []
    for i, (name, shape, t) in enumerate(types):
        row = get((i, t))
        if row is None or row.name != name:
            row = new(TensorInfo)  # as _catalog_tensors builds a row
            row.__dict__.update(
                name=name,
                shape=shape,
                ggml_type=t,
                n_bytes=_nbytes(t, tuple(shape)),
                offset=None,
                layer=block_index(name),
            )
            rows[i, t] = row
        out.append(row)
    return tuple(out)


def type_counts(spec: ModelSpec) -> dict[str, int]:
    """Number of tensors per GGML type ("Q4_K": 193, …), as llama.cpp's loader logs them."""
    return dict(Counter(t.ggml_type for t in spec.tensors))


def bits_per_weight(spec: ModelSpec) -> float:
    """Average stored bits per weight of the tensor data [bit]."""
    n = sum(t.n_elements for t in spec.tensors)
    return spec.weights_bytes * 8 / n if n else 0.0


__all__ = [
    "SUPPORTED_ARCHS",
    "UnsupportedArchitectureError",
    "allows_quantization",
    "bits_per_weight",
    "canonical_arch",
    "catalog_model_spec",
    "catalog_weights_bytes",
    "has_exp_probs_b",
    "has_longrope_factors",
    "has_rope_freqs",
    "n_layer_all",
    "n_nextn_layers",
    "n_rot",
    "tensor_shapes",
    "tensor_types",
    "type_counts",
]
