"""Models released in a low-precision format: their native format is the quality baseline.

Most open models ship BF16 weights, and llama.cpp's KL-divergence scoreboards measure each quant
against F16 (:mod:`rigfit.catalog.quality`). Some ship quantized, and then the released weights
are the reference, not an F16 copy that never existed:

* **MXFP4** — gpt-oss: the routed experts ship in MXFP4 (OpenAI's model card,
  https://huggingface.co/openai/gpt-oss-20b; ggml-org's GGUFs are MXFP4_MOE,
  https://huggingface.co/ggml-org/gpt-oss-20b-GGUF). llama-quantize does not re-quantize the
  MXFP4 experts (its K-quant files keep them), so a "Q8_0" or "Q2_K" gpt-oss is the same experts
  with other non-expert tensors: there is no quant ladder to climb or descend, only MXFP4_MOE.
* **FP8** — DeepSeek V3 / R1 / V3.1 ship FP8 weights with 128×128 block scales
  (https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json, ``quantization_config``).
  Q8_0 (8.5 bits per weight, one scale per 32 weights) holds them with no loss to speak of, so Q8_0
  is the baseline; an F16/BF16 file is an up-cast, twice the size and no better. Quants below
  Q8_0 keep the scoreboard's KLD, read as the loss against the released weights.
* **NVFP4** — checkpoints released in NVIDIA's FP4 format: the same rule as MXFP4 (no llama.cpp
  file type re-quantizes them today, so none is listed).

A model is native when its family or id starts with one of :data:`NATIVE` 's prefixes, or its
catalog notes say the weights ship in one of these formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from rigfit.catalog.arch import Architecture
from rigfit.catalog.quality import kld_vs_f16
from rigfit.catalog.quality_models import board_figure, board_gap, quant_key
from rigfit.figures import Figure, unknown


@dataclass(frozen=True)
class NativeFormat:
    """A model's released low-precision format.

    fmt: the released format ("MXFP4", "FP8", "NVFP4"). baseline: the llama.cpp file type that
    holds it as released (KLD 0 against the release). ladder: the file types worth offering, best
    first (no up-casts; no fake re-quants). source: where the format is stated.
    """

    fmt: str
    baseline: str
    ladder: tuple[str, ...]
    source: str


_MXFP4 = NativeFormat(
    "MXFP4", "MXFP4_MOE", ("MXFP4_MOE",), "https://huggingface.co/ggml-org/gpt-oss-20b-GGUF (MXFP4 experts)"
)
_FP8 = NativeFormat(
    "FP8",
    "Q8_0",
    ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "Q2_K"),
    "https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json (quantization_config fp8)",
)

#: Family / id prefixes of models released in a low-precision format.
NATIVE: dict[str, NativeFormat] = {
    "gpt-oss": _MXFP4,
    "deepseek-v3": _FP8,
    "deepseek-r1": _FP8,
}
_NOTE = re.compile(r"\bship(?:s|ped)?\s+(?:as|in)\s+(MXFP4|NVFP4|FP8)\b", re.I)


def native_format(arch: Architecture) -> NativeFormat | None:
    """The model's released low-precision format, or None for a BF16/F16 release."""
    return _native_format(arch.id, arch.family, arch.notes)


@lru_cache(maxsize=4096)  # a pure function of the three strings: a ladder asks ~2,000 times
def _native_format(arch_id: str, family: str | None, notes: str | None) -> NativeFormat | None:
    fam, mid = (family or "").lower(), arch_id.lower()
    for prefix, fmt in NATIVE.items():
        if mid.startswith(prefix) and not mid.startswith("deepseek-r1-distill"):
            return fmt
        if fam.startswith(prefix) and prefix == "gpt-oss":
            return fmt
    m = _NOTE.search(notes or "")
    if m is None:
        return None
    kind = m.group(1).upper()
    if kind == "FP8":
        return _FP8
    if kind == "MXFP4":
        return _MXFP4
    return NativeFormat("NVFP4", "", (), "catalog notes: weights ship in NVFP4")


def is_upcast(arch: Architecture, file_type: str) -> bool:
    """Whether ``file_type`` only up-casts a natively low-precision release (F16/BF16/F32 of an
    FP8 or MXFP4 model): bigger, no better."""
    return native_format(arch) is not None and file_type.upper() in ("F16", "BF16", "F32")


def offered_quants(arch: Architecture, ladder: tuple[str, ...]) -> tuple[str, ...]:
    """``ladder`` as it applies to this model: a native model's own ladder (in ``ladder``'s order
    where they overlap, its baseline first), every other model's ``ladder`` unchanged."""
    nat = native_format(arch)
    if nat is None:
        return ladder
    return tuple(q for q in nat.ladder if q in ladder or q == nat.baseline)


def _own_scoreboard(arch: Architecture, quant: str, file_label: str | None) -> Figure | None:
    """This model's own published KLD at ``quant`` (:mod:`rigfit.catalog.quality_models`), or
    None. An Unsloth dynamic file ("…UD-Q4_K_XL…" in ``file_label``) is looked up by that name;
    a file whose label names its uploader ("bartowski/…") gets that uploader's row."""
    if quant_key(quant) in _REFERENCE:
        return None
    keys = [quant]
    if file_label and quant_key(file_label).startswith("UD-"):
        keys.insert(0, file_label)  # its header says e.g. Q4_K_M; the mix is Unsloth's own
    for k in keys:
        f = board_figure(arch.id, k, file_label)
        if f is not None:
            return f
    return None


