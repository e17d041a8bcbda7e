"""When a smaller KV cache type or ubatch turns offload into a fit: the alternative plans, with figures.

An offload plan (layers or routed experts in system RAM) decodes at the speed of the RAM. Two
llama.cpp settings shrink what the GPUs must hold without touching the weights:

* the KV cache type (``-ctk`` / ``-ctv``, rigfit ``--kv-type``): q8_0 stores a cache cell in
  about half the bytes of f16 and q4_0 in about a quarter (GGML block sizes:
  https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-common.h), at some quality cost
  that grows as the type shrinks;
* the physical batch (``-ub``, rigfit ``--ubatch``): the compute buffers scale with it, so 256
  frees part of them at some cost in prefill speed.

:func:`fit_alternatives` re-plans with these settings, mildest change first, and returns the ones
whose plan keeps every layer in fast memory ("fits" or "tight"), with the decode speed of each next
to the offload plan's. Every figure is the planner's estimate (labelled so by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rigfit.catalog.arch import ModelSpec
from rigfit.errors import RigfitError
from rigfit.figures import Figure
from rigfit.hardware.devices import Machine
from rigfit.plan import make_plan
from rigfit.plantypes import Plan, PlanSettings, Verdict

#: (KV type, ubatch) changes tried, mildest first: None keeps the user's setting.
_STEPS: tuple[tuple[str | None, int | None], ...] = (
    (None, 256),
    ("q8_0", None),
    ("q8_0", 256),
    ("q4_0", None),
    ("q4_0", 256),
)
#: KV types by bytes per cell, largest first (only smaller ones than the user's are tried).
_KV_ORDER = ("f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "iq4_nl", "q4_1", "q4_0")


@dataclass(frozen=True)
class FitAlternative:
    """A setting that keeps every layer in fast memory where the plan offloads.

    flags: the rigfit options (``--kv-type q8_0 --ubatch 256``); llama_flags: llama-server's.
    fit: the alternative plan's verdict (fits | tight). decode_tps / decode_tps_ctx: its decode
    speed at the start and at the planned context (estimated Figures; None when unknown).
    """

    flags: str
    llama_flags: str
    fit: Verdict
    decode_tps: Figure | None
    decode_tps_ctx: Figure | None

    def to_json(self) -> dict:
        return {
            "flags": self.flags,
            "llama_flags": self.llama_flags,
            "fit": self.fit,
            "decode_tps": self.decode_tps.to_json() if self.decode_tps else None,
            "decode_tps_ctx": self.decode_tps_ctx.to_json() if self.decode_tps_ctx else None,
        }


def _smaller_kv(current: str, candidate: str) -> bool:
    order = {k: i for i, k in enumerate(_KV_ORDER)}
    return candidate in order and current in order and order[candidate] > order[current]


def _applies(settings: PlanSettings, plan: Plan) -> bool:
    """Whether an offload plan is one these settings could turn into a fit: a llama.cpp plan that
    offloads by rigfit's own choice (the user set no -ngl / --cpu-moe / --n-cpu-moe)."""
    if plan.fit is not Verdict.OFFLOAD or plan.hosted is not None or settings.runtime != "llama.cpp":
        return False
    return settings.ngl is None and not settings.cpu_moe and not settings.n_cpu_moe


def _candidates(settings: PlanSettings) -> list[tuple[str | None, int | None, PlanSettings]]:
    """(KV type, ubatch, settings) to try, mildest first: only smaller KV types and ubatches."""
    out = []
    for kv, ub in _STEPS:
        if kv is not None and not _smaller_kv(settings.kv_type_k, kv):
            continue
        if ub is not None and ub >= settings.n_ubatch:
            continue
        n_ub = ub or settings.n_ubatch
        alt = replace(
            settings,
            kv_type_k=kv or settings.kv_type_k,
            kv_type_v=kv or settings.kv_type_v,
            n_ubatch=n_ub,
            n_batch=max(n_ub, settings.n_batch),
        )
        out.append((kv, ub, alt))
    return out


def _alternative(kv: str | None, ub: int | None, p: Plan) -> FitAlternative:
    flags = " ".join(x for x in (f"--kv-type {kv}" if kv else "", f"--ubatch {ub}" if ub else "") if x)
    llama = " ".join(x for x in (f"-ctk {kv} -ctv {kv}" if kv else "", f"-ub {ub}" if ub else "") if x)
    sp = p.speed
    return FitAlternative(
        flags,
        llama,
        p.fit,
        sp.decode_tps if sp is not None else None,
        sp.decode_tps_ctx if sp is not None else None,
    )


def fit_alternatives(
    model: ModelSpec, machine: Machine, settings: PlanSettings, plan: Plan
) -> list[FitAlternative]:
    """Settings (KV type, ubatch) under which an offload plan keeps every layer in fast memory:
    the first that fits with the margin, and before it the first that fits only tight (at most
    two). Empty when the plan does not offload, is not a llama.cpp plan, the user chose the
    offload, or nothing helps."""
    if not _applies(settings, plan):
        return []
    out: list[FitAlternative] = []
    for kv, ub, alt in _candidates(settings):
        try:
            p = make_plan(model, machine, alt)
        except RigfitError:
            continue
        if p.fit not in (Verdict.FITS, Verdict.TIGHT) or (out and out[-1].fit is p.fit):
            continue
        out.append(_alternative(kv, ub, p))
        if p.fit is Verdict.FITS:
            break
    return out


def describe(alt: FitAlternative, plan: Plan) -> str:
    """One line: the alternative, its verdict and decode speed next to the offload plan's."""

    def tps(f: Figure | None) -> str:
        return "an unknown speed" if f is None or f.value is None else f"{f.value:.1f} tok/s"

    sp = plan.speed
    now = tps(sp.decode_tps if sp is not None else None)
    now_ctx = tps(sp.decode_tps_ctx if sp is not None else None)
    return (
        f"{alt.flags} ({alt.llama_flags}) keeps every layer in fast memory ({alt.fit}): decode "
        f"{tps(alt.decode_tps)} at the start, {tps(alt.decode_tps_ctx)} at {plan.n_ctx:,} tokens, "
        f"against {now} ({now_ctx}) with this offload (estimated)"
    )
