"""Quality lost to quantization: mean KL divergence of a quantized model's logits vs F16.

Data: ``data/quality_kld.csv``, a copy of llama.cpp's perplexity scoreboards
(``tools/perplexity/README.md``: "LLaMA 3 8b Scoreboard", PR ggml-org/llama.cpp#6936, revision
f364eb6f, CUDA on an RTX 4090, wikitext-2 test; and the older "LLaMA 2 vs. LLaMA 3 Quantization
comparison" table for Llama-3-70B, Llama-2-7B and Llama-2-70B). Mean KLD is in nats per token.

Scaling to other model sizes
----------------------------
Folklore says bigger models "tolerate" quantization better; the scoreboards do not show that in
KL divergence. Measured ratios 70B/8B for the same type (same table, Llama 2 7B→70B: Q2_K ×1.71,
Q4_K_M ×1.04, Q6_K ×1.30, Q8_0 ×2.38; Llama 3 8B→70B across the two tables: Q2_K ×1.52,
Q4_K_M ×1.77, Q6_K ×1.68, Q8_0 ×2.28) say the KLD of a type *grows* slowly with size. So::

    KLD(type, N) = KLD_8B(type) × (clamp(N, 8.03e9, 70.6e9) / 8.03e9) ** alpha(type)
    alpha(type) = ln(r(type)) / ln(70.6 / 8.03)

where ``r`` is the measured Llama-3 70B/8B ratio for Q2_K, Q4_K_M, Q6_K and Q8_0, and the
geometric mean of those four (×1.79) for every other type. ``N`` is the parameters that act on a
token (active parameters for a mixture of experts: an assumption; no MoE scoreboard exists).
Outside 8B–70B no measurement exists, so the value is *held* at the nearest measured size rather
than extrapolated (small models are widely reported to suffer more, which we cannot quantify).
The band is ×0.5–×2 around the value (model families react differently: Gemma 2 and Qwen in the
PR #6844 thread), widened to ×0.33–×3 outside the measured size range.

Types with an imatrix variant use the row *without* imatrix for K-quants (the conservative
choice: most public K-quant GGUFs are made with one, which lowers KLD ~10-25 %); IQ types exist
only with an imatrix. A model released in a quantized format (gpt-oss in MXFP4) loses nothing
relative to its release when run in that format.

This is the *generic* estimate. A model with a published scoreboard of its own gets that figure
instead (:mod:`rigfit.catalog.quality_models`, through
:func:`rigfit.catalog.native.kld_for_model`), and for every other model the figure from here is
labelled "estimated (generic …)".
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache

from rigfit.catalog.quant import resolve_file_type
from rigfit.datafiles import read_text
from rigfit.errors import UnknownNameError
from rigfit.figures import Figure, unknown

SOURCE = (
    "llama.cpp tools/perplexity README, 'LLaMA 3 8b Scoreboard' (PR ggml-org/llama.cpp#6936, "
    "rev f364eb6f, wikitext-2, KLD vs F16 logits)"
)
SOURCE_70B = "llama.cpp perplexity README, 'LLaMA 2 vs. LLaMA 3 Quantization comparison' (older revision)"

#: Parameter counts of the two measured models [count] (Llama-3-8B, Llama-3-70B config.json).
N_REF_SMALL = 8.03e9
N_REF_LARGE = 70.6e9

#: Model families released natively in a quantized format (no loss vs the released weights).
NATIVE_QUANT: dict[str, tuple[str, ...]] = {"MXFP4_MOE": ("gpt-oss",), "MXFP4": ("gpt-oss",)}

#: Rough ordering used when a type is missing from the scoreboard: nearest listed neighbour.
#: (Spellings such as "Q4_K" or "Q8" are resolved first by the quant catalog's alias table.)
_FALLBACK = {
    "IQ3_S": "IQ3_S",
    "TQ2_0": "IQ2_XXS",
    "TQ1_0": "IQ1_S",
    "Q2_0": "Q2_K",
}


@dataclass(frozen=True)
class QualityRow:
    """One scoreboard row. kld: mean KL divergence vs F16 [nats/token]; ppl_ratio: PPL(Q)/PPL(F16)."""

    model: str
    quant: str
    imatrix: str
    kld: float
    ppl_ratio: float | None
    source: str


@lru_cache(maxsize=1)
def _rows() -> tuple[QualityRow, ...]:
    text = read_text("rigfit.catalog", "data", "quality_kld.csv")
    out = []
    for r in csv.DictReader(text.splitlines()):
        if not r.get("mean_kld"):
            continue
        out.append(
            QualityRow(
                r["model"],
                r["quant_type"].upper(),
                r["imatrix"],
                float(r["mean_kld"]),
                float(r["ppl_ratio"]) if r.get("ppl_ratio") else None,
                r["source"],
            )
        )
    return tuple(out)


@lru_cache(maxsize=1)
def _kld_8b() -> dict[str, float]:
    """KLD per type on Llama-3-8B: the no-imatrix row where there is one, else the imatrix row."""
    best: dict[str, tuple[bool, float]] = {}
    for r in _rows():
        if r.model != "Llama-3-8B (base)":
            continue
        no_imatrix = r.imatrix == "None"
        prev = best.get(r.quant)
        if prev is None or (no_imatrix and not prev[0]):
            best[r.quant] = (no_imatrix, r.kld)
    return {k: v for k, (_, v) in best.items()}


@lru_cache(maxsize=1)
def _ratio_70b() -> dict[str, float]:
    k8 = _kld_8b()
    return {
        r.quant: r.kld / k8[r.quant]
        for r in _rows()
        if r.model == "Llama-3-70B (base)" and r.quant in k8 and k8[r.quant] > 0
    }


@lru_cache(maxsize=1)
def _geo_mean_ratio() -> float:
    vals = list(_ratio_70b().values())
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


@lru_cache(maxsize=256)  # a pure function of the type: a recommend ladder asks ~3,000 times
def size_exponent(quant: str) -> float:
    """``alpha(type)``: exponent of the KLD growth with parameter count (see module docstring)."""
    r = _ratio_70b().get(quant, _geo_mean_ratio())
    return math.log(r) / math.log(N_REF_LARGE / N_REF_SMALL)


def _canonical(quant: str) -> str:
    q = quant.strip().upper().replace("-", "_")
    try:
        return resolve_file_type(q).name
    except UnknownNameError:  # an unknown spelling: keep the user's text, the lookup will say unknown
        return q


def kld_vs_f16(quant: str, n_params: float | None = None, family: str | None = None) -> Figure:
    """Mean KL divergence vs F16 of file type ``quant`` for a model of ``n_params`` parameters.

    quant: llama.cpp file type ("Q4_K_M", "q8_0", "IQ4_XS" …).
    n_params: parameters acting on each token [count] (active params for MoE); None = 8B.
    family: model family (e.g. "gpt-oss"), used for natively quantized releases.

    Returns a Figure in nats/token: ``looked_up`` at 8B (the scoreboard value), ``estimated``
    with a band for other sizes, ``unknown`` for a type the scoreboards do not cover.
    """
    q = _canonical(quant)
    fam = (family or "").lower()
    if q in NATIVE_QUANT and any(fam.startswith(f) for f in NATIVE_QUANT[q]):
        return Figure(
            0.0,
            "nats",
            "looked_up",
            f"{family} is released in {q.split('_')[0]}: no loss vs the released weights",
        )
    if q in ("F16", "BF16", "F32"):
        return Figure(0.0, "nats", "looked_up", f"{q} is the reference (KLD 0 by definition)")
    table = _kld_8b()
    key = q if q in table else _FALLBACK.get(q)
    if key is None or key not in table:
        return unknown("nats", f"no KL-divergence measurement for {q} in the llama.cpp scoreboards")
    base = table[key]
    note = "" if key == q else f" (nearest listed type {key})"
    n = float(n_params) if n_params else N_REF_SMALL
    if abs(n - N_REF_SMALL) / N_REF_SMALL < 0.05 and key == q:
        return Figure(base, "nats", "looked_up", SOURCE, low=base * 0.5, high=base * 2.0)
    clamped = min(max(n, N_REF_SMALL), N_REF_LARGE)
    value = base * (clamped / N_REF_SMALL) ** size_exponent(key)
    inside = clamped == n
    lo, hi = (0.5, 2.0) if inside else (1 / 3, 3.0)
    how = (
        f"Llama-3-8B scoreboard value{note} scaled to {n / 1e9:.1f}B params by "
        f"(N/8.03B)^{size_exponent(key):.2f} (Llama-3 70B/8B ratio; {SOURCE_70B})"
    )
    if not inside:
        how += "; size outside the measured 8B-70B range: held at the nearest measured size"
    return Figure(value, "nats", "estimated", how, low=value * lo, high=value * hi)


def known_quants() -> list[str]:
    """File types with a scoreboard KLD, best quality first."""
    return sorted(_kld_8b(), key=lambda k: _kld_8b()[k])