def _shown_quant(quant: str | None, file_label: str | None) -> str | None:
    """The quant a plan names: an Unsloth dynamic file's own name ("UD-Q4_K_XL"), else ``quant``."""
    return quant_key(file_label) if file_label and quant_key(file_label).startswith("UD-") else quant


def _board_gap(arch: Architecture, quant: str, file_label: str | None) -> str | None:
    """Why the model's own scoreboard gives no figure (:func:`board_gap`), or None without one."""
    return board_gap(arch.id, _shown_quant(quant, file_label) or quant)


def _generic(f: Figure, gap: str | None = None) -> Figure:
    """The size-scaled Llama-3-8B figure, labelled as an estimate for a model without a board of
    its own, or whose board has no row for the quant (``gap``, :func:`board_gap`); a 16-bit
    reference stays exact, an unknown stays unknown."""
    if not f.known or not f.value:
        return f
    why = gap or "no scoreboard of this model"
    # (``replace(f, provenance=…, source=…)`` built directly: a ladder asks ~1,800 times)
    return Figure(f.value, f.unit, "estimated", f"{_GENERIC}, {why}: {f.source}", f.low, f.high)


_REFERENCE = ("F16", "BF16", "F32")
_GENERIC = "generic"


def kld_for_model(arch: Architecture, quant: str, file_label: str | None = None) -> Figure:
    """Quality lost by file type ``quant`` of this model [nats/token, mean KLD]: the model's own
    published scoreboard where one lists the quant (looked up), else the generic size-scaled
    estimate (:func:`rigfit.catalog.quality.kld_vs_f16`), against F16 for a BF16 release; against
    the released weights for a native low-precision release (module docstring).

    file_label: the file or remote name the model came from, if any (finds "UD-…" quants).
    """
    q = quant.strip().upper()
    n = float(arch.active_params or arch.total_params or 0)
    nat = native_format(arch)
    if nat is None:
        own = _own_scoreboard(arch, quant, file_label)
        if own is not None:
            return own
        return _generic(kld_vs_f16(q, n, arch.family or arch.id), _board_gap(arch, quant, file_label))
    if q == nat.baseline or (nat.fmt == "MXFP4" and q == "MXFP4"):
        return Figure(0.0, "nats", "looked_up", f"baseline: the released {nat.fmt} weights ({nat.source})")
    if q in ("F16", "BF16", "F32"):
        return Figure(
            0.0, "nats", "looked_up", f"an up-cast of the released {nat.fmt} weights: bigger, no better"
        )
    if nat.fmt != "FP8":
        return unknown("nats", f"{arch.id} ships in {nat.fmt}; llama.cpp keeps those weights as released")
    f = _generic(kld_vs_f16(q, n, arch.family or arch.id), _board_gap(arch, quant, file_label))
    if not f.known:
        return f
    return replace(f, source=f"{f.source}; read as the loss vs the released FP8 weights")


_WORDS = {"looked_up": "looked up", "estimated": "estimated", "unknown": "unknown"}


def quality_summary(arch: Architecture, quant: str | None, file_label: str | None = None) -> dict:
    """What a plan says about quality: the quant, its KLD figure and a one-line label
    "looked up (source)" / "estimated (generic …)" / "unknown (why)"."""
    f = kld_for_model(arch, quant, file_label) if quant else unknown("nats", "file type not known")
    gap = _board_gap(arch, quant, file_label) if quant else None
    return {
        "quant": _shown_quant(quant, file_label),
        "kld": f.to_json(),
        "own_scoreboard": f.provenance == "looked_up" and bool(f.value),
        "label": _label(f, gap),
    }


def _label(f: Figure, gap: str | None = None) -> str:
    """ "looked up (source)" / "estimated (generic …)" / "unknown (why)"; a generic estimate's
    long basis stays in the figure's source (JSON), the label names it briefly, with ``gap``
    (:func:`board_gap`) where the model has a scoreboard without this quant."""
    src = f.source or ""
    if f.provenance == "estimated" and src.startswith(_GENERIC):
        fp8 = "; read as the loss vs the released FP8 weights" if "released FP8" in src else ""
        why = gap or "no published scoreboard of this model"
        src = f"generic: llama.cpp's Llama-3-8B scoreboard scaled by size, {why}{fp8}"
    return f"{_WORDS.get(f.provenance, f.provenance)} ({src})"


def quality_line(q: dict) -> str:
    """``quality_summary`` as the plan's one text line."""
    k = q["kld"]
    if k.get("value") is None:
        return f"quality at {q['quant']}: {q['label']}"
    band = ""
    if k.get("low") is not None and k.get("high") is not None:
        band = f" ({k['low']:.4f}–{k['high']:.4f})"
    return f"quality: KLD {k['value']:.4f}{band} nats/token at {q['quant']}, {q['label']}"
