"""Shortcuts for rankings over many plans (recommend): decode speed alone, and "only whole-layer
offload fits" without the -ngl search.

``rigfit recommend`` plans ~1,000 model × quant candidates and ranks them by decode speed at the
chosen context (its floor, comfort and score); only the ~10 rows it shows need prefill, TTFT and
the bottleneck. The full estimate (:func:`rigfit.plan.speed_of`) computes four decode passes, a
prefill pass and a per-segment breakdown; :func:`decode_at_context` computes the one figure
ranking uses, with the same inputs (:func:`rigfit.plan.speed_inputs`) and the same arithmetic
(:func:`rigfit.estimate.speed.estimate.estimate_decode_at_context`), so the figure is the same
float. tests/test_ladder_shortcuts.py checks that over the catalog on several machines.

:func:`only_layer_offload_fits` answers for a dense model that does not fit with every layer on
the GPUs: the plan can then only offload whole layers (or not fit at all), which recommend rejects
as too big whatever -ngl the search would find. One placement instead of the ~10 of the search.
"""

from __future__ import annotations

from rigfit.catalog.arch import ModelSpec
from rigfit.engines.registry import get_engine
from rigfit.errors import RigfitError
from rigfit.estimate import memory as mem
from rigfit.estimate.placement import accelerators_for_llamacpp
from rigfit.estimate.speed.estimate import estimate_decode_at_context
from rigfit.figures import Figure
from rigfit.hardware.devices import Machine
from rigfit.plan import device_memory, speed_inputs
from rigfit.plantypes import Plan, PlanSettings, Verdict, resolve_ctx


class NeedsFullEstimate(Exception):
    """The decode-only path cannot promise the full estimate's answer for this plan (this
    machine's calibration, a hosted system, or the speed model failed): run the full one."""


def decode_at_context(plan: Plan) -> Figure | None:
    """``speed_of(plan)[0].decode_tps_ctx`` of a memory-only llama.cpp plan on local devices, by
    the decode pass alone; None where the plan does not fit (the full plan has no speed then).

    Raises :class:`NeedsFullEstimate` where only the full estimate can tell: the local machine
    (``rigfit calibrate``'s factors apply to the whole estimate), hosted systems, speculative
    decoding, and where the speed model cannot say (a :class:`RigfitError`, or its ValueError: no
    memory bandwidth known for a device; the full estimate reports those as "no speed" only after
    running every part). Any other error is a defect and propagates."""
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
    except (RigfitError, ValueError) as exc:
        raise NeedsFullEstimate from exc


def only_layer_offload_fits(model: ModelSpec, machine: Machine, settings: PlanSettings) -> bool:
    """Whether ``make_plan(model, machine, settings)`` can only be a whole-layer offload or "won't
    run", known from one placement: a dense llama.cpp plan on local GPUs, with no -ngl /
    --cpu-moe / --n-cpu-moe given, where some device is over capacity with every layer on the GPUs.

    Then make_plan searches the largest -ngl that fits (``_offload``): the GPU that overflowed at
    -ngl all cannot take every layer, so the plan keeps layers in RAM (or does not fit), and no
    routed experts exist to move instead. False says nothing (plan it). Errors of the plan's own
    checks are raised as make_plan raises them."""
    s = settings
    if (
        model.arch.moe is not None
        or s.ngl is not None
        or s.cpu_moe
        or s.n_cpu_moe
        or s.runtime != "llama.cpp"
        or s.speculative is not None
        or s.vision is not None
        or any(d.kind == "hosted" for d in machine.accelerators)
        or not accelerators_for_llamacpp(machine)
    ):
        return False
    get_engine(s.runtime).check(s)  # make_plan's first step: the same errors, first
    profile = mem.build_profile(s.llama_build)  # in make_plan's order
    _, devs = device_memory(model, machine, s, resolve_ctx(model, s), s.ngl, profile)
    # the planner's grade is "no" exactly when a device with a known capacity is over it
    return any(d.headroom_bytes is not None and d.headroom_bytes < 0 for d in devs)
