"""KV cache types and long context: bytes, quality cost, decode slowdown at depth, rope scaling.

Every KV cache type llama.cpp accepts for ``--cache-type-k`` / ``--cache-type-v`` (``-ctk`` /
``-ctv``; common/arg.cpp ``kv_cache_types``: f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1)
is in :data:`rigfit.catalog.quant.KV_TYPES` with its GGML block size and bytes per block, so the
cache is sized exactly (``estimate/memory.py``: a row of ``n`` values is ``n / block × block
bytes``; K and V may differ). This module adds what a user choosing a type needs:

* :func:`check_kv_types`: a quantized V cache needs flash attention in llama.cpp
  (src/llama-context.cpp refuses ``ggml_is_quantized(type_v)`` with flash attention disabled:
  https://github.com/ggml-org/llama.cpp/blob/master/src/llama-context.cpp);
* :func:`kv_quality`: the published quality cost of a K/V type pair (KLD and perplexity against
  an F16 cache), with its source; unknown when nobody published it;
* :func:`kv_type_rows`: per type, the KV cache at the plan's context, decode at depth (estimated:
  the speed model reads ``bytes_per_element`` of cache per cached value; dequantization cost in
  the attention kernels is not modelled, so quantized types may decode slower than shown);
* :func:`rope_scaling_advice`: when ``--ctx`` exceeds the trained context, the YaRN settings the
  model card publishes (``--rope-scaling yarn --rope-scale F --yarn-orig-ctx N``), or "quality
  unknown" for models whose card does not say YaRN works.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from rigfit.catalog.arch import Architecture
from rigfit.catalog.quant import KV_TYPES, resolve_kv_type
from rigfit.datafiles import read_text
from rigfit.errors import RigfitError
from rigfit.figures import Figure

if TYPE_CHECKING:  # typing only: plantypes imports estimate modules, not the reverse
    from rigfit.plantypes import Plan

#: Where llama.cpp refuses a quantized V cache without flash attention.
V_NEEDS_FA_SOURCE = "https://github.com/ggml-org/llama.cpp/blob/master/src/llama-context.cpp"
#: Published KV quality (KLD, ΔPPL vs an F16 cache) and YaRN support per model card.
KV_QUALITY_FILE = "kv_quality.json"
ROPE_FILE = "rope_scaling.json"


def check_kv_types(kv_type_k: str, kv_type_v: str, flash_attn: str) -> tuple[str, str]:
    """Resolve ``-ctk`` / ``-ctv`` (any spelling) and check them against ``--fa``; returns the
    llama.cpp names. A quantized V cache with flash attention off is refused, as llama.cpp does."""
    k, v = resolve_kv_type(kv_type_k), resolve_kv_type(kv_type_v)
    if v.v_needs_flash_attn and flash_attn == "off":
        raise RigfitError(
            f"A quantized V cache ({v.name}) needs flash attention in llama.cpp; --fa off refuses it.",
            "Use --fa on (or auto), or --kv-type-v f16.",
        )
    return k.name, v.name


@dataclass(frozen=True)
class KVQuality:
    """Published quality cost of a K/V cache type pair against an F16 cache.

    kld: mean KL divergence of the token distribution [nats]; delta_ppl: perplexity increase;
    model: what it was measured on; source: URL.
    """

    type_k: str
    type_v: str
    kld: float | None
    delta_ppl: float | None
    model: str
    source: str

    def to_json(self) -> dict:
        return {
            "type_k": self.type_k,
            "type_v": self.type_v,
            "kld": self.kld,
            "delta_ppl": self.delta_ppl,
            "model": self.model,
            "source": self.source,
            "provenance": "looked_up",
        }


@lru_cache(maxsize=1)
def _quality_table() -> dict[tuple[str, str], KVQuality]:
    text = read_text("rigfit.catalog", "data", KV_QUALITY_FILE)
    rows = json.loads(text)["rows"]
    return {
        (r["type_k"], r["type_v"]): KVQuality(
            r["type_k"], r["type_v"], r.get("kld"), r.get("delta_ppl"), r["model"], r["source"]
        )
        for r in rows
    }


def kv_quality(kv_type_k: str, kv_type_v: str) -> KVQuality | None:
    """Published quality cost of a K/V pair (None: f16/f16, the reference, or nothing published)."""
    k, v = resolve_kv_type(kv_type_k).name, resolve_kv_type(kv_type_v).name
    return _quality_table().get((k, v))


@dataclass(frozen=True)
class KVTypeRow:
    """One KV cache type (same for K and V) at a plan's context.

    kv_bytes: the whole KV cache [B] (exact, llama.cpp's allocation rules); decode_tps_ctx: decode
    at the context (estimated); slowdown: decode at depth 0 over decode at the context;
    quality: published, or None; needs_fa: a quantized V cache needs flash attention.
    """

    kv_type: str
    bytes_per_element: float
    kv_bytes: int
    decode_tps_ctx: Figure | None
    slowdown: float | None
    quality: KVQuality | None
    needs_fa: bool

    def to_json(self) -> dict:
        return {
            "kv_type": self.kv_type,
            "bytes_per_element": self.bytes_per_element,
            "kv_bytes": self.kv_bytes,
            "kv_bytes_provenance": "estimated (llama.cpp allocation rules, exact block sizes)",
            "decode_tps_at_context": self.decode_tps_ctx.to_json() if self.decode_tps_ctx else None,
            "slowdown_at_context": self.slowdown,
            "quality": self.quality.to_json() if self.quality else None,
            "needs_flash_attn": self.needs_fa,
        }


def kv_type_rows(plan: Plan) -> list[KVTypeRow]:
    """Every KV type llama.cpp accepts, at the plan's context and placement (llama.cpp plans)."""
    # lazy: rigfit.plan imports plantypes, which imports this package's modules
    from rigfit.plan import device_memory, speed_of

    rows: list[KVTypeRow] = []
    for kv in KV_TYPES:
        s = replace(plan.settings, kv_type_k=kv.name, kv_type_v=kv.name)
        try:
            _, devs = device_memory(plan.model, plan.machine, s, plan.n_ctx, plan.settings.ngl, plan.build)
        except RigfitError:  # rows that are not whole blocks of this type: llama.cpp refuses it
            continue
        kv_bytes = sum(d.kv_bytes for d in devs)
        sp = None
        if plan.speed is not None:
            alt = replace(plan, settings=s)
            sp, _ = speed_of(alt)
        dec = sp.decode_tps_ctx if sp is not None else None
        slow = None
        if sp is not None and sp.decode_tps.value and dec is not None and dec.value:
            slow = sp.decode_tps.value / dec.value
        rows.append(
            KVTypeRow(
                kv.name,
                kv.bytes_per_element,
                kv_bytes,
                dec,
                slow,
                kv_quality(kv.name, kv.name),
                kv.v_needs_flash_attn,
            )
        )
    return rows


@dataclass(frozen=True)
class RopeAdvice:
    """What to do about a context beyond the trained one.

    supported: the model card says YaRN extends it (False: quality unknown). factor / orig_ctx /
    max_ctx: YaRN settings and the longest context the card vouches for [tokens]; source: card URL.
    """

    n_ctx: int
    n_ctx_train: int
    supported: bool
    factor: float | None = None
    orig_ctx: int | None = None
    max_ctx: int | None = None
    source: str | None = None

    @property
    def llama_flags(self) -> str | None:
        # llama.cpp common/arg.cpp: --rope-scaling {none,linear,yarn}; --rope-scale N "expands context
        # by a factor of N" (rope_freq_scale = 1/N); --yarn-orig-ctx N, default 0 = the GGUF's
        # n_ctx_train (40960 for Qwen3, so it must be given): https://github.com/ggml-org/llama.cpp/blob/master/common/arg.cpp
        if not self.supported or self.factor is None:
            return None
        return f"--rope-scaling yarn --rope-scale {self.factor:g} --yarn-orig-ctx {self.orig_ctx}"

    def text(self) -> str:
        if not self.supported:
            return (
                f"Context {self.n_ctx:,} is beyond the trained context {self.n_ctx_train:,}, and the "
                "model card does not say rope scaling (YaRN) extends it: quality past "
                f"{self.n_ctx_train:,} tokens is unknown (--ctx 0 plans the training context)."
            )
        beyond = ""
        if self.max_ctx and self.n_ctx > self.max_ctx:
            beyond = (
                f" (the card vouches for {self.max_ctx:,} tokens at most; beyond that quality is unknown)"
            )
        return (
            f"Context {self.n_ctx:,} is beyond the native context {self.orig_ctx:,}: the model card "
            f"extends it with YaRN: llama-server {self.llama_flags}{beyond}. Static YaRN can cost some "
            f"quality on short prompts ({self.source})."
        )

    def to_json(self) -> dict:
        return {
            "n_ctx": self.n_ctx,
            "n_ctx_train": self.n_ctx_train,
            "yarn_supported": self.supported,
            "rope_scale": self.factor,
            "yarn_orig_ctx": self.orig_ctx,
            "max_ctx": self.max_ctx,
            "llama_flags": self.llama_flags,
            "source": self.source,
            "provenance": "looked_up" if self.supported else "unknown",
        }


def ctx_per_sequence(n_ctx: int, n_parallel: int, kv_unified: bool) -> int:
    """Context one sequence can reach [tokens]: n_ctx / -np per slot without -kvu (llama-server's
    n_ctx_seq), the whole cache with -kvu."""
    return n_ctx if kv_unified or n_parallel <= 1 else n_ctx // n_parallel


@lru_cache(maxsize=1)
def _rope_table() -> dict[str, dict]:
    text = read_text("rigfit.catalog", "data", ROPE_FILE)
    return {r["id"]: r for r in json.loads(text)["models"]}


def rope_scaling_advice(arch: Architecture, n_ctx: int) -> RopeAdvice | None:
    """None when ``n_ctx`` is within what the model runs natively; else YaRN settings from the
    model card (factor = the smallest published factor that covers ``n_ctx``) or "unknown"."""
    entry = _rope_table().get(arch.id)
    trained = arch.trained_ctx or 0
    native = int(entry["native_ctx"]) if entry else trained
    if not native or n_ctx <= max(native, trained):
        return None
    if entry is None:
        return RopeAdvice(n_ctx, trained or native, False)
    factor = max(1.0, math.ceil(n_ctx / native))
    factor = min(factor, float(entry["max_factor"]))
    return RopeAdvice(
        n_ctx,
        arch.n_ctx_train or native,
        True,
        factor=factor,
        orig_ctx=native,
        max_ctx=int(native * float(entry["max_factor"])),
        source=entry["source"],
    )
