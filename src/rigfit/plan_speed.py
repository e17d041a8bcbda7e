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

:func:`exceeds_fast_memory` answers the same for any model, without a placement, where what every
plan must hold somewhere (its weights, its KV cache, the fixed overheads) is more than all the
machine's devices hold together.
"""

from __future__ import annotations

from functools import lru_cache

from rigfit.catalog.arch import ModelSpec
from rigfit.engines.registry import get_engine
from rigfit.errors import RigfitError
from rigfit.estimate import memory as mem
from rigfit.estimate.placement import accelerators_for_llamacpp, backend_prefix
from rigfit.estimate.speculative import trunk_model
from rigfit.estimate.speed.estimate import estimate_decode_at_context
from rigfit.estimate.tablecache import context_buffers
from rigfit.figures import Figure
from rigfit.hardware.devices import Machine
from rigfit.plan import device_memory, speed_inputs
from rigfit.plan_buffers import BACKEND_OVERHEAD, HOST_FIXED_BYTES, VOCAB_BYTES_PER_TOKEN
from rigfit.plan_capacity import device_capacity, set_host_capacity
from rigfit.plantypes import DeviceMemory, Plan, PlanSettings, Verdict, resolve_ctx


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


def exceeds_fast_memory(model: ModelSpec, machine: Machine, settings: PlanSettings) -> bool:
    """Whether ``make_plan(model, machine, settings)`` can only be a whole-layer offload or "won't
    run", known without placing the model: :func:`fast_memory_need` is more than the capacities of
    all the machine's devices together.

    Why that is exact: a plan with every layer in fast memory (all of it there, or routed experts in
    RAM) has the verdict "fits", "tight" or "offload", each of which the planner gives only when every
    device's total is within its capacity (``_grade``), so the totals of all devices together are
    within the capacities together; and those totals hold at least the need (see
    :func:`fast_memory_need`). False says nothing (plan it). Errors of the plan's own checks are
    raised first, as make_plan raises them."""
    need = fast_memory_need(model, machine, settings)
    return need is not None and need[0] > need[1]


def fast_memory_need(model: ModelSpec, machine: Machine, settings: PlanSettings) -> tuple[int, int] | None:
    """(a lower bound of the devices' totals together in any plan with every layer on the GPUs
    (every layer on the CPU on a CPU-only box), the devices' capacities together) [B], for a local
    llama.cpp plan on a machine with every capacity known and no unified memory or calibration;
    None otherwise (nothing to say).

    The bound: the trunk's weights (every tensor the plan loads is on one device at least), its KV
    cache and recurrent state at the context (every layer's on one device), the host's fixed
    overheads and output buffer (always there) and, with GPUs, the backend overhead of the cheapest
    GPU (a GPU holding a layer pays its own). Compute buffers, repack copies and duplicated tensors
    only add to it."""
    s = settings
    if (
        s.runtime != "llama.cpp"
        or s.speculative is not None
        or s.vision is not None
        or machine.detected  # (this machine's fitted offsets may be negative)
        or machine.unified_memory
        or any(d.kind == "hosted" for d in machine.accelerators)
    ):
        return None
    get_engine(s.runtime).check(s)  # make_plan's first steps: the same errors, first
    n_ctx = resolve_ctx(model, s)
    ls = s.llama(n_ctx)
    mem.validate(model.arch, ls)
    machine_side = _capacities(machine)
    if machine_side is None:
        return None
    capacity, gpu_overhead = machine_side
    arch = model.arch
    cb = context_buffers(arch, ls, mem.build_profile(s.llama_build))
    need = (
        trunk_model(model).weights_bytes
        + sum(cb.kv_per_layer)
        + sum(cb.rs_per_layer)
        + HOST_FIXED_BYTES
        + VOCAB_BYTES_PER_TOKEN * arch.n_vocab
        + mem.output_buffer_bytes(arch, ls)
        + gpu_overhead
    )
    return need, capacity


def total_capacity(machine: Machine) -> int | None:
    """The capacities of the machine's devices together [B], as :func:`fast_memory_need` compares
    (None where it says nothing)."""
    if machine.detected or machine.unified_memory:
        return None
    got = _capacities(machine)
    return None if got is None else got[0]


@lru_cache(maxsize=256)
def _capacities(machine: Machine) -> tuple[int, int] | None:
    """(the capacities of the machine's devices together [B], the smallest backend overhead of its
    GPUs [B], 0 without GPUs), as the planner sets them; None where one is unknown."""
    accels = accelerators_for_llamacpp(machine)
    gpus = [DeviceMemory(name="", kind=dev.kind) for dev in accels]
    for row, dev in zip(gpus, accels, strict=True):
        row.capacity_bytes, _ = device_capacity(dev, machine)
    host = DeviceMemory(name="CPU", kind="cpu")
    set_host_capacity(host, machine, gpus)
    caps = [d.capacity_bytes for d in (*gpus, host)]
    if any(c is None for c in caps):
        return None
    overhead = min((BACKEND_OVERHEAD.get(backend_prefix(dev), (0, ""))[0] for dev in accels), default=0)
    return sum(c for c in caps if c is not None), overhead
