"""Decode speed alone: what a ranking over many plans needs of each, without the rest of the
speed estimate.

``rigfit recommend`` plans ~1,000 model × quant candidates and ranks them by decode speed at the
chosen context (its floor, comfort and score); only the ~10 rows it shows need prefill, TTFT and
the bottleneck. The full estimate (:func:`rigfit.plan.speed_of`) computes four decode passes, a
prefill pass and a per-segment breakdown; :func:`decode_at_context` computes the one figure
ranking uses, with the same inputs (:func:`rigfit.plan.speed_inputs`) and the same arithmetic
(:func:`rigfit.estimate.speed.estimate.estimate_decode_at_context`), so the figure is the same
float. tests/test_ladder_shortcuts.py checks that over the catalog on several machines.
"""

from __future__ import annotations

from rigfit.errors import RigfitError
from rigfit.estimate.speed.estimate import estimate_decode_at_context
from rigfit.figures import Figure
from rigfit.plan import speed_inputs
from rigfit.plantypes import Plan, Verdict


class NeedsFullEstimate(Exception):
    """The decode-only path cannot promise the full estimate's answer for this plan (this
    machine's calibration, a hosted system, or the speed model failed): run the full one."""


def decode_at_context(plan: Plan) -> Figure | None:
    """``speed_of(plan)[0].decode_tps_ctx`` of a memory-only llama.cpp plan on local devices, by
    the decode pass alone; None where the plan does not fit (the full plan has no speed then).

    Raises :class:`NeedsFullEstimate` where only the full estimate can tell: the local machine
    (``rigfit calibrate``'s factors apply to the whole estimate), hosted systems, speculative
    decoding, and any error (the full estimate reports errors as "no speed" only after running
    every part)."""
    if plan.fit is Verdict.NO:
        return None
    machine = plan.machine
    if (
        machine.detected
        or plan.hosted is not None
        or plan.settings.speculative is not None
        or any(d.kind == "hosted" for d in machine.accelerators)
    ):
        raise NeedsFullEstimate
    try:
        model, kwargs = speed_inputs(plan)
        return estimate_decode_at_context(model, machine, **kwargs)
    except (RigfitError, Exception) as exc:
        raise NeedsFullEstimate from exc
